"""One Wyoming exchange over TCP, synchronous, with a deadline (the coach's side).

Each call opens a connection, does one exchange and closes it, as Home Assistant does:
every Wyoming server accepts that, and a server that restarted between two turns is
simply found again. Every socket operation gets what is left of ``deadline`` (seconds
for the whole exchange), so a slow server costs at most that; a refusal, a reset or an
``error`` event raises ``ServerError`` at once.

- ``describe(address, deadline) -> Info``;
- ``transcribe(address, audio, hints, question, deadline) -> Heard`` (text, and the
  answer a ``coach serve`` adds);
- ``synthesize(address, text, voice, deadline) -> (int16 samples, rate)``.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from urllib.parse import urlparse

import numpy as np

from coach.errors import CoachError
from coach.settings import INPUT_RATE

#: The key in a ``transcribe`` context and a ``transcript`` event's data that carries the
#: coach's own question and answer (a plain Wyoming peer ignores it).
COACH_KEY = "coach"
#: The ASR program name ``coach serve`` describes itself with.
PROGRAM = "coach"
#: Samples per ``audio-chunk`` event sent (0.25 s at 16 kHz).
CHUNK_SAMPLES = 4096
RATE = INPUT_RATE


class ServerError(CoachError):
    """A Wyoming server that refused, failed, or did not answer within the deadline."""


class ServerBusy(ServerError):
    """A server that is up but said "busy" at once (its queue is longer than the client
    wants to wait, or it holds all the connections it takes): hear this turn locally;
    it is not an outage."""


#: The ``error`` code of a server that is up but will not take this request now.
BUSY = "busy"


@dataclass(frozen=True)
class Address:
    host: str
    port: int
    voice: str | None = None
    """``wyoming://HOST:PORT#VOICE``: the voice asked of a TTS server."""

    @property
    def uri(self) -> str:
        return f"wyoming://{self.host}:{self.port}" + (f"#{self.voice}" if self.voice else "")


def parse_address(text: str) -> Address:
    """``wyoming://HOST:PORT[#VOICE]`` (``tcp://`` is taken too) -> Address; a bad one is
    one line with the fix (exit code 2)."""
    parsed = urlparse(text)
    try:
        port = parsed.port
    except ValueError:
        port = None
    if parsed.scheme not in ("wyoming", "tcp") or not parsed.hostname or port is None:
        raise CoachError(f"{text!r} is not a Wyoming server address",
                         "write it as wyoming://HOST:PORT, e.g. wyoming://127.0.0.1:10300",
                         exit_code=2)
    return Address(parsed.hostname, port, parsed.fragment or None)


@dataclass(frozen=True)
class Heard:
    text: str
    """The words the server transcribed."""
    answer: dict | None
    """A ``coach serve`` reply: {"kind", "value", "text", "confidence", "maybe"?};
    None from a plain Wyoming ASR server."""
    ms: float
    """Round trip of the exchange, in milliseconds (connect included)."""


