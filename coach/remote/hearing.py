"""Hearing on a Wyoming server, with local hearing standing by (``--hearing wyoming://...``).

``RemoteRecognizer(address, local, settings)`` is a ``coach.hearing.Recognizer``: the
local voice gate listens on the microphone as always, and the speech it finds is sent
to the server with the question (expect and plan names) in the ``transcribe`` context
and the question's words as transcript hints. What comes back goes through ``judge``:

- from ``coach serve`` (its reply carries the answer): taken only when the coach's own
  parser, on the returned words, gives the same kind and value, and the confidence
  reaches ``min_confidence``, the local Whisper's own limit. A confident-enough
  answer below it is kept as a guess to check aloud ("12 reps, right?"), as locally;
- from a plain Wyoming ASR server (text only, no confidence): taken only when the
  words parse, whole, as an allowed answer; anything else is "unknown".

A server that refuses, is gone, or has not answered within ``deadline`` seconds hands
the turn to the local recognizer on the same audio, so no turn is lost. The first
failure of an outage leaves a notice (``take_notice``) for the loop to say once; the
server is then tried again after ``retry_first`` seconds, doubling up to ``retry_max``,
with local hearing meanwhile. ``details["heard_by"]`` says which one answered, and
``details["fallback_ms"]`` how long a failed try took before local hearing took over.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

import numpy as np

from coach.core.answers import Answer, parse, unknown, vocabulary
from coach.hearing import Recognizer
from coach.remote import wire
from coach.remote.health import ServerHealth
from coach.settings import INPUT_RATE as RATE
from coach.settings import RemoteSettings

log = logging.getLogger(__name__)

#: Said once when the server stops answering.
NOTICE = "The server is not answering; I'll listen on my own."
#: Seconds a grammar warm-up may take (nothing waits for it).
WARM_DEADLINE = 10.0
#: Audio kept either side of the speech the voice gate found, in seconds.
PAD_SECONDS = 0.3
#: The wait in a busy server's queue before this device's own decode has been timed.
DEFAULT_WAIT = 0.25


def _time_one_decode(local: Recognizer, expect: str, plans: tuple[str, ...]) -> float:
    """Seconds this device takes to hear one short answer itself (one second of faint
    noise, decoded as speech: the encoder and the search, no voice gate)."""
    noise = np.random.default_rng(0).normal(0, 300, RATE).astype(np.int16)
    started = time.perf_counter()
    try:
        local._decode(noise, expect, plans, speech=(0, len(noise)))
    except Exception as error:  # noqa: BLE001 - a timing, never a reason to fail a turn
        log.debug("hearing: no local timing (%s)", error)
        return DEFAULT_WAIT
    return time.perf_counter() - started


def judge(text: str, reply: dict | None, expect: str, plans: Sequence[str],
          min_confidence: float) -> Answer:
    """What a server's transcript means, under the same rules as local hearing."""
    parsed = parse(text, expect, plans)
    if reply is None:  # a plain server: its words, parsed strictly, or nothing
        if not parsed.understood:
            return unknown(parsed.text or text.lower().strip(), reason="not an answer")
        return Answer(parsed.kind, parsed.value, parsed.text, min_confidence,
                      {"server": "plain"})
    confidence = _number(reply.get("confidence"))
    if reply.get("kind") == "unknown":
        return Answer("unknown", None, parsed.text, confidence, {"server": "coach"},
                      maybe=_guess(reply.get("maybe"), expect, plans))
    if not _same(parsed, reply):
        return unknown(parsed.text, confidence, reason="the server's answer does not parse",
                       server="coach")
    found = Answer(parsed.kind, parsed.value, parsed.text, confidence, {"server": "coach"})
    if confidence < min_confidence:
        return Answer("unknown", None, parsed.text, confidence,
                      {"server": "coach", "reason": "low confidence"}, maybe=found)
    return found


def strictest(expect: str, floor: float, snr: float | None = None) -> float:
    """The confidence a server's answer needs: the local policy's cut-off for this kind of
    question, for an answer ``snr`` dB over its noise (None: the stricter cut-off, for
    noise), never below ``floor``: a remote answer is never taken with less strictness
    than a local one."""
    from coach.hearing.whisper_engine import load_policy

    policy = load_policy()
    clear = snr is not None and snr >= policy.clear_db
    return max(floor, (policy.take_clear if clear else policy.take).get(expect, floor))


def _number(value: object) -> float:
    try:
        return min(max(float(value), 0.0), 1.0)
    except (TypeError, ValueError):
        return 0.0


def _same(parsed: Answer, reply: dict) -> bool:
    return parsed.understood and parsed.kind == reply.get("kind") \
        and parsed.value == reply.get("value")


def _guess(maybe: object, expect: str, plans: Sequence[str]) -> Answer | None:
    if not isinstance(maybe, dict):
        return None
    parsed = parse(str(maybe.get("text", "")), expect, plans)
    if not _same(parsed, maybe):
        return None
    return Answer(parsed.kind, parsed.value, parsed.text, _number(maybe.get("confidence")),
                  {"server": "coach"})


