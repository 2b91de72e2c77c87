# Shared shell helpers for the native stack: paths, messages, PID files, readiness waits.
# Sourced by every script in stack/; defines no behaviour of its own.
DQ_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DQ_CACHE="${DQ_CACHE:-$HOME/.cache/dq-platform}"      # downloads, venvs, jars: survive `make clean`
DQ_RUN="${DQ_RUN:-$DQ_ROOT/.stack}"                    # data, logs, pids of this checkout
DQ_PYTHON="${DQ_PYTHON:-python3}"
. "$DQ_ROOT/stack/versions.env"

if [ -t 2 ]; then _b=$'\e[1m'; _r=$'\e[31m'; _g=$'\e[32m'; _0=$'\e[0m'; else _b= _r= _g= _0=; fi
step() { printf '%s==>%s %s\n' "$_b" "$_0" "$*" >&2; }
ok()   { printf '%s ok%s %s\n' "$_g" "$_0" "$*" >&2; }
die()  { printf '%serror:%s %s\n' "$_r" "$_0" "$*" >&2; exit 1; }
