#!/usr/bin/env bash
# `make down`: stops what `make up` started, by the PIDs it recorded (each service's
# process group), newest first. Data is kept; `make clean` removes it.
#   down.sh [--quiet] [SERVICE...]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
. "$here/services.sh"
quiet=""
[ "${1:-}" = "--quiet" ] && { quiet=1; shift; }
wanted=("${@:-${SERVICES[@]}}")

stop() {
    local svc="$1" pid i
    pid="$(cat "$(pidfile "$svc")" 2>/dev/null)" || return 0
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 60; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.5
        done
        if kill -0 "$pid" 2>/dev/null; then
            kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
            [ -n "$quiet" ] || warn "$svc did not stop within 30 s: killed"
        fi
        [ -n "$quiet" ] || ok "stopped $svc (pid $pid)"
    fi
    rm -f "$(pidfile "$svc")"
}

for ((k = ${#wanted[@]} - 1; k >= 0; k--)); do
    stop "${wanted[$k]}"
done
rm -rf "$DQ_RUN/pids/flink"
