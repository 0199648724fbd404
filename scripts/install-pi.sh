#!/usr/bin/env bash
# Run `coach device` at boot on a Raspberry Pi (or any Debian machine) as a systemd
# user service of the current user, with the chosen sound devices.
#
#   ./scripts/install-pi.sh [--output-device NAME] [--input-device NAME] [--engine E] [--uninstall]
#
# It sets everything up (./scripts/run.sh's installs), renders the device's speech once
# (`coach device --prepare`), writes
# ~/.config/systemd/user/coach-device.service, enables lingering so the service starts
# at boot without a login, and starts it. Logs: journalctl --user -u coach-device -f
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

ARGS=()         # global options (devices, data folder, voice)
DEVICE_ARGS=()  # options of `coach device` itself
UNINSTALL=0
while [ $# -gt 0 ]; do
    case "$1" in
        --output-device|--input-device|--data-dir|--voice|--rate)
            ARGS+=("$1" "$2"); shift 2 ;;
        --engine)
            DEVICE_ARGS+=("$1" "$2"); shift 2 ;;
        --uninstall) UNINSTALL=1; shift ;;
        -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
        *) echo "install-pi: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done

UNIT_DIR="${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user"
UNIT="$UNIT_DIR/coach-device.service"

if [ "$UNINSTALL" = 1 ]; then
    systemctl --user disable --now coach-device.service 2>/dev/null || true
    rm -f "$UNIT"
    systemctl --user daemon-reload 2>/dev/null || true
    echo "coach-device removed."
    exit 0
fi

ensure_system_packages
ensure_venv
"$VENV/bin/coach" "${ARGS[@]}" doctor || echo "install-pi: fix the failures above; the service retries devices on its own." >&2
# Render every line the device will say (its greeting, the plan's workout, the body scan)
# into the speech cache now, once: the running device then reads them from disk and never
# loads the voice model beside the recognizer (a few minutes on a Pi 4 with Piper).
"$VENV/bin/coach" "${ARGS[@]}" device "${DEVICE_ARGS[@]}" --prepare || echo "install-pi: preparing the speech failed; the device renders lines when it first needs them." >&2

mkdir -p "$UNIT_DIR"
cat > "$UNIT" <<UNIT
[Unit]
Description=coach: voice-started workout and body-scan speaker
After=sound.target pulseaudio.service pipewire.service
Wants=sound.target

[Service]
Type=simple
ExecStart=$VENV/bin/coach ${ARGS[*]} device ${DEVICE_ARGS[*]}
Restart=always
RestartSec=5
# stdout/stderr go to the journal
Environment=PYTHONUNBUFFERED=1

[Install]
WantedBy=default.target
UNIT

if command -v loginctl >/dev/null; then
    loginctl enable-linger "$(id -un)" 2>/dev/null || as_root loginctl enable-linger "$(id -un)" || true
fi
systemctl --user daemon-reload
systemctl --user enable --now coach-device.service
echo "coach-device installed: it starts at boot. Say \"start workout\" or \"body scan\"."
echo "Logs: journalctl --user -u coach-device -f    Remove: $0 --uninstall"
