"""Adaptation after each set: the next load, tempo and cue, each with a spoken reason.

The rules, grounded in the mind-muscle principles of issue 5:

Load (double progression within the plan's rep range)
    - felt it, and reps at or above the top of the range: up one increment;
    - reps below the bottom: down 10%, rounded to the increment;
    - didn't feel it: down 10% and one second more lowering (at most 5 s): lighter
      and slower makes the target easier to feel;
    - otherwise: the same load;
    - an answer that never came (asked three times) changes nothing it would decide;
    - connection plans keep the load at or under 60% of the estimated one-rep max
      (Epley, from the best recent set).

Cue (Thompson sampling)
    For each (exercise, cue) the history counts sets felt and not felt; the next cue is
    the one with the highest draw from Beta(felt + 1, not felt + 1). A cue that just
    failed is never picked again at once; when the lifter names where they felt it
    instead ("shoulders" on a curl), only cues tagged as correcting that region are
    drawn from; explosive exercises draw from external-focus cues only.

Everything here is pure: plain values in, a ``Decision`` out. The random generator is
passed in, so tests fix its seed.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from coach.core.answers import Answer
from coach.core.library import Cue, Exercise
from coach.core.tempo import MAX_ECCENTRIC, parse_tempo

#: Connection plans keep the load at or under this share of the estimated one-rep max.
CONNECTION_SHARE = 0.6
#: A drop in load (reps short, didn't feel it) takes this share off.
DROP_SHARE = 0.10
#: A sore region named in today's body scan takes this share off every exercise working it.
SORE_SHARE = 0.20

UNIT_WORDS = {"kg": ("kilo", "kilos"), "lb": ("pound", "pounds")}

# rules, as stored with each decision
UP = "up"
KEEP = "keep"
SHORT = "short"
NOT_FELT = "not_felt"
UNANSWERED = "unanswered"


def number(value: float) -> str:
    """A load as the voice should read it: 20, 17.5, 2.25."""
    return f"{value:.2f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))


def weight(value: float, unit: str) -> str:
    one, many = UNIT_WORDS.get(unit, (unit, unit))
    return f"{number(value)} {one if value == 1 else many}"


def round_to(load: float, increment: float) -> float:
    """``load`` rounded to the nearest multiple of ``increment`` (0: unchanged)."""
    if increment <= 0:
        return round(load, 2)
    return round(round(load / increment) * increment, 2)


def reduce_load(load: float, increment: float, share: float = DROP_SHARE) -> float:
    """``share`` off ``load``, rounded to the increment, and at least one increment less."""
    if load <= 0:
        return 0.0
    lower = round_to(load * (1.0 - share), increment)
    if lower >= load and increment > 0:
        lower = load - increment
    return max(0.0, round(lower, 2))


def epley_one_rep_max(load: float, reps: int) -> float:
    """Estimated one-rep max (Epley): load x (1 + reps / 30)."""
    if load <= 0 or reps <= 0:
        return 0.0
    return load * (1.0 + reps / 30.0)


def best_one_rep_max(sets: Sequence[tuple[float, int | None]]) -> float:
    """The highest Epley estimate over (load, reps) pairs; 0 when none has both."""
    return max([epley_one_rep_max(load, reps) for load, reps in sets if reps], default=0.0)


def connection_limit(one_rep_max: float, increment: float) -> float:
    """The heaviest load a connection plan allows: 60% of the 1RM, rounded down."""
    limit = CONNECTION_SHARE * one_rep_max
    if increment <= 0:
        return round(limit, 2)
    return round(math.floor(limit / increment + 1e-9) * increment, 2)


def slower(tempo: str) -> str:
    """One second more lowering, at most MAX_ECCENTRIC seconds."""
    return str(parse_tempo(tempo).slower())


def faster(tempo: str) -> str:
    return str(parse_tempo(tempo).faster())


def eccentric_seconds(tempo: str) -> float | None:
    return parse_tempo(tempo).eccentric


def lighten_for_sore(load: float, increment: float) -> float:
    """Today's load for an exercise working a sore region."""
    return reduce_load(load, increment, SORE_SHARE)


def load_words(load: float, unit: str) -> str:
    return "body weight" if load <= 0 else weight(load, unit)


@dataclass(frozen=True)
class StartOfDay:
    """An exercise's load for today, before its first set, and the lines that explain it."""

    load: float
    notes: tuple[str, ...] = ()


