"""Lifting tempo: the notation, and the click schedule of a set (pure, no audio).

Notation
    Four fields in seconds, as lifters write them: eccentric - bottom pause -
    concentric - top pause. ``3-1-2-1`` lowers for 3 s, holds 1 s at the bottom,
    lifts in 2 s and squeezes 1 s at the top. ``X`` marks an explosive lowering or
    lifting phase (``2-0-X-1``). The compact form ``31X0`` is accepted too, and a
    field may have a decimal (``2.5-0-1-0``). A pause may be 0 (then it is skipped);
    a lowering or lifting phase may not (write ``X`` for "as fast as you can").

Schedule
    ``beats(tempo, reps)`` lists every sound of a set, in seconds from the first
    click: a click at every whole second from the start of each phase; the first
    click of each phase is an *accent* (a higher pitch); an explosive phase gets one
    short *explosive* accent and lasts ``EXPLOSIVE_SECONDS`` in the schedule. With
    ``words`` each phase start carries its word (down, hold, up, squeeze); with
    ``numbers`` the lowering of rep N says the rep number instead of "down" (a rep
    always starts with the lowering, so the number is the cue to start it).

The public interface (used by ``coach.workout.metronome`` and the coaching session)::

    tempo = parse_tempo("3-1-2-1")       # TempoError (a CoachError, exit code 2) if bad
    str(tempo) == "3-1-2-1"; tempo.rep_seconds == 7.0
    tempo.slower(), tempo.faster()       # eccentric +/- 1 s, kept within 1..5 s
    rep_beats(tempo, rep=1, t0=0.0)      # the beats of one rep starting at t0 seconds
    beats(tempo, reps=8)                 # the beats of a whole set
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import StrEnum

from coach.errors import CoachError

#: How long an explosive (X) phase lasts in the schedule, in seconds.
EXPLOSIVE_SECONDS = 1.0
#: The longest single phase accepted, in seconds.
MAX_PHASE_SECONDS = 20.0
#: ``slower()`` / ``faster()`` keep the eccentric within these bounds, in seconds.
MIN_ECCENTRIC = 1.0
MAX_ECCENTRIC = 5.0

FIX = "write four fields in seconds, lowering-pause-lifting-pause, e.g. 3-1-2-1 or 2-0-X-1"

#: Beat kinds: the plain tick, the first tick of a phase, the one-off explosive accent.
CLICK = "click"
ACCENT = "accent"
EXPLOSIVE = "explosive"


class TempoError(CoachError):
    """A tempo pattern that cannot be read (a usage error: exit code 2)."""

    def __init__(self, message: str, fix: str = FIX, exit_code: int = 2) -> None:
        super().__init__(message, fix, exit_code)


class Phase(StrEnum):
    """The four phases of a rep, in order; the value is also the spoken word."""

    DOWN = "down"
    """Eccentric: lowering the weight."""
    HOLD = "hold"
    """Pause at the bottom (stretched position)."""
    UP = "up"
    """Concentric: lifting the weight."""
    SQUEEZE = "squeeze"
    """Pause at the top (contracted position)."""

    @property
    def word(self) -> str:
        return self.value

    @property
    def is_pause(self) -> bool:
        return self in (Phase.HOLD, Phase.SQUEEZE)


PHASES = (Phase.DOWN, Phase.HOLD, Phase.UP, Phase.SQUEEZE)

Seconds = float | None  # None: explosive (X)


@dataclass(frozen=True)
class Tempo:
    """A rep's tempo in seconds per phase; None marks an explosive (X) phase."""

    eccentric: Seconds = 3.0
    """Lowering, in seconds (None: explosive)."""
    bottom: float = 1.0
    """Pause at the bottom, in seconds (0: none)."""
    concentric: Seconds = 2.0
    """Lifting, in seconds (None: explosive)."""
    top: float = 1.0
    """Pause at the top, in seconds (0: none)."""

    def __post_init__(self) -> None:
        for phase, value in zip(PHASES, self.fields, strict=True):
            if value is None:
                if phase.is_pause:
                    raise TempoError(f"tempo {self}: X (explosive) fits only the lowering or "
                                     "the lifting phase, not a pause")
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not math.isfinite(value) or value < 0:
                raise TempoError(f"tempo {self}: {value!r} is not a number of seconds")
            if value > MAX_PHASE_SECONDS:
                raise TempoError(f"tempo {self}: {_field(value)} s is too long for one phase "
                                 f"(at most {MAX_PHASE_SECONDS:g} s)")
            if value == 0 and not phase.is_pause:
                raise TempoError(f"tempo {self}: the {_movement(phase)} phase cannot take 0 s",
                                 "write X for an explosive phase, e.g. 2-0-X-1")

    @property
    def fields(self) -> tuple[Seconds, Seconds, Seconds, Seconds]:
        return (self.eccentric, self.bottom, self.concentric, self.top)

    def phases(self) -> list[tuple[Phase, float, bool]]:
        """(phase, seconds in the schedule, explosive) for each phase that takes time."""
        out = []
        for phase, value in zip(PHASES, self.fields, strict=True):
            if value is None:
                out.append((phase, EXPLOSIVE_SECONDS, True))
            elif value > 0:
                out.append((phase, float(value), False))
        return out

    @property
    def rep_seconds(self) -> float:
        """How long one rep lasts in the schedule (an X phase counts EXPLOSIVE_SECONDS)."""
        return sum(seconds for _, seconds, _ in self.phases())

    def slower(self) -> Tempo:
        """One second more lowering, up to MAX_ECCENTRIC (an X lowering becomes 2 s)."""
        current = EXPLOSIVE_SECONDS if self.eccentric is None else self.eccentric
        if current >= MAX_ECCENTRIC:
            return self
        return self._with_eccentric(min(current + 1.0, MAX_ECCENTRIC))

    def faster(self) -> Tempo:
        """One second less lowering, down to MIN_ECCENTRIC (an X lowering stays X)."""
        if self.eccentric is None or self.eccentric <= MIN_ECCENTRIC:
            return self
        return self._with_eccentric(max(self.eccentric - 1.0, MIN_ECCENTRIC))

    def _with_eccentric(self, seconds: float) -> Tempo:
        return Tempo(seconds, self.bottom, self.concentric, self.top)

    def __str__(self) -> str:
        return "-".join(_field(value) for value in self.fields)


