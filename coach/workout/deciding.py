"""What the workout decides from the plan, the history and the answers: an exercise's
starting values today (``adapt.start_of_day``: a sore region, the connection limit, the
cue), and after each set the next load, tempo and cue (``adapt.decide``). The rules are
``coach.core.adapt``'s; this part reads what they need from the store.
"""

from __future__ import annotations

import logging
import random
import sqlite3
from dataclasses import dataclass, field

from coach.core import adapt
from coach.core.adapt import Decision, SetOutcome
from coach.core.library import Exercise, Library
from coach.core.plans import Plan, PlanExercise
from coach.errors import CoachError
from coach.store import Store
from coach.workout.state import ExerciseProgress

log = logging.getLogger(__name__)


def read_sore(store: Store) -> str | None:
    """Where today's body scan found soreness (None: nowhere, or unreadable)."""
    try:
        return store.sore_today()
    except sqlite3.Error as error:  # an unreadable scan must not stop a workout
        log.warning("coach: could not read today's body scan (%s)", error)
        return None


def spoken_summary(store: Store, session_id: int) -> str | None:
    """The history's summary said at the end (None: coach.summary is absent or fails)."""
    try:
        from coach import summary
    except ImportError:
        return None
    try:
        return summary.session_summary(store, session_id)
    except (CoachError, sqlite3.Error, ValueError, KeyError) as error:
        log.warning("coach: no spoken summary (%s)", error)
        return None


@dataclass
class Deciding:
    plan: Plan
    library: Library
    store: Store
    rng: random.Random
    sore: str | None = field(default=None)
    """Where today's body scan found soreness."""

    def recent(self, item: PlanExercise) -> list:
        """The history's recent sets of ``item`` (read only for a plan with connection)."""
        return self.store.recent_sets(item.id, self.plan.unit) if self.plan.connection else []

    def start_of_day(self, item: PlanExercise, exercise: Exercise,
                     current: ExerciseProgress | None) -> tuple[ExerciseProgress, list[str]]:
        """Today's starting values for an exercise (once: ``current`` adjusted already is
        kept), and the lines that explain them."""
        if current is not None and current.adjusted:
            return current, []
        unit = self.plan.unit
        today = adapt.start_of_day(exercise, item.load if current is None else current.load,
                                   unit, exercise.increment_for(unit), self.sore,
                                   self.plan.connection, self.recent(item))
        cue = current.cue if current is not None else None
        if cue is None:
            cue = adapt.choose_cue(exercise, self.library.cues_for(item.id),
                                   self.store.cue_stats(item.id), self.rng).cue.id
        return ExerciseProgress(load=today.load,
                                tempo=item.tempo if current is None else current.tempo,
                                cue=cue, adjusted=True), list(today.notes)

    def after_set(self, item: PlanExercise, exercise: Exercise, progress: ExerciseProgress,
                  reps: int | None, felt: bool | None, where: str | None) -> Decision:
        """The next load, tempo and cue after a set at ``progress`` answered so."""
        unit = self.plan.unit
        outcome = SetOutcome(exercise, progress.load, unit, progress.tempo, item.reps, reps,
                             felt, where if felt is False else None, progress.cue)
        return adapt.decide(outcome, exercise.increment_for(unit),
                            self.library.cues_for(item.id), self.store.cue_stats(item.id),
                            self.rng, connection=self.plan.connection,
                            recent=self.recent(item))
