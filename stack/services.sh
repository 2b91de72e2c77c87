# The services of the native stack, in start order. Sourced by up.sh, down.sh and
# status.sh after lib.sh. For each service (functions use _ where the name has -):
#   <svc>_port      the port that must be free before it starts (its main one)
#   <svc>_url       what `make status` shows
#   <svc>_start     runs it in the foreground (up.sh backgrounds it in its own process
#                   group and records the PID in .stack/pids/<name>.pid)
#   <svc>_ready     succeeds once the service does its job, not merely listens
#   <svc>_timeout   seconds <svc>_ready may take
#   <svc>_setup     (Kafka, Cassandra) what must exist once it is ready: up.sh runs it
#                   after the start, the Docker path's setup service once both are healthy
# Every service binds to 127.0.0.1; the ones a user opens bind to $DQ_BIND (lib.sh), also
# 127.0.0.1 unless in a container.
SERVICES=(kafka cassandra flink-jobmanager flink-taskmanager flink-ui spark-master spark-worker mlflow jupyter
    prometheus dq-gate dq-gen live-writer dashboard)

JAVA_HOME="$(find_java17 || true)"
JMX_AGENT="$(ls "$(jars jmx)"/jmx_prometheus_javaagent-*.jar 2>/dev/null | head -1)"
FLINK_HOME="$(venv flink)/lib/python3.11/site-packages/pyflink"
SPARK_HOME="$(venv spark)/lib/python3.11/site-packages/pyspark"
PYCORE="$(venv core)/bin/python"
export DQ_ROOT DQ_RUN JMX_AGENT JAVA_HOME FLINK_HOME SPARK_HOME

ident() { echo "${1//-/_}"; }
# jmx_agent PORT [RULES]: the exporter agent on 127.0.0.1:PORT (rules: stack/conf/jmx-exporter*.yaml).
jmx_agent() { echo "-javaagent:$JMX_AGENT=127.0.0.1:$1:$DQ_ROOT/stack/conf/${2:-jmx-exporter.yaml}"; }

# ---------------------------------------------------------------- Kafka 4 (KRaft)
kafka_port=9092
kafka_url="127.0.0.1:9092 (bootstrap)"
kafka_timeout=90
kafka_start() {
    local conf="$DQ_RUN/conf/kafka/server.properties" cp
    cp="$(jars kafka)/*"
    (umask 077 && KAFKA_ADMIN_PASSWORD="$KAFKA_ADMIN_PASSWORD" render "$DQ_ROOT/stack/conf/kafka/server.properties.in" "$conf")
    chmod 600 "$conf" # it holds the admin password (an older file was 0644)
    local log4j="-Dlog4j2.configurationFile=$DQ_ROOT/stack/conf/kafka/log4j2.properties"
    if [ ! -f "$DQ_RUN/data/kafka/meta.properties" ]; then
        local id
        id="$("$PYCORE" -c 'from dq.stack import kafka_cluster_id; print(kafka_cluster_id())')" || return 1
        "$JAVA_HOME/bin/java" "$log4j" -cp "$cp" kafka.tools.StorageTool format -t "$id" -c "$conf" || return 1
    fi
    exec "$JAVA_HOME/bin/java" -Xms768m -Xmx1g -XX:+UseG1GC -XX:MaxGCPauseMillis=20 "$(jmx_agent 9404)" \
        "$log4j" -Dkafka.logs.dir="$DQ_RUN/logs" -cp "$cp" kafka.Kafka "$conf"
}
kafka_ready() {
    "$PYCORE" -c "from confluent_kafka.admin import AdminClient; from dq.stack import kafka_login
assert AdminClient(kafka_login('admin')).list_topics(timeout=2).brokers"
}
kafka_setup() { "$PYCORE" "$DQ_ROOT/stack/kafka_setup.py"; } # topics, logins, ACLs

