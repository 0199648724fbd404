"""The coach's short sounds (clicks, chimes, breath tones), read from ``coach/data/sounds/``.

``load_sound(name, rate)`` returns a read-only float32 mono array at ``rate`` Hz,
resampled once and kept in memory. The WAV files are made by
``scripts/make_sounds.py`` (numpy, deterministic) and committed to the repository.

Names: click, accent, explosive, chime_start, chime_end, breath_in, breath_out,
listen, done.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from coach.audio.wavio import read_wav, resample
from coach.errors import MissingPart

#: Folder holding the WAV files: inside the package, so a wheel ships them (the
#: repository's top-level ``audio/`` is a link to it).
SOUND_DIR = Path(__file__).resolve().parent / "data" / "sounds"

CLICK = "click"
ACCENT = "accent"
EXPLOSIVE = "explosive"
CHIME_START = "chime_start"
CHIME_END = "chime_end"
BREATH_IN = "breath_in"
BREATH_OUT = "breath_out"
LISTEN = "listen"
DONE = "done"
NAMES = (CLICK, ACCENT, EXPLOSIVE, CHIME_START, CHIME_END, BREATH_IN, BREATH_OUT, LISTEN, DONE)

_cache: dict[tuple[str, int, Path], np.ndarray] = {}
_lock = threading.Lock()


def sound_path(name: str, folder: Path | None = None) -> Path:
    return (folder or SOUND_DIR) / f"{name}.wav"


def load_sound(name: str, rate: int, folder: Path | None = None) -> np.ndarray:
    """The sound ``name`` as float32 mono samples at ``rate`` Hz (cached, read-only).

    Raises MissingPart (a CoachError) with the fix when the WAV file is missing.
    """
    folder = folder or SOUND_DIR
    key = (name, int(rate), folder)
    with _lock:
        cached = _cache.get(key)
    if cached is not None:
        return cached
    path = sound_path(name, folder)
    if not path.is_file():
        raise MissingPart(f"the sound {name!r} is missing ({path})",
                          "python scripts/make_sounds.py")
    samples, file_rate = read_wav(path)
    samples = resample(samples, file_rate, int(rate)).astype(np.float32, copy=True)
    samples.setflags(write=False)
    with _lock:
        _cache[key] = samples
    return samples
