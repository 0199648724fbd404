"""Queries over the history store, and the three ways to show them: table, JSON, CSV.

Pure apart from the ``Store`` it reads: no audio, no argparse. ``load_history`` turns
rows into frozen records (times as aware datetimes), the formatters turn records into
text. Filters: ``exercise`` keeps only that exercise's sets (and drops scans, which
have no exercise); ``since`` keeps sessions and scans that started at or after it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from coach.errors import CoachError
from coach.store import Store

#: The CSV columns, one row per set (the first ten are the ones other tools expect).
CSV_COLUMNS = ("date", "exercise", "set", "load", "unit", "reps", "felt", "where", "cue",
               "tempo", "session", "skipped")


@dataclass(frozen=True)
class SetRecord:
    session_id: int
    exercise: str
    set_number: int
    load: float
    """Weight lifted, in ``unit``."""
    unit: str
    reps: int | None
    felt: bool | None
    """True: felt it in the target muscle; False: did not; None: not answered."""
    where: str | None
    cue: str | None
    """Cue id (text via coach.core.library)."""
    tempo: str
    started: dt.datetime
    ended: dt.datetime
    skipped: bool
    uid: str = ""


@dataclass(frozen=True)
class SessionRecord:
    id: int
    uid: str
    plan: str
    unit: str
    started: dt.datetime
    ended: dt.datetime | None
    status: str
    sets: tuple[SetRecord, ...] = ()


@dataclass(frozen=True)
class ScanRecord:
    id: int
    uid: str
    style: str
    minutes: float
    """Planned length, in minutes."""
    focus: str | None
    started: dt.datetime
    ended: dt.datetime | None
    status: str
    feeling: str | None
    """calm|okay|tense, or None when not answered."""
    sore: str | None


@dataclass(frozen=True)
class History:
    sessions: tuple[SessionRecord, ...] = ()
    scans: tuple[ScanRecord, ...] = ()
    exercise: str | None = None
    since: dt.datetime | None = None
    known_exercises: tuple[str, ...] = field(default=(), compare=False)

    @property
    def sets(self) -> list[SetRecord]:
        return [s for session in self.sessions for s in session.sets]

    @property
    def empty(self) -> bool:
        return not self.sessions and not self.scans


# -- time ----------------------------------------------------------------------------

def parse_time(text: str) -> dt.datetime:
    """A stored ISO 8601 time as an aware datetime (a naive one is taken as UTC)."""
    value = dt.datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def local(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone()


_RELATIVE = re.compile(r"^(\d+)\s*([dw])$")


def parse_since(text: str, today: dt.date | None = None) -> dt.datetime:
    """``--since``: 2025-03-01, today, yesterday, 14d or 2w -> local midnight of that day."""
    today = today or dt.date.today()
    word = text.strip().lower()
    relative = _RELATIVE.match(word)
    if word == "today":
        day = today
    elif word == "yesterday":
        day = today - dt.timedelta(days=1)
    elif relative:
        count = int(relative.group(1)) * (7 if relative.group(2) == "w" else 1)
        day = today - dt.timedelta(days=count)
    else:
        try:
            day = dt.date.fromisoformat(word)
        except ValueError:
            raise CoachError(f"--since {text!r} is not a date",
                             "give a date like 2025-03-01, or today, yesterday, 14d, 2w",
                             exit_code=2) from None
    return dt.datetime.combine(day, dt.time()).astimezone()


# -- queries -------------------------------------------------------------------------

def _set_record(row: dict[str, Any]) -> SetRecord:
    return SetRecord(
        session_id=row["session_id"], exercise=row["exercise"], set_number=row["set_number"],
        load=float(row["load"]), unit=row["unit"], reps=row["reps"],
        felt=None if row["felt"] is None else bool(row["felt"]), where=row["felt_where"],
        cue=row["cue"], tempo=row["tempo"], started=parse_time(row["started"]),
        ended=parse_time(row["ended"]), skipped=bool(row["skipped"]), uid=row["uid"])


def _scan_record(row: dict[str, Any]) -> ScanRecord:
    return ScanRecord(
        id=row["id"], uid=row["uid"], style=row["style"], minutes=float(row["minutes"]),
        focus=row["focus"], started=parse_time(row["started"]),
        ended=parse_time(row["ended"]) if row["ended"] else None, status=row["status"],
        feeling=row["feeling"], sore=row["sore"])


def known_exercises(store: Store) -> list[str]:
    return store.exercises_logged()


def load_history(store: Store, exercise: str | None = None,
                 since: dt.datetime | None = None, check_exercise: bool = False) -> History:
    """Sessions (oldest first) with their sets in order, and body scans, filtered.

    ``check_exercise``: raise a CoachError (exit 2) naming the known exercises when
    ``exercise`` never appears in the history (a typo, most likely).
    """
    exercises = known_exercises(store)
    if exercise is not None and check_exercise and exercise not in exercises:
        raise CoachError(f"no sets of {exercise!r} in the history",
                         "known exercises: " + (", ".join(exercises) or "none yet; "
                                                "run coach session first"), exit_code=2)
    sets_by_session: dict[int, list[SetRecord]] = {}
    for row in store.all_sets(exercise):
        sets_by_session.setdefault(row["session_id"], []).append(_set_record(row))
    sessions = []
    for row in store.all_sessions():
        started = parse_time(row["started"])
        if since is not None and started < since:
            continue
        sets = tuple(sets_by_session.get(row["id"], ()))
        if exercise and not sets:
            continue
        sessions.append(SessionRecord(
            id=row["id"], uid=row["uid"], plan=row["plan"], unit=row["unit"], started=started,
            ended=parse_time(row["ended"]) if row["ended"] else None, status=row["status"],
            sets=sets))
    scans: list[ScanRecord] = []
    if not exercise:
        scans = [scan for scan in map(_scan_record,
                                      store.all_scans())
                 if since is None or scan.started >= since]
    return History(tuple(sessions), tuple(scans), exercise, since, tuple(exercises))


# -- formatting ----------------------------------------------------------------------

def number(value: float | None) -> str:
    """12.5 -> '12.5', 20.0 -> '20', None -> ''."""
    if value is None:
        return ""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _felt(value: bool | None) -> str:
    return "" if value is None else ("yes" if value else "no")


def _table(headers: list[str], rows: Iterable[list[str]], right: set[int],
           indent: str = "  ") -> list[str]:
    rows = list(rows)
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        parts = [c.rjust(w) if i in right else c.ljust(w)
                 for i, (c, w) in enumerate(zip(cells, widths, strict=True))]
        return (indent + "  ".join(parts)).rstrip()

    return [line(headers), *(line(r) for r in rows)]


def _clip(text: str | None, width: int = 28) -> str:
    text = text or ""
    return text if len(text) <= width else text[: width - 1] + "…"


def to_table(history: History) -> str:
    """A readable plain-text table: one block per session, then the body scans."""
    if history.empty:
        what = f" of {history.exercise}" if history.exercise else ""
        when = f" since {local(history.since):%Y-%m-%d}" if history.since else ""
        return f"No sessions{what}{when} yet.\n"
    lines: list[str] = []
    for session in history.sessions:
        when = local(session.started)
        minutes = (f", {round((session.ended - session.started).total_seconds() / 60)} min"
                   if session.ended else "")
        lines.append(f"{when:%Y-%m-%d %H:%M}  {session.plan}  ({session.status}{minutes}, "
                     f"session {session.id})")
        rows = []
        for s in session.sets:
            rows.append([s.exercise, str(s.set_number), f"{number(s.load)} {s.unit}",
                         "skipped" if s.skipped else ("" if s.reps is None else str(s.reps)),
                         _felt(s.felt), s.where or "", _clip(s.cue), s.tempo])
        if rows:
            lines += _table(["exercise", "set", "load", "reps", "felt", "where", "cue",
                             "tempo"], rows, right={1, 2, 3})
        else:
            lines.append("  (no sets)")
        lines.append("")
    if history.scans:
        lines.append("Body scans")
        rows = [[f"{local(scan.started):%Y-%m-%d %H:%M}", scan.style,
                 f"{number(scan.minutes)} min", scan.focus or "", scan.feeling or "",
                 scan.sore or "", scan.status] for scan in history.scans]
        lines += _table(["date", "style", "length", "focus", "feeling", "sore", "status"],
                        rows, right={2})
        lines.append("")
    return "\n".join(lines)


def _iso(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.isoformat(timespec="milliseconds")


def to_dict(history: History) -> dict[str, Any]:
    """The JSON form: sessions with their sets nested, and scans; times in ISO 8601."""
    return {
        "filters": {"exercise": history.exercise, "since": _iso(history.since)},
        "sessions": [{
            "id": s.id, "uid": s.uid, "plan": s.plan, "unit": s.unit,
            "started": _iso(s.started), "ended": _iso(s.ended), "status": s.status,
            "sets": [{
                "uid": x.uid, "exercise": x.exercise, "set": x.set_number, "load": x.load,
                "unit": x.unit, "reps": x.reps, "felt": x.felt, "where": x.where, "cue": x.cue,
                "tempo": x.tempo, "started": _iso(x.started), "ended": _iso(x.ended),
                "skipped": x.skipped} for x in s.sets],
        } for s in history.sessions],
        "scans": [{
            "id": c.id, "uid": c.uid, "style": c.style, "minutes": c.minutes, "focus": c.focus,
            "started": _iso(c.started), "ended": _iso(c.ended), "status": c.status,
            "feeling": c.feeling, "sore": c.sore} for c in history.scans],
    }


def to_json(history: History) -> str:
    return json.dumps(to_dict(history), ensure_ascii=False, indent=2) + "\n"


def to_csv(history: History) -> str:
    """One row per set (CSV_COLUMNS); date is the local calendar day the set started."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for s in history.sets:
        writer.writerow([f"{local(s.started):%Y-%m-%d}", s.exercise, s.set_number,
                         number(s.load), s.unit, "" if s.reps is None else s.reps,
                         _felt(s.felt), s.where or "", s.cue or "", s.tempo, s.session_id,
                         "yes" if s.skipped else "no"])
    return out.getvalue()
