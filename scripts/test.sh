#!/usr/bin/env bash
# Install what is missing (test packages included), start the private virtual
# sound card, lint, then run the tests. Arguments go to pytest.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
ensure_system_packages
ensure_venv test
cd "$COACH_ROOT"
CARD_DIR="${TMPDIR:-/tmp}/coach-pulse-test-$(id -u)"
eval "$("$VENV/bin/python" -m coach.audio.virtual_card start "$CARD_DIR")"
export XDG_RUNTIME_DIR="$CARD_DIR"
trap '"$VENV/bin/python" -m coach.audio.virtual_card stop "$CARD_DIR"' EXIT
"$VENV/bin/ruff" check coach tests scripts
set +e
"$VENV/bin/python" -m pytest "$@"
status=$?
set -e
exit $status
