# Shared shell helpers for the native stack: paths, messages, PID files, readiness waits.
# Sourced by every script in stack/; defines no behaviour of its own.
DQ_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DQ_CACHE="${DQ_CACHE:-$HOME/.cache/dq-platform}"      # downloads, venvs, jars: survive `make clean`
DQ_RUN="${DQ_RUN:-$DQ_ROOT/.stack}"                    # data, logs, pids, rendered configs of this checkout
DQ_PYTHON="${DQ_PYTHON:-python3}"
DQ_ENV_FILE="${DQ_ENV_FILE:-$DQ_ROOT/.env}"            # the stack's secrets (stack/env.sh writes it)
# The address of the services a user opens (Kafka, CQL, the web UIs, /metrics): loopback,
# so only this machine reaches them. A container (docker-compose.yml) sets 0.0.0.0: its own
# network is reached only through the ports compose publishes on the host's 127.0.0.1.
DQ_BIND="${DQ_BIND:-127.0.0.1}"
export DQ_BIND
. "$DQ_ROOT/stack/versions.env"

if [ -t 2 ]; then _b=$'\e[1m'; _r=$'\e[31m'; _g=$'\e[32m'; _y=$'\e[33m'; _0=$'\e[0m'; else _b= _r= _g= _y= _0=; fi
step() { printf '%s==>%s %s\n' "$_b" "$_0" "$*" >&2; }
ok()   { printf '%s ok%s %s\n' "$_g" "$_0" "$*" >&2; }
warn() { printf '%swarning:%s %s\n' "$_y" "$_0" "$*" >&2; }
die()  { printf '%serror:%s %s\n' "$_r" "$_0" "$*" >&2; exit 1; }

venv() { echo "$DQ_CACHE/venv/$1"; }
jars() { echo "$DQ_CACHE/jars/$1"; }

# Java 17: Cassandra 5.0 supports 11 and 17 only; Kafka, Flink 1.20 and Spark 3.5 run on 17 too.
find_java17() {
    local j
    for j in "${JAVA17_HOME:-}" /usr/lib/jvm/java-17-openjdk-* /usr/lib/jvm/temurin-17-*; do
        [ -n "$j" ] && [ -x "$j/bin/java" ] && { echo "$j"; return 0; }
    done
    return 1
}

pidfile() { echo "$DQ_RUN/pids/$1.pid"; }
logfile() { echo "$DQ_RUN/logs/$1.log"; }

# True when the service's recorded process is alive.
running() {
    local pid
    pid="$(cat "$(pidfile "$1")" 2>/dev/null)" || return 1
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

# Who listens on a TCP port of 127.0.0.1 (empty if nobody).
port_owner() { ss -Hltnp "sport = :$1" 2>/dev/null | head -1; }

http_ok() { curl -fsS --max-time 3 -o /dev/null "$1"; }

# Renders a template: @NAME@ becomes the value of shell variable NAME.
render() {
    local src="$1" dst="$2" line
    mkdir -p "$(dirname "$dst")"
    python3 - "$src" "$dst" <<'PY'
import os, re, sys
text = open(sys.argv[1]).read()
def sub(m):
    name = m.group(1)
    if name not in os.environ:
        sys.exit(f"render: {sys.argv[1]} needs ${name}")
    return os.environ[name]
open(sys.argv[2], "w").write(re.sub(r"@([A-Z_0-9]+)@", sub, text))
PY
}

# Loads .env (generated on first `make up`) into shell variables, not exported: a secret
# reaches a process only where it is handed over (a 0600 file, or one command's environment),
# not the environment of every service, where the same user's other processes could read it.
load_env() {
    [ -f "$DQ_ENV_FILE" ] || return 0
    . "$DQ_ENV_FILE"
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

