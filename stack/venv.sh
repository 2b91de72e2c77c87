#!/usr/bin/env bash
# Creates or refreshes one virtual environment from stack/requirements/<name>.txt, with
# every transitive version fixed by <name>.lock.
# Venvs live in the download cache (outside the source tree), keyed by the requirements
# file's hash, so a second `make up` or a fresh clone reuses them without downloading.
# Usage: stack/venv.sh NAME   -> prints the venv's path on stdout
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"

name="${1:?usage: venv.sh NAME}"
req="$here/requirements/$name.txt"
[ -f "$req" ] || die "no requirements file $req"
dir="$DQ_CACHE/venv/$name"
lock="$here/requirements/$name.lock"   # every transitive version, as constraints
want="$(cat "$req" "$lock" 2>/dev/null | sha256sum | cut -c1-16)"
if [ "$(cat "$dir/.dq-stamp" 2>/dev/null)" != "$want" ]; then
    step "venv $name: installing $(grep -cv '^#' "$req") pinned packages (first time takes minutes)"
    rm -rf "$dir"
    "$DQ_PYTHON" -m venv "$dir" >&2
    "$dir/bin/pip" install --quiet --upgrade pip >&2
    constraints=()
    [ -f "$lock" ] && constraints=(-c "$lock")
    "$dir/bin/pip" install --quiet -r "$req" "${constraints[@]}" >&2 \
        || die "pip install for venv '$name' failed; see the messages above"
    echo "$want" > "$dir/.dq-stamp"
fi
# The project's own package (python/: libdq's bindings and dq.stack), editable, so every
# program imports this checkout's code. Venvs are shared by checkouts (they live in the
# cache): a venv last pointed at another checkout is pointed at this one.
if [ "$(cat "$dir/.dq-editable" 2>/dev/null)" != "$DQ_ROOT" ]; then
    PYTHONWARNINGS=ignore "$dir/bin/pip" install --quiet --no-deps -e "$DQ_ROOT/python" >&2 \
        || die "installing python/ into venv '$name' failed; see the messages above"
    echo "$DQ_ROOT" > "$dir/.dq-editable"
fi
# PyFlink's Python worker servers on loopback only (docs/security.md); a patched jar is left as it is.
if [ "$name" = flink ]; then
    "$dir/bin/python" "$here/patch_flink_python.py" "$dir" || die "patching flink-python's jar failed; see above"
fi
echo "$dir"
