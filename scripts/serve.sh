#!/usr/bin/env bash
# Install Floe into a virtualenv and start the server on its embedded default:
# SQLite and a local folder under ${FLOE_DATA_DIR:-~/.local/share/floe}. Extra args go to `floe serve`.
#
# The install runs only when needed: the first time, and when pyproject.toml or Floe's version changed
# since the last install (a stamp in the virtualenv records them). Otherwise it starts straight away,
# without the network. FLOE_REINSTALL=1 forces an install.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${FLOE_VENV:-.venv}"
stamp_file="$venv/.floe-install-stamp"

# What the install depends on: the dependencies and extras (pyproject.toml) and the version. The
# package is installed editable, so changes to the code itself need no reinstall.
stamp() {
    { cat pyproject.toml; grep -E '^__version__' src/floe/__init__.py; echo "extras=services,xarray"; } |
        { sha256sum 2>/dev/null || cksum; } | cut -d' ' -f1
}

if [[ ! -x "$venv/bin/python" ]]; then
    python3 -m venv "$venv" || {
        echo "==> python3 -m venv failed: install Python 3.11+ with venv (Debian: apt-get install python3-venv)" >&2
        exit 1
    }
fi
wanted="$(stamp)"
if [[ -x "$venv/bin/floe" && "${FLOE_REINSTALL:-0}" != 1 && -f "$stamp_file" && "$(cat "$stamp_file")" == "$wanted" ]]; then
    :  # installed, and nothing it depends on changed: no pip, no network
else
    if [[ -x "$venv/bin/floe" ]]; then
        echo "==> pyproject.toml or the version changed since the last install: updating Floe in $venv" >&2
    else
        # the first install downloads a few hundred MB: show what it fetches and a progress bar
        echo "==> Installing Floe into $venv (first time: this takes a few minutes)" >&2
        "$venv/bin/python" -m pip install --progress-bar on --upgrade pip
    fi
    "$venv/bin/python" -m pip install --progress-bar on -e ".[services,xarray]"  # data services (xpublish); xarray with dask, netCDF
    echo "$wanted" >"$stamp_file"
    echo "==> Floe installed in $venv (activate it with: source $venv/bin/activate)" >&2
fi
exec "$venv/bin/floe" serve "$@"
