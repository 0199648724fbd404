"""Counting a set: the metronome (a hold's timer for an isometric exercise) on the
speaker clock, with the commands heard while it plays.

"slower" and "faster" are carried out without stopping the count
(``control.WHILE_COUNTING``); any other action stops it first and is then carried out
by ``Session._obey``: a pause resumes the count at the next rep, "done" ends the set.
A device that goes away cuts the set (``DeviceLost``, with the reps counted).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from coach.core.library import Exercise
from coach.core.plans import PlanExercise
from coach.core.tempo import parse_tempo
from coach.dialogue.ask import DEVICE
from coach.dialogue.commands import Action
from coach.errors import DeviceError
from coach.events import COMPLETED
from coach.workout import control
from coach.workout.control import DeviceLost, Leave
from coach.workout.state import State

if TYPE_CHECKING:
    from coach.workout.parts import SessionView


def count(session: SessionView, item: PlanExercise, exercise: Exercise, done: int = 0) -> int:
    """Play the set (on from ``done`` reps already counted before a device was lost);
    returns the reps (seconds) counted. Raises on skip/stop and a lost device."""
    session._enter(State.COUNTING)
    session.ahead.after_set(item, exercise)
    total = session.settings.reps_to_count(item.reps[1])
    while done < total:
        reason, counted = _play(session, exercise, total - done, done + 1)
        done += counted
        if reason == COMPLETED:
            break
        if reason == DEVICE:
            raise DeviceLost(session.lost.cut or "a device stopped", done)
        try:
            session._obey(Action(reason))
        except Leave:  # done: the set is over
            break
    return done


def _play(session: SessionView, exercise: Exercise, reps: int, first_rep: int) -> tuple[str, int]:
    """Count ``reps`` from ``first_rep``; returns why it stopped (completed, a device, or
    an action that stops the count) and the reps counted."""
    watch = session.source.watch()
    session.lost.cut = None

    def interrupt() -> str | None:
        if session.lost.cut_now():
            return DEVICE
        answer = watch.poll()
        if answer is None or answer.kind != "command":
            return None
        session._record(answer, "command")
        act = session._action(answer)
        if act in control.WHILE_COUNTING:
            session._obey(act)
            return None
        return None if act is Action.IGNORE else str(act)

    try:
        if exercise.isometric:
            from coach.workout.hold import hold

            held = hold(session.speaker, session.voice, reps, interrupt)
            return held.reason, held.seconds_done
        tempo = parse_tempo(session.progress.exercises[exercise.id].tempo)
        played = session.metronome.play_set(tempo, reps, interrupt, first_rep=first_rep)
        if played.reason != DEVICE:
            session.metronome.wait_tail()
        return played.reason, played.reps_done
    except DeviceError as error:
        return DEVICE, session.lost.counted_before(error)
    finally:
        watch.close()
