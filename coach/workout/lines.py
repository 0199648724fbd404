"""Every sentence the workout says, in one home.

Each line is a pure function of the plan, the exercise and the session's progress (or a
constant). The session says them, the lists rendered ahead of time are built from them,
and ``plan_lines`` lists a whole plan's lines for ``--prepare`` and ``coach device``
without starting a session. A sentence changed here changes everywhere it is said or
rendered. No audio, no store: lists that need the history take it as an argument.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from coach.core import adapt
from coach.core.adapt import SetOutcome, load_words
from coach.core.library import Exercise, Library
from coach.core.plans import Plan, PlanExercise
from coach.core.tempo import PHASES, number_word, parse_tempo
from coach.workout.state import ExerciseProgress, SessionSettings

READY = "Ready?"
PAUSED = "Paused. Say resume when you're ready."
RESUMING = "Resuming."
WHOLE_SESSION = "That's the whole session. Well done."
STOPPING = "Stopping. Everything you did is saved."
NOT_SAVED_YET = "I couldn't save that set yet. I'm keeping it and will try again."
#: Said when the microphone goes away while the speaker still works.
MICROPHONE_GONE = "I can't hear you: the microphone is gone. I'll wait for it."
#: An isometric hold's words: at its start, ten seconds before its end, at its end.
HOLD, TEN_SECONDS, TIME = "Hold.", "Ten seconds.", "Time."
#: The metronome's words are its phase words and ``core.tempo.number_word``.
#: What opens the line of a set carried on: the device is back; the session is resumed.
BACK, WELCOME_BACK = "We're back", "Welcome back"


def tempo_words(tempo_text: str) -> str:
    """'3-1-2-0' -> 'down in 3, hold 1, up in 2'."""
    tempo = parse_tempo(tempo_text)
    parts = ["drop fast" if tempo.eccentric is None
             else f"down in {adapt.number(tempo.eccentric)}"]
    if tempo.bottom:
        parts.append(f"hold {adapt.number(tempo.bottom)}")
    parts.append("explode up" if tempo.concentric is None
                 else f"up in {adapt.number(tempo.concentric)}")
    if tempo.top:
        parts.append(f"squeeze {adapt.number(tempo.top)}")
    return ", ".join(parts)


def opening_line(plan: Plan) -> str:
    """The first line of a session (rendered while the session is set up)."""
    exercises, sets = len(plan.exercises), plan.total_sets
    return (f"{plan.name}. {exercises} exercise{'s' * (exercises != 1)}, "
            f"{sets} set{'s' * (sets != 1)}. Say pause, repeat, skip or stop at any time.")


def welcome_back(set_number: int, exercise: Exercise) -> str:
    """A resumed session's first line (when no set was cut)."""
    return f"{WELCOME_BACK}. We carry on with set {set_number} of the {exercise.name}."


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
             isometric: bool = False, greeting: str = BACK) -> CarryOn:
    """Where set ``set_number`` of the exercise ``name`` carries on after ``done`` of its
    ``target`` reps (seconds held, when ``isometric``) were counted before a device went.
    ``greeting`` opens the line: ``BACK`` when the device is, ``WELCOME_BACK`` when a
    session killed meanwhile is resumed."""
    target = max(1, target)
    done = max(0, min(done, target))
    where = f"{greeting}. Set {set_number} of the {name}"
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


def exercise_line(exercise: Exercise) -> str:
    return f"{exercise.name.capitalize()}."


def warmup_line(exercise: Exercise, settings: SessionSettings) -> str:
    """The warm-up said before an exercise's first set ("" when there is none)."""
    return exercise.warmup if settings.warmup and exercise.warmup else ""


def set_line(item: PlanExercise, exercise: Exercise, set_number: int,
             progress: ExerciseProgress, unit: str) -> str:
    """'Set 2 of 3. 11 kilos, 8 to 12 reps, down in 3, up in 1.'"""
    low, high = item.reps
    load = load_words(progress.load, unit).capitalize()
    if exercise.isometric:
        target = f"hold {low} to {high} seconds" if low != high else f"hold {high} seconds"
        return f"Set {set_number} of {item.sets}. {load}, {target}."
    target = f"{low} to {high} reps" if low != high else \
        f"{high} rep{'' if high == 1 else 's'}"
    return (f"Set {set_number} of {item.sets}. {load}, {target}, "
            f"{tempo_words(progress.tempo)}.")


def cue_line(library: Library, progress: ExerciseProgress) -> str:
    """The chosen cue's text ("" when none is chosen yet)."""
    return library.cue(progress.cue).text if progress.cue else ""


def reps_question(exercise: Exercise) -> str:
    return "How many seconds did you hold?" if exercise.isometric else "How many reps?"


def felt_question(exercise: Exercise) -> str:
    return f"Did you feel it in your {exercise.feel_in}?"


def asked_again(question: str) -> str:
    """A question asked again after an unclear answer."""
    return f"Sorry, I didn't catch that. {question}"


