"""The sets waiting for the disk, and the answers heard between them.

A set is committed with its answers, its decision and the resume state in one
transaction (``Store.save_set``). One that cannot be saved (full disk, locked database)
is kept here in memory, in order, retried after each set and at the end, and the coach
says so once; nothing answered is dropped while the process lives. A ``set`` event is
written only once its set is in the database. Answers heard outside a set (commands in
a rest or a pause: "loose") go with the next set, or are saved on their own at the end.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

from coach.events import EventWriter, SetLogged
from coach.store import AnswerRecord, DecisionRecord, LoggedSet, Store, StoreError
from coach.workout import lines

log = logging.getLogger(__name__)


@dataclass
class PendingSet:
    """A set waiting to be committed (normally for a few milliseconds)."""

    logged: LoggedSet
    answers: list[AnswerRecord]
    decision: DecisionRecord | None
    state: dict
    loose: list[AnswerRecord]
    reported: bool = False


@dataclass
class Saving:
    """The queue of sets not yet in ``store``, and the answers of the set under way."""

    store: Store
    session_id: int
    events: EventWriter
    say: Callable[[str], None]
    """Says that a set could not be saved yet (once per set)."""
    pending: list[PendingSet] = field(default_factory=list)
    set_answers: list[AnswerRecord] = field(default_factory=list)
    """Answers heard in the set under way (saved with it)."""
    loose_answers: list[AnswerRecord] = field(default_factory=list)
    """Answers heard outside a set (saved with the next one)."""
    sets_saved: int = 0

    def hear(self, record: AnswerRecord, loose: bool) -> None:
        (self.loose_answers if loose else self.set_answers).append(record)

    def commit(self, logged: LoggedSet, decision: DecisionRecord | None, state: dict) -> None:
        """Queue the set with the answers heard so far, and save what waits."""
        self.pending.append(PendingSet(logged, self.set_answers, decision, state,
                                       self.loose_answers))
        self.set_answers, self.loose_answers = [], []
        self.flush()

    def flush(self) -> bool:
        """Commit every waiting set in order; True when none is left."""
        while self.pending:
            item = self.pending[0]
            try:
                self.store.save_set(item.logged, item.answers, item.decision, item.state,
                                    item.loose)
            except StoreError as error:  # told once; retried after every set and at the end
                log.log(logging.DEBUG if item.reported else logging.WARNING,
                        "coach: could not save set %d of %s (%s); kept in memory, will retry",
                        item.logged.set_number, item.logged.exercise, error.message)
                if not item.reported:
                    item.reported = True
                    self.say(lines.NOT_SAVED_YET)
                return False
            self.pending.pop(0)
            self.sets_saved += 1
            logged = item.logged
            if not logged.skipped:
                self.events.emit(SetLogged(
                    exercise=logged.exercise, set=logged.set_number, load=logged.load,
                    unit=logged.unit, reps=logged.reps, felt=logged.felt, where=logged.where,
                    cue=logged.cue, tempo=logged.tempo))
        return True

    def save_cut(self, state: dict) -> None:
        """Save the resume state with the cut of a set (``Progress.with_cut``). Not while a
        set waits for the disk (the resume point would skip that set), nor when the disk
        refuses: said on stderr, and the set still carries on in this process; only a
        resume would start it again."""
        if self.pending:
            log.warning("coach: where the cut set was is not saved: %d earlier set(s) still "
                        "wait for the disk; a resume would start it again", len(self.pending))
            return
        try:
            self.store.save_state(self.session_id, state)
        except StoreError as error:
            log.warning("coach: could not save where the cut set was (%s); a resume would "
                        "start it again", error.message)

    def save_loose(self) -> None:
        """At the end: the answers no set took."""
        if not self.loose_answers and not self.set_answers:
            return
        try:
            self.store.save_answers(self.session_id, self.loose_answers + self.set_answers)
            self.loose_answers, self.set_answers = [], []
        except StoreError as error:
            log.debug("answers heard after the last set not saved: %s", error.message)

    def end(self, status: str, state: dict, saved: bool) -> None:
        """Mark the session ``status`` once every set is saved (``saved``: they were at the
        last flush), else print the sets that never reached the disk."""
        if saved or self.flush():
            try:
                self.store.end_session(self.session_id, status, state)
            except StoreError as error:
                log.warning("coach: could not mark the session %s (%s)", status, error.message)
        else:
            self.report_unsaved()

    def report_unsaved(self) -> None:
        """The disk never recovered: print the sets so they are not lost."""
        print(f"coach: {len(self.pending)} set(s) could not be saved to "
              f"{self.store.path}; here they are as JSON:", file=sys.stderr)
        for item in self.pending:
            print(json.dumps(item.logged.__dict__), file=sys.stderr)
