"""``coach serve``: the coach's closed-set recognizer as a Wyoming ASR service.

One recognizer (one model in memory) serves every connection. Decodes run one at a time
on a single worker thread (``ServeSettings.workers``; on a small server more workers
only fight over the same cores), so memory does not grow with the number of clients:
at most ``max_clients`` connections are held, each with at most ``max_seconds`` of audio.
A coach client says how long it will wait in the queue (``"wait"``, its
``RemoteSettings.max_wait``); when the queue is longer, it gets ``error`` "busy" at once
and hears the turn itself (load shedding: with 16 speakers answering at once, the turns
the server cannot start soon are heard on the speakers instead of queueing for seconds).

The protocol is Wyoming's own:

- ``describe`` -> ``info`` with one ASR program ("coach") and its model;
- ``transcribe`` (its context may carry ``{"coach": {"expect": ..., "plans": [...]}}``,
  the question; without it the grammar is "any"), then ``audio-start``,
  ``audio-chunk``..., ``audio-stop`` -> ``transcript`` with the words, and in its data
  under ``"coach"`` the answer: kind, value, text, confidence, and the unsure guess
  (``maybe``) when there is one. A plain client (Home Assistant) reads the ``text`` and
  ignores the rest. A request with no audio gets the question's grammar ready (the
  coach sends one when it starts to listen) and an empty transcript.

Audio in any rate, width or channel count is converted to 16 kHz 16-bit mono.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from wyoming.server import AsyncEventHandler

from coach import __version__
from coach.core.answers import EXPECTS, Answer
from coach.remote.wire import BUSY, COACH_KEY, PROGRAM, RATE

log = logging.getLogger(__name__)

#: The zeroconf service type of Wyoming servers.
SERVICE = "_wyoming._tcp.local."
ATTRIBUTION = ("coach (GPL-3.0-or-later)", "")


@dataclass(frozen=True)
class ServeSettings:
    uri: str = "tcp://127.0.0.1:10300"
    """Where to listen: ``tcp://HOST:PORT`` (or ``unix://PATH``), as Wyoming servers take."""
    workers: int = 1
    """Decodes run at once; more queue."""
    max_clients: int = 64
    """Connections held at once; one more is refused with an ``error`` event."""
    max_seconds: float = 15.0
    """Audio kept per request, in seconds; the rest of a longer one is dropped."""
    zeroconf: str | None = None
    """Announce the service under this name over zeroconf (None: not announced)."""


def info_event(model_name: str):
    """The ``info`` a ``describe`` gets."""
    from wyoming.info import AsrModel, AsrProgram, Attribution, Info

    attribution = Attribution(name=ATTRIBUTION[0], url=ATTRIBUTION[1])
    model = AsrModel(name=model_name, attribution=attribution, installed=True,
                     description="closed-set answers: reps, felt, where, sore, feeling, "
                                 "start, command", version=__version__, languages=["en"])
    program = AsrProgram(name=PROGRAM, attribution=attribution, installed=True,
                         description="the coach's closed-set recognizer",
                         version=__version__, models=[model])
    return Info(asr=[program]).event()


def answer_data(answer: Answer) -> dict:
    """The answer as the ``transcript``'s extra data."""
    data = {**answer.to_json(), "ms": round(float(answer.details.get("ms", 0.0)), 1)}
    if answer.maybe is not None:
        data["maybe"] = answer.maybe.to_json()
    return data


def wait_of(context: dict | None) -> float | None:
    """The seconds a coach client will wait in the queue (None: a plain client, or no
    limit given: it queues)."""
    asked = (context or {}).get(COACH_KEY)
    wait = asked.get("wait") if isinstance(asked, dict) else None
    return float(wait) if isinstance(wait, int | float) and wait >= 0 else None


