#!/usr/bin/env bash
# The Docker path (docker-compose.yml) on this machine: with a Docker engine if one answers,
# else with rootful podman from Debian, which runs the same compose file once adjusted
# (docs/docker.md): runc as runtime and ulimits this machine allows (a containers.conf of our
# own, selected with CONTAINERS_CONF), a base image made with mmdebstrap when no registry
# can be pulled from, the host's CA certificates for builds behind a TLS-inspecting proxy,
# and a loop that runs the healthchecks (podman runs them through systemd timers, and there
# is no systemd here: compose's service_healthy would wait forever).
#   containers.sh up        build what is missing, start everything, wait until healthy
#   containers.sh down [-v] stop and remove the containers (-v: and the data volumes)
#   containers.sh build     (re)build the images
#   containers.sh compose ARGS...   docker-compose on this project (ps, logs, stop kafka...)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"

project="${DQ_COMPOSE_PROJECT:-dq-platform}"
image_label="org.dq-platform.image=dq-platform" # what build() prunes: this project's replaced images only
state="$DQ_RUN/podman"          # the engine socket (root's power: a 0700 folder) and PIDs
base=docker.io/library/debian:bookworm-slim

if command -v docker >/dev/null && docker info >/dev/null 2>&1; then engine=docker; else engine=podman; fi

podman_env() {
    command -v podman >/dev/null && command -v docker-compose >/dev/null \
        || die "no Docker engine answers and podman or docker-compose is missing: run 'make deps'"
    (umask 077 && mkdir -p "$state")
    # Every container's /etc/hosts starts from this one: without it localhost does not
    # resolve in them (Spark's Python binds it by name).
    printf '127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n' >"$state/hosts"
    cat >"$state/containers.conf" <<CONF
# Written by stack/containers.sh: runc (crun refuses a hybrid cgroup layout), ulimits this
# machine's hard limits allow, file events (no journald), localhost in /etc/hosts.
[containers]
base_hosts_file = "$state/hosts"
default_ulimits = ["nofile=$(ulimit -Hn):$(ulimit -Hn)", "nproc=32768:32768"]
init_path = "/usr/bin/catatonit"
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
    export CONTAINERS_CONF="$state/containers.conf"
    export DOCKER_HOST="unix://$state/podman.sock"
    # Containers inside this process's memory cgroup: the caller's limits hold for them too.
    DQ_CGROUP_PARENT="$(awk -F: '$2 == "memory" {print $3}' /proc/self/cgroup)"
    export DQ_CGROUP_PARENT
}

# A daemon of ours (the API socket, the healthcheck loop), recorded to be stopped by PID.
daemon() {
    local name="$1"; shift
    local pid
    pid="$(cat "$state/$name.pid" 2>/dev/null)" && kill -0 "$pid" 2>/dev/null && return 0
    setsid "$@" >>"$state/$name.log" 2>&1 </dev/null &
    echo $! >"$state/$name.pid"
}

healthchecks() {
    while true; do
        local c
        for c in $(podman ps -q --filter "label=com.docker.compose.project=$project"); do
            podman healthcheck run "$c" >/dev/null 2>&1 || true
        done
        sleep 5
    done
}

start_podman() {
    podman_env
    daemon podman-service podman system service --time=0 "$DOCKER_HOST"
    local i
    for i in $(seq 1 30); do [ -S "$state/podman.sock" ] && break; sleep 0.5; done
    [ -S "$state/podman.sock" ] || die "podman system service did not start: see $state/podman-service.log"
    export -f healthchecks
    daemon healthchecks env project="$project" bash -c healthchecks
}

stop_daemons() {
    local name pid
    for name in healthchecks podman-service; do
        pid="$(cat "$state/$name.pid" 2>/dev/null)" || continue
        kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true
        rm -f "$state/$name.pid"
    done
}

# A healthcheck run while its container stops (compose stop, a test's `stop dq-gate`) can
# leave its exec session's monitor (conmon) behind, asleep, after the container is gone: each
# removed container's are stopped, by PID.
stop_exec_monitors() {
    local id pid
    for id in "$@"; do
        for pid in $(pgrep -f -- "conmon .* -c $id "); do kill "$pid" 2>/dev/null || true; done
    done
}

base_image() {
    podman image exists "$base" && return 0
    podman pull -q "$base" >/dev/null 2>&1 && return 0
    step "no registry answers: making $base with mmdebstrap from Debian's mirror (about a minute)"
    command -v mmdebstrap >/dev/null || die "mmdebstrap is missing: run 'make deps'"
    mmdebstrap --quiet --variant=minbase bookworm - \
        "deb http://deb.debian.org/debian bookworm main" \
        "deb http://deb.debian.org/debian bookworm-updates main" \
        "deb http://deb.debian.org/debian-security bookworm-security main" \
        | podman import --quiet - "$base" >/dev/null || die "making the base image failed"
}