class RemoteRecognizer(Recognizer):
    """A Wyoming ASR server first, ``local`` when it fails (see the module docstring)."""

    def __init__(self, address: wire.Address, local: Recognizer,
                 settings: RemoteSettings, clock=time.monotonic) -> None:
        self.address = address
        self.local = local
        self.settings = settings
        self.gate = local.gate
        self.name = f"wyoming+{local.name}"
        self.health = ServerHealth(address.uri, "hearing", NOTICE, settings.retry_first,
                                   settings.retry_max, clock)
        self.fallbacks = 0
        """Turns the local recognizer took: the server failed, was busy, or was waiting
        for a retry."""

        self._warmed: set[tuple[str, tuple[str, ...]]] = set()
        self._coach_server: bool | None = None
        self._local_s: float | None = None  # one local decode, timed once

    def max_wait(self) -> float:
        """Seconds a turn may wait in a busy server's queue: ``--hearing-wait``, else as
        long as hearing it here takes (timed once on this device): waiting longer than
        that helps nobody."""
        if self.settings.max_wait is not None:
            return self.settings.max_wait
        return self._local_s if self._local_s is not None else DEFAULT_WAIT

    def take_notice(self) -> str | None:
        return self.health.take_notice()

    # -- Recognizer ------------------------------------------------------------------------
    def prepare(self, expect: str, plans: Sequence[str] = ()) -> None:
        """Ready for a turn the server does not take; and a `coach serve` is asked, once
        per question, to build its grammar while the lifter has not spoken yet (a new
        plan-name grammar takes about a second, more than the turn's deadline)."""
        self.local.prepare(expect, plans)
        if self._local_s is None and self.settings.max_wait is None:
            self._local_s = _time_one_decode(self.local, expect, tuple(plans))
        question = (expect, tuple(plans))
        if question not in self._warmed and self._coach_server is not False \
                and self.health.due():
            self._warmed.add(question)
            threading.Thread(target=self._warm, args=question, name="coach-warm-server",
                             daemon=True).start()

    def _warm(self, expect: str, plans: tuple[str, ...]) -> None:
        try:
            if self._coach_server is None:
                info = wire.describe(self.address, WARM_DEADLINE)
                self._coach_server = bool(info.asr) and info.asr[0].name == wire.PROGRAM
            if self._coach_server:
                wire.transcribe(self.address, np.zeros(0, np.int16), [],
                                {"expect": expect, "plans": list(plans)}, WARM_DEADLINE)
        except wire.ServerError as error:  # the turn itself will find out, and fall back
            log.debug("hearing: no warm-up of %s (%s)", self.address.uri, error.message)
            self._warmed.discard((expect, plans))

    def _decode(self, audio: np.ndarray, expect: str, plans: tuple[str, ...],
                speech: tuple[int, int] | None = None) -> Answer:
        tried_ms, busy = None, False
        if self.health.due():
            started = time.perf_counter()
            start, end = speech if speech is not None else (0, len(audio))
            pad = int(PAD_SECONDS * RATE)
            clip = audio[max(0, start - pad):end + pad]
            try:
                heard = wire.transcribe(self.address, clip, vocabulary(expect, plans),
                                        {"expect": expect, "plans": list(plans),
                                         "wait": round(self.max_wait(), 3)},
                                        self.settings.deadline)
            except wire.ServerBusy:  # up, but its queue is long: this turn is ours
                tried_ms = (time.perf_counter() - started) * 1000
                busy = True
            except wire.ServerError as error:
                self.health.failed(error.message)
                tried_ms = (time.perf_counter() - started) * 1000
            else:
                self.health.answered(heard.ms)
                from coach.hearing.whisper_engine import signal_to_noise, stores_nothing

                # the clip's own loudness over its noise, measured here as local hearing
                # does; "nothing sore" never on the clear answers' threshold, as locally
                snr = None if stores_nothing(parse(heard.text, expect, plans)) else \
                    signal_to_noise(audio, speech)
                limit = strictest(expect, self.settings.min_confidence, snr)
                answer = judge(heard.text, heard.answer, expect, plans, limit)
                answer.details.update(heard_by="server", round_trip_ms=round(heard.ms, 1))
                return answer
        answer = self.local._decode(audio, expect, plans, speech=speech)
        self.fallbacks += 1
        answer.details["heard_by"] = "local"
        if tried_ms is not None:
            answer.details["fallback_ms"] = round(tried_ms, 1)
        if busy:
            answer.details["server_busy"] = True
        return answer

    def close(self) -> None:
        self.local.close()


def with_server(recognizer: Recognizer, settings: RemoteSettings) -> Recognizer:
    """``recognizer`` behind the ``--hearing`` server, when one is set."""
    if not settings.hearing:
        return recognizer
    address = wire.parse_address(settings.hearing)
    log.info("hearing: the Wyoming server %s first (deadline %.1f s), %s standing by",
             address.uri, settings.deadline, recognizer.name)
    return RemoteRecognizer(address, recognizer, settings)