def start_of_day(exercise: Exercise, load: float, unit: str, increment: float,
                 sore: str | None = None, connection: bool = False,
                 recent: Sequence[tuple[float, int | None]] = ()) -> StartOfDay:
    """The plan's (or the resumed) load, lightened when today's scan named a sore region
    this exercise works, and capped at 60% of the best recent one-rep max on a
    connection plan."""
    notes = []
    if sore and exercise.works_region(sore) and load > 0:
        lighter = lighten_for_sore(load, increment)
        verb = "are" if sore.endswith("s") else "is"
        notes.append(f"Your {sore} {verb} sore today, so "
                     f"{load_words(lighter, unit)} instead of {number(load)}.")
        load = lighter
    if connection and load > 0 and increment > 0:
        best = best_one_rep_max(recent)
        limit = connection_limit(best, increment) if best else load
        if 0 < limit < load:
            notes.append(f"To feel the muscle, we stay at 60% of your best: "
                         f"{load_words(limit, unit)}.")
            load = limit
    return StartOfDay(load, tuple(notes))


def read_answers(exercise: Exercise, reps: Answer | None, felt: Answer | None
                 ) -> tuple[int | None, bool | None, str | None]:
    """(reps, felt, where) from the answers to "How many reps?" and "Did you feel it?":
    a place named instead of yes/no counts as felt when it is the target (or inside it)."""
    count = int(reps.value) if reps is not None and reps.kind == "reps" else None
    if felt is None:
        return count, None, None
    if felt.kind == "felt":
        return count, bool(felt.value), None
    where = str(felt.value)
    return count, exercise.is_target(where), where


@dataclass(frozen=True)
class SetOutcome:
    """What happened in one set, as the lifter answered."""

    exercise: Exercise
    load: float
    unit: str
    tempo: str
    rep_range: tuple[int, int]
    reps: int | None
    """Reps (seconds for an isometric hold) the lifter reported; None: never understood."""
    felt: bool | None
    """Felt it in the target; None: never understood."""
    where: str | None = None
    """Where they felt it, if they named a place."""
    cue: str | None = None


@dataclass(frozen=True)
class Decision:
    next_load: float
    next_tempo: str
    next_cue: str | None
    reason: str
    """One short sentence, spoken and stored ("12 reps and you felt it: up 2.5 kilos.")."""
    rule: str
    capped: bool = False


def _amount(outcome: SetOutcome) -> str:
    what = "seconds" if outcome.exercise.isometric else "reps"
    if outcome.reps == 1:
        what = what[:-1]
    return f"{outcome.reps} {what}"


def _where_words(outcome: SetOutcome) -> str:
    return f"You felt it in your {outcome.where}, not your {outcome.exercise.feel_in}"


def adapt_load(outcome: SetOutcome, increment: float, connection: bool = False,
               one_rep_max: float = 0.0) -> tuple[float, str, str, str, bool]:
    """The load and tempo rules: (next_load, next_tempo, reason, rule, capped)."""
    load, tempo, unit = outcome.load, outcome.tempo, outcome.unit
    low, high = outcome.rep_range
    exercise = outcome.exercise
    body_weight = increment <= 0
    next_load, next_tempo = load, tempo

    if outcome.felt is False:
        rule = NOT_FELT
        opening = _where_words(outcome) if outcome.where else "You didn't feel it"
        changes = []
        if not body_weight and load > 0:
            next_load = reduce_load(load, increment)
            changes.append(f"down to {weight(next_load, unit)}")
        if not exercise.isometric:
            next_tempo = slower(tempo)
            seconds = eccentric_seconds(next_tempo)
            if next_tempo != tempo:
                changes.append(f"lower in {number(seconds)} seconds")
            else:
                changes.append(f"keep lowering in {number(MAX_ECCENTRIC)} seconds")
        changes.append("a new cue")
        reason = f"{opening}: {_join(changes)}."
    elif outcome.reps is not None and outcome.reps < low:
        rule = SHORT
        opening = f"{_amount(outcome)}, short of {low}"
        if not body_weight and load > 0:
            next_load = reduce_load(load, increment)
            reason = f"{opening}: down to {weight(next_load, unit)}."
        else:
            reason = f"{opening}: same again, take your time."
    elif outcome.reps is not None and outcome.reps >= high and outcome.felt:
        rule = UP
        opening = f"{_amount(outcome)} and you felt it"
        if not body_weight:
            next_load = round(load + increment, 2)
            reason = f"{opening}: up {weight(increment, unit)}."
        else:
            reason = f"{opening}: well done, same again."
    elif outcome.reps is None and outcome.felt is None:
        rule = UNANSWERED
        load_words = weight(load, unit) if load > 0 else "the same"
        reason = f"I didn't get your answers, so we keep the plan: {load_words}."
    else:
        rule = KEEP
        if outcome.reps is not None and outcome.felt:
            opening = f"{_amount(outcome)} and you felt it"
        elif outcome.felt:
            opening = "You felt it"
        else:
            opening = _amount(outcome)
        stay = f"stay at {weight(load, unit)}" if load > 0 else "same again"
        reason = f"{opening}: {stay}."

    capped = False
    if connection and one_rep_max > 0 and not body_weight:
        limit = connection_limit(one_rep_max, increment)
        if next_load > limit:
            capped = True
            next_load = max(0.0, limit)
            head = reason.split(":")[0]
            reason = (f"{head}: {weight(next_load, unit)}, the connection limit of 60% of "
                      "your best.")
    return next_load, next_tempo, reason, rule, capped


