"""The session's state: the life-cycle enum, its frozen settings, and where to resume.

``Progress`` is everything the loop needs to continue an interrupted session at the
next set: the plan's text, the next (exercise, set), and per exercise the load, tempo
and cue adapted so far. It is saved as JSON in ``sessions.state`` in the same
transaction as each set, so after ``kill -9`` the database and the resume point agree.
A set cut by a lost speaker or microphone after some reps (``Cut``) is saved with it too,
before the coach waits for the device, so a resumed session carries that set on from the
rep it was at (``lines.carry_on``) instead of starting it again.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from typing import Any

log = logging.getLogger(__name__)

STATE_VERSION = 1
"""The resume state's format. A state without ``"cut"`` (all before it) reads as before."""


class State(StrEnum):
    """Where the session is; emitted as a ``state`` event on every change."""

    ANNOUNCING = "ANNOUNCING"
    """Saying the exercise, set, load, rep target, tempo and cue."""
    READY = "READY"
    """'Ready?': a moment to get into position (or say pause, skip, stop)."""
    COUNTING = "COUNTING"
    """The metronome counts the set; done/stop/pause/slower/faster are heard."""
    ASKING = "ASKING"
    """How many reps? Did you feel it?"""
    ADAPTING = "ADAPTING"
    """Deciding and saying the next load, tempo and cue."""
    RESTING = "RESTING"
    """The rest between sets, with a countdown near the end."""
    PAUSED = "PAUSED"
    """Waiting for 'resume'."""
    DONE = "DONE"


@dataclass(frozen=True)
class SessionSettings:
    """How a session runs; built once by ``coach session`` (or the demo)."""

    rest_scale: float = 1.0
    """Every plan rest is multiplied by this (the demo and tests use e.g. 0.05)."""
    min_rest: float = 0.0
    """Seconds: a scaled rest is never shorter than this."""
    max_reps: int | None = None
    """Count at most this many reps (or held seconds) per set; None: the top of the range."""
    ready_seconds: float = 3.0
    """How long 'Ready?' listens for a command before the set starts, in seconds."""
    answer_seconds: float = 8.0
    """How long a question waits for speech to begin, in seconds."""
    pause_listen_seconds: float = 30.0
    """While paused, each listen lasts this long (then listens again), in seconds."""
    retries: int = 2
    """How many times an unclear answer is asked again before the plan's values are kept."""
    countdown_seconds: float = 10.0
    """The rest countdown is spoken this many seconds before the end."""
    warmup: bool = True
    """Say the exercise's warm-up before its first set."""
    phase_words: bool = True
    """The metronome says down / hold / up / squeeze."""
    rep_numbers: bool = True
    """The metronome says the rep number at the start of each rep."""
    seed: int | None = None
    """Seed of the cue sampler (None: random)."""
    summary: bool = True
    """Speak the history's summary at the end, when coach.summary is present."""
    prepare: bool = False
    """Render every line the plan can say before the first one (``--prepare``)."""
    retry_seconds: float = 3.0
    """Seconds between attempts to reopen a speaker or microphone that went away."""

    def rest(self, seconds: float) -> float:
        return max(self.min_rest, seconds * self.rest_scale)

    def reps_to_count(self, top: int) -> int:
        return top if self.max_reps is None else max(1, min(top, self.max_reps))


@dataclass(frozen=True)
class ExerciseProgress:
    """One exercise's adapted values so far."""

    load: float
    tempo: str
    cue: str | None = None
    failed_cue: str | None = None
    """The cue of the last set if it was not felt (never repeated at once)."""
    where: str | None = None
    """Where the lifter last felt it instead of the target."""
    adjusted: bool = False
    """The start-of-day adjustments (sore region, connection limit) were applied."""