# ---------------------------------------------------------------- Cassandra 5.0
cassandra_port=9042
cassandra_url="127.0.0.1:9042 (CQL; user and password in .env)"
cassandra_timeout=180
cassandra_start() {
    local conf="$DQ_RUN/conf/cassandra/cassandra.yaml" cp
    cp="$(jars cassandra)"
    render "$DQ_ROOT/stack/conf/cassandra/cassandra.yaml.in" "$conf"
    mkdir -p "$DQ_RUN/data/cassandra"
    # The module flags of Cassandra's jvm17-server.options (reflection into the JDK).
    local opens=(java.base/java.lang.module java.base/jdk.internal.loader java.base/jdk.internal.ref
        java.base/jdk.internal.reflect java.base/jdk.internal.math java.base/jdk.internal.module
        java.base/jdk.internal.util.jar jdk.management/com.sun.management.internal java.base/sun.nio.ch
        java.base/java.io java.base/java.lang.reflect jdk.compiler/com.sun.tools.javac java.base/java.lang
        java.base/java.util)
    local exports=(java.base/jdk.internal.misc java.management.rmi/com.sun.jmx.remote.internal.rmi
        java.rmi/sun.rmi.registry java.rmi/sun.rmi.server java.sql/java.sql java.base/java.lang.ref
        jdk.unsupported/sun.misc jdk.compiler/com.sun.tools.javac.file jdk.attach/sun.tools.attach)
    local jpms=() m
    for m in "${opens[@]}"; do jpms+=(--add-opens "$m=ALL-UNNAMED"); done
    for m in "${exports[@]}"; do jpms+=(--add-exports "$m=ALL-UNNAMED"); done
    exec "$JAVA_HOME/bin/java" -Xms2g -Xmx2g -Xss256k -XX:+UseG1GC -XX:+ParallelRefProcEnabled \
        -XX:MaxTenuringThreshold=1 -XX:G1HeapRegionSize=16m -XX:MaxGCPauseMillis=300 \
        -XX:InitiatingHeapOccupancyPercent=70 -Djdk.attach.allowAttachSelf=true "${jpms[@]}" \
        -Dio.netty.tryReflectionSetAccessible=true -Dio.netty.allocator.useCacheForAllThreads=true \
        -Dio.netty.allocator.maxOrder=11 -Djava.net.preferIPv4Stack=true \
        -javaagent:"$(ls "$cp"/jamm-*.jar | head -1)" "$(jmx_agent 9405 jmx-exporter-cassandra.yaml)" \
        -Dcassandra.config="file://$conf" -Dcassandra.storagedir="$DQ_RUN/data/cassandra" \
        -Dcassandra.logdir="$DQ_RUN/logs" -Dlogback.configurationFile="$DQ_ROOT/stack/conf/cassandra/logback.xml" \
        -Dcassandra-foreground=yes -cp "$cp/*" org.apache.cassandra.service.CassandraDaemon
}
cassandra_ready() { "$PYCORE" "$DQ_ROOT/stack/cassandra_setup.py" --check; }
cassandra_setup() { "$PYCORE" "$DQ_ROOT/stack/cassandra_setup.py" --setup "$DQ_ROOT/config/cassandra_schema.cql"; }

# ---------------------------------------------------------------- Flink 1.20 (PyFlink's FLINK_HOME)
# The JobManager's REST API, where Flink's CLI submits job graphs (code that runs as the
# stack's user): it takes only clients with the cluster's certificate (mutual TLS, as its RPC,
# blob and data connections do). People and Python clients go through flink-ui's login.
FLINK_REST=127.0.0.1:8091  # Flink's CLI: -m https://$FLINK_REST (without the scheme it speaks plain HTTP)
FLINK_TLS="$DQ_RUN/conf/flink/tls"

# The cluster's key and self-signed certificate (for 127.0.0.1), made once, in a 0700
# directory: flink.p12 is Flink's key store and trust store (the key store's password
# FLINK_KEYSTORE_PASSWORD in .env), flink.pem the key and certificate flink-ui and curl
# present, flink.crt what they check the JobManager's against. Made again if .env's password
# no longer opens the store (a new .env).
flink_tls() {
    if [ -f "$FLINK_TLS/flink.pem" ] &&
        printf '%s\n' "$FLINK_KEYSTORE_PASSWORD" | openssl pkcs12 -in "$FLINK_TLS/flink.p12" -passin stdin -noout 2>/dev/null; then
        return 0
    fi
    (umask 077 && mkdir -p "$FLINK_TLS" && cd "$FLINK_TLS" && rm -f flink.* &&
        openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=dq-flink -addext subjectAltName=IP:127.0.0.1 \
            -keyout flink.key -out flink.crt 2>/dev/null &&
        printf '%s\n' "$FLINK_KEYSTORE_PASSWORD" |
            openssl pkcs12 -export -in flink.crt -inkey flink.key -name flink -passout stdin -out flink.p12 &&
        cat flink.key flink.crt >flink.pem && rm flink.key)
}
# flink_api PATH: the JobManager's REST answer to GET PATH, asked with the cluster's certificate.
flink_api() { curl -fsS --max-time 5 --cert "$FLINK_TLS/flink.pem" --cacert "$FLINK_TLS/flink.crt" "https://$FLINK_REST$1"; }

