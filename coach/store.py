"""History in one SQLite file (stdlib ``sqlite3``, WAL) in the data folder.

Every set is committed the moment its answers are in, so ``kill -9`` loses at most
the set in progress. Rows carry a ``uid`` so that export/import can recognise rows it
already holds. Times are ISO 8601 UTC strings.

Owners: sessions/sets/answers/cue_stats/decisions belong to the coaching session
(issue 5), scans to the body scan (issue 6); history/report/export read them all.
Schema changes go through ``MIGRATIONS`` (append only).

Every SQL statement of the coach is in this module (``tests/test_store.py`` checks it):
``coach.backup`` reads the schema and the rows through ``table_columns``, ``table_rows``
and friends, and writes an import with ``insert_row`` / ``update_row`` inside one
``transaction``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import sqlite3
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coach.errors import CoachError

MIGRATIONS: list[str] = [
    # 1: the first schema
    """
    CREATE TABLE sessions (
        id INTEGER PRIMARY KEY,
        uid TEXT NOT NULL UNIQUE,
        plan TEXT NOT NULL,
        unit TEXT NOT NULL DEFAULT 'kg',
        started TEXT NOT NULL,
        ended TEXT,
        status TEXT NOT NULL DEFAULT 'running',   -- running|completed|stopped
        state TEXT                                -- JSON: where to resume
    );
    CREATE TABLE sets (
        id INTEGER PRIMARY KEY,
        uid TEXT NOT NULL UNIQUE,
        session_id INTEGER NOT NULL REFERENCES sessions(id),
        exercise TEXT NOT NULL,
        set_number INTEGER NOT NULL,
        load REAL NOT NULL,
        unit TEXT NOT NULL,
        reps INTEGER,
        felt INTEGER,                              -- 1, 0 or NULL (not answered)
        felt_where TEXT,
        cue TEXT,
        tempo TEXT NOT NULL,
        started TEXT NOT NULL,
        ended TEXT NOT NULL,
        skipped INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX sets_by_exercise ON sets(exercise, ended);
    CREATE TABLE answers (
        id INTEGER PRIMARY KEY,
        uid TEXT NOT NULL UNIQUE,
        session_id INTEGER REFERENCES sessions(id),
        set_id INTEGER REFERENCES sets(id),
        scan_id INTEGER REFERENCES scans(id),
        expect TEXT NOT NULL,
        kind TEXT NOT NULL,
        value TEXT,                                -- JSON
        words TEXT NOT NULL DEFAULT '',
        confidence REAL NOT NULL DEFAULT 0,
        engine TEXT,
        at TEXT NOT NULL
    );
    CREATE TABLE cue_stats (
        exercise TEXT NOT NULL,
        cue TEXT NOT NULL,
        felt INTEGER NOT NULL DEFAULT 0,
        not_felt INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (exercise, cue)
    );
    CREATE TABLE decisions (
        id INTEGER PRIMARY KEY,
        uid TEXT NOT NULL UNIQUE,
        session_id INTEGER REFERENCES sessions(id),
        set_id INTEGER REFERENCES sets(id),
        exercise TEXT NOT NULL,
        next_load REAL,
        next_cue TEXT,
        next_tempo TEXT,
        reason TEXT NOT NULL,
        at TEXT NOT NULL
    );
    CREATE TABLE scans (
        id INTEGER PRIMARY KEY,
        uid TEXT NOT NULL UNIQUE,
        style TEXT NOT NULL,
        minutes REAL NOT NULL,
        focus TEXT,
        started TEXT NOT NULL,
        ended TEXT,
        status TEXT NOT NULL DEFAULT 'running',
        feeling TEXT,                              -- calm|okay|tense
        sore TEXT                                  -- a region, or NULL
    );
    """,
]


#: A test hook for the kill soak (scripts/bench_faults.py): "N" stops this process with
#: SIGSTOP inside the N-th set's transaction, just before COMMIT; "N+" just after COMMIT,
#: before the session hears it returned. The soak then kills it there. Unset: nothing.
PAUSE_AT_COMMIT = os.environ.get("COACH_TEST_PAUSE_AT_COMMIT", "")


def _pause_for_test(commit: int, after: bool) -> None:
    if PAUSE_AT_COMMIT and PAUSE_AT_COMMIT == f"{commit}{'+' if after else ''}":
        os.kill(os.getpid(), signal.SIGSTOP)


def wall_clock() -> dt.datetime:
    """The time now, in UTC: the store's clock unless it is given another."""
    return dt.datetime.now(dt.UTC)


def iso(moment: dt.datetime) -> str:
    """How the store writes a time: ISO 8601 UTC to the millisecond."""
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds")


def now_iso() -> str:
    return iso(wall_clock())


def new_uid() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class LoggedSet:
    """One set as the session commits it (columns of ``sets``)."""

    session_id: int
    exercise: str
    set_number: int
    load: float
    unit: str
    reps: int | None
    felt: bool | None
    where: str | None
    cue: str | None
    tempo: str
    started: str
    ended: str
    skipped: bool = False
    uid: str = field(default_factory=lambda: new_uid())


@dataclass(frozen=True)
class AnswerRecord:
    """One answer heard (columns of ``answers``)."""

    expect: str
    kind: str
    value: Any
    words: str
    confidence: float
    engine: str | None = None
    at: str = field(default_factory=lambda: now_iso())
    uid: str = field(default_factory=lambda: new_uid())


@dataclass(frozen=True)
class DecisionRecord:
    """What changes for the next set, and why (columns of ``decisions``)."""

    exercise: str
    next_load: float | None
    next_cue: str | None
    next_tempo: str | None
    reason: str
    at: str = field(default_factory=lambda: now_iso())
    uid: str = field(default_factory=lambda: new_uid())


class StoreError(CoachError):
    """The history database cannot be opened or written."""


class Store:
    """A connection to the history file. Use one per thread. ``clock`` gives the time
    written as a session's or scan's start and end and that "recent" and "today" are
    counted from (an aware datetime; the wall clock by default)."""

    def __init__(self, path: Path, clock: Callable[[], dt.datetime] = wall_clock) -> None:
        self.path = Path(path)
        self.clock = clock
        self._sets_committed = 0
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            self.db.row_factory = sqlite3.Row
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.DatabaseError as error:
            if isinstance(error, sqlite3.OperationalError):  # a folder it cannot write, a full disk
                raise StoreError(f"cannot open the history database {self.path} ({error})",
                                 "pass a writable --data-dir with free space") from None
            raise StoreError(
                f"cannot open the history database {self.path} ({error})",
                "move the file aside (it is kept) or pass another --data-dir",
            ) from None
        except OSError as error:
            raise StoreError(f"cannot create {self.path.parent} ({error.strerror})",
                             "pass a writable --data-dir") from None

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            with self.transaction():
                for statement in _statements(script):
                    self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version={number}")

    @contextmanager
    def transaction(self, pause_as: int = 0) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT; a full disk becomes a StoreError with a fix.
        ``pause_as``: the set number for the kill soak's hook (``PAUSE_AT_COMMIT``)."""
        try:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            if pause_as:
                _pause_for_test(pause_as, after=False)
            self.db.execute("COMMIT")
            if pause_as:
                _pause_for_test(pause_as, after=True)
        except sqlite3.OperationalError as error:  # SQLITE_FULL, SQLITE_IOERR, SQLITE_BUSY
            if self.db.in_transaction:
                try:
                    self.db.execute("ROLLBACK")
                except sqlite3.Error:  # SQLite has rolled back on its own
                    pass
            raise StoreError(f"could not save to {self.path} ({error})",
                             _save_fix(str(error))) from None

    def _now(self) -> str:
        return iso(self.clock())

    def query(self, sql: str, params: tuple | dict = ()) -> list[dict[str, Any]]:
        return [dict(row) for row in self.db.execute(sql, params)]

    # -- the coaching session (issue 5) ----------------------------------------------
    def start_session(self, plan: str, unit: str, state: dict[str, Any],
                      uid: str | None = None) -> int:
        """A new running session; ``state`` is where to resume it (JSON)."""
        with self.transaction() as db:
            cursor = db.execute(
                "INSERT INTO sessions (uid, plan, unit, started, status, state) "
                "VALUES (?, ?, ?, ?, 'running', ?)",
                (uid or new_uid(), plan, unit, self._now(), to_json(state)))
            return int(cursor.lastrowid)

    def save_set(self, logged: LoggedSet, answers: list[AnswerRecord] = (),
                 decision: DecisionRecord | None = None,
                 state: dict[str, Any] | None = None,
                 loose_answers: list[AnswerRecord] = ()) -> int:
        """Commit one set, the answers that gave it, the decision it led to, its cue
        statistics and the session's resume state, all in one transaction.

        Idempotent on ``logged.uid``: saving the same set again (a retry after an error
        whose commit did in fact land) changes nothing and returns the existing id.
        ``loose_answers`` (commands heard between sets) are saved without a set id.
        """
        pause_as = self._sets_committed + 1 if PAUSE_AT_COMMIT else 0
        with self.transaction(pause_as) as db:
            row = db.execute("SELECT id FROM sets WHERE uid = ?", (logged.uid,)).fetchone()
            if row is not None:
                return int(row[0])
            cursor = db.execute(
                "INSERT INTO sets (uid, session_id, exercise, set_number, load, unit, reps, "
                "felt, felt_where, cue, tempo, started, ended, skipped) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (logged.uid, logged.session_id, logged.exercise, logged.set_number,
                 logged.load, logged.unit, logged.reps,
                 None if logged.felt is None else int(logged.felt), logged.where, logged.cue,
                 logged.tempo, logged.started, logged.ended, int(logged.skipped)))
            set_id = int(cursor.lastrowid)
            for answer in answers:
                self._insert_answer(db, logged.session_id, set_id, answer)
            for answer in loose_answers:
                self._insert_answer(db, logged.session_id, None, answer)
            count_cue(db, logged.exercise, logged.cue, logged.felt, logged.skipped)
            if decision is not None:
                db.execute(
                    "INSERT INTO decisions (uid, session_id, set_id, exercise, next_load, "
                    "next_cue, next_tempo, reason, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (decision.uid, logged.session_id, set_id, decision.exercise,
                     decision.next_load, decision.next_cue, decision.next_tempo,
                     decision.reason, decision.at))
            if state is not None:
                db.execute("UPDATE sessions SET state = ? WHERE id = ?",
                           (to_json(state), logged.session_id))
        self._sets_committed += 1
        return set_id

    @staticmethod
    def _insert_answer(db: sqlite3.Connection, session_id: int | None, set_id: int | None,
                       answer: AnswerRecord) -> None:
        db.execute(
            "INSERT OR IGNORE INTO answers (uid, session_id, set_id, expect, kind, value, "
            "words, confidence, engine, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (answer.uid, session_id, set_id, answer.expect, answer.kind,
             to_json(answer.value), answer.words, answer.confidence, answer.engine, answer.at))

    def save_answers(self, session_id: int, answers: list[AnswerRecord]) -> None:
        """Answers heard outside a set (commands during rest, at the end)."""
        with self.transaction() as db:
            for answer in answers:
                self._insert_answer(db, session_id, None, answer)

    def save_state(self, session_id: int, state: dict[str, Any]) -> None:
        with self.transaction() as db:
            db.execute("UPDATE sessions SET state = ? WHERE id = ?", (to_json(state), session_id))

    def end_session(self, session_id: int, status: str,
                    state: dict[str, Any] | None = None) -> None:
        """Mark a session completed or stopped (a stopped one is not offered for --resume)."""
        with self.transaction() as db:
            db.execute("UPDATE sessions SET ended = ?, status = ?, state = COALESCE(?, state) "
                       "WHERE id = ?",
                       (self._now(), status, None if state is None else to_json(state),
                        session_id))

    def unfinished_session(self) -> dict[str, Any] | None:
        """The latest session still marked running (the process died), with its state."""
        rows = self.query("SELECT * FROM sessions WHERE status = 'running' "
                          "ORDER BY started DESC, id DESC LIMIT 1")
        if not rows:
            return None
        row = rows[0]
        try:
            row["state"] = json.loads(row["state"]) if row["state"] else None
        except json.JSONDecodeError:
            row["state"] = None
        return row

    def session_sets(self, session_id: int) -> list[dict[str, Any]]:
        return self.query("SELECT * FROM sets WHERE session_id = ? ORDER BY id", (session_id,))

    def cue_stats(self, exercise: str) -> dict[str, tuple[int, int]]:
        """cue id -> (sets felt, sets not felt) for ``exercise``, across sessions."""
        return {r["cue"]: (int(r["felt"]), int(r["not_felt"])) for r in self.query(
            "SELECT cue, felt, not_felt FROM cue_stats WHERE exercise = ?", (exercise,))}

    def recent_sets(self, exercise: str, unit: str, days: float = 60,
                    limit: int = 50) -> list[tuple[float, int]]:
        """(load, reps) of the latest answered sets of ``exercise`` in ``unit``."""
        since = iso(self.clock() - dt.timedelta(days=days))
        rows = self.query(
            "SELECT load, reps FROM sets WHERE exercise = ? AND unit = ? AND skipped = 0 "
            "AND reps IS NOT NULL AND ended >= ? ORDER BY ended DESC LIMIT ?",
            (exercise, unit, since, limit))
        return [(float(r["load"]), int(r["reps"])) for r in rows]

    def sore_today(self, now: dt.datetime | None = None) -> str | None:
        """The sore region of today's latest pre-workout scan (local day; the only style that
        asks "Anything sore?"), or None: a full scan done afterwards does not hide it."""
        moment = (now or self.clock()).astimezone()
        midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        since = midnight.astimezone(dt.UTC).isoformat(timespec="milliseconds")
        rows = self.query("SELECT sore FROM scans WHERE started >= ? AND style = 'pre-workout' "
                          "ORDER BY started DESC, id DESC LIMIT 1", (since,))
        if not rows or not rows[0]["sore"]:
            return None
        return str(rows[0]["sore"])

    # -- body scans ---------------------------------------------------------------------
    def start_scan(self, style: str, minutes: float, focus: Sequence[str]) -> int:
        with self.transaction() as db:
            cursor = db.execute(
                "INSERT INTO scans (uid, style, minutes, focus, started, status) "
                "VALUES (?, ?, ?, ?, ?, 'running')",
                (new_uid(), style, float(minutes), ",".join(focus) or None, self._now()))
            return int(cursor.lastrowid)

    def save_scan_answer(self, scan_id: int, answer: AnswerRecord) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO answers (uid, scan_id, expect, kind, value, words, "
                "confidence, engine, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (answer.uid, scan_id, answer.expect, answer.kind, to_json(answer.value),
                 answer.words, answer.confidence, answer.engine, answer.at))

    def end_scan(self, scan_id: int, status: str, feeling: str | None,
                 sore: str | None) -> None:
        with self.transaction() as db:
            db.execute("UPDATE scans SET ended = ?, status = ?, feeling = ?, sore = ? "
                       "WHERE id = ?", (self._now(), status, feeling, sore, scan_id))

    def sore_regions(self, day: dt.date | None = None) -> list[str]:
        """Sore regions recorded by scans on ``day`` (local time; default today), latest
        first. Region names are those of ``coach.core.regions`` ("lower back")."""
        day = day or self.clock().astimezone().date()
        since = dt.datetime.combine(day, dt.time.min).astimezone() - dt.timedelta(days=1)
        rows = self.query("SELECT sore, started FROM scans WHERE sore IS NOT NULL AND "
                          "started >= ? ORDER BY started DESC, id DESC",
                          (since.astimezone(dt.UTC).isoformat(timespec="milliseconds"),))
        out: list[str] = []
        for row in rows:
            local = dt.datetime.fromisoformat(row["started"]).astimezone().date()
            if local == day and row["sore"] not in out:
                out.append(row["sore"])
        return out

    # -- the history (read by history, summary, report) ---------------------------------
    def exercises_logged(self) -> list[str]:
        """Every exercise with a set in the history, sorted."""
        return [r["exercise"] for r in self.query(
            "SELECT DISTINCT exercise FROM sets ORDER BY exercise")]

    def all_sets(self, exercise: str | None = None) -> list[dict[str, Any]]:
        """Sets (of ``exercise``, or all) by session, then in the order they were done."""
        sql = "SELECT * FROM sets" + (" WHERE exercise = ?" if exercise else "")
        return self.query(sql + " ORDER BY session_id, started, set_number, id",
                          (exercise,) if exercise else ())

    def all_sessions(self) -> list[dict[str, Any]]:
        return self.query("SELECT * FROM sessions ORDER BY started, id")

    def all_scans(self) -> list[dict[str, Any]]:
        return self.query("SELECT * FROM scans ORDER BY started, id")

    # -- every table as it is, for coach export / import (coach.backup) -----------------
    def schema_version(self) -> int:
        """The number of migrations applied (``PRAGMA user_version``)."""
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    def table_names(self) -> list[str]:
        """Every table of the history (SQLite's own aside), sorted."""
        return [r["name"] for r in self.query(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name")]

    def table_columns(self, table: str) -> list[dict[str, Any]]:
        """``PRAGMA table_info``: name, type, notnull, dflt_value, pk of each column."""
        return self.query(f"PRAGMA table_info({_name(table)})")

    def table_references(self, table: str) -> list[dict[str, Any]]:
        """``PRAGMA foreign_key_list``: from (the column), table (it points at), to."""
        return self.query(f"PRAGMA foreign_key_list({_name(table)})")

    def uids(self, table: str) -> dict[int, str]:
        """id -> uid of every row of ``table`` (a table with a ``uid`` column)."""
        return {r["id"]: r["uid"] for r in self.query(f"SELECT id, uid FROM {_name(table)}")}

    def table_rows(self, table: str, order: Sequence[str] = ()) -> list[dict[str, Any]]:
        """Every row of ``table``, every column, ordered by the columns ``order`` (none:
        the order rows were stored in)."""
        by = ", ".join(_name(c) for c in order) if order else "rowid"
        return self.query(f"SELECT * FROM {_name(table)} ORDER BY {by}")

    def has_uid(self, table: str, uid: str) -> bool:
        return uid_exists(self.db, table, uid)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _save_fix(reason: str) -> str:
    """What to do about a failed commit, from SQLite's words."""
    if "readonly" in reason or "read-only" in reason:
        return "pass a writable --data-dir; nothing already saved is lost"
    if "locked" in reason or "busy" in reason:
        return "another coach is writing the history: let it finish, then try again"
    return "free some disk space; nothing already saved is lost"


def count_cue(db: sqlite3.Connection, exercise: str, cue: str | None, felt: bool | int | None,
              skipped: bool | int = False) -> None:
    """Count an answered set in ``cue_stats`` (felt or not, with this cue). The one place
    this is written: a set saved live and a set brought in by ``coach import``."""
    if cue and felt is not None and not skipped:
        felt = int(bool(felt))
        db.execute("INSERT INTO cue_stats (exercise, cue, felt, not_felt) VALUES (?, ?, ?, ?) "
                   "ON CONFLICT (exercise, cue) DO UPDATE SET felt = felt + excluded.felt, "
                   "not_felt = not_felt + excluded.not_felt",
                   (exercise, cue, felt, 1 - felt))


# -- rows written by coach import, inside its one transaction (coach.backup) -------------
def _name(identifier: str) -> str:
    """A table or column name quoted for SQL (the names come from the schema itself)."""
    return '"' + identifier.replace('"', '""') + '"'


def uid_exists(db: sqlite3.Connection, table: str, uid: str) -> bool:
    return db.execute(f"SELECT 1 FROM {_name(table)} WHERE uid = ?", (uid,)).fetchone() \
        is not None


def id_of_uid(db: sqlite3.Connection, table: str, uid: str) -> int:
    """The local ``id`` of the row of ``table`` whose ``uid`` is ``uid`` (it must exist)."""
    return int(db.execute(f"SELECT id FROM {_name(table)} WHERE uid = ?", (uid,)).fetchone()[0])


def _where(key: dict[str, Any]) -> str:
    return " AND ".join(f"{_name(column)} = ?" for column in key)


def row_by_key(db: sqlite3.Connection, table: str,
               key: dict[str, Any]) -> dict[str, Any] | None:
    """The row of ``table`` whose columns equal ``key`` (its primary key), or None."""
    row = db.execute(f"SELECT * FROM {_name(table)} WHERE {_where(key)}",
                     tuple(key.values())).fetchone()
    return None if row is None else dict(row)


def update_row(db: sqlite3.Connection, table: str, key: dict[str, Any],
               values: dict[str, Any]) -> None:
    """Set the columns ``values`` of the row whose columns equal ``key``."""
    sets = ", ".join(f"{_name(column)} = ?" for column in values)
    db.execute(f"UPDATE {_name(table)} SET {sets} WHERE {_where(key)}",
               (*values.values(), *key.values()))


def insert_row(db: sqlite3.Connection, table: str, values: dict[str, Any]) -> None:
    """Insert one row: column -> value."""
    columns = ", ".join(_name(column) for column in values)
    marks = ", ".join("?" for _ in values)
    db.execute(f"INSERT INTO {_name(table)} ({columns}) VALUES ({marks})",
               tuple(values.values()))


def _statements(script: str) -> list[str]:
    """Split a migration into statements (executescript would commit on its own)."""
    parts, current = [], []
    for line in script.splitlines():
        current.append(line.split("--")[0])
        joined = "\n".join(current)
        if joined.strip().endswith(";") and sqlite3.complete_statement(joined):
            parts.append(joined.strip())
            current = []
    return parts


def to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
