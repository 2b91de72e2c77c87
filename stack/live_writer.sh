#!/usr/bin/env bash
# The live pipeline's writer, run by `make up` as the service live-writer: keeps
# flink_jobs/flink_to_cassandra.py running on sensor-topic in the Flink cluster, so every
# reading lands in Cassandra (sensor_data, sensor_rejects, sensor_anomalies,
# sensor_quality_metrics) and every reject in sensor-dlq, continuously.
#
# Resumes, in this order of preference, from: the savepoint the last `make down` took, the
# newest checkpoint the job retained (a crash, a killed cluster), or nothing (the group's
# committed offsets, else the topic's start). On TERM (`make down`) it stops the job with a
# savepoint. If the job ends while this script runs, it is submitted again from its newest
# checkpoint, as a service manager would restart a service.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
. "$here/services.sh"  # flink_api, FLINK_REST
live="$DQ_RUN/data/flink/live"          # this job's checkpoints and savepoints, nobody else's
mkdir -p "$live/checkpoints" "$live/savepoints"
rm -f "$live/job"  # make status and make up read it: only a job this run submitted
job=""

job_state() { flink_api "/jobs/$1" 2>/dev/null | python3 -c "import json, sys; print(json.load(sys.stdin)['state'])"; }

newest_checkpoint() {  # a completed checkpoint has its _metadata file
    ls -t "$live"/checkpoints/*/chk-*/_metadata 2>/dev/null | head -1 | xargs -r dirname
}

stop_job() {
    if [ -n "$job" ] && [ "$(job_state "$job")" = RUNNING ]; then
        step "stopping the live writer ($job) with a savepoint"
        local out
        if out="$(FLINK_CONF_DIR="$DQ_RUN/conf/flink" JAVA_HOME="$(find_java17)" \
                "$(venv flink)/lib/python3.11/site-packages/pyflink/bin/flink" stop -m "https://$FLINK_REST" \
                --savepointPath "file://$live/savepoints" "$job" 2>&1)"; then
            sed -n 's/.*Savepoint completed\. Path: file:\(.*\)$/\1/p' <<<"$out" | tail -1 >"$live/resume"
            ok "live writer stopped; it resumes from $(cat "$live/resume")"
        else
            warn "stopping with a savepoint failed; the next start resumes from the newest checkpoint: ${out: -400}"
            rm -f "$live/resume"
        fi
    fi
    exit 0
}
trap stop_job TERM INT

submit() {
    local from="" out
    if [ -s "$live/resume" ] && [ -d "$(cat "$live/resume")" ]; then from="$(cat "$live/resume")"
    else from="$(newest_checkpoint)"; fi
    rm -f "$live/resume"  # used once: later restarts take the newer checkpoints
    [ -n "$from" ] && echo "resuming from $from"
    out="$(DQ_FLINK_RESUME="$from" "$here/flink-submit.sh" "$DQ_ROOT/flink_jobs/flink_to_cassandra.py" \
        --input sensor-topic --group dq-live --dlq "" --checkpoint-dir "file://$live/checkpoints" 2>&1)"
    echo "$out" | tail -3
    job="$(sed -n 's/.*JobID \([0-9a-f]\{32\}\).*/\1/p' <<<"$out" | tail -1)"
    [ -n "$job" ]
}

until submit; do echo "submitting the live writer failed: retrying in 10 s"; sleep 10 & wait $!; done
echo "$job" >"$live/job"
while true; do
    sleep 5 & wait $!
    state="$(job_state "$job")"
    case "$state" in
        RUNNING|CREATED|INITIALIZING|RESTARTING|"") ;;   # "": the JobManager did not answer this time
        *) echo "the live writer's job is $state: submitting it again"
           until submit; do sleep 10 & wait $!; done
           echo "$job" >"$live/job" ;;
    esac
done
