#!/usr/bin/env bash
# Writes the stack's secrets into .env (mode 0600) once and keeps them; adds a key an older
# .env lacks. The first thing `make up` does, and the first step of the Docker path (`make env`).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"

umask 077
if [ ! -f "$DQ_ENV_FILE" ]; then
    echo "# Written by stack/env.sh on $(date -u +%Y-%m-%dT%H:%M:%SZ). Secrets of this machine's stack: never commit." \
        > "$DQ_ENV_FILE"
    ok "generated .env with new credentials"
fi
add_secret() { grep -q "^$1=" "$DQ_ENV_FILE" || echo "$1=$2" >> "$DQ_ENV_FILE"; }
token() { python3 -c "import secrets; print(secrets.$1(24))"; }
add_secret CASSANDRA_USER dq
add_secret CASSANDRA_PASSWORD "$(token token_urlsafe)"
add_secret JUPYTER_TOKEN "$(token token_hex)"
add_secret SPARK_AUTH_SECRET "$(token token_hex)"
add_secret MLFLOW_PASSWORD "$(token token_urlsafe)"           # MLflow's login (user dq): writing runs and models
add_secret FLINK_PASSWORD "$(token token_urlsafe)"           # Flink's web UI and REST API (user dq, stack/flink_ui.py)
add_secret FLINK_KEYSTORE_PASSWORD "$(token token_hex)"      # the Flink cluster's key store (its mutual TLS)
add_secret GRAFANA_ADMIN_PASSWORD "$(token token_urlsafe)"   # the Docker path's Grafana (user admin)
for who in ADMIN GENERATOR VALIDATOR READER; do
    add_secret "KAFKA_${who}_PASSWORD" "$(token token_hex)"
done