class _Connection:
    def __init__(self, address: Address, deadline: float) -> None:
        self.address = address
        self.until = time.monotonic() + deadline
        try:
            self.sock = socket.create_connection((address.host, address.port),
                                                 timeout=self._left())
        except OSError as error:
            raise ServerError(f"the Wyoming server {address.uri} cannot be reached "
                              f"({error.strerror or error})",
                              "start it, or check the address") from None
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.file = self.sock.makefile("rwb")

    def _left(self) -> float:
        left = self.until - time.monotonic()
        if left <= 0:
            raise ServerError(f"the Wyoming server {self.address.uri} did not answer in time",
                              "check the server's load, or raise the deadline")
        return left

    def send(self, *events) -> None:
        from wyoming.event import write_event

        try:
            self.sock.settimeout(self._left())
            for event in events:
                write_event(event.event() if hasattr(event, "event") else event, self.file)
            self.file.flush()
        except OSError as error:
            raise self._lost(error) from None

    def receive(self):
        from wyoming.error import Error
        from wyoming.event import read_event

        try:
            self.sock.settimeout(self._left())
            event = read_event(self.file)
        except OSError as error:
            raise self._lost(error) from None
        if event is None:
            raise ServerError(f"the Wyoming server {self.address.uri} closed the connection",
                              "see the server's log")
        if Error.is_type(event.type):
            error = Error.from_event(event)
            kind = ServerBusy if error.code == BUSY else ServerError
            raise kind(f"the Wyoming server {self.address.uri} refused: {error.text}",
                       "see the server's log")
        return event

    def _lost(self, error: OSError) -> ServerError:
        if isinstance(error, TimeoutError):
            return ServerError(f"the Wyoming server {self.address.uri} did not answer in "
                               "time", "check the server's load, or raise the deadline")
        return ServerError(f"the Wyoming server {self.address.uri} went away "
                           f"({error.strerror or error})", "see the server's log")

    def close(self) -> None:
        for thing in (self.file, self.sock):
            try:
                thing.close()
            except OSError:
                pass

    def __enter__(self) -> _Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def describe(address: Address, deadline: float = 2.0):
    """The server's ``info`` (a ``wyoming.info.Info``)."""
    from wyoming.info import Describe, Info

    with _Connection(address, deadline) as link:
        link.send(Describe())
        while True:
            event = link.receive()
            if Info.is_type(event.type):
                return Info.from_event(event)


def transcribe(address: Address, audio: np.ndarray, hints: list[str], question: dict,
               deadline: float) -> Heard:
    """Send one utterance (int16, 16 kHz mono) with the allowed phrases as transcript
    hints and ``question`` ({"expect", "plans"}, and "wait": the seconds the client will
    wait in the server's queue, else it hears the turn itself) in the context; the
    transcript back, or ``ServerBusy`` at once."""
    from wyoming.asr import Transcribe, Transcript
    from wyoming.audio import AudioChunk, AudioStart, AudioStop

    started = time.perf_counter()
    data = np.asarray(audio, dtype=np.int16).tobytes()
    step = CHUNK_SAMPLES * 2
    chunks = [AudioChunk(rate=RATE, width=2, channels=1, audio=data[at:at + step])
              for at in range(0, len(data), step)]
    with _Connection(address, deadline) as link:
        link.send(Transcribe(language="en", context={COACH_KEY: question},
                             transcript_terms=hints or None),
                  AudioStart(rate=RATE, width=2, channels=1), *chunks, AudioStop())
        while True:
            event = link.receive()
            if Transcript.is_type(event.type):
                text = Transcript.from_event(event).text or ""
                answer = event.data.get(COACH_KEY)
                return Heard(text, answer if isinstance(answer, dict) else None,
                             (time.perf_counter() - started) * 1000)


def synthesize(address: Address, text: str, deadline: float) -> tuple[np.ndarray, int]:
    """Speak ``text`` on a Wyoming TTS server -> (int16 mono samples, rate)."""
    from wyoming.audio import AudioChunk, AudioStart, AudioStop
    from wyoming.tts import Synthesize, SynthesizeVoice

    voice = SynthesizeVoice(name=address.voice) if address.voice else None
    parts: list[bytes] = []
    rate, width, channels = RATE, 2, 1
    with _Connection(address, deadline) as link:
        link.send(Synthesize(text=text, voice=voice))
        while True:
            event = link.receive()
            if AudioStart.is_type(event.type):
                start = AudioStart.from_event(event)
                rate, width, channels = start.rate, start.width, start.channels
            elif AudioChunk.is_type(event.type):
                parts.append(AudioChunk.from_event(event).audio)
            elif AudioStop.is_type(event.type):
                break
    if width != 2:
        raise ServerError(f"the Wyoming server {address.uri} sent {width * 8}-bit audio",
                          "use a server that sends 16-bit audio")
    samples = np.frombuffer(b"".join(parts), dtype=np.int16)
    if channels > 1:
        samples = samples.reshape(-1, channels)[:, 0]
    return samples.copy(), rate
