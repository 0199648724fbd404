"""Frozen settings, built once at the entry point (``coach.cli``) and passed down.

Nothing below the command line reads argparse, the environment or a global config:
whatever a module needs arrives in one of these dataclasses.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

#: Sample rate of the speaker stream and of everything mixed into it, in Hertz.
OUTPUT_RATE = 44_100
#: Sample rate of the microphone frames handed to recognizers, in Hertz.
INPUT_RATE = 16_000

#: Speech recognizers, for ``--engine`` (``coach.hearing.open_recognizer``).
ENGINES = ("auto", "whisper", "vosk", "pocketsphinx")
ENGINE_HELP = ("speech recognizer (default: auto = Whisper when its model is installed, "
               "which it is by default; else Vosk with an English model; else PocketSphinx)")
MODEL_HELP = ("a Whisper model folder or fetched name (whisper-base.en), or a Vosk model "
              "folder (default: the installed tiny.en)")


def default_data_dir() -> Path:
    """The platform's user data folder: ``$XDG_DATA_HOME/coach`` or ``~/.local/share/coach``."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "coach"


@dataclass(frozen=True)
class AudioSettings:
    output_device: str | None = None
    """Speaker: a PortAudio device index or a name substring; None for the default."""
    input_device: str | None = None
    """Microphone: a PortAudio device index or a name substring; None for the default."""
    output_rate: int = OUTPUT_RATE
    """Speaker stream sample rate, in Hertz."""
    input_rate: int = INPUT_RATE
    """Rate of the frames delivered to listeners, in Hertz (resampled if the device differs)."""
    block_frames: int = 512
    """Frames per output callback; smaller is lower latency, larger is lighter on a Pi."""
    latency: str | float = "low"
    """PortAudio suggested latency: 'low', 'high' or seconds."""
    echo_cancel: bool = True
    """Take the coach's own sound out of the microphone (``coach.audio.echo``), unless
    the sound server's ``module-echo-cancel`` already does."""


@dataclass(frozen=True)
class SpeechSettings:
    voice: str | None = None
    """``piper:NAME``, ``espeak:NAME``, a Piper ``.onnx`` path, or a bare espeak-ng voice
    ('en-gb'); None: the bundled Piper voice, else espeak-ng English."""
    rate: int = 170
    """Speaking rate in words per minute."""
    volume: float = 1.0
    """Speech volume, 0..1."""
    voices_dir: Path | None = None
    """Where ``coach voices fetch`` installs Piper voices (``<data>/voices``)."""
    cache_bytes: int = 200 * 1024 * 1024
    """Cap of the disk speech cache in bytes; the least recently used lines go first."""
    render_apart: bool = False
    """Render Piper lines in a short-lived child process instead of this one (``coach
    device``): the model's ~215 MB live only while lines are missing from the disk cache,
    and go back to the system when the child exits."""


@dataclass(frozen=True)
class HearingSettings:
    engine: str = "auto"
    """Speech recognizer: one of ENGINES (``coach.hearing.open_recognizer`` says how "auto"
    chooses)."""
    model: str | None = None
    """A Whisper model folder or fetched name, or a Vosk model folder; None: the installed
    one."""


@dataclass(frozen=True)
class Paths:
    data_dir: Path = field(default_factory=default_data_dir)
    """Where the database, caches and models live."""
    cache_dir: Path | None = None
    """Where caches live, if not ``<data_dir>/cache`` (``COACH_CACHE_DIR``)."""

    @property
    def database(self) -> Path:
        return self.data_dir / "coach.sqlite3"

    @property
    def speech_cache(self) -> Path:
        return (self.cache_dir or self.data_dir / "cache") / "speech"

    @property
    def voices(self) -> Path:
        return self.data_dir / "voices"

    @property
    def models(self) -> Path:
        return self.data_dir / "models"


@dataclass(frozen=True)
class RemoteSettings:
    """A Wyoming server that hears for the coach (``coach.remote``)."""

    hearing: str | None = None
    """``wyoming://HOST:PORT`` of a Wyoming ASR server; None: hear locally only."""
    deadline: float = 0.8
    """Seconds a turn waits for the server before local hearing takes it."""
    retry_first: float = 2.0
    """Seconds before a failed server is tried again; doubled at each failure."""
    retry_max: float = 60.0
    """The longest wait between two tries of a failed server, in seconds."""
    min_confidence: float = 0.9
    """A server's answer below this confidence is only a guess to check (the local
    Whisper's own limit)."""
    max_wait: float | None = None
    """Seconds a turn may wait in a busy ``coach serve``'s queue; a longer wait gets
    "busy" at once and the turn is heard locally. None: as long as one local decode
    takes on this device, timed once (waiting longer than hearing it oneself helps
    nobody)."""


@dataclass(frozen=True)
class Settings:
    """Everything a command needs, built once from the command line."""

    audio: AudioSettings = field(default_factory=AudioSettings)
    speech: SpeechSettings = field(default_factory=SpeechSettings)
    hearing: HearingSettings = field(default_factory=HearingSettings)
    paths: Paths = field(default_factory=Paths)
    remote: RemoteSettings = field(default_factory=RemoteSettings)
