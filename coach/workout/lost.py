"""A speaker or microphone that goes away during a workout, as the session sees it.

The ``Supervisor`` (``coach.audio.supervise``) knows whether a device is gone and waits
for it; this part of the session asks it at the right moments, says once that the
microphone went (while the speaker still plays), and after the wait carries on with the
set that was cut, from the rep it was at (``lines.carry_on``), or with the next set.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from coach.core.library import Exercise
from coach.core.plans import PlanExercise
from coach.errors import DeviceError
from coach.workout import lines
from coach.workout.control import DeviceLost, Stop
from coach.workout.lines import CarryOn, carry_on

if TYPE_CHECKING:
    from coach.workout.parts import SessionView

log = logging.getLogger(__name__)


class Lost:
    """The session's devices: ask, wait, carry on. ``supervisor``: None offline."""

    def __init__(self, session: SessionView, supervisor=None) -> None:
        self.session = session
        self.supervisor = supervisor
        self.cut: str | None = None
        """What went away in the middle of the set being played."""

    def problem(self) -> str | None:
        return self.supervisor.problem() if self.supervisor is not None else None

    def cut_now(self) -> bool:
        """While a set plays: True (and ``cut`` says why) when a device has gone."""
        self.cut = self.problem()
        return self.cut is not None

    def counted_before(self, error: DeviceError) -> int:
        """The reps counted before the device error that ended a set (raised again when
        no device is missing: then it is not a lost device)."""
        self.cut = self.problem()
        if self.cut is None:
            raise error
        from coach.workout.metronome import SpeakerStopped

        return error.reps_done if isinstance(error, SpeakerStopped) else 0

    def recover(self, problem: str) -> None:
        """Pause until the missing device is back (one event, a retry every few seconds).
        A lost microphone is said while the speaker still plays: a lifter alone would
        otherwise hear the count stop for no reason."""
        if not self.supervisor.recover(problem, self._tell):
            raise Stop

    def _tell(self, device: str) -> None:
        """Say once that the microphone went (not the speaker: nothing would be heard);
        a speaker that fails meanwhile is the supervisor's to wait for."""
        if device == "microphone" and self.session.speaker.active:
            self.session.speak(lines.MICROPHONE_GONE)

    def carry_on(self, item: PlanExercise, exercise: Exercise, done: int,
                 greeting: str = lines.BACK) -> CarryOn:
        """Where the next set carries on after ``done`` reps, against the count's target."""
        session = self.session
        return carry_on(done, session.settings.reps_to_count(item.reps[1]),
                        session.progress.set_number, exercise.name, exercise.isometric,
                        greeting)

    def back_after(self, lost: DeviceLost, started: str) -> None:
        """A device went away during a set or a rest: wait for it, then carry on with the
        set that was cut, from the rep it was at, or with the next set. Where the cut set
        was is saved first (``Saving.save_cut``), so a coach killed while it waits resumes
        it there. Commands heard in the cut set stay with it (in memory)."""
        session = self.session
        index = session.progress.exercise_index
        exercises = session.plan.exercises
        if lost.done and index < len(exercises):
            session.progress = session.progress.with_cut(lost.done, started)
            session.saving.save_cut(session.progress.to_json())
        self.recover(lost.problem)
        if index >= len(exercises):
            return
        item = exercises[index]
        session.say(self.carry_on(item, session.library.exercise(item.id), lost.done or 0).line,
                    instruction=True)
