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

preflight
step "installing (cached after the first run)"
"$here/install.sh"
"$here/env.sh"
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
        kafka_setup || abort "setting up Kafka (topics, logins, ACLs) failed"
    fi
done

if [[ " ${wanted[*]} " == *" cassandra "* ]]; then
    cassandra_setup || abort "setting up Cassandra (credentials, schema) failed"
fi
"$here/status.sh" || true   # it exits 1 while some services are down (a partial up)
ok "stack up in $((SECONDS - t0)) s. 'make test' tests it, 'make down' stops it, 'make logs' shows logs."
