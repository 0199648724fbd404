"""The session's state: the life-cycle enum, its frozen settings, and where to resume.

``Progress`` is everything the loop needs to continue an interrupted session at the
next set: the plan's text, the next (exercise, set), and per exercise the load, tempo
and cue adapted so far. It is saved as JSON in ``sessions.state`` in the same
transaction as each set, so after ``kill -9`` the database and the resume point agree.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from typing import Any

STATE_VERSION = 1


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
    engine: str = "auto"
    """Recognizer for the microphone and WAV answers: auto | vosk | pocketsphinx."""
    model: str | None = None
    """Vosk model folder, if not found on its own."""
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
class Progress:
    """Where a session is, as saved for --resume."""

    plan_key: str
    plan_source: str
    plan_text: str
    exercise_index: int = 0
    set_number: int = 1
    """The next set to do, from 1."""
    exercises: dict[str, ExerciseProgress] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "plan": {"key": self.plan_key, "source": self.plan_source, "text": self.plan_text},
            "next": {"exercise": self.exercise_index, "set": self.set_number},
            "exercises": {k: asdict(v) for k, v in self.exercises.items()},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Progress:
        if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
            raise ValueError("unknown resume state")
        plan = data["plan"]
        return cls(
            plan_key=plan["key"], plan_source=plan["source"], plan_text=plan["text"],
            exercise_index=int(data["next"]["exercise"]), set_number=int(data["next"]["set"]),
            exercises={k: ExerciseProgress(**v) for k, v in data.get("exercises", {}).items()},
        )

    def with_exercise(self, exercise_id: str, progress: ExerciseProgress) -> Progress:
        return replace(self, exercises={**self.exercises, exercise_id: progress})

    def at(self, exercise_index: int, set_number: int) -> Progress:
        return replace(self, exercise_index=exercise_index, set_number=set_number)


@dataclass(frozen=True)
class CarryOn:
    """Where a set cut short by a lost speaker or microphone carries on once it is back.

    A lifter alone in a gym who hears the count stop at rep 5 of 10 expects to be told
    where they were and to finish the set from there, not to start it again: the coach
    says how far they got and counts on from the next rep (the next second of a hold).
    A set cut before its first rep was finished starts again with its announcement; one
    cut after its last rep goes straight to its questions. The reps answered at the end
    are the whole set's, so the set is logged as it was done."""

    set_number: int
    done: int
    """Reps (seconds of a hold) counted before the cut, at most ``target``."""
    target: int
    """Reps (seconds) the set counts in all."""
    line: str
    """What the coach says when the device is back."""

    @property
    def first(self) -> int:
        """The rep (second) the count carries on from."""
        return self.done + 1

    @property
    def left(self) -> int:
        """Reps (seconds) still to count; 0: the count was over."""
        return self.target - self.done

    @property
    def from_start(self) -> bool:
        """Nothing was counted: the set starts again, announced as usual."""
        return self.done == 0


def carry_on(done: int, target: int, set_number: int, name: str,
             isometric: bool = False) -> CarryOn:
    """Where set ``set_number`` of the exercise ``name`` carries on after ``done`` of its
    ``target`` reps (seconds held, when ``isometric``) were counted before a device went."""
    target = max(1, target)
    done = max(0, min(done, target))
    where = f"We're back. Set {set_number} of the {name}"
    if done == 0:
        line = f"{where}."
    elif done == target:
        line = f"{where}: you had finished it."
    elif isometric:
        line = (f"{where}: you had held {done} of {target} seconds. "
                f"Hold for the last {target - done}.")
    else:
        line = (f"{where}: you had done {done} of {target} reps. "
                f"Carry on from rep {done + 1}.")
    return CarryOn(set_number, done, target, line)
