"""Is the chosen speaker / microphone still there?

PortAudio lists devices once, at start-up, and PulseAudio quietly moves a stream whose
source disappears onto another one (a microphone that is unplugged becomes the
speaker's monitor, and the coach would hear itself). So a long-running coach asks:

- for PulseAudio sinks/sources pinned with ``PULSE_SINK`` / ``PULSE_SOURCE``: does
  ``pactl`` still list them?
- for a device named with ``--output-device``/``--input-device``: does a fresh
  PortAudio device list still hold it?

``missing(settings)`` returns a one-line description of what is gone, or None.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys

from coach.errors import CoachError
from coach.settings import AudioSettings

log = logging.getLogger(__name__)


def _pulse_names(kind: str) -> set[str] | None:
    """Names of PulseAudio sinks or sources, or None if there is no PulseAudio to ask."""
    if shutil.which("pactl") is None:
        return None
    try:
        result = subprocess.run(["pactl", "list", "short", kind], capture_output=True,
                                text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if result.returncode != 0:
        return None
    return {line.split("\t")[1] for line in result.stdout.splitlines() if "\t" in line}


def refresh_portaudio() -> None:
    """Make PortAudio list devices again (a USB device plugged in since start-up)."""
    sd = sys.modules.get("sounddevice")
    if sd is not None:
        sd._terminate()
        sd._initialize()


def missing(settings: AudioSettings, check_output: bool = True,
            check_input: bool = True, portaudio: bool = True) -> str | None:
    """What is missing of the chosen devices, in one line; None when all are present.

    ``portaudio=False`` asks PulseAudio only: listing PortAudio's devices again restarts
    PortAudio, which must not happen while a stream of a running session is open."""
    checks = []
    if check_output:
        checks.append(("speaker", "sinks", os.environ.get("PULSE_SINK"),
                       settings.output_device, "output"))
    if check_input:
        checks.append(("microphone", "sources", os.environ.get("PULSE_SOURCE"),
                       settings.input_device, "input"))
    for label, pulse_kind, pulse_name, spec, kind in checks:
        if pulse_name:
            names = _pulse_names(pulse_name and pulse_kind)
            if names is not None and pulse_name not in names:
                return f"the {label} {pulse_name} is gone"
        if spec is not None and portaudio:
            from coach.audio import devices

            refresh_portaudio()
            try:
                devices.resolve(spec, kind)
            except CoachError:
                return f"the {label} {spec!r} is gone"
    return None
