#!/usr/bin/env bash
# Submits a PySpark job to the running Spark standalone cluster with the pinned Kafka and
# Cassandra connectors and the cluster's secret (spark-defaults.conf, 0600); the job reads the
# Cassandra credentials from .env itself (dq_spark.session()).
#   spark-submit.sh JOB.py [JOB ARGS...]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
. "$here/services.sh"
[ $# -ge 1 ] && [ -f "$1" ] || die "usage: spark-submit.sh JOB.py [ARGS...] (jobs are in spark_jobs/)"
job="$1"; shift
spark_master_ready || die "Spark is not running: start the stack with 'make up'"
[ -f "$DQ_ENV_FILE" ] || die "no .env: run 'make up' first"
export DQ_ROOT SPARK_CONF_DIR="$DQ_RUN/conf/spark" SPARK_LOCAL_IP=127.0.0.1 PYSPARK_PYTHON="$(venv spark)/bin/python"
[ -n "$JAVA_HOME" ] || die "Java 17 not found: run 'make deps'"
exec "$SPARK_HOME/bin/spark-submit" --master spark://127.0.0.1:7077 \
    --conf "spark.executorEnv.DQ_ROOT=$DQ_ROOT" \
    --conf "spark.driver.extraJavaOptions=-Dlog4j2.configurationFile=file:$DQ_ROOT/stack/conf/spark/log4j2-jobs.properties" \
    --py-files "$DQ_ROOT/spark_jobs/dq_spark.py" "$job" "$@"
