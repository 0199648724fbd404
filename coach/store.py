"""History in one SQLite file (stdlib ``sqlite3``, WAL) in the data folder.

Every set is committed the moment its answers are in, so ``kill -9`` loses at most
the set in progress. Rows carry a ``uid`` so that export/import can recognise rows it
already holds. Times are ISO 8601 UTC strings.

Owners: sessions/sets/answers/cue_stats/decisions belong to the coaching session
(issue 5), scans to the body scan (issue 6); history/report/export read them all.
Schema changes go through ``MIGRATIONS`` (append only).
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
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


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def new_uid() -> str:
    return uuid.uuid4().hex


class StoreError(CoachError):
    """The history database cannot be opened or written."""


class Store:
    """A connection to the history file. Use one per thread."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            self.db.row_factory = sqlite3.Row
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.DatabaseError as error:
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
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT; a full disk becomes a StoreError with a fix."""
        try:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")
        except sqlite3.OperationalError as error:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            raise StoreError(f"could not save to {self.path} ({error})",
                             "free some disk space; nothing already saved is lost") from None

    def query(self, sql: str, params: tuple | dict = ()) -> list[dict[str, Any]]:
        return [dict(row) for row in self.db.execute(sql, params)]

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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
