#!/usr/bin/env bash
# Installs everything the native stack needs, from pinned versions, skipping what is
# already there: Debian packages (Java 17, Maven, Prometheus...), the virtual
# environments (core, flink, spark, ml), the jars from Maven Central, the Jupyter
# kernels, and libdq. Downloads are cached in $DQ_CACHE; a second run downloads nothing.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"

"$here/deps.sh"
for v in core flink spark ml; do
    "$here/venv.sh" "$v" >/dev/null
done
for j in kafka cassandra flink spark jmx; do
    "$here/jars.sh" "$j" >/dev/null
done
ok "virtual environments and jars present"

# One Jupyter kernel per virtual environment, each able to `import dq` from this checkout.
core="$(venv core)"
for v in core flink spark ml; do
    "$(venv "$v")/bin/python" -m ipykernel install --prefix "$core" --name "dq-$v" \
        --display-name "Python ($v)" --env PYTHONPATH "$DQ_ROOT/python" >/dev/null 2>&1 \
        || die "could not register the Jupyter kernel for venv '$v'"
done

# libdq for the bindings used by jobs and notebooks.
make -C "$DQ_ROOT" --no-print-directory build >/dev/null || die "building libdq failed: run 'make build' to see why"
ok "installed (cache: $DQ_CACHE)"
