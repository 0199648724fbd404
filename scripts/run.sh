#!/usr/bin/env bash
# Install what is missing, then run `coach ARGS`. With no arguments: a coaching
# session, or the demo on a machine without any sound device.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
ensure_system_packages
ensure_venv
COACH="$VENV/bin/coach"
if [ $# -gt 0 ]; then
    exec "$COACH" "$@"
fi
if "$COACH" devices --check 2>/dev/null; then
    exec "$COACH" session
fi
echo "coach: no sound device here, so here is the demo on a virtual sound card." >&2
"$COACH" demo --out demo.wav
echo "coach: on a machine with a speaker and a microphone, run ./scripts/run.sh session" >&2
