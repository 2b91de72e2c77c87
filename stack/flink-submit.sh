#!/usr/bin/env bash
# Submits a PyFlink job to the running Flink cluster with the pinned Kafka connector.
#   flink-submit.sh JOB.py [JOB ARGS...]
# A job given --bounded runs attached (the command returns when it finishes); others are
# submitted detached and keep running: see them at http://127.0.0.1:8081 (flink-ui).
# DQ_FLINK_RESUME=PATH starts the job from that savepoint or retained checkpoint; state of
# operators the new version no longer has is dropped (--allowNonRestoredState).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
. "$here/services.sh"
[ $# -ge 1 ] && [ -f "$1" ] || die "usage: flink-submit.sh JOB.py [ARGS...] (jobs are in flink_jobs/)"
job="$1"; shift
flink_jobmanager_ready || die "Flink is not running: start the stack with 'make up'"
connector="$(ls "$(jars flink)"/flink-sql-connector-kafka-*.jar 2>/dev/null | head -1)"
[ -n "$connector" ] || die "the Flink Kafka connector is missing: run 'make install'"
detach=(-d)
for a in "$@"; do [ "$a" = --bounded ] && detach=(); done
[ -z "${DQ_FLINK_RESUME:-}" ] || detach+=(-s "$DQ_FLINK_RESUME" -n)
[ -n "$JAVA_HOME" ] || die "Java 17 not found: run 'make deps'"
export FLINK_CONF_DIR="$DQ_RUN/conf/flink" PYFLINK_PYTHON="$(venv flink)/bin/python"
export PATH="$(venv flink)/bin:$PATH"
exec "$FLINK_HOME/bin/flink" run -m "https://$FLINK_REST" "${detach[@]}" --python "$job" --jarfile "$connector" "$@"
