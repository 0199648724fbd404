"""The recognizer interface every engine adapter provides, and its listening loop.

``Recognizer.listen(mic, expect, timeout, plans, stop)`` reads ``mic.read()`` blocks
(int16, 16 kHz mono), finds the answer with the voice gate and returns

- as soon as the words form a complete answer nothing can extend and ~0.1 s (three
  gate windows) without speech followed ("twelve reps", "lower back", "pause"); the
  decode starts at the first window without speech, so its answer is ready when the
  pause is over;
- otherwise after ~0.5 s without speech ("twelve" could still become "twelve reps");
- kind "unknown", text "" when nothing was said within ``timeout`` seconds (counted
  in microphone samples), or when ``stop`` (a threading.Event) is set.

``lead``: audio heard just before this listen (int16), fed to the voice gate first: a
listen that follows one that timed out gets its last moment, so a word begun across
the limit is heard whole (``BackgroundListener`` does this).

A clank, a cough or a tone never opens the gate, so it never reaches a decoder and
listening goes on. Speech the decoder finds no words in does not end listening either;
speech that is not an answer ends it with kind "unknown" and the words in ``text``,
so the coach can ask again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from coach.core.answers import Answer, check_expect, is_settled, unknown
from coach.hearing.vad import GateSettings, VoiceGate, speech_span
from coach.settings import INPUT_RATE


def to_int16_16k(samples: np.ndarray, rate: int) -> np.ndarray:
    """Any float32/int16 mono clip at ``rate`` -> int16 at 16 kHz."""
    from coach.audio.wavio import resample, to_int16

    data = np.asarray(samples)
    if data.dtype == np.int16:
        if rate == INPUT_RATE:
            return data
        data = data.astype(np.float32) / 32768.0
    return to_int16(resample(data.astype(np.float32), rate, INPUT_RATE)).astype(np.int16)


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
            answer.details.setdefault("speech", round((speech[1] - speech[0]) / INPUT_RATE, 3))
        answer.details["ms"] = (time.perf_counter() - started) * 1000
        return answer

    def decode_wav(self, path: str | Path, expect: str, plans: Sequence[str] = ()) -> Answer:
        """A WAV file at any rate and channel count -> Answer."""
        from coach.audio.wavio import read_wav

        samples, rate = read_wav(path)
        return self.decode(to_int16_16k(samples, rate), expect, plans)

    def listen(self, mic, expect: str, timeout: float = 8.0, plans: Sequence[str] = (),
               stop: threading.Event | None = None,
               lead: np.ndarray | None = None) -> Answer:
        """Listen on ``mic`` for one answer; see the module docstring."""
        check_expect(expect)
        plans = tuple(plans)
        self.prepare(expect, plans)
        settings = self.gate
        gate = VoiceGate(settings)
        if lead is not None and len(lead):
            gate.feed(lead)  # before the limit's count: it was heard already
        limit = int(timeout * INPUT_RATE)
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