def question_of(context: dict | None) -> tuple[str, tuple[str, ...]]:
    """(expect, plans) from a ``transcribe`` context; "any" when it names none."""
    asked = (context or {}).get(COACH_KEY)
    if not isinstance(asked, dict):
        return "any", ()
    expect = asked.get("expect")
    plans = asked.get("plans") or ()
    if expect not in EXPECTS:
        expect = "any"
    return expect, tuple(str(plan) for plan in plans if isinstance(plan, str))


class Service:
    """The shared part: one recognizer, one small pool, the count of connections."""

    def __init__(self, recognizer, settings: ServeSettings) -> None:
        self.recognizer = recognizer
        self.settings = settings
        self.pool = ThreadPoolExecutor(max_workers=settings.workers,
                                       thread_name_prefix="coach-serve-decode")
        self.clients = 0
        self.answered = 0
        self.info = info_event(f"coach-{recognizer.name}")
        self._queued = 0  # decodes submitted and not finished
        self._decode_s = 0.1  # a running mean of one decode's time, in seconds

    def expected_wait(self) -> float:
        """Seconds a decode submitted now would wait before it starts (an estimate)."""
        return self._queued * self._decode_s / self.settings.workers

    async def answer(self, audio: np.ndarray, expect: str, plans: tuple[str, ...]
                     ) -> Answer:
        """``decode`` on the pool, counted for ``expected_wait``."""
        self._queued += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(
                self.pool, self._timed, audio, expect, plans)
        finally:
            self._queued -= 1

    def _timed(self, audio: np.ndarray, expect: str, plans: tuple[str, ...]) -> Answer:
        started = time.perf_counter()
        try:
            return self.decode(audio, expect, plans)
        finally:
            if len(audio):
                took = min(time.perf_counter() - started, 5.0)
                self._decode_s += 0.2 * (took - self._decode_s)

    def decode(self, audio: np.ndarray, expect: str, plans: tuple[str, ...]) -> Answer:
        """An answer; no audio at all is a client asking to get the question's grammar
        ready (built once per question and plan names) before its lifter speaks."""
        if len(audio) == 0:
            self.recognizer.prepare(expect, plans)
        return self.recognizer.decode(audio, expect, plans)

    def handler(self, reader, writer):
        return _Handler(reader, writer, self)


class _Handler(AsyncEventHandler):
    """One connection: any number of describe / transcribe exchanges."""

    def __init__(self, reader, writer, service: Service) -> None:
        super().__init__(reader, writer)
        self.service = service
        self.refused = service.clients >= service.settings.max_clients
        if not self.refused:
            service.clients += 1
        self._reset()

    def _reset(self) -> None:
        self.expect, self.plans, self.wait = "any", (), None
        self.parts: list[bytes] = []
        self.kept = 0
        self.converter = None

    async def handle_event(self, event) -> bool:
        from wyoming.asr import Transcribe, Transcript
        from wyoming.audio import AudioChunk, AudioChunkConverter, AudioStart, AudioStop
        from wyoming.error import Error
        from wyoming.info import Describe

        if self.refused:
            await self.write_event(Error(text="too many clients; try again shortly",
                                         code=BUSY).event())
            return False
        if Describe.is_type(event.type):
            await self.write_event(self.service.info)
        elif Transcribe.is_type(event.type):
            self._reset()
            context = Transcribe.from_event(event).context
            self.expect, self.plans = question_of(context)
            self.wait = wait_of(context)
        elif AudioStart.is_type(event.type):
            self.parts, self.kept = [], 0
            self.converter = AudioChunkConverter(rate=RATE, width=2, channels=1)
        elif AudioChunk.is_type(event.type):
            if self.converter is None:
                self.converter = AudioChunkConverter(rate=RATE, width=2, channels=1)
            chunk = self.converter.convert(AudioChunk.from_event(event))
            room = int(self.service.settings.max_seconds * RATE) * 2 - self.kept
            if room > 0:
                self.parts.append(chunk.audio[:room])
                self.kept += min(room, len(chunk.audio))
        elif AudioStop.is_type(event.type):
            audio = np.frombuffer(b"".join(self.parts), dtype=np.int16)
            self.parts, self.kept = [], 0
            started = time.perf_counter()
            service = self.service
            if self.wait is not None and len(audio) and service.expected_wait() > self.wait:
                await self.write_event(Error(text="busy: hear this turn yourself",
                                             code=BUSY).event())
                return True
            try:
                answer = await service.answer(audio, self.expect, self.plans)
            except Exception as error:  # a bug in a decoder: this request fails, not the server
                log.warning("serve: the decode failed (%s: %s)", type(error).__name__, error)
                await self.write_event(Error(text=f"the decode failed: {error}",
                                             code="decode").event())
                return True
            self.service.answered += 1
            reply = Transcript(text=answer.text, language="en").event()
            reply.data[COACH_KEY] = answer_data(answer)
            try:
                await self.write_event(reply)
            except ConnectionError:  # the client gave up (its deadline): nobody to tell
                log.info("serve: a client left before its answer (%.0f ms)",
                         (time.perf_counter() - started) * 1000)
                return False
            log.debug("serve: %s %r -> %s %r (%.0f ms)", self.expect, answer.text,
                      answer.kind, answer.value, (time.perf_counter() - started) * 1000)
        return True

    async def disconnect(self) -> None:
        if not self.refused:
            self.service.clients -= 1
            self.refused = True  # counted once


