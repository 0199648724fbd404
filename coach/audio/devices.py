"""Finding sound devices by index or name, with errors that list what exists."""

from __future__ import annotations

import atexit
import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from coach.errors import DeviceError, MissingPart


def sounddevice_module():
    """Import sounddevice, or say how to install PortAudio."""
    try:
        import sounddevice
    except OSError as error:  # the module imports but PortAudio's library is missing
        raise MissingPart(
            f"PortAudio is not installed ({error})",
            "sudo apt-get install libportaudio2, or run ./scripts/run.sh which installs it",
        ) from None
    except ImportError:
        raise MissingPart(
            "the Python package sounddevice is missing",
            "run ./scripts/run.sh, or pip install sounddevice",
        ) from None
    return sounddevice


#: How ALSA's and PortAudio's own messages begin (printed straight to file descriptor 2).
NATIVE_NOISE = (b"Expression '", b"ALSA lib ")


_holding = threading.Lock()


@contextmanager
def native_messages() -> Iterator[list[str]]:
    """Hold back what ALSA and PortAudio print straight to file descriptor 2 while a
    stream opens (a failed open prints a dozen lines of C source positions). Their lines
    are in the yielded list afterwards, for ``native_cause``; anything else written in
    that moment (another thread's log) is passed on. One stream opens at a time."""
    lines: list[str] = []
    with _holding:
        try:
            sys.stderr.flush()
            saved = os.dup(2)
        except (OSError, ValueError):  # no real stderr (embedded): nothing to hold back
            yield lines
            return
        with tempfile.TemporaryFile() as held:
            os.dup2(held.fileno(), 2)
            try:
                yield lines
            finally:
                os.dup2(saved, 2)
                os.close(saved)
                held.seek(0)
                for line in held.read().splitlines(keepends=True):
                    if line.startswith(NATIVE_NOISE):
                        lines.append(line.decode("utf-8", "replace").rstrip("\n"))
                    elif line.strip():
                        os.write(2, line)


class _NoiseFilter(threading.Thread):
    """Copies what arrives on a pipe to the real stderr, without ALSA's and PortAudio's
    lines: a speaker unplugged mid-run makes PortAudio's audio thread print C source
    positions, and the user should see only the coach's one line. Partial lines (a
    typed-answer prompt) pass at once unless they could be the start of such a line."""

    def __init__(self, read_fd: int, real_fd: int) -> None:
        super().__init__(name="stderr-filter", daemon=True)
        self.read_fd = read_fd
        self.real_fd = real_fd

    def _out(self, data: bytes) -> None:
        try:
            os.write(self.real_fd, data)
        except OSError:
            pass  # stderr went away: the bytes are dropped, never the writer blocked

    def run(self) -> None:
        pending, passing, dropped = b"", False, False
        while True:
            try:
                chunk = os.read(self.read_fd, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                break
            pending += chunk
            while pending:
                newline = pending.find(b"\n")
                if passing:  # the rest of a line already let through
                    end = len(pending) if newline < 0 else newline + 1
                    self._out(pending[:end])
                    pending, passing = pending[end:], newline < 0
                    continue
                if newline < 0:
                    if not any(p.startswith(pending[:len(p)]) for p in NATIVE_NOISE):
                        self._out(pending)
                        pending, passing = b"", True
                    break
                line, pending = pending[:newline + 1], pending[newline + 1:]
                if line.startswith(NATIVE_NOISE) or (dropped and not line.strip()):
                    dropped = True
                    continue
                dropped = False
                self._out(line)
        if pending:
            self._out(pending)
        os.close(self.read_fd)


_filter: _NoiseFilter | None = None


def filter_native_noise() -> None:
    """From now on, drop ALSA's and PortAudio's own lines from this process's stderr
    (called once by the command line; the last lines are flushed at exit)."""
    global _filter
    if _filter is not None:
        return
    try:
        sys.stderr.flush()
        real = os.dup(2)
        read_fd, write_fd = os.pipe()
        os.dup2(write_fd, 2)
        os.close(write_fd)
    except (OSError, ValueError):
        return
    _filter = _NoiseFilter(read_fd, real)
    _filter.start()

    def restore() -> None:
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        os.dup2(real, 2)  # the pipe's last writer closes: the filter reads to its end
        _filter.join(timeout=1.0)

    atexit.register(restore)


def native_cause(lines: list[str]) -> str:
    """The line of ALSA's output that says why a stream did not open, or ''."""
    for line in lines:  # ALSA lib pcm_pulse.c:758:(pulse_prepare) PulseAudio: Unable to ...
        if line.startswith("ALSA lib ") and ") " in line:
            return line.split(") ", 1)[1].strip()
    return ""


@dataclass(frozen=True)
class Device:
    index: int
    name: str
    inputs: int
    outputs: int
    default_rate: float
    is_default_input: bool = False
    is_default_output: bool = False

    def line(self) -> str:
        marks = ("<" if self.is_default_input else " ") + (">" if self.is_default_output else " ")
        return (f"{marks} {self.index:3d}  {self.name}  "
                f"({self.inputs} in, {self.outputs} out, {self.default_rate:.0f} Hz)")


def list_devices() -> list[Device]:
    sd = sounddevice_module()
    try:
        infos = sd.query_devices()
        default_in, default_out = sd.default.device
    except sd.PortAudioError as error:
        raise DeviceError(f"cannot list sound devices: {error}", "check the sound system") from None
    return [
        Device(
            index=i,
            name=info["name"],
            inputs=int(info["max_input_channels"]),
            outputs=int(info["max_output_channels"]),
            default_rate=float(info["default_samplerate"]),
            is_default_input=(i == default_in),
            is_default_output=(i == default_out),
        )
        for i, info in enumerate(infos)
    ]


def sound_hardware_present() -> bool:
    """False when Linux reports no sound card at all and no sound server was named: a
    sound server may still offer a "dummy output" there, which nobody would hear."""
    import os
    from pathlib import Path

    cards = Path("/proc/asound/cards")
    if os.environ.get("PULSE_SERVER") or not cards.exists():
        return True
    return "no soundcards" not in cards.read_text(errors="replace")


def describe(devices: list[Device]) -> str:
    return "\n".join(d.line() for d in devices) or "  (no sound devices found)"


def resolve(spec: str | int | None, kind: str) -> int | None:
    """Turn ``--output-device``/``--input-device`` into a PortAudio index.

    ``kind`` is "input" or "output". None means the system default. A number is an
    index; anything else is a case-insensitive name substring. A device that does not
    exist raises DeviceError (exit code 2) whose message lists the devices.
    """
    devices = list_devices()
    usable = [d for d in devices if (d.inputs if kind == "input" else d.outputs) > 0]
    if not usable:
        raise DeviceError(
            f"no sound {kind} device found",
            "plug in a speaker/microphone, or try `coach demo` which needs none",
        )
    if spec is None or spec == "":
        return None
    text = str(spec).strip()
    if text.isdigit():
        index = int(text)
        if any(d.index == index for d in usable):
            return index
    else:
        matches = [d for d in usable if text.lower() in d.name.lower()]
        exact = [d for d in matches if d.name.lower() == text.lower()]
        if exact or len(matches) >= 1:
            return (exact or matches)[0].index
    raise DeviceError(
        f"no {kind} device matches {text!r}; the devices are:\n{describe(devices)}",
        f"pass --{kind}-device with an index or part of a name from this list",
        exit_code=2,
    )