@dataclass(frozen=True)
class Cut:
    """A set cut by a lost speaker or microphone after some reps, as saved for --resume.

    It is saved before the coach waits for the device, so a coach killed while it waits
    (or during the set carried on) resumes that set from the rep it was at. The target is
    not kept: it is the plan's and the settings', and the line said on resume must match
    the count that follows (``lines.carry_on``)."""

    exercise_index: int
    set_number: int
    """The set that was cut, from 1."""
    done: int
    """Reps (seconds of a hold) counted before the cut, at least 1."""
    started: str
    """When the cut set began (ISO 8601): the set is logged with this start."""

    def to_json(self) -> dict[str, Any]:
        return {"exercise": self.exercise_index, "set": self.set_number, "done": self.done,
                "started": self.started}

    @classmethod
    def from_json(cls, data: Any) -> Cut:
        """The cut ``to_json`` wrote; ValueError, saying what is wrong, for anything else."""
        if not isinstance(data, dict):
            raise ValueError(f"not an object: {data!r:.60}")
        numbers = {key: data.get(key) for key in ("exercise", "set", "done")}
        for key, value in numbers.items():
            if type(value) is not int:  # bool is an int, and 2.5 reps is no count
                raise ValueError(f"{key} is not a whole number: {value!r:.30}")
        if numbers["exercise"] < 0 or numbers["set"] < 1 or numbers["done"] < 1:
            raise ValueError(f"out of range: {numbers}")
        started = data.get("started")
        if not isinstance(started, str):
            raise ValueError(f"started is not a time: {started!r:.30}")
        dt.datetime.fromisoformat(started)  # ValueError: not ISO 8601
        return cls(numbers["exercise"], numbers["set"], numbers["done"], started)


@dataclass(frozen=True)
class Progress:
    """Where a session is, as saved for --resume."""

    plan_key: str
    plan_source: str
    plan_text: str
    exercise_index: int = 0
    set_number: int = 1
    """The next set to do, from 1."""
    exercises: dict[str, ExerciseProgress] = field(default_factory=dict)
    cut: Cut | None = None
    """The next set, if a lost device cut it after some reps; always that set: ``at``
    drops it when the session moves on (the set logged or skipped), and ``from_json``
    ignores one saved for another set."""

    def to_json(self) -> dict[str, Any]:
        data = {
            "version": STATE_VERSION,
            "plan": {"key": self.plan_key, "source": self.plan_source, "text": self.plan_text},
            "next": {"exercise": self.exercise_index, "set": self.set_number},
            "exercises": {k: asdict(v) for k, v in self.exercises.items()},
        }
        if self.cut is not None:
            data["cut"] = self.cut.to_json()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Progress:
        if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
            raise ValueError("unknown resume state")
        plan = data["plan"]
        exercise_index, set_number = int(data["next"]["exercise"]), int(data["next"]["set"])
        return cls(
            plan_key=plan["key"], plan_source=plan["source"], plan_text=plan["text"],
            exercise_index=exercise_index, set_number=set_number,
            exercises={k: ExerciseProgress(**v) for k, v in data.get("exercises", {}).items()},
            cut=_read_cut(data.get("cut"), exercise_index, set_number),
        )

    def with_exercise(self, exercise_id: str, progress: ExerciseProgress) -> Progress:
        return replace(self, exercises={**self.exercises, exercise_id: progress})

    def at(self, exercise_index: int, set_number: int) -> Progress:
        """The session moved on to this set: a cut of the set before is dropped."""
        return replace(self, exercise_index=exercise_index, set_number=set_number, cut=None)

    def with_cut(self, done: int, started: str) -> Progress:
        """The next set was cut by a lost device after ``done`` reps (seconds), begun at
        ``started``; a cut before that counted none is no cut (the set starts again)."""
        cut = Cut(self.exercise_index, self.set_number, done, started) if done > 0 else None
        return replace(self, cut=cut)


def _read_cut(data: Any, exercise_index: int, set_number: int) -> Cut | None:
    """The saved cut if it is well formed and of the next set; otherwise None, said on
    stderr (that set then starts again, as it did before cuts were saved)."""
    if data is None:
        return None
    try:
        cut = Cut.from_json(data)
    except ValueError as error:
        log.warning("coach: the resume state's cut set is unreadable (%s); ignored, the set "
                    "starts again", error)
        return None
    if (cut.exercise_index, cut.set_number) != (exercise_index, set_number):
        log.warning("coach: the resume state's cut set (exercise %d, set %d) is not the next "
                    "set (exercise %d, set %d); ignored", cut.exercise_index, cut.set_number,
                    exercise_index, set_number)
        return None
    return cut
