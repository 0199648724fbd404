"""The lines a workout renders ahead of time (``Voice.prepare``: the background renderer),
so none is late when it is due: the next set's before it is announced, the decisions
while a set is counted, the next set's again during the rest. Offline (``--out``)
nothing plays, so nothing is rendered ahead. The lines are ``coach.workout.lines``'.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from coach.core.library import Exercise
from coach.core.plans import PlanExercise
from coach.workout import lines

if TYPE_CHECKING:
    from coach.workout.parts import SessionView


class Ahead:
    def __init__(self, session: SessionView) -> None:
        self.session = session

    def prepare(self, texts: list[str]) -> None:
        """Hand lines to the background renderer (not offline: nothing plays, none is late)."""
        if not self.session.speaker.offline:
            self.session.voice.prepare(texts)

    def set_lines(self, item: PlanExercise, exercise: Exercise, set_number: int,
                  announce: bool, decisions: bool = False) -> list[str]:
        """What a set says before its answers (``decisions``: and after them)."""
        session = self.session
        progress = session.progress.exercises.get(item.id)
        texts = lines.set_lines(item, exercise, set_number, progress, session.library,
                                session.plan.unit, session.settings, announce)
        if decisions and progress is not None:
            texts += lines.decision_lines(item, exercise, progress, session.plan.unit,
                                          session.plan.connection,
                                          session.deciding.recent(item),
                                          session.library.cues_for(item.id))
        return texts

    def after_set(self, item: PlanExercise, exercise: Exercise) -> None:
        """While a set is counted: what is said after it (``lines.after_set_lines``)."""
        session = self.session
        self.prepare(lines.after_set_lines(
            item, exercise, session.progress.exercises[item.id], session.plan.unit,
            session.plan.connection, session.deciding.recent(item),
            session.library.cues_for(item.id), session.settings))

    def plan(self) -> list[str]:
        """Every line the plan is likely to say from where the session is (``--prepare``)."""
        session = self.session
        return lines.plan_lines(session.plan, session.library, session.settings,
                                session.progress.exercises, session.store.recent_sets)
