#!/usr/bin/env bash
# Install what the test suite needs and run it: scripts/test.sh [pytest args...]
#
# Works on a fresh Debian machine, as root or as a normal user:
#   * installs PostgreSQL, Chromium (the web app's browser tests) and python3-venv if needed, with apt-get
#     when missing and we are root or have passwordless sudo -- the Debian cluster is not started; the tests start their own servers;
#   * creates/reuses a virtualenv at ${FLOE_VENV:-.venv} and installs the package with its test extras;
#   * installs Azurite (the Azure Blob Storage emulator) from the npm registry into ${FLOE_NPM_PREFIX:-.cache/npm}
#     when node and npm are available -- its tests are then required to run (FLOE_REQUIRE_AZURITE=1);
#   * installs oidc-provider (an OpenID Connect provider, for the sign-in tests) into
#     ${FLOE_NPM_PREFIX:-.cache/npm}/oidc-provider when node and npm are available;
#   * runs `python -m pytest -n N --dist loadfile "$@"` (N: FLOE_TEST_WORKERS, default 3 per core, 4 to 12)
#     and exits with pytest's status.
# Environment: FLOE_VENV (virtualenv path), PYTHON (interpreter used to create it),
#              FLOE_REQUIRE_POSTGRES (default 1 when PostgreSQL is usable: its tests must not skip),
#              FLOE_NPM_PREFIX (where npm packages go), FLOE_AZURITE (azurite-blob executable; set here),
#              FLOE_REQUIRE_AZURITE (default 1 when Azurite is installed),
#              FLOE_REQUIRE_CHROMIUM (default 1 when /usr/bin/chromium is there: browser tests must not skip).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '==> %s\n' "$*"; }
warn() { printf '==> WARNING: %s\n' "$*" >&2; }

# True if the given directory holds the PostgreSQL server binaries.
is_pg_bindir() { [[ -x "$1/initdb" && -x "$1/postgres" && -x "$1/pg_ctl" ]]; }

# Print the PostgreSQL server bin directory (same search as tests/services.py), or fail.
find_pg_bindir() {
    local dir
    if command -v pg_config >/dev/null 2>&1; then
        dir="$(pg_config --bindir 2>/dev/null || true)"
        if [[ -n "$dir" ]] && is_pg_bindir "$dir"; then
            echo "$dir"
            return 0
        fi
    fi
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if is_pg_bindir "$dir"; then
            echo "$dir"
            return 0
        fi
    done
    return 1
}

# True if "$1" is Python >= 3.11 with a working venv module (ensurepip included).
python_ok() {
    command -v "$1" >/dev/null 2>&1 &&
        "$1" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1
}

find_python() {
    local py
    for py in ${PYTHON:-} python3 python3.13 python3.12 python3.11; do
        if python_ok "$py"; then
            echo "$py"
            return 0
        fi
    done
    return 1
}

# How to run apt-get with privileges ("" as root, "sudo -n" with passwordless sudo), or fail.
SUDO=()
can_apt() {
    command -v apt-get >/dev/null 2>&1 || return 1
    if [[ "$(id -u)" -eq 0 ]]; then
        SUDO=()
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO=(sudo -n)
    else
        return 1
    fi
}

# ---------------------------------------------------------------------------------------- system packages
packages=()
if ! find_pg_bindir >/dev/null; then
    packages+=(postgresql)
fi
if [[ ! -x /usr/bin/chromium ]]; then
    packages+=(chromium)  # the web app's browser tests (Playwright drives Debian's Chromium)
fi
if ! command -v wrk >/dev/null 2>&1; then
    packages+=(wrk)  # the load generator of `python -m bench` (it falls back to Python without it)
fi
venv_python="${FLOE_VENV:-.venv}/bin/python"
if [[ ! -x "$venv_python" ]] && ! find_python >/dev/null; then
    packages+=(python3 python3-venv)
