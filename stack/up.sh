#!/usr/bin/env bash
# `make up`: installs what is missing, starts every service of the native stack one at a
# time with a readiness check, creates the Kafka topics and the Cassandra schema, and
# prints where everything is. Idempotent: running services are left alone. If a service
# fails, the ones this run started are stopped again and the log tail is shown.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
t0=$SECONDS

preflight() {
    local avail_kb disk_kb
    avail_kb="$(awk '/MemAvailable/ {print $2}' /proc/meminfo)"
    if [ "${avail_kb:-0}" -lt $((10 * 1024 * 1024)) ] && [ -z "${DQ_SKIP_MEMCHECK:-}" ]; then
        die "the stack needs about 10 GiB of free memory; $((avail_kb / 1024)) MiB are available.
       Close other programs, or set DQ_SKIP_MEMCHECK=1 to try anyway."
    fi
    mkdir -p "$DQ_RUN"
    disk_kb="$(df -Pk "$DQ_RUN" | awk 'NR == 2 {print $4}')"
    [ "${disk_kb:-0}" -ge $((5 * 1024 * 1024)) ] || die "less than 5 GiB free on $(df -P "$DQ_RUN" | awk 'NR==2{print $6}'); free some space first"
}

# The stack's secrets, generated once into .env (0600) and kept; a key an older .env lacks is added.
write_env() {
    (
        umask 077
        if [ ! -f "$DQ_ROOT/.env" ]; then
            echo "# Written by \`make up\` on $(date -u +%Y-%m-%dT%H:%M:%SZ). Secrets of this machine's stack: never commit." \
                > "$DQ_ROOT/.env"
            ok "generated .env with new credentials"
        fi
        add_secret() { grep -q "^$1=" "$DQ_ROOT/.env" || echo "$1=$2" >> "$DQ_ROOT/.env"; }
        add_secret CASSANDRA_USER dq
        add_secret CASSANDRA_PASSWORD "$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')"
        add_secret JUPYTER_TOKEN "$(python3 -c 'import secrets; print(secrets.token_hex(24))')"
        add_secret SPARK_AUTH_SECRET "$(python3 -c 'import secrets; print(secrets.token_hex(24))')"
        local who
        for who in ADMIN GENERATOR VALIDATOR READER; do
            add_secret "KAFKA_${who}_PASSWORD" "$(python3 -c 'import secrets; print(secrets.token_hex(24))')"
        done
    )
}

# Each Kafka principal's login as librdkafka properties, one 0600 file each in a 0700
# directory: what `dq gen|gate|score --kafka-config FILE` read (a password never goes on a
# command line). Admin logs in with PLAIN, the others with SCRAM (server.properties.in).
write_kafka_logins() {
    local dir="$DQ_RUN/kafka" who var
    (umask 077 && mkdir -p "$dir")
    chmod 700 "$dir"
    for who in admin generator validator reader; do
        var="KAFKA_${who^^}_PASSWORD"
        (umask 077 && printf '%s\n' "# The stack's Kafka login as $who (written by make up from .env; docs/security.md)" \
            security.protocol=SASL_PLAINTEXT "sasl.mechanism=$([ $who = admin ] && echo PLAIN || echo SCRAM-SHA-512)" \
            "sasl.username=$who" "sasl.password=${!var}" > "$dir/$who.properties")
    done
}

preflight
step "installing (cached after the first run)"
"$here/install.sh"
write_env
load_env
write_kafka_logins
. "$here/services.sh"
[ -n "$JAVA_HOME" ] || die "Java 17 not found; install openjdk-17-jdk-headless (make deps does)"
mkdir -p "$DQ_RUN/pids" "$DQ_RUN/logs" "$DQ_RUN/data"

started=()
abort() {
    local i
    for ((i = ${#started[@]} - 1; i >= 0; i--)); do "$here/down.sh" --quiet "${started[$i]}" || true; done
    die "$1"
}

wanted=("${@:-${SERVICES[@]}}")
# Every port first, so a taken one stops us before anything starts.
for svc in "${wanted[@]}"; do
    id="$(ident "$svc")"
    declare -F "${id}_start" >/dev/null || die "unknown service '$svc' (one of: ${SERVICES[*]})"
    port_var="${id}_port"
    if ! running "$svc" && [ "${!port_var}" != 0 ] && [ -n "$(port_owner "${!port_var}")" ]; then
        die "port ${!port_var} needed by $svc is taken: $(port_owner "${!port_var}")
       Stop that process (or 'make down' if it is an old stack of this project) and retry."
    fi
done
for svc in "${wanted[@]}"; do
    id="$(ident "$svc")"
    declare -F "${id}_start" >/dev/null || die "unknown service '$svc' (one of: ${SERVICES[*]})"
    if running "$svc"; then
        ok "$svc already running (pid $(cat "$(pidfile "$svc")"))"
        continue
    fi
    port_var="${id}_port"
    owner=""
    [ "${!port_var}" = 0 ] || owner="$(port_owner "${!port_var}")"
    [ -z "$owner" ] || abort "port ${!port_var} needed by $svc is taken: $owner
       Stop that process (or 'make down' if it is an old stack of this project) and retry."
    step "starting $svc"
    log="$(logfile "$svc")"
    mkdir -p "$(dirname "$log")"
    # setsid: the service leads its own process group, so `make down` stops it and its children.
    setsid bash -c ". '$here/lib.sh'; . '$here/services.sh'; load_env; ${id}_start" >"$log" 2>&1 </dev/null &
    echo $! >"$(pidfile "$svc")"
    started+=("$svc")
    timeout_var="${id}_timeout"
    limit="${!timeout_var}" i=0
    printf '    waiting until %s is ready ' "$svc" >&2
    until "${id}_ready" >/dev/null 2>&1; do
        if ! running "$svc"; then
            printf '\n' >&2
            tail -n 25 "$log" >&2 || true
            abort "$svc exited during start-up; its log is $log"
        fi
        i=$((i + 1))
        if [ "$i" -ge "$limit" ]; then
            printf '\n' >&2
            tail -n 25 "$log" >&2 || true
            abort "$svc was not ready after ${limit}s; its log is $log"
        fi
        printf '.' >&2
        sleep 1
    done
    printf ' %ss\n' "$i" >&2
    if [ "$svc" = kafka ]; then
        "$PYCORE" "$here/kafka_setup.py" || abort "setting up Kafka (topics, logins, ACLs) failed"
    fi
done

if [[ " ${wanted[*]} " == *" cassandra "* ]]; then
    "$PYCORE" "$here/cassandra_setup.py" --setup "$DQ_ROOT/config/cassandra_schema.cql" \
        || abort "setting up Cassandra (credentials, schema) failed"
fi
"$here/status.sh" || true   # it exits 1 while some services are down (a partial up)
ok "stack up in $((SECONDS - t0)) s. 'make test' tests it, 'make down' stops it, 'make logs' shows logs."