def _field(value: object) -> str:
    if value is None:
        return "X"
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return f"{value:g}"
    return repr(value)


def _movement(phase: Phase) -> str:
    return "lowering" if phase is Phase.DOWN else "lifting"


_NUMBER = re.compile(r"^\d+(\.\d+)?$")


def parse_tempo(text: str) -> Tempo:
    """Read ``3-1-2-1``, ``2-0-X-1`` or the compact ``31X0``; raise TempoError if bad."""
    cleaned = (text or "").strip()
    if not cleaned:
        raise TempoError("no tempo given")
    if re.fullmatch(r"[0-9xX]{4}", cleaned):
        parts = list(cleaned)
    else:
        parts = [part.strip() for part in re.split(r"\s*[-/:,]\s*|\s+", cleaned)]
    if any(not part for part in parts):
        raise TempoError(f"tempo {text!r} has an empty field (negative times are not allowed)")
    if len(parts) != 4:
        raise TempoError(f"tempo {text!r} has {len(parts)} fields, it needs 4")
    values: list[Seconds] = []
    for part in parts:
        if part.upper() == "X":
            values.append(None)
        elif _NUMBER.match(part):
            values.append(float(part))
        else:
            raise TempoError(f"tempo {text!r}: {part!r} is not a number of seconds or X")
    return Tempo(*values)


@dataclass(frozen=True)
class Beat:
    """One sound of the click track."""

    t: float
    """Seconds from the start of the set's first rep."""
    kind: str
    """CLICK, ACCENT (first click of a phase) or EXPLOSIVE (the one accent of an X phase)."""
    rep: int
    """Rep number, from 1."""
    phase: Phase
    word: str | None = None
    """What the voice says right after this click (None: nothing)."""

    @property
    def accent(self) -> bool:
        return self.kind != CLICK


_NUMBER_WORDS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen "
                 "fourteen fifteen sixteen seventeen eighteen nineteen twenty").split()


def number_word(n: int) -> str:
    """The spoken form of a rep number ("seven"); digits beyond twenty (the voice reads them)."""
    return _NUMBER_WORDS[n] if 0 <= n < len(_NUMBER_WORDS) else str(n)


def rep_beats(tempo: Tempo, rep: int, t0: float = 0.0, words: bool = False,
              numbers: bool = False) -> list[Beat]:
    """The beats of rep number ``rep`` when it starts at ``t0`` seconds."""
    out = []
    start = t0
    for phase, seconds, explosive in tempo.phases():
        if explosive:
            ticks = [(0, EXPLOSIVE)]
        else:
            ticks = [(k, ACCENT if k == 0 else CLICK) for k in range(math.ceil(seconds - 1e-9))]
        for k, kind in ticks:
            word = None
            if k == 0:
                if numbers and phase is Phase.DOWN:
                    word = number_word(rep)
                elif words:
                    word = phase.word
            out.append(Beat(t=round(start + k, 6), kind=kind, rep=rep, phase=phase, word=word))
        start += seconds
    return out


def beats(tempo: Tempo, reps: int, words: bool = False, numbers: bool = False,
          t0: float = 0.0) -> list[Beat]:
    """Every beat of a set of ``reps`` reps at ``tempo``, the first rep starting at ``t0``."""
    if reps < 1:
        raise TempoError(f"{reps} reps: a set needs at least 1 rep", "use --reps 1 or more")
    out: list[Beat] = []
    for rep in range(1, reps + 1):
        out.extend(rep_beats(tempo, rep, t0 + (rep - 1) * tempo.rep_seconds, words, numbers))
    return out


def set_seconds(tempo: Tempo, reps: int) -> float:
    """How long a set of ``reps`` reps lasts in the schedule, in seconds."""
    return reps * tempo.rep_seconds