build() {
    if [ "$engine" = docker ]; then
        compose build
        return
    fi
    base_image
    # Behind a TLS-inspecting proxy the build needs the host's CAs (the Dockerfile's ARGs).
    local certs=()
    if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
        certs=(-v /etc/ssl/certs:/run/host-certs:ro
            --build-arg PIP_CERT=/run/host-certs/ca-certificates.crt
            --build-arg CURL_CA_BUNDLE=/run/host-certs/ca-certificates.crt
            --build-arg NODE_EXTRA_CA_CERTS=/run/host-certs/ca-certificates.crt)
        [ -f /etc/ssl/certs/java/cacerts ] \
            && certs+=(--build-arg MAVEN_OPTS=-Djavax.net.ssl.trustStore=/run/host-certs/java/cacerts)
    fi
    step "building the image dq-platform (the first time about 15 minutes; then only what changed)"
    podman build --layers -t dq-platform:latest --label "$image_label" "${certs[@]}" "$DQ_ROOT" \
        || die "building the image failed (see above)"
    # The image it replaces keeps its layers as a dangling image (about 5 GB each, shared in
    # part): remove this project's own, and no one else's.
    podman image prune -f --filter "label=$image_label" >/dev/null || true
}

compose() {
    if [ "$engine" = docker ]; then
        docker compose -p "$project" -f "$DQ_ROOT/docker-compose.yml" "$@"
    else
        COLUMNS=500 docker-compose -p "$project" -f "$DQ_ROOT/docker-compose.yml" "$@"  # ps: one line per container
    fi
}

# Until every service with a healthcheck is healthy and the set-up has ended well (compose
# v1 has no `up --wait`): progress every 10 s; on failure, which ones and their last logs.
wait_healthy() {
    local deadline=$((SECONDS + ${DQ_COMPOSE_TIMEOUT:-900})) states pending failed
    while true; do
        states="$(compose ps 2>/dev/null | tail -n +2)"
        pending="$(awk '/starting/ {print $1}' <<<"$states" | paste -sd' ' -)"
        failed="$(awk '/unhealthy|Exit [1-9]|Exited \([1-9]/ {print $1}' <<<"$states" | paste -sd' ' -)"
        if [ -n "$failed" ] || { [ -n "$pending" ] && [ "$SECONDS" -ge "$deadline" ]; }; then
            for c in $failed $pending; do echo "== $c" >&2; podman_or_docker logs --tail 20 "$c" >&2 || true; done
            die "not healthy: ${failed:-$pending} (their last log lines are above; 'make compose ARGS=\"logs SERVICE\"' shows more)"
        fi
        [ -z "$pending" ] && break
        printf '    waiting for: %s\n' "$pending" >&2
        sleep 10
    done
    ok "every service is healthy"
}

podman_or_docker() { if [ "$engine" = docker ]; then docker "$@"; else podman "$@"; fi; }

case "${1:-up}" in
    up)
        "$here/env.sh"
        load_env
        write_kafka_logins   # on the host too: dq gen|score --kafka-config .stack/kafka/<who>.properties
        [ "$engine" = docker ] || start_podman
        build
        if [ -z "$(compose ps -q 2>/dev/null)" ]; then   # not up yet: its ports must be free
            for port in $(sed -n 's/^ *- "127.0.0.1:\([0-9]*\):.*/\1/p' "$DQ_ROOT/docker-compose.yml"); do
                [ -z "$(port_owner "$port")" ] || die "port $port is taken: $(port_owner "$port")
       If it is the native stack, stop it first with 'make down'."
            done
        fi
        step "starting the containers"
        compose up -d --no-build
        wait_healthy
        ok "the Docker path is up, on the same ports as 'make up' (docs/docker.md); 'make compose ARGS=ps' lists its containers" ;;
    down)
        shift
        [ "$engine" = docker ] || start_podman
        if [ "$engine" = docker ]; then
            compose down "$@"
        else
            # docker-compose 1.29 removes the containers all at once, and podman refuses to
            # remove net while others still use its network: stopped in order by compose (the
            # live writer takes its savepoint), removed by podman with what depends on them.
            compose stop || true
            ids="$(podman ps -aq --no-trunc --filter "label=com.docker.compose.project=$project")"
            # (podman rm also complains that there is no systemd to remove healthcheck timers from)
            xargs -r podman rm -f --depend <<<"$ids" >/dev/null 2>&1
            stop_exec_monitors $ids
            [ -z "$(podman ps -aq --filter "label=com.docker.compose.project=$project")" ] \
                || die "containers of $project are left: podman ps -a --filter label=com.docker.compose.project=$project"
            podman network rm -f "${project}_default" >/dev/null 2>&1 || true
            if [[ " $* " == *" -v "* ]]; then
                podman volume ls -q --filter "label=com.docker.compose.project=$project" | xargs -r podman volume rm -f >/dev/null
            fi
            stop_daemons
        fi ;;
    build)
        [ "$engine" = docker ] || start_podman
        build ;;
    compose)
        shift
        [ "$engine" = docker ] || start_podman
        compose "$@" ;;
    *) die "usage: containers.sh up | down [-v] | build | compose ARGS..." ;;
esac
