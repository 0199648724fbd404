"""espeak-ng speech through pyttsx3: the fallback voice, and the simulated athletes'.

One utterance per ``runAndWait`` (pyttsx3 2.99 writes only the last file when several
``save_to_file`` calls are queued), and its espeak driver may return from ``runAndWait``
before espeak's own thread has written the file: we wait for the ``finished-utterance``
notification, which comes after the file is closed.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
import threading

import numpy as np

from coach.audio.wavio import read_wav
from coach.errors import MissingPart
from coach.settings import SpeechSettings

#: Seconds to wait for espeak-ng to finish one utterance.
SYNTH_TIMEOUT = 30.0
INSTALL_ESPEAK = "sudo apt-get install espeak-ng (./scripts/run.sh does it for you)"

#: pyttsx3 keeps one engine per driver for the whole process, whatever the Voice: one
#: utterance at a time across all of them.
_espeak_lock = threading.Lock()


class EspeakSpeech:
    """espeak-ng through pyttsx3 (one engine per Voice)."""

    def __init__(self, wanted: str | None, settings: SpeechSettings) -> None:
        self.wanted = wanted
        self.settings = settings
        self._engine = None
        self.voice_id: str | None = None
        self._lock = _espeak_lock
        self._finished = threading.Event()
        self._init_engine()

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
        self.voice_id = pick_voice(engine, self.wanted)
        if self.voice_id:
            engine.setProperty("voice", self.voice_id)
        engine.setProperty("volume", 1.0)
        engine.connect("finished-utterance", lambda name=None, completed=True: self._finished.set())
        self._engine = engine
        return engine

    def synthesise(self, text: str, rate: int) -> tuple[np.ndarray, int]:
        with self._lock:
            engine = self._init_engine()
            engine.setProperty("rate", rate)
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
                return read_wav(name)
            finally:
                with contextlib.suppress(OSError):
                    os.unlink(name)


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
