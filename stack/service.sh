#!/usr/bin/env bash
# One service of the stack (stack/services.sh), in the foreground: how each container of
# docker-compose.yml runs it, with the same commands, configs and readiness checks as
# `make up`.
#   service.sh NAME           start NAME (logs to stdout)
#   service.sh --ready NAME   exit 0 once NAME does its job (the container's healthcheck)
#   service.sh --setup        the stack's set-up once Kafka and Cassandra are up: the Kafka
#                             logins for the other services, topics and ACLs, Cassandra's
#                             credentials and schema (what `make up` does between services)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
load_env
. "$here/services.sh"

service_id() {
    declare -F "$(ident "$1")_start" >/dev/null || die "unknown service '$1' (one of: ${SERVICES[*]})"
    ident "$1"
}

case "${1:?usage: service.sh NAME | --ready NAME | --setup}" in
    --ready)
        "$(service_id "${2:?usage: service.sh --ready NAME}")_ready" ;;
    --setup)
        write_kafka_logins
        kafka_setup
        cassandra_setup ;;
    *)
        id="$(service_id "$1")"
        mkdir -p "$DQ_RUN/logs" "$DQ_RUN/data"
        "${id}_start" ;;
esac