flink_env() {
    export FLINK_CONF_DIR="$DQ_RUN/conf/flink" FLINK_LOG_DIR="$DQ_RUN/logs/flink"
    export FLINK_PID_DIR="$DQ_RUN/pids/flink" FLINK_PYTHON="$(venv flink)/bin/python" PYFLINK_PYTHON="$(venv flink)/bin/python"
    mkdir -p "$FLINK_CONF_DIR" "$FLINK_LOG_DIR" "$FLINK_PID_DIR" "$DQ_RUN/data/flink/tmp"
    flink_tls || { echo "error: could not make the Flink cluster's certificate in $FLINK_TLS (openssl: make deps)" >&2; return 1; }
    cp "$FLINK_HOME"/conf/log4j*.properties "$FLINK_HOME"/conf/logback*.xml "$FLINK_CONF_DIR"/
    (umask 077 && FLINK_KEYSTORE_PASSWORD="$FLINK_KEYSTORE_PASSWORD" FLINK_TLS="$FLINK_TLS" \
        render "$DQ_ROOT/stack/conf/flink/config.yaml.in" "$FLINK_CONF_DIR/config.yaml")
    chmod 600 "$FLINK_CONF_DIR/config.yaml" # it holds the key store's password (an older file was 0644)
    # The cluster's class path: PyFlink's lib, its Python runtime (opt/flink-python: Beam) and
    # the Kafka connector, loaded once by the JVM (config.yaml's parent-first patterns). Shipped
    # with each job (Flink's way for opt/ and --jarfile), every job and restart loaded Beam's
    # 14,000 classes again, and after about fifteen jobs the TaskManager died of
    # 'OutOfMemoryError: Metaspace'. Links, made again at each start (stale ones removed).
    export FLINK_LIB_DIR="$DQ_RUN/flink-lib"
    mkdir -p "$FLINK_LIB_DIR"
    find "$FLINK_LIB_DIR" -xtype l -delete
    ln -sf "$FLINK_HOME"/lib/*.jar "$FLINK_HOME"/opt/flink-python-*.jar \
        "$(jars flink)"/flink-sql-connector-kafka-*.jar "$FLINK_LIB_DIR"/
}
flink_jobmanager_port=8091
flink_jobmanager_url="https://$FLINK_REST (its certificate only: use flink-ui)"
flink_jobmanager_timeout=60
flink_jobmanager_start() { flink_env || return 1; exec "$FLINK_HOME/bin/jobmanager.sh" start-foreground; }
flink_jobmanager_ready() { flink_api /overview >/dev/null; }

flink_taskmanager_port=6122
flink_taskmanager_url="(slots shown in flink-ui)"
flink_taskmanager_timeout=60
# PYTHONPATH: in thread mode (python.execution-mode: thread) Python runs embedded in this JVM
# and sees the interpreter's own site-packages, not the venv's, unless told; and the venv's
# editable dq only through a .pth file, which a PYTHONPATH entry does not read: python/ too.
flink_taskmanager_start() {
    flink_env || return 1
    export PYTHONPATH="$(venv flink)/lib/python3.11/site-packages:$DQ_ROOT/python"
    exec "$FLINK_HOME/bin/taskmanager.sh" start-foreground -Dtaskmanager.rpc.port=6122
}
flink_taskmanager_ready() {
    flink_api /overview | python3 -c "import json, sys
assert json.load(sys.stdin)['taskmanagers'] >= 1"
}

# Flink's web UI and REST API for people (and dq.stack.flink_rest), behind the login.
flink_ui_port=8081
flink_ui_url="http://127.0.0.1:8081 (user dq, password in .env)"
flink_ui_timeout=30
flink_ui_start() { exec "$PYCORE" "$DQ_ROOT/stack/flink_ui.py" --host "$DQ_BIND" --port 8081; }
flink_ui_ready() { "$PYCORE" -c "from dq.stack import flink_rest; flink_rest('/overview', timeout=3)"; }

# ---------------------------------------------------------------- Spark 3.5 standalone (PySpark's SPARK_HOME)
spark_env() {
    export SPARK_CONF_DIR="$DQ_RUN/conf/spark" SPARK_LOCAL_IP="${1:-127.0.0.1}" SPARK_LOG_DIR="$DQ_RUN/logs"
    export SPARK_DAEMON_MEMORY=512m SPARK_PYTHON="$(venv spark)/bin/python"
    export SPARK_JARS; SPARK_JARS="$(ls "$(jars spark)"/*.jar | paste -sd, -)"
    mkdir -p "$SPARK_CONF_DIR" "$DQ_RUN/data/spark/tmp" "$DQ_RUN/data/spark/work" "$DQ_RUN/data/spark/checkpoints"
    (umask 077 && SPARK_AUTH_SECRET="$SPARK_AUTH_SECRET" \
        render "$DQ_ROOT/stack/conf/spark/spark-defaults.conf.in" "$SPARK_CONF_DIR/spark-defaults.conf")
    chmod 600 "$SPARK_CONF_DIR/spark-defaults.conf" # it holds the cluster's secret (an older file was 0644)
    cp "$DQ_ROOT/stack/conf/spark/metrics.properties" "$SPARK_CONF_DIR/"
}
spark_master_port=7077
spark_master_url="spark://127.0.0.1:7077, http://127.0.0.1:8080"
spark_master_timeout=60
spark_master_start() {
    spark_env "$DQ_BIND"  # the address of its web UI (its RPC stays on --host)
    exec "$SPARK_HOME/bin/spark-class" org.apache.spark.deploy.master.Master --host 127.0.0.1 --port 7077 --webui-port 8080
}
spark_master_ready() { curl -fsS --max-time 3 http://127.0.0.1:8080/json/ | grep -q '"status" : "ALIVE"'; }

spark_worker_port=8082
spark_worker_url="http://127.0.0.1:8082"
spark_worker_timeout=60
spark_worker_start() {
    spark_env
    exec "$SPARK_HOME/bin/spark-class" org.apache.spark.deploy.worker.Worker spark://127.0.0.1:7077 \
        --host 127.0.0.1 --webui-port 8082 --cores 2 --memory 4g --work-dir "$DQ_RUN/data/spark/work"
}
spark_worker_ready() {
    curl -fsS --max-time 3 http://127.0.0.1:8080/json/ | python3 -c "import json, sys
assert any(w['state'] == 'ALIVE' for w in json.load(sys.stdin)['workers'])"
}

# ---------------------------------------------------------------- MLflow tracking server
mlflow_port=5000
mlflow_url="http://127.0.0.1:5000 (user dq, password in .env)"
mlflow_timeout=90
mlflow_start() {
    # MLflow's basic-auth app: every call but /health needs the login (the models `dq gate
    # --model` scores with come from its registry). Its config holds the password: 0600.
    local conf="$DQ_RUN/conf/mlflow/auth.ini"
    mkdir -p "$DQ_RUN/data/mlflow/artifacts" "$(dirname "$conf")"
    (umask 077 && printf '%s\n' "[mlflow]" "default_permission = READ" "admin_username = dq" \
        "admin_password = $MLFLOW_PASSWORD" "database_uri = sqlite:///$DQ_RUN/data/mlflow/auth.db" \
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth" > "$conf")
    chmod 600 "$conf"
    # The key of the sign-up page's CSRF tokens, new at each start: it guards no data, and
    # one worker has nothing to share it with.
    MLFLOW_AUTH_CONFIG_PATH="$conf" MLFLOW_FLASK_SERVER_SECRET_KEY="$(python3 -c 'import secrets; print(secrets.token_hex(24))')" \
        exec "$(venv ml)/bin/mlflow" server --app-name basic-auth --host "$DQ_BIND" --port 5000 --workers 1 \
        --backend-store-uri "sqlite:///$DQ_RUN/data/mlflow/mlflow.db" \
        --artifacts-destination "$DQ_RUN/data/mlflow/artifacts"
}
mlflow_ready() { http_ok http://127.0.0.1:5000/health; }

# ---------------------------------------------------------------- JupyterLab
jupyter_port=8888
jupyter_url="http://127.0.0.1:8888/lab (token below)"
jupyter_timeout=60
jupyter_start() {
    # The token goes in a 0600 config file, not on the command line (which every local user
    # can read in `ps`).
    local conf="$DQ_RUN/conf/jupyter/jupyter_server_config.json"
    mkdir -p "$(dirname "$conf")"
    (umask 077 && printf '{"IdentityProvider": {"token": "%s"}}\n' "$JUPYTER_TOKEN" > "$conf")
    exec "$(venv core)/bin/jupyter" lab --no-browser --allow-root --ServerApp.ip="$DQ_BIND" --ServerApp.port=8888 \
        --ServerApp.port_retries=0 --config="$conf" --ServerApp.root_dir="$DQ_ROOT" \
        --ServerApp.authenticate_prometheus=False
}
jupyter_ready() {  # the token through stdin, not curl's command line
    printf 'Authorization: token %s\n' "$JUPYTER_TOKEN" | curl -fsS --max-time 3 -o /dev/null -H @- \
        http://127.0.0.1:8888/api/status
}

# ---------------------------------------------------------------- Prometheus (Debian's binary)
prometheus_port=9090
prometheus_url="http://127.0.0.1:9090"
prometheus_timeout=30
prometheus_start() {
    render "$DQ_ROOT/stack/conf/prometheus/prometheus.yml.in" "$DQ_RUN/conf/prometheus/prometheus.yml"
    exec prometheus --config.file="$DQ_RUN/conf/prometheus/prometheus.yml" --storage.tsdb.path="$DQ_RUN/data/prometheus" \
        --storage.tsdb.retention.time=2d --web.listen-address="$DQ_BIND:9090"
}
prometheus_ready() { http_ok http://127.0.0.1:9090/-/ready; }

# ---------------------------------------------------------------- the pipeline: dq gate and dq gen
dq_gate_port=9464
dq_gate_url="http://127.0.0.1:9464/metrics"
dq_gate_timeout=30
dq_gate_start() {
    # Restarted if it stops with an error (e.g. Kafka unreachable for longer than librdkafka
    # retries), as a service manager would; its input offsets make the restart lose nothing.
    # A TERM to this loop (docker compose stop) is passed to the gate, which commits and ends.
    local gate rc
    trap 'kill -TERM "$gate" 2>/dev/null; wait "$gate"; exit 0' TERM INT
    while true; do
        "$DQ_ROOT/build/dq" gate --contract "$DQ_ROOT/contracts/sensor_readings.yaml" --brokers 127.0.0.1:9092 \
            --kafka-config "$DQ_RUN/kafka/validator.properties" --group dq-gate --metrics-addr "$DQ_BIND:9464" &
        gate=$!
        wait "$gate" && break
        rc=$?
        echo "dq gate exited with $rc: restarting in 2 s" >&2
        sleep 2
    done
}
dq_gate_ready() { curl -fsS --max-time 3 http://127.0.0.1:9464/metrics | grep -q '^dq_gate_batches_total'; }

# Readings at DQ_GEN_RATE events/s (default 1000) into sensor-topic, from now on.
dq_gen_port=0
dq_gen_url="-> sensor-topic, ${DQ_GEN_RATE:-1000} events/s"
dq_gen_timeout=20
dq_gen_start() {
    # 1,000 sensors: at 1,000 events/s each reports once a second, in step with the clock.
    exec "$DQ_ROOT/build/dq" gen --count 0 --rate "${DQ_GEN_RATE:-1000}" --sensors 1000 --seed "$(date +%s)" \
        --brokers 127.0.0.1:9092 --kafka-config "$DQ_RUN/kafka/generator.properties" --topic sensor-topic --quiet
}
dq_gen_ready() {
    "$PYCORE" -c "from confluent_kafka import Consumer, TopicPartition; from dq.stack import kafka_login
c = Consumer({**kafka_login('reader'), 'group.id': 'status'})
assert sum(c.get_watermark_offsets(TopicPartition('sensor-topic', p), timeout=3)[1] for p in range(4)) > 0"
}

# The live pipeline into Cassandra: the day-11 Flink job on sensor-topic, kept running
# (stack/live_writer.sh: resumed from its savepoint or newest checkpoint; docs/flink.md).
live_writer_port=0
live_writer_url="sensor-topic -> Flink -> Cassandra iot_data.*"
live_writer_timeout=180
live_writer_start() { exec "$DQ_ROOT/stack/live_writer.sh"; }
live_writer_ready() {
    local job
    job="$(cat "$DQ_RUN/data/flink/live/job" 2>/dev/null)" && [ -n "$job" ] &&
        flink_api "/jobs/$job" | grep -q '"state":"RUNNING"'
}

# ---------------------------------------------------------------- the dashboards (dashboards/panels.yaml)
dashboard_port=3001
dashboard_url="http://127.0.0.1:3001 (Pipeline, Data quality, Sensor data)"
dashboard_timeout=30
dashboard_start() { exec "$PYCORE" "$DQ_ROOT/dashboards/server.py" --host "$DQ_BIND" --port 3001; }
dashboard_ready() { curl -fsS --max-time 3 http://127.0.0.1:3001/api/dashboards | grep -q '"dashboards"'; }