fi
if ((${#packages[@]})); then
    if can_apt; then
        log "installing system packages: ${packages[*]}"
        "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
        "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${packages[@]}"
    else
        warn "missing ${packages[*]} and cannot install them (need root or passwordless sudo, and apt-get)"
    fi
fi

if pg_bindir="$(find_pg_bindir)"; then
    if [[ "$(id -u)" -ne 0 ]] || id postgres >/dev/null 2>&1; then
        log "PostgreSQL server binaries: $pg_bindir (PostgreSQL tests are required to run)"
        export FLOE_REQUIRE_POSTGRES="${FLOE_REQUIRE_POSTGRES:-1}"
    else
        warn "running as root without a 'postgres' system user: PostgreSQL tests will be skipped"
    fi
else
    warn "PostgreSQL not found: PostgreSQL tests will be skipped"
fi

# Chromium drives the web app's browser tests (tests/test_web_browser.py): when installed, they must not skip.
if [[ -x /usr/bin/chromium ]]; then
    export FLOE_REQUIRE_CHROMIUM="${FLOE_REQUIRE_CHROMIUM:-1}"
fi

# ---------------------------------------------------------------------------------------- virtualenv
venv="${FLOE_VENV:-.venv}"
if [[ -x "$venv/bin/python" ]]; then
    log "reusing virtualenv $venv"
else
    if ! python="$(find_python)"; then
        echo "error: need Python >= 3.11 with the venv module (set PYTHON=/path/to/python3)" >&2
        exit 1
    fi
    log "creating virtualenv $venv with $python ($("$python" --version 2>&1))"
    "$python" -m venv "$venv"
fi
py="$venv/bin/python"

log "installing icefloe[test] into $venv"
"$py" -m pip install -q --disable-pip-version-check --upgrade pip
"$py" -m pip install -q --disable-pip-version-check -e ".[test]"

# ---------------------------------------------------------------------------------------- Azurite
npm_prefix="${FLOE_NPM_PREFIX:-.cache/npm}"
azurite_bin="$npm_prefix/node_modules/.bin/azurite-blob"
if [[ -x "$azurite_bin" ]]; then
    log "reusing Azurite in $npm_prefix"
elif command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
    log "installing Azurite (Azure Blob Storage emulator) into $npm_prefix"
    mkdir -p "$npm_prefix"
    npm install --prefix "$npm_prefix" --no-audit --no-fund --loglevel=error azurite@3 >/dev/null ||
        warn "npm install azurite@3 failed: Azure tests will be skipped"
else
    warn "node/npm not found: Azure tests will be skipped (install nodejs and npm to run them)"
fi
if [[ -x "$azurite_bin" ]] && command -v node >/dev/null 2>&1; then
    FLOE_AZURITE="$(cd "$(dirname "$azurite_bin")" && pwd)/azurite-blob"
    export FLOE_AZURITE
    export FLOE_REQUIRE_AZURITE="${FLOE_REQUIRE_AZURITE:-1}"
fi

# ---------------------------------------------------------------------------------------- oidc-provider
# A real OpenID Connect provider for the sign-in tests (version pinned in tests/oidc_provider/package.json).
oidc_dir="$npm_prefix/oidc-provider"
if [[ -f "$oidc_dir/node_modules/oidc-provider/package.json" ]] &&
    cmp -s tests/oidc_provider/package.json "$oidc_dir/package.json"; then
    log "reusing oidc-provider in $oidc_dir"
elif command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
    log "installing oidc-provider (OpenID Connect provider for the sign-in tests) into $oidc_dir"
    mkdir -p "$oidc_dir"
    cp tests/oidc_provider/package.json "$oidc_dir/package.json"
    npm install --prefix "$oidc_dir" --no-audit --no-fund --loglevel=error >/dev/null ||
        warn "npm install of oidc-provider failed: the OpenID Connect tests will try again and fail"
else
    warn "node/npm not found: the OpenID Connect sign-in tests will be skipped"
fi

# ---------------------------------------------------------------------------------------- tests
# The suite waits on servers it started as much as it computes, so it runs in several pytest-xdist
# workers (FLOE_TEST_WORKERS, default three per CPU core, at least 4 and at most 12; 0 runs in this process), each
# file in one worker (module fixtures start once). Give -n yourself to override. On 2 cores, 6 workers
# keep both busy (the whole suite: about 350 s).
cores="$(nproc 2>/dev/null || echo 2)"
default_workers=$((cores * 3 > 4 ? cores * 3 : 4))
default_workers=$((default_workers > 12 ? 12 : default_workers))  # each worker starts its own servers
workers=(-n "${FLOE_TEST_WORKERS:-$default_workers}" --dist loadfile)
for arg in "$@"; do
    case "$arg" in -n | -n[0-9a]* | --numprocesses* | no:xdist) workers=() ;; esac
done
# Bytecode is written for this run even where PYTHONDONTWRITEBYTECODE is set: the suite starts about a
# hundred Python processes (servers, CLI commands), each of which would otherwise compile Floe's source
# again, and pytest keeps its rewritten test modules the same way. It goes to __pycache__ (gitignored).
unset PYTHONDONTWRITEBYTECODE
log "running: python -m pytest ${workers[*]} $*"
status=0
"$py" -m pytest "${workers[@]}" "$@" || status=$?
log "pytest exited with status $status"
exit "$status"