async def serve(service: Service, ready=None) -> None:
    """Run until cancelled (Ctrl-C). ``ready(server)`` is called once it listens."""
    from wyoming.server import AsyncServer

    server = AsyncServer.from_uri(service.settings.uri)
    started = time.perf_counter()
    for expect in EXPECTS:  # every grammar built before the first client waits for one
        service.recognizer.prepare(expect)
    log.info("serve: grammars ready in %.1f s", time.perf_counter() - started)
    announced = await _announce(service.settings) if service.settings.zeroconf else None
    await server.start(service.handler)
    log.info("serve: listening on %s (%s, %d worker%s)", service.settings.uri,
             service.recognizer.name, service.settings.workers,
             "" if service.settings.workers == 1 else "s")
    if ready is not None:
        ready(server)
    try:
        await asyncio.Event().wait()
    finally:
        if announced is not None:
            await announced.async_close()
        await server.stop()
        service.pool.shutdown(wait=False, cancel_futures=True)


async def _announce(settings: ServeSettings):
    """Register ``NAME._wyoming._tcp.local.`` (as Wyoming's own servers do) on the
    interface of the address served (all of them for 0.0.0.0); the zeroconf handle."""
    import socket
    from urllib.parse import urlparse

    from coach.errors import CoachError

    try:
        from zeroconf import InterfaceChoice
        from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf
    except ImportError:
        raise CoachError("--zeroconf needs the zeroconf package",
                         "pip install 'coach[lan]' (or pip install zeroconf)") from None
    where = urlparse(settings.uri)
    if where.scheme != "tcp" or where.port is None:
        raise CoachError("--zeroconf announces a TCP server", "serve on tcp://HOST:PORT",
                         exit_code=2)
    host = where.hostname or "0.0.0.0"
    if host == "0.0.0.0":
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            probe.connect(("224.0.0.251", 5353))
            address = probe.getsockname()[0]
        finally:
            probe.close()
        interfaces = InterfaceChoice.All
    else:
        address, interfaces = host, [host]
    zeroconf = AsyncZeroconf(interfaces=interfaces)
    info = AsyncServiceInfo(SERVICE, f"{settings.zeroconf}.{SERVICE}",
                            addresses=[socket.inet_aton(address)], port=where.port)
    await zeroconf.async_register_service(info)
    log.info("serve: announced as %s.%s on %s", settings.zeroconf, SERVICE, address)
    return zeroconf
