"""Hearing answers: one recognizer interface over Vosk and PocketSphinx.

Use::

    from coach.hearing import open_recognizer, BackgroundListener
    recognizer = open_recognizer("auto", settings.paths)      # loads the model once
    answer = recognizer.listen(mic, "reps", timeout=8.0)      # -> coach.core.answers.Answer
    answer = recognizer.decode_wav("take.wav", "felt")
    answer = recognizer.decode(int16_16k_mono, "where")

``open_recognizer(engine, paths, model)``: engine "auto" (Vosk when an English Vosk
model is found, else PocketSphinx), "vosk" or "pocketsphinx"; logs its choice to
stderr. Every question (``expect``: reps, felt, where, sore, feeling, start, command,
any - see ``coach.core.answers``) gets its own grammar, built once and cached.

``Recognizer.listen(mic, expect, timeout, plans, stop)`` reads ``mic.read()`` blocks
(int16, 16 kHz mono), finds the answer with an energy endpointer and returns

- as soon as the words form a complete answer nothing can extend and ~0.2 s of quiet
  followed ("twelve reps", "lower back", "pause");
- otherwise after ~0.5 s of quiet ("twelve" could still become "twelve reps");
- kind "unknown", text "" when nothing was said within ``timeout`` seconds (counted
  in microphone samples), or when ``stop`` (a threading.Event) is set.

A sound that decodes to nothing (a cough, a clank) does not end listening: the
recognizer keeps listening until ``timeout``. Speech that is not an answer ends it
with kind "unknown" and the words in ``text``, so the coach can ask again.

``BackgroundListener(recognizer, mic, expect="command")``: a thread that listens
continuously (while a metronome or a scan plays) and queues what it understood;
``start()``, ``poll() -> Answer | None``, ``stop()``. Only one listener may read a
microphone at a time: stop the background listener before calling ``listen``.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from coach.core.answers import Answer, check_expect, is_settled, unknown
from coach.errors import CoachError
from coach.hearing.endpoint import RATE, Endpointer, EndpointSettings
from coach.settings import Paths

log = logging.getLogger(__name__)

ENGINES = ("auto", "vosk", "pocketsphinx")

__all__ = ["Answer", "BackgroundListener", "ENGINES", "EndpointSettings", "Recognizer",
           "open_recognizer", "to_int16_16k"]


def to_int16_16k(samples: np.ndarray, rate: int) -> np.ndarray:
    """Any float32/int16 mono clip at ``rate`` -> int16 at 16 kHz."""
    from coach.audio.wavio import resample, to_int16

    data = np.asarray(samples)
    if data.dtype == np.int16:
        if rate == RATE:
            return data
        data = data.astype(np.float32) / 32768.0
    return to_int16(resample(data.astype(np.float32), rate, RATE)).astype(np.int16)


class Recognizer:
    """What every engine adapter provides. Subclasses implement ``_decode``."""

    name: str = "recognizer"
    endpoint = EndpointSettings()

    # -- engine hook ----------------------------------------------------------------
    def _decode(self, audio: np.ndarray, expect: str, plans: tuple[str, ...]) -> Answer:
        raise NotImplementedError

    def prepare(self, expect: str, plans: Sequence[str] = ()) -> None:
        """Build (and cache) the grammar for this question ahead of time."""

    # -- public ---------------------------------------------------------------------
    def decode(self, audio: np.ndarray, expect: str, plans: Sequence[str] = ()) -> Answer:
        """One utterance (int16, 16 kHz, mono) -> Answer. ``details["ms"]``: decode time.

        Audio in which the endpointer finds no speech (near-silence) is "unknown" without
        decoding: a grammar would otherwise force the hiss into some answer."""
        check_expect(expect)
        audio = np.asarray(audio, dtype=np.int16).reshape(-1)
        started = time.perf_counter()
        gate = Endpointer(self.endpoint)  # no speech-like energy at all: nothing was said
        gate.feed(audio)
        if not gate.started:
            answer = unknown(reason="no speech")
        else:
            answer = self._decode(audio, expect, tuple(plans))
        answer.details["ms"] = (time.perf_counter() - started) * 1000
        return answer

    def decode_wav(self, path: str | Path, expect: str, plans: Sequence[str] = ()) -> Answer:
        """A WAV file at any rate and channel count -> Answer."""
        from coach.audio.wavio import read_wav

        samples, rate = read_wav(path)
        return self.decode(to_int16_16k(samples, rate), expect, plans)

    def listen(self, mic, expect: str, timeout: float = 8.0, plans: Sequence[str] = (),
               stop: threading.Event | None = None) -> Answer:
        """Listen on ``mic`` for one answer; see the module docstring."""
        check_expect(expect)
        self.prepare(expect, plans)
        endpointer = Endpointer(self.endpoint)
        limit = int(timeout * RATE)
        heard = 0
        wall_limit = time.monotonic() + timeout + 2.0  # a microphone that delivers nothing
        tried_at: int | None = None
        early: Answer | None = None
        while True:
            if stop is not None and stop.is_set():
                return unknown(reason="stopped")
            block = mic.read(0.1)
            if block is None:
                if time.monotonic() > wall_limit:
                    return unknown(reason="no audio from the microphone")
                continue
            endpointer.feed(block)
            heard += len(block)
            if not endpointer.started:
                if heard >= limit:
                    return unknown(reason="timeout")
                continue
            wall_limit = time.monotonic() + timeout + 2.0
            quiet = endpointer.silence
            if (quiet >= self.endpoint.short_silence and tried_at != endpointer.last_loud
                    and not endpointer.over(False)):
                tried_at = endpointer.last_loud
                answer = self.decode(endpointer.utterance(), expect, plans)
                early = answer
                # settled: the rest of any phrase it could grow into would not change it
                if answer.understood and is_settled(answer.text, expect, plans):
                    answer.details["endpoint"] = "complete"
                    return answer
            if endpointer.over(False):
                # nothing loud since the early decode: its answer stands, no second decode
                answer = early if (early is not None and tried_at == endpointer.last_loud) \
                    else self.decode(endpointer.utterance(), expect, plans)
                answer.details["endpoint"] = "silence"
                if answer.understood or answer.text or heard >= limit:
                    return answer
                # a cough or a clank: forget it and keep listening
                endpointer = Endpointer(self.endpoint)
                tried_at, early = None, None

    def close(self) -> None:
        pass


class BackgroundListener:
    """Listens for commands in a thread while something else plays.

    ``poll()`` returns the next understood Answer (or None); ``stop()`` ends the thread.
    Answers that are not understood are dropped. ``expect`` defaults to "command".
    """

    def __init__(self, recognizer: Recognizer, mic, expect: str = "command",
                 plans: Sequence[str] = ()) -> None:
        self.recognizer = recognizer
        self.mic = mic
        self.expect = check_expect(expect)
        self.plans = tuple(plans)
        self._answers: queue.Queue[Answer] = queue.Queue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: Exception | None = None

    def start(self) -> BackgroundListener:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="coach-listener", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                answer = self.recognizer.listen(self.mic, self.expect, timeout=2.0,
                                                plans=self.plans, stop=self._stop)
            except CoachError as error:  # a device problem: report, wait, retry
                self.error = error
                log.warning("listener: %s; retrying in 1 s", error)
                self._stop.wait(1.0)
                continue
            if answer.understood:
                self._answers.put(answer)

    def poll(self) -> Answer | None:
        try:
            return self._answers.get_nowait()
        except queue.Empty:
            return None

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def __enter__(self) -> BackgroundListener:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def open_recognizer(engine: str = "auto", paths: Paths | None = None,
                    model: str | Path | None = None) -> Recognizer:
    """Load a recognizer once. ``engine``: "auto" | "vosk" | "pocketsphinx".

    ``model``: a Vosk model folder (else ``COACH_VOSK_MODEL``, the data folder's
    models, Vosk's own folders). "auto" picks Vosk when an English model is found and
    the vosk package imports, PocketSphinx otherwise, and says which on stderr.
    """
    from coach.hearing import models

    if engine not in ENGINES:
        raise CoachError(f"unknown recognizer engine {engine!r}",
                         f"use one of: {', '.join(ENGINES)}", exit_code=2)
    paths = paths or Paths()
    if engine in ("auto", "vosk"):
        found = Path(model) if model else models.find_english_model(paths)
        if model and not models.looks_like_model(Path(model)):
            raise CoachError(f"{model} is not a Vosk model folder",
                             "point --model at the unpacked folder (it holds am/ and conf/)",
                             exit_code=2)
        if found is not None:
            from coach.hearing.vosk_engine import VoskRecognizer, vosk_available

            if vosk_available() or engine == "vosk":
                recognizer = VoskRecognizer(found)
                log.info("hearing: Vosk with %s", found)
                return recognizer
            log.info("hearing: the vosk package is missing; using PocketSphinx")
        elif engine == "vosk":
            raise CoachError("no English Vosk model found",
                             "run `coach models fetch vosk-model-small-en-us-0.15`, pass "
                             "--model DIR, or use --engine pocketsphinx")
        else:
            log.info("hearing: no English Vosk model found; using PocketSphinx "
                     "(`coach models fetch vosk-model-small-en-us-0.15` for Vosk)")
    from coach.hearing.pocketsphinx_engine import PocketSphinxRecognizer

    recognizer = PocketSphinxRecognizer()
    if engine == "pocketsphinx":
        log.info("hearing: PocketSphinx (en-us model from its wheel)")
    return recognizer
