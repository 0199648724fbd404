#!/usr/bin/env bash
# Install what is missing (test packages included), start the private virtual
# sound card, lint, then run the tests. Arguments go to pytest.
# COACH_CARD_DIR picks the card's runtime folder (one card per concurrent run).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
ensure_system_packages
ensure_venv test
cd "$COACH_ROOT"
PY="$VENV/bin/python"
CARD_DIR="${COACH_CARD_DIR:-${TMPDIR:-/tmp}/coach-pulse-test-$(id -u)}"
if ! "$PY" -m coach.audio.virtual_card status "$CARD_DIR"; then
    trap '"$PY" -m coach.audio.virtual_card stop "$CARD_DIR"' EXIT
fi
eval "$("$PY" -m coach.audio.virtual_card start "$CARD_DIR")"
export XDG_RUNTIME_DIR="$CARD_DIR"
"$VENV/bin/ruff" check coach tests scripts
set +e
"$PY" -m pytest "$@"
status=$?
set -e
exit $status
