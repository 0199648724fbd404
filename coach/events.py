"""Typed events and the JSON-lines writer behind ``--events FILE.jsonl``.

Every event is a small frozen dataclass with a ``TYPE`` constant. ``to_dict`` gives
its JSON form (``type`` plus its fields); ``from_dict`` turns it back. The writer adds
``t`` (seconds since the writer was opened) and flushes every line at once, so a
display or a test harness can follow a session live.

This is the contract that a display, a test harness or a companion app reads:
add fields, never rename them.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import IO, Any, ClassVar

from coach.errors import CoachError
from coach.files import output_error

log = logging.getLogger(__name__)

#: How a session, a scan or a set ended (``end`` events, results, the history).
COMPLETED = "completed"
STOPPED = "stopped"
INTERRUPTED = "interrupted"

SAY = "say"
LISTEN = "listen"
HEARD = "heard"
SET = "set"
ADAPT = "adapt"
REST = "rest"
END = "end"
CLICK = "click"
STATE = "state"
CHECKIN = "checkin"
DEVICE_LOST = "device_lost"
DEVICE_BACK = "device_back"
TALKED_OVER = "talked_over"


@dataclass(frozen=True)
class Event:
    TYPE: ClassVar[str] = ""

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.TYPE, **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Event:
        kind = EVENT_TYPES[data["type"]]
        names = {f.name for f in fields(kind)}
        return kind(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True)
class Say(Event):
    """The coach starts speaking ``text``."""

    TYPE: ClassVar[str] = SAY
    text: str = ""


@dataclass(frozen=True)
class Listen(Event):
    """The microphone opens (after the question finished playing) for an answer of ``expect``."""

    TYPE: ClassVar[str] = LISTEN
    expect: str = "any"


@dataclass(frozen=True)
class Heard(Event):
    """An answer was recognised: kind reps|felt|where|command|unknown."""

    TYPE: ClassVar[str] = HEARD
    kind: str = "unknown"
    value: Any = None
    text: str = ""
    confidence: float = 0.0


@dataclass(frozen=True)
class SetLogged(Event):
    """A set was committed to the history."""

    TYPE: ClassVar[str] = SET
    exercise: str = ""
    set: int = 0
    load: float = 0.0
    unit: str = "kg"
    reps: int | None = None
    felt: bool | None = None
    where: str | None = None
    cue: str | None = None
    tempo: str = ""


@dataclass(frozen=True)
class Adapt(Event):
    """What changes for the next set, and why (the reason is also spoken)."""

    TYPE: ClassVar[str] = ADAPT
    exercise: str = ""
    next_load: float = 0.0
    next_cue: str | None = None
    next_tempo: str = ""
    reason: str = ""


@dataclass(frozen=True)
class Rest(Event):
    """A rest period starts, lasting ``seconds``."""

    TYPE: ClassVar[str] = REST
    seconds: float = 0.0


@dataclass(frozen=True)
class End(Event):
    """The session, scan or demo ended: status completed|stopped|error."""

    TYPE: ClassVar[str] = END
    status: str = "completed"


@dataclass(frozen=True)
class Click(Event):
    """A metronome click, ``t`` seconds from the start of the track."""

    TYPE: ClassVar[str] = CLICK
    accent: bool = False
    rep: int = 0
    phase: str = ""


@dataclass(frozen=True)
class StateChanged(Event):
    """The session's state machine moved to ``state`` (e.g. ASKING, RESTING, PAUSED)."""

    TYPE: ClassVar[str] = STATE
    state: str = ""


@dataclass(frozen=True)
class CheckIn(Event):
    """A body-scan check-in answer: how the lifter feels, and any sore region."""

    TYPE: ClassVar[str] = CHECKIN
    feeling: str | None = None
    sore: str | None = None


@dataclass(frozen=True)
class DeviceLost(Event):
    """The speaker or the microphone went away mid-session: the session or scan is paused
    and the device is tried again every few seconds. Emitted once per outage."""

    TYPE: ClassVar[str] = DEVICE_LOST
    device: str = ""
    """"speaker" or "microphone"."""
    problem: str = ""


@dataclass(frozen=True)
class DeviceBack(Event):
    """The missing device works again; the session or scan carries on."""

    TYPE: ClassVar[str] = DEVICE_BACK
    device: str = ""
    seconds: float = 0.0
    """How long it was away, in seconds."""


@dataclass(frozen=True)
class TalkedOver(Event):
    """The athlete talked over the line ``text``: the coach stopped it ``seconds`` in and
    listens (a command then is carried out; none: the line is said again)."""

    TYPE: ClassVar[str] = TALKED_OVER
    text: str = ""
    seconds: float = 0.0


EVENT_TYPES: dict[str, type[Event]] = {
    cls.TYPE: cls for cls in (Say, Listen, Heard, SetLogged, Adapt, Rest, End, Click,
                              StateChanged, CheckIn, DeviceLost, DeviceBack, TalkedOver)
}


class EventWriter:
    """Writes events as JSON lines with ``t`` in seconds since it was created.

    ``EventWriter(None)`` swallows everything, so callers never test for None.
    Thread-safe: the audio side and the session loop may both emit.
    """

    def __init__(self, target: str | Path | IO[str] | None, clock=time.monotonic) -> None:
        self._clock = clock
        self._start = clock()
        self._lock = threading.Lock()
        self._owned = False
        self._listeners: list[Any] = []
        if target is None:
            self._out: IO[str] | None = None
        elif isinstance(target, (str, Path)):
            if str(target) == "-":
                self._out = sys.stdout
            else:
                try:
                    self._out = open(target, "a", encoding="utf-8", buffering=1)  # noqa: SIM115
                except OSError as error:
                    raise output_error(target, error, "events to") from None
                self._owned = True
        else:
            self._out = target
        self._target = target
        self.failed: CoachError | None = None
        """Set when a write failed (a full disk): events stop, the work goes on, and the
        error is raised when the writer closes."""

    def elapsed(self) -> float:
        return self._clock() - self._start

    def subscribe(self, callback) -> None:
        """Call ``callback(event, t)`` for every event emitted (e.g. a live transcript)."""
        self._listeners.append(callback)

    def emit(self, event: Event, t: float | None = None) -> dict[str, Any]:
        """Write ``event``; ``t`` overrides the time stamp (seconds) when given."""
        stamp = round(self.elapsed() if t is None else t, 4)
        record = {"t": stamp, **event.to_dict()}
        with self._lock:
            if self._out is not None:
                try:
                    self._out.write(json.dumps(record, ensure_ascii=False) + "\n")
                    self._out.flush()
                except OSError as error:  # the set being saved matters more than its event
                    self.failed = output_error(self._target, error, "events to")
                    log.debug("%s; no more events are written", self.failed.message)
                    self._out = None
            for callback in self._listeners:
                callback(event, stamp)
        return record

    def close(self) -> None:
        """Close the file; raises the write error (a CoachError) if one happened."""
        out, self._out = self._out, None
        if self._owned and out is not None:
            try:
                out.close()
            except OSError as error:
                self.failed = self.failed or output_error(self._target, error, "events to")
        if self.failed is not None:
            failed, self.failed = self.failed, None
            raise failed

    def __enter__(self) -> EventWriter:
        return self

    def __exit__(self, kind, value, traceback) -> None:
        try:
            self.close()
        except CoachError:
            if kind is None:  # an error already on its way out is the one to report
                raise


def read_events(path: str | Path) -> list[dict[str, Any]]:
    """Read a JSON-lines events file (a half-written last line is skipped)."""
    records = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records
