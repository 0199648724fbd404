# Shared set-up for run.sh and test.sh: install what is missing, idempotently.
# Sourced, not run. Works on Debian and Raspberry Pi OS, as root or with sudo.

COACH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$COACH_ROOT/.venv"
SYSTEM_PACKAGES=(espeak-ng libespeak-ng1 libportaudio2 libatomic1 pulseaudio pulseaudio-utils
                 libasound2-plugins python3-venv python3-dev)

say_step() { echo "coach set-up: $*" >&2; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null; then sudo "$@"
    else say_step "need root for: $* (install sudo or run as root)"; return 1
    fi
}

ensure_system_packages() {
    local missing=()
    for package in "${SYSTEM_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" \
            || missing+=("$package")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if ! command -v apt-get >/dev/null; then
        say_step "please install: ${missing[*]} (no apt-get on this machine)"
        return 1
    fi
    say_step "installing ${missing[*]}"
    as_root apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >&2
}

# ensure_venv [EXTRAS]: .venv with the package installed (editable), re-done when
# pyproject.toml changes.
ensure_venv() {
    local extras="${1:-}"
    local python="${PYTHON:-python3}"
    local stamp="$VENV/.coach-installed${extras:+-$extras}"
    if [ ! -x "$VENV/bin/python" ]; then
        say_step "creating $VENV"
        "$python" -m venv "$VENV" >&2
    fi
    if [ ! -f "$stamp" ] || [ "$COACH_ROOT/pyproject.toml" -nt "$stamp" ]; then
        say_step "installing Python packages${extras:+ [$extras]}"
        "$VENV/bin/python" -m pip install -q --upgrade pip >&2 || true
        "$VENV/bin/python" -m pip install -q -e "$COACH_ROOT${extras:+[$extras]}" >&2
        touch "$stamp"
    fi
}
