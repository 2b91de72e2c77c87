#!/usr/bin/env bash
# Runs a command against the native stack: starts the stack if it is not running, and
# stops it again afterwards in that case, so `make test` leaves the machine as it found it.
#   with-stack.sh COMMAND...
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
was_up=0
"$here/status.sh" --quiet && was_up=1
if [ "$was_up" = 0 ]; then
    "$here/up.sh" || exit 1
fi
"$@"
rc=$?
if [ "$was_up" = 0 ]; then
    step "stopping the stack this test run started"
    "$here/down.sh"
fi
exit $rc
