"""Text to speech: pyttsx3 (espeak-ng on Linux) renders each utterance to PCM.

One utterance per ``runAndWait`` (pyttsx3 2.99 writes only the last file when
several ``save_to_file`` calls are queued), and its espeak driver may return from
``runAndWait`` before espeak's own thread has written the file: we wait for the
``finished-utterance`` notification, which comes after the file is closed. The result
is resampled to the speaker rate and kept in a memory cache and a disk cache keyed
on (text, voice, rate), so a repeated phrase starts without rendering.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import shutil
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from coach.audio.wavio import read_wav, resample
from coach.errors import MissingPart
from coach.settings import SpeechSettings

log = logging.getLogger(__name__)

#: Bytes of rendered speech kept in memory (about 45 s at 44.1 kHz).
MEMORY_CACHE_BYTES = 2 * 1024 * 1024
#: Seconds to wait for espeak-ng to finish one utterance.
SYNTH_TIMEOUT = 30.0
INSTALL_ESPEAK = "sudo apt-get install espeak-ng (./scripts/run.sh does it for you)"


class Voice:
    """Renders text to float32 mono samples at ``output_rate``."""

    def __init__(self, settings: SpeechSettings, output_rate: int,
                 cache_dir: Path | None = None) -> None:
        self.settings = settings
        self.output_rate = output_rate
        self.cache_dir = cache_dir
        self._memory: OrderedDict[str, np.ndarray] = OrderedDict()
        self._memory_bytes = 0
        self._engine = None
        self._voice_id: str | None = None
        self._lock = threading.Lock()
        self._finished = threading.Event()

    # -- the engine -------------------------------------------------------------------
    def _init_engine(self):
        if self._engine is not None:
            return self._engine
        if shutil.which("espeak-ng") is None and not _espeak_library_present():
            raise MissingPart("espeak-ng is not installed, so the coach cannot speak",
                              INSTALL_ESPEAK)
        try:
            import pyttsx3
        except ImportError:
            raise MissingPart("the Python package pyttsx3 is missing",
                              "run ./scripts/run.sh, or pip install pyttsx3") from None
        try:
            engine = pyttsx3.init()
        except (RuntimeError, OSError, ImportError) as error:
            raise MissingPart(f"the speech engine did not start ({error})",
                              INSTALL_ESPEAK) from None
        self._voice_id = pick_voice(engine, self.settings.voice)
        if self._voice_id:
            engine.setProperty("voice", self._voice_id)
        engine.setProperty("rate", self.settings.rate)
        engine.setProperty("volume", self.settings.volume)
        engine.connect("finished-utterance", lambda name=None, completed=True: self._finished.set())
        self._engine = engine
        return engine

    def warm_up(self) -> None:
        """Start the speech engine and load its voice now, so the first line is not slowed."""
        self._synthesise("Ready.")

    @property
    def voice_id(self) -> str:
        self._init_engine()
        return self._voice_id or "default"

    # -- rendering --------------------------------------------------------------------
    def key(self, text: str) -> str:
        ident = f"{text}\x00{self.settings.voice}\x00{self.settings.rate}\x00" \
                f"{self.settings.volume}\x00{self.output_rate}"
        return hashlib.sha1(ident.encode("utf-8")).hexdigest()

    def is_cached(self, text: str) -> bool:
        key = self.key(text)
        return key in self._memory or (self._disk_path(key) is not None
                                       and self._disk_path(key).exists())

    def _disk_path(self, key: str) -> Path | None:
        return None if self.cache_dir is None else self.cache_dir / f"{key}.npy"

    def render(self, text: str) -> np.ndarray:
        """Speech for ``text`` as float32 mono at ``output_rate`` (cached)."""
        key = self.key(text)
        cached = self._memory.get(key)
        if cached is not None:
            self._memory.move_to_end(key)
            return cached
        path = self._disk_path(key)
        if path is not None and path.exists():
            try:
                samples = np.load(path)
                self._remember(key, samples)
                return samples
            except (OSError, ValueError):
                log.debug("speech cache entry %s unreadable; rendering again", path)
        samples = self._synthesise(text)
        self._remember(key, samples)
        if path is not None:
            self._store(path, samples)
        return samples

    def _remember(self, key: str, samples: np.ndarray) -> None:
        """Keep recent lines in memory, the oldest dropped past MEMORY_CACHE_BYTES (the disk
        cache still has them): a long session on a Pi stays small."""
        self._memory[key] = samples
        self._memory_bytes += samples.nbytes
        while self._memory_bytes > MEMORY_CACHE_BYTES and len(self._memory) > 1:
            _, dropped = self._memory.popitem(last=False)
            self._memory_bytes -= dropped.nbytes

    def _synthesise(self, text: str) -> np.ndarray:
        with self._lock:
            engine = self._init_engine()
            handle, name = tempfile.mkstemp(suffix=".wav", prefix="coach-say-")
            os.close(handle)
            try:
                # pyttsx3 prints "Audio saved to ..." on stdout: keep stdout for output.
                self._finished.clear()
                with contextlib.redirect_stdout(io.StringIO()):
                    engine.save_to_file(text, name)
                    engine.runAndWait()
                    # espeak may still be synthesising on its own thread
                    if not self._finished.wait(timeout=SYNTH_TIMEOUT):
                        raise MissingPart(f"espeak-ng did not finish speaking {text[:40]!r}",
                                          "check `espeak-ng 'hello'` works; " + INSTALL_ESPEAK)
                samples, rate = read_wav(name)
            finally:
                with contextlib.suppress(OSError):
                    os.unlink(name)
        return trim_silence(resample(samples, rate, self.output_rate), self.output_rate)

    def _store(self, path: Path, samples: np.ndarray) -> None:
        """Write a cache entry atomically; a full disk only costs a re-render later."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temp = path.with_suffix(f".{os.getpid()}.tmp.npy")
            np.save(temp, samples)
            os.replace(temp, path)
        except OSError as error:
            log.debug("could not cache speech in %s: %s", path, error)

    def duration(self, text: str) -> float:
        """Seconds the rendered utterance lasts."""
        return len(self.render(text)) / self.output_rate


