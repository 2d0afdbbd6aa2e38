# Shared by demo.sh and test.sh (sourced, not run): create or reuse the virtual
# environment .venv in the repository root and install OpenLIC into it, editable, with
# the extras asked for. The install runs only when pyproject.toml changed since the
# last one or an extra is missing; the stamp file .venv/.openlic-install records what
# was installed.
#
# Environment: PYTHON (default python3) creates the environment; OPENLIC_VENV puts it
# elsewhere than .venv.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${OPENLIC_VENV:-$ROOT/.venv}
STAMP=$VENV/.openlic-install

_say() { printf '%s\n' "$*" >&2; }

_create_venv() {
    local py=${PYTHON:-python3}
    if ! command -v "$py" >/dev/null 2>&1; then
        _say "error: $py not found; install Python 3.10 or newer (Debian: apt-get install -y python3)"
        return 1
    fi
    if ! "$py" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
        _say "error: OpenLIC needs Python 3.10 or newer; $py is $("$py" -V 2>&1)"
        return 1
    fi
    _say "Creating the virtual environment $VENV"
    if "$py" -m venv "$VENV" >/dev/null 2>&1 && "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
        return 0
    fi
    rm -rf "$VENV"
    # Debian and Ubuntu ship venv's pip bootstrap (ensurepip) in a separate package.
    local pkg=python3-venv
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        _say "python3 -m venv failed: installing $pkg with apt-get"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >&2 && apt-get install -y -qq "$pkg" >&2 || {
            _say "error: apt-get install -y $pkg failed"
            return 1
        }
        if "$py" -m venv "$VENV" && "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
            return 0
        fi
        rm -rf "$VENV"
    fi
    _say "error: '$py -m venv' cannot create a virtual environment with pip."
    _say "On Debian or Ubuntu, install venv support first:  sudo apt-get install -y $pkg"
    return 1
}

# openlic_env EXTRAS: make sure $VENV holds OpenLIC with EXTRAS ("train", "train,docs,dev").
openlic_env() {
    local want=$1
    if [ -x "$VENV/bin/python" ] && ! "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
        # A venv made without pip (uv venv, --without-pip): try to add pip first.
        "$VENV/bin/python" -m ensurepip --upgrade >/dev/null 2>&1 || true
    fi
    if ! "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
        if [ -e "$VENV" ]; then
            _say "The virtual environment $VENV is broken (no working python or pip): recreating it"
            rm -rf "$VENV"
        fi
        _create_venv || return 1
    fi

    local hash have_hash="" have_extras="" extras
    hash=$(sha256sum "$ROOT/pyproject.toml" | cut -c1-64)
    if [ -f "$STAMP" ]; then
        read -r have_hash have_extras <"$STAMP" || true
    fi
    extras=$want
    if [ "$have_hash" = "$hash" ]; then
        # Keep what an earlier run installed (test.sh's extras after demo.sh's).
        extras=$(printf '%s\n' "${have_extras//,/$'\n'}" "${want//,/$'\n'}" | sed '/^$/d' | sort -u | paste -sd, -)
        local missing=0 e
        for e in ${want//,/ }; do
            case ",$have_extras," in *",$e,"*) ;; *) missing=1 ;; esac
        done
        # The editable install must still point at this checkout.
        if [ "$missing" = 0 ] && "$VENV/bin/python" -c '
import sys, openlic
from pathlib import Path
sys.exit(Path(openlic.__file__).resolve().parents[1] != Path(sys.argv[1]).resolve())
' "$ROOT" 2>/dev/null; then
            return 0
        fi
    fi

    _say "Installing OpenLIC with extras [$extras] into $VENV (only when pyproject.toml changes)"
    rm -f "$STAMP"
    "$VENV/bin/python" -m pip install -qq --progress-bar off -e "$ROOT[$extras]" || {
        _say "error: pip install failed"
        return 1
    }
    printf '%s %s\n' "$hash" "$extras" >"$STAMP"
}
