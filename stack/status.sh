#!/usr/bin/env bash
# `make status`: one line per service: address, state, PID, resident memory, log.
#   status.sh [--quiet]   (--quiet prints nothing; exit 0 only if every service is ready)
#   status.sh --rss       "service KiB" per running service (make soak samples it)
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
load_env
. "$here/services.sh"
quiet="" rss_only=""
[ "${1:-}" = "--quiet" ] && quiet=1
[ "${1:-}" = "--rss" ] && quiet=1 rss_only=1
all_ready=0
[ -n "$quiet" ] || printf '%-18s %-52s %-9s %8s %8s  %s\n' SERVICE ADDRESS STATE PID RSS_MB LOG
total_kb=0
for svc in "${SERVICES[@]}"; do
    id="$(ident "$svc")"
    url_var="${id}_url"
    pid="-" rss="-" state="down"
    if running "$svc"; then
        pid="$(cat "$(pidfile "$svc")")"
        # The whole process group: a service's children (workers, Python) count too.
        kb="$(ps -o rss= -g "$pid" 2>/dev/null | awk '{s += $1} END {print s + 0}')"
        total_kb=$((total_kb + kb))
        rss=$((kb / 1024))
        [ -n "$rss_only" ] && { echo "$svc $kb"; continue; }
        if "${id}_ready" >/dev/null 2>&1; then state="ready"; else state="starting"; all_ready=1; fi
    else
        all_ready=1
    fi
    [ -n "$quiet" ] || printf '%-18s %-52s %-9s %8s %8s  %s\n' "$svc" "${!url_var}" "$state" "$pid" "$rss" \
        "${DQ_RUN#"$DQ_ROOT"/}/logs/$svc.log"
done
if [ -z "$quiet" ]; then
    printf '%-18s %-52s %-9s %8s %8s\n' total "" "" "" "$((total_kb / 1024))"
    running kafka && "$PYCORE" "$here/pipeline_pulse.py"
    # The token goes to a terminal only: where the output is a log (CI, make up > file) it
    # would be a secret at rest outside .env.
    if [ -z "${JUPYTER_TOKEN:-}" ]; then lab="http://127.0.0.1:8888/lab (run make up)"
    elif [ -t 1 ]; then lab="http://127.0.0.1:8888/lab?token=$JUPYTER_TOKEN"
    else lab="http://127.0.0.1:8888/lab (token: JUPYTER_TOKEN in .env, or make status in a terminal)"; fi
    printf '\nDashboards: http://127.0.0.1:3001\nJupyterLab: %s\nFlink:      http://127.0.0.1:8081, user dq, password FLINK_PASSWORD in .env\nCassandra:  user %s, password in .env\n' \
        "$lab" "${CASSANDRA_USER:-dq}"
fi
exit $all_ready