def trim_silence(samples: np.ndarray, rate: int, floor: float = 0.003,
                 lead: float = 0.005, tail: float = 0.06) -> np.ndarray:
    """Cut espeak-ng's silence before and after the words (keeping ``lead``/``tail``
    seconds): the coach starts talking sooner, and its questions end sooner, so the
    microphone opens sooner."""
    loud = np.nonzero(np.abs(samples) > floor)[0]
    if len(loud) == 0:
        return samples
    start = max(0, int(loud[0]) - int(lead * rate))
    end = min(len(samples), int(loud[-1]) + 1 + int(tail * rate))
    return samples[start:end]


def _espeak_library_present() -> bool:
    import ctypes.util

    return ctypes.util.find_library("espeak-ng") is not None


def pick_voice(engine, wanted: str | None) -> str | None:
    """The pyttsx3 voice id for ``wanted``; English (America) by default.

    ``wanted`` may be a voice id ("gmw/en-us"), a language code ("en-gb"), or part of a
    name ("Scotland"), optionally with an espeak-ng variant ("en-gb+m3").
    """
    voices = engine.getProperty("voices") or []
    if not wanted:
        wanted = "en-us"
    base, _, variant = wanted.partition("+")
    key = base.lower()

    def languages(voice) -> list[str]:
        return [str(lang).lower() for lang in (getattr(voice, "languages", None) or [])]

    tests = (
        lambda v: v.id.lower() == key,
        lambda v: key in languages(v),
        lambda v: v.id.lower().endswith("/" + key),
        lambda v: key in (v.name or "").lower(),
    )
    for test in tests:
        for voice in voices:
            if test(voice):
                return voice.id + (f"+{variant}" if variant else "")
    if wanted == "en-us":  # no English voice listed: leave the engine's default
        return None
    names = ", ".join(sorted({lang for v in voices for lang in languages(v)
                              if lang.startswith("en")}))
    raise MissingPart(f"no speech voice matches {wanted!r}",
                      f"pick one of: {names} (a variant may follow, e.g. en-gb+m3)")
