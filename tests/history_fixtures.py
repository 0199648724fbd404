"""A history database filled through the Store API with realistic, hand-written rows.

The main fixture of the history tests is a real `coach session` run; this one adds the
cases a single run cannot give: several sessions over weeks, loads going up and down,
skipped and unanswered sets, body scans, answers and decisions pointing at sets.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from coach.store import Store, new_uid

T0 = dt.datetime(2025, 3, 3, 17, 30, tzinfo=dt.UTC)

#: (exercise, cue, tempo, loads per session, reps per set, felt per set, where per set)
SESSIONS = [
    # week 1
    [("biceps_curl", "curl-elbows-pinned", "2-0-2-0", [10, 10, 10], [10, 10, 9],
      [1, 1, 0], ["biceps", "biceps", "forearms"]),
     ("squat", "squat-knees-out", "2-0-2-0", [16, 16, 16], [10, 10, 10],
      [1, 0, 1], ["glutes", "quads", "glutes"])],
    # week 2: curls up 2.5
    [("biceps_curl", "curl-elbows-pinned", "2-0-2-0", [12.5, 12.5, 12.5], [10, 9, 8],
      [1, 1, None], ["biceps", "biceps", None]),
     ("squat", "squat-knees-out", "2-0-2-0", [16, 20, 20], [10, 10, 8],
      [1, 1, 1], ["glutes", "glutes", "glutes"]),
     ("row", "row-blades-together", "2-1-2-0", [20, 20, 20], [12, 12, 10],
      [1, 1, 1], ["upper back", "upper back", "upper back"])],
    # week 3: a stopped session, rows down 2.5, one skipped set
    [("biceps_curl", "curl-fight-down", "4-0-2-0", [12.5, 12.5], [10, 10],
      [1, 1], ["biceps", "biceps"]),
     ("row", "row-blades-together", "2-1-2-0", [17.5, 17.5, 17.5], [12, None, None],
      [1, None, None], ["upper back", None, None])],
]
STATUSES = ["completed", "completed", "stopped"]
SKIPPED = {(2, "row", 3)}  # (session index, exercise, set number)
SCANS = [  # (days after T0, style, minutes, focus, feeling, sore, status)
    (1, "full", 10, None, "tense", "lower back", "completed"),
    (6, "quick", 3, "shoulders", "okay", None, "completed"),
    (13, "full", 10, None, "calm", None, "completed"),
    (15, "quick", 3, None, None, None, "stopped"),
]


def iso(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


def fill_synthetic(path: Path) -> dict[str, int]:
    """Fill the database at ``path``; returns row counts per table."""
    counts = dict.fromkeys(("sessions", "sets", "answers", "decisions", "scans"), 0)
    with Store(path) as store, store.transaction() as db:
        for index, plan in enumerate(SESSIONS):
            start = T0 + dt.timedelta(days=7 * index)
            session_id = db.execute(
                "INSERT INTO sessions (uid, plan, unit, started, ended, status) "
                "VALUES (?, 'upper-lower', 'kg', ?, ?, ?)",
                (new_uid(), iso(start), iso(start + dt.timedelta(minutes=42)),
                 STATUSES[index])).lastrowid
            counts["sessions"] += 1
            clock = start + dt.timedelta(minutes=2)
            for exercise, cue, tempo, loads, reps, felt, where in plan:
                for number, load in enumerate(loads, start=1):
                    skipped = (index, exercise, number) in SKIPPED
                    ended = clock + dt.timedelta(seconds=50)
                    set_id = db.execute(
                        "INSERT INTO sets (uid, session_id, exercise, set_number, load, unit,"
                        " reps, felt, felt_where, cue, tempo, started, ended, skipped)"
                        " VALUES (?, ?, ?, ?, ?, 'kg', ?, ?, ?, ?, ?, ?, ?, ?)",
                        (new_uid(), session_id, exercise, number, load, reps[number - 1],
                         felt[number - 1], where[number - 1], cue, tempo, iso(clock),
                         iso(ended), int(skipped))).lastrowid
                    counts["sets"] += 1
                    if felt[number - 1] is not None:
                        db.execute(
                            "INSERT INTO cue_stats (exercise, cue, felt, not_felt)"
                            " VALUES (?, ?, ?, ?) ON CONFLICT (exercise, cue) DO UPDATE SET"
                            " felt = felt + excluded.felt, not_felt = not_felt + excluded.not_felt",
                            (exercise, cue, felt[number - 1], 1 - felt[number - 1]))
                    for expect, kind, value, words in (
                            ("reps", "reps", reps[number - 1], f"{reps[number - 1]}"),
                            ("felt", "felt", felt[number - 1], "yes" if felt[number - 1]
                             else "no")):
                        if value is None:
                            continue
                        db.execute(
                            "INSERT INTO answers (uid, session_id, set_id, expect, kind, value,"
                            " words, confidence, engine, at) VALUES (?, ?, ?, ?, ?, ?, ?, 0.9,"
                            " 'typed', ?)",
                            (new_uid(), session_id, set_id, expect, kind, str(value), words,
                             iso(ended)))
                        counts["answers"] += 1
                    db.execute(
                        "INSERT INTO decisions (uid, session_id, set_id, exercise, next_load,"
                        " next_cue, next_tempo, reason, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (new_uid(), session_id, set_id, exercise, load, cue, tempo,
                         "same load: reps in range", iso(ended)))
                    counts["decisions"] += 1
                    clock = ended + dt.timedelta(seconds=90)
        for days, style, minutes, focus, feeling, sore, status in SCANS:
            start = T0 + dt.timedelta(days=days, hours=-10)
            scan_id = db.execute(
                "INSERT INTO scans (uid, style, minutes, focus, started, ended, status,"
                " feeling, sore) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (new_uid(), style, minutes, focus, iso(start),
                 iso(start + dt.timedelta(minutes=minutes)), status, feeling, sore)).lastrowid
            counts["scans"] += 1
            if feeling:
                db.execute(
                    "INSERT INTO answers (uid, scan_id, expect, kind, value, words, at)"
                    " VALUES (?, ?, 'feeling', 'feeling', ?, ?, ?)",
                    (new_uid(), scan_id, f'"{feeling}"', feeling, iso(start)))
                counts["answers"] += 1
    return counts


# -- a history made by real runs of `coach session` and `coach scan` ---------------------

#: Two sessions of the built-in "arms" plan (biceps curl 4 sets, triceps pushdown 3,
#: push-up 2): reps, then "did you feel it?" (yes / no / where).
SESSION_ANSWERS = [
    ["twelve", "yes", "fifteen", "yes", "fifteen", "in my forearms", "eleven", "yes",
     "ten", "yes", "twelve", "my shoulders", "eight", "yes",
     "nine", "yes", "ten", "no"],
    ["fifteen", "yes", "fifteen", "yes", "thirteen", "yes", "twelve", "no",
     "fifteen", "yes", "fifteen", "yes", "fourteen", "in my triceps",
     "twelve", "yes", "eleven", "yes"],
]
#: (coach scan arguments, check-in answers)
SCAN_RUNS = [
    (["--style", "pre-workout", "--focus", "biceps,triceps", "--minutes", "1"],
     ["tense", "my lower back"]),
    (["--style", "full", "--minutes", "1"], ["calm"]),
]
REAL_PLAN = "arms"
REAL_SETS = 18

_real: dict[str, Path] = {}


def real_history(tmp_path_factory) -> Path:
    """A data dir filled by two real `coach session` runs (scripted answers, rendered to
    WAV on the virtual clock, short rests) and two real `coach scan` check-ins.

    Built once per test run, whichever module asks first; tests must not write to it.
    The second session's events are in ``session2.jsonl``.
    """
    key = str(tmp_path_factory.getbasetemp())
    if key in _real:
        return _real[key]
    folder = tmp_path_factory.mktemp("real-history")
    data = folder / "data"
    for number, answers in enumerate(SESSION_ANSWERS, start=1):
        script = folder / f"session{number}.txt"
        script.write_text("\n".join(answers) + "\n")
        _run(data, "session", "--plan", REAL_PLAN, "--answers", str(script),
             "--out", str(folder / f"session{number}.wav"), "--rest-scale", "0.02",
             "--max-reps", "2", "--no-warmup", "--seed", "1",
             "--events", str(folder / f"session{number}.jsonl"))
    for number, (args, answers) in enumerate(SCAN_RUNS, start=1):
        script = folder / f"scan{number}.txt"
        script.write_text("\n".join(answers) + "\n")
        _run(data, "scan", *args, "--answers", str(script),
             "--out", str(folder / f"scan{number}.wav"))
    _real[key] = data
    return data


def _run(data: Path, *args: str) -> None:
    from .conftest import run_coach

    result = run_coach("--data-dir", str(data), *args, timeout=300)
    if result.returncode != 0:
        raise RuntimeError(f"coach {' '.join(args[:3])} failed ({result.returncode}): "
                           f"{result.stderr[-2000:]}")