def rest_line(seconds: float) -> str:
    return f"Rest {adapt.number(round(seconds))} seconds."


def countdown_line(seconds_left: float) -> str:
    return f"{adapt.number(round(seconds_left))} seconds."


def skipping_set(set_number: int) -> str:
    return f"Skipping set {set_number}."


def skipping_exercise(exercise: Exercise) -> str:
    return f"Skipping the {exercise.name}."


def tempo_change(command: str, before: str, after: str) -> str:
    """What "slower" / "faster" answers: the new tempo, or that it cannot change."""
    if after == before:
        return (f"The lowering stays at {adapt.number(parse_tempo(after).eccentric or 1)}"
                " seconds.")
    return f"{command.capitalize()}: {tempo_words(after)}."


# -- the lists rendered ahead ------------------------------------------------------------
def set_lines(item: PlanExercise, exercise: Exercise, set_number: int,
              progress: ExerciseProgress | None, library: Library, unit: str,
              settings: SessionSettings, announce: bool) -> list[str]:
    """What a set says before its answers: announcement (``announce``: the exercise's
    first set here), cue, "Ready?", the questions and their repeats."""
    lines = []
    if announce:
        lines += [exercise_line(exercise), warmup_line(exercise, settings)]
    if progress is not None:
        lines += [set_line(item, exercise, set_number, progress, unit),
                  cue_line(library, progress)]
    questions = [reps_question(exercise), felt_question(exercise)]
    lines += [READY, *questions, *(asked_again(q) for q in questions)]
    return [line for line in lines if line]


def decision_lines(item: PlanExercise, exercise: Exercise, progress: ExerciseProgress,
                   unit: str, connection: bool, recent: Sequence, cues: Sequence
                   ) -> list[str]:
    """The reasons a set can end in (rendered while it runs). ``recent``: the history's
    recent sets of the exercise (used with ``connection``); ``cues``: its cues."""
    outcome = SetOutcome(exercise, progress.load, unit, progress.tempo, item.reps, None,
                         None, None, progress.cue)
    one_rep_max = adapt.best_one_rep_max(recent) if connection else 0.0
    places = dict.fromkeys(place for cue in cues for place in cue.corrects
                           if not exercise.is_target(place))
    return adapt.possible_reasons(outcome, exercise.increment_for(unit), connection,
                                  one_rep_max, tuple(places))


def after_set_lines(item: PlanExercise, exercise: Exercise, progress: ExerciseProgress,
                    unit: str, connection: bool, recent: Sequence, cues: Sequence,
                    settings: SessionSettings) -> list[str]:
    """Rendered while a set is counted: the rest line first (said after any decision,
    and short to render), the decisions, the session's last line."""
    return [rest_line(settings.rest(item.rest)),
            *decision_lines(item, exercise, progress, unit, connection, recent, cues),
            WHOLE_SESSION]


def metronome_words(settings: SessionSettings, most_reps: int) -> list[str]:
    """The metronome's words: its phase words and rep numbers up to ``most_reps``."""
    words = [phase.word for phase in PHASES] if settings.phase_words else []
    if settings.rep_numbers:
        words += [number_word(n) for n in range(1, settings.reps_to_count(most_reps) + 1)]
    return words


def plan_lines(plan: Plan, library: Library, settings: SessionSettings,
               progress: Mapping[str, ExerciseProgress],
               recent_sets: Callable[[str, str], Sequence]) -> list[str]:
    """Every line the plan is likely to say, for ``--prepare`` and ``coach device``: each
    set's lines as the plan starts it (``progress``: the exercises' values so far; the
    plan's where absent), every cue, the decisions of the first set, skips, tempo
    changes, rests, the metronome's and the hold's words. ``recent_sets(exercise, unit)``
    reads the history (asked only for a plan with ``connection``)."""
    lines = [opening_line(plan), PAUSED, RESUMING, WHOLE_SESSION, STOPPING]
    for item in plan.exercises:
        exercise = library.exercise(item.id)
        current = progress.get(item.id) or ExerciseProgress(
            load=item.load, tempo=item.tempo, cue=None)
        cues = library.cues_for(item.id)
        recent = recent_sets(item.id, plan.unit) if plan.connection else []
        for number in range(1, item.sets + 1):
            lines += set_lines(item, exercise, number, current, library, plan.unit,
                               settings, number == 1)
            lines.append(skipping_set(number))
        lines += [cue.text for cue in cues]
        lines += decision_lines(item, exercise, current, plan.unit, plan.connection, recent,
                                cues)
        lines += [skipping_exercise(exercise), rest_line(settings.rest(item.rest)),
                  countdown_line(settings.countdown_seconds)]
        lines += [tempo_change(command, current.tempo, change(current.tempo))
                  for command, change in (("slower", adapt.slower), ("faster", adapt.faster))]
        if exercise.isometric:
            lines += [HOLD, TEN_SECONDS, TIME]
    most = max((item.reps[1] for item in plan.exercises), default=12)
    return lines + metronome_words(settings, most)
