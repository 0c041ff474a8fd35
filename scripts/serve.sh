#!/usr/bin/env bash
# Install Floe into a virtualenv and start the server on its embedded default:
# SQLite and a local folder under ${FLOE_DATA_DIR:-~/.local/share/floe}. Extra args go to `floe serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${FLOE_VENV:-.venv}"
if [[ ! -x "$venv/bin/python" ]]; then
    python3 -m venv "$venv" || {
        echo "==> python3 -m venv failed: install Python 3.11+ with venv (Debian: apt-get install python3-venv)" >&2
        exit 1
    }
fi
if [[ -x "$venv/bin/floe" ]]; then
    pip_output=(--quiet)  # installed before: only what changed, quietly
else
    # the first install downloads a few hundred MB: show what it fetches and a progress bar
    echo "==> Installing Floe into $venv (first time: this takes a few minutes)" >&2
    pip_output=(--progress-bar on)
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install "${pip_output[@]}" -e ".[services,xarray]"  # the data services (xpublish); xarray with dask, netCDF
echo "==> Floe installed in $venv (activate it with: source $venv/bin/activate)"
exec "$venv/bin/floe" serve "$@"
