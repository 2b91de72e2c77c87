#!/usr/bin/env bash
# Installs everything the native stack needs, from pinned versions, skipping what is
# already there: Debian packages (Java 17, Maven, Prometheus...), the virtual
# environments (core, flink, spark, ml), the jars from Maven Central, the Jupyter
# kernels, the dashboards' npm packages, and libdq. Downloads are cached in $DQ_CACHE; a second run downloads nothing.
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

# The dashboards' npm packages: uPlot for the page, playwright-core for its browser tests
# (which drive Debian's Chromium: no browser download). Reinstalled when the lock changes.
dash="$DQ_CACHE/dashboards"
if ! cmp -s "$DQ_ROOT/dashboards/package-lock.json" "$dash/package-lock.json" || [ ! -d "$dash/node_modules/uplot" ]; then
    command -v npm >/dev/null || die "npm not found: install Node.js 20 or newer (with npm) for the dashboards"
    mkdir -p "$dash"
    cp "$DQ_ROOT/dashboards/package.json" "$DQ_ROOT/dashboards/package-lock.json" "$dash/"
    (cd "$dash" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2) \
        || die "npm ci failed in $dash (the npm registry must be reachable once)"
fi

# libdq for the bindings used by jobs and notebooks.
make -C "$DQ_ROOT" --no-print-directory build >/dev/null || die "building libdq failed: run 'make build' to see why"
ok "installed (cache: $DQ_CACHE)"