def _join(parts: list[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


# -- cues -------------------------------------------------------------------------------

@dataclass(frozen=True)
class CueChoice:
    cue: Cue
    why: str
    """"corrects shoulders", "sampled", "only one left"..."""


def usable_cues(exercise: Exercise, cues: Sequence[Cue]) -> list[Cue]:
    """The cues that may be drawn for ``exercise``: external ones for explosive moves."""
    own = [c for c in cues if c.exercise == exercise.id]
    if exercise.explosive:
        external = [c for c in own if c.kind == "external"]
        return external or own
    return own


def choose_cue(exercise: Exercise, cues: Sequence[Cue], stats: Mapping[str, tuple[int, int]],
               rng: random.Random, failed: str | None = None,
               where: str | None = None) -> CueChoice:
    """Thompson sampling over Beta(felt + 1, not felt + 1), never repeating ``failed``,
    restricted to cues correcting ``where`` when the lifter named a non-target region."""
    candidates = usable_cues(exercise, cues)
    if not candidates:
        raise ValueError(f"no cues for {exercise.id}")
    why = "sampled"
    if failed is not None and len(candidates) > 1:
        candidates = [c for c in candidates if c.id != failed]
    if where and not exercise.is_target(where):
        correcting = [c for c in candidates if c.corrects_region(where)]
        if correcting:
            candidates = correcting
            why = f"corrects {where}"
    best, best_draw = candidates[0], -1.0
    for cue in candidates:
        felt, not_felt = stats.get(cue.id, (0, 0))
        draw = rng.betavariate(felt + 1, not_felt + 1)
        if draw > best_draw:
            best, best_draw = cue, draw
    return CueChoice(best, why)


def decide(outcome: SetOutcome, increment: float, cues: Sequence[Cue],
           stats: Mapping[str, tuple[int, int]], rng: random.Random, connection: bool = False,
           recent: Sequence[tuple[float, int | None]] = ()) -> Decision:
    """Everything that changes for the next set, with its reason. ``recent``: (load, reps)
    of the exercise's recent sets, for a connection plan's one-rep max (with this set)."""
    one_rep_max = best_one_rep_max([*recent, (outcome.load, outcome.reps)]) if connection \
        else 0.0
    next_load, next_tempo, reason, rule, capped = adapt_load(outcome, increment, connection,
                                                             one_rep_max)
    failed = outcome.cue if outcome.felt is False else None
    choice = choose_cue(outcome.exercise, cues, stats, rng, failed=failed, where=outcome.where)
    return Decision(next_load, next_tempo, choice.cue.id, reason, rule, capped)


def possible_reasons(outcome: SetOutcome, increment: float, connection: bool = False,
                     one_rep_max: float = 0.0, places: Sequence[str] = ()) -> list[str]:
    """Every reason a set could end in, whatever is answered (reps from none to a few past
    the top, felt or not or unclear), and for each of ``places`` (where the lifter may
    feel it instead): said while the set runs, rendered ahead of time."""
    low, high = outcome.rep_range
    reasons: list[str] = []
    for reps in [None, *range(max(0, low - 2), high + 3)]:
        for felt in (True, False, None):
            case = replace(outcome, reps=reps, felt=felt, where=None)
            reason = adapt_load(case, increment, connection, one_rep_max)[2]
            if reason not in reasons:
                reasons.append(reason)
    for place in places:  # the opening names the place; the reps do not change it
        case = replace(outcome, reps=None, felt=False, where=place)
        reasons.append(adapt_load(case, increment, connection, one_rep_max)[2])
    return reasons
