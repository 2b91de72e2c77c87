#!/usr/bin/env bash
# Installs the Debian packages in stack/apt-packages.txt that are missing (root or
# sudo needed once), then the "core" virtual environment (pytest and clients).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"

# DQ_PACKAGES=runtime (the container image) stops before the list's test tools.
mapfile -t wanted < <(awk -v only="${DQ_PACKAGES:-all}" '/^# --- tests/ && only == "runtime" {exit}
    {sub(/#.*/, "")} NF {print $1}' "$here/apt-packages.txt")
missing=()
for p in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
# python3-venv is Debian's; a Python built elsewhere (pyenv) has venv already.
if [ "${#missing[@]}" -gt 0 ] && [ "${missing[*]}" = "python3-venv" ] && "$DQ_PYTHON" -m venv --help >/dev/null 2>&1; then
    missing=()
fi
if [ "${#missing[@]}" -gt 0 ]; then
    step "installing Debian packages: ${missing[*]}"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    command -v apt-get >/dev/null || die "apt-get not found: install ${missing[*]} with your package manager"
    $sudo apt-get update -qq >&2 || die "apt-get update failed: check the network or your Debian mirrors"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 \
        || die "apt-get install failed for: ${missing[*]}"
    # On a systemd machine Debian starts its own Prometheus service on :9090; ours needs the port.
    if [[ " ${missing[*]} " == *" prometheus "* ]] && systemctl is-active --quiet prometheus 2>/dev/null; then
        warn "Debian started a system Prometheus on :9090. The stack runs its own; stop that one with:
         sudo systemctl disable --now prometheus"
    fi
fi
"$here/venv.sh" core >/dev/null
ok "build and test dependencies present"
