"""`coach history` (table, JSON, CSV, filters) and the spoken summaries."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import sqlite3
from dataclasses import replace

import pytest

from coach.history import (
    CSV_COLUMNS,
    History,
    SessionRecord,
    SetRecord,
    parse_since,
)
from coach.summary import (
    Names,
    best_cue,
    library_names,
    plain_names,
    summarize_history,
    summarize_session,
    words,
)

from .conftest import run_coach
from .history_fixtures import REAL_SETS, SCANS, fill_synthetic, real_history

UTC_ENV = {**os.environ, "TZ": "UTC"}


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """Three weeks of hand-written sessions and four body scans."""
    folder = tmp_path_factory.mktemp("synthetic")
    counts = fill_synthetic(folder / "coach.sqlite3")
    return folder, counts


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    """Two real `coach session` runs and two `coach scan` check-ins."""
    return real_history(tmp_path_factory)


@pytest.fixture(params=["real", "synthetic"])
def history_dir(request):
    """Both histories: the real run, and the hand-written weeks with skipped sets."""
    value = request.getfixturevalue(request.param)
    return value if request.param == "real" else value[0]


def coach(folder, *args: str, env=None):
    return run_coach("--data-dir", str(folder), *args, env=env or UTC_ENV)


def db_sets(folder) -> list[dict]:
    with sqlite3.connect(folder / "coach.sqlite3") as db:
        db.row_factory = sqlite3.Row
        return [dict(r) for r in db.execute(
            "SELECT sets.*, sessions.started AS session_started, sessions.uid AS session_uid "
            "FROM sets "
            "JOIN sessions ON sessions.id = sets.session_id "
            "ORDER BY sessions.started, sets.session_id, sets.started, set_number, sets.id")]


def table_count(folder, table: str) -> int:
    with sqlite3.connect(folder / "coach.sqlite3") as db:
        return db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


# -- the three outputs ------------------------------------------------------------------

def test_table_of_a_real_run_lists_every_set_and_the_check_ins(real):
    out = coach(real, "history")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    headers = [line for line in lines if "  arms  (" in line]
    assert len(headers) == 2 and all("completed" in h for h in headers)
    assert "session 1)" in headers[0] and "session 2)" in headers[1]
    set_lines = [line for line in lines if line.startswith("  ") and line.split()[0] in
                 {"biceps_curl", "triceps_pushdown", "push_up"}]
    rows = db_sets(real)
    assert len(set_lines) == len(rows) == REAL_SETS
    assert [line.split()[:2] for line in set_lines] == \
        [[r["exercise"], str(r["set_number"])] for r in rows]
    assert any(" forearms " in line and " no " in line for line in set_lines)
    assert any(" triceps " in line and " yes " in line for line in set_lines)
    scans = lines[lines.index("Body scans") + 2:]
    assert len([line for line in scans if line.strip()]) == 2
    assert "pre-workout" in scans[0] and "tense" in scans[0] and "lower back" in scans[0]
    assert "calm" in scans[1]
    assert out.stderr == ""


def test_table_shows_every_set_grouped_by_session_then_the_scans(synthetic):
    folder, counts = synthetic
    out = coach(folder, "history")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    headers = [line for line in lines if line.startswith("2025-")]
    assert [h[:16] for h in headers[:3]] == ["2025-03-03 17:30", "2025-03-10 17:30",
                                             "2025-03-17 17:30"]
    assert "stopped" in headers[2]
    set_lines = [line for line in lines if line.startswith("  ") and
                 line.split()[0] in {"biceps_curl", "squat", "row"}]
    assert len(set_lines) == counts["sets"]
    # columns line up: every load ends in the same column
    assert len({line.index(" kg") for line in set_lines[:6]}) == 1
    first = set_lines[0].split()
    assert first[:7] == ["biceps_curl", "1", "10", "kg", "10", "yes", "biceps"]
    assert any("skipped" in line for line in set_lines)
    assert "Body scans" in lines
    assert sum("lower back" in line for line in lines) == 1
    assert len([line for line in lines[lines.index("Body scans"):] if "2025-" in line]) == \
        len(SCANS)
    assert out.stderr == ""


def test_json_nests_sets_in_sessions_and_matches_the_database(history_dir):
    folder = history_dir
    out = coach(folder, "history", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert len(data["sessions"]) == table_count(folder, "sessions")
    assert len(data["scans"]) == table_count(folder, "scans")
    sets = [s for session in data["sessions"] for s in session["sets"]]
    rows = db_sets(folder)
    assert len(sets) == len(rows) == table_count(folder, "sets")
    for item, row in zip(sets, rows, strict=True):
        assert item["uid"] == row["uid"]
        assert (item["exercise"], item["set"], item["load"], item["reps"], item["tempo"]) == \
            (row["exercise"], row["set_number"], row["load"], row["reps"], row["tempo"])
        assert item["felt"] == (None if row["felt"] is None else bool(row["felt"]))
        assert item["where"] == row["felt_where"] and item["cue"] == row["cue"]
        assert item["skipped"] == bool(row["skipped"])
        assert dt.datetime.fromisoformat(item["started"]) == \
            dt.datetime.fromisoformat(row["started"])
    for session in data["sessions"]:
        assert {s["uid"] for s in session["sets"]} == {r["uid"] for r in rows
                                                       if r["session_uid"] == session["uid"]}
    assert data["scans"][0]["feeling"] == "tense" and data["scans"][0]["sore"] == "lower back"


def test_csv_has_one_row_per_set_with_the_agreed_columns(history_dir):
    folder = history_dir
    out = coach(folder, "history", "--csv")
    assert out.returncode == 0, out.stderr
    reader = csv.DictReader(io.StringIO(out.stdout))
    assert tuple(reader.fieldnames[:10]) == ("date", "exercise", "set", "load", "unit", "reps",
                                              "felt", "where", "cue", "tempo")
    assert tuple(reader.fieldnames) == CSV_COLUMNS
    rows = list(reader)
    stored = db_sets(folder)
    assert len(rows) == len(stored) == table_count(folder, "sets")
    for row, db in zip(rows, stored, strict=True):
        assert row["date"] == db["started"][:10]  # TZ=UTC: the stored day
        assert (row["exercise"], int(row["set"]), float(row["load"]), row["unit"]) == \
            (db["exercise"], db["set_number"], db["load"], db["unit"])
        assert row["reps"] == ("" if db["reps"] is None else str(db["reps"]))
        assert row["felt"] == {None: "", 1: "yes", 0: "no"}[db["felt"]]
        assert row["where"] == (db["felt_where"] or "") and row["cue"] == (db["cue"] or "")
        assert row["tempo"] == db["tempo"]
        assert row["skipped"] == ("yes" if db["skipped"] else "no")


def test_filters_by_exercise_and_since(synthetic):
    folder, _ = synthetic
    rows = list(csv.DictReader(io.StringIO(
        coach(folder, "history", "--csv", "--exercise", "squat").stdout)))
    assert rows and {r["exercise"] for r in rows} == {"squat"}
    data = json.loads(coach(folder, "history", "--json", "--since", "2025-03-10").stdout)
    assert [s["started"][:10] for s in data["sessions"]] == ["2025-03-10", "2025-03-17"]
    assert all(scan["started"][:10] >= "2025-03-10" for scan in data["scans"])
    assert len(data["scans"]) == 2
    data = json.loads(coach(folder, "history", "--json", "--exercise", "row").stdout)
    assert data["scans"] == []  # scans have no exercise
    assert len(data["sessions"]) == 2
    later = coach(folder, "history", "--since", "2030-01-01")
    assert later.returncode == 0 and later.stdout.startswith("No sessions since 2030-01-01")


@pytest.mark.parametrize("args, words_in_error", [
    (["--exercise", "sqaut"], ["'sqaut'", "squat"]),
    (["--since", "last tuesday"], ["--since", "2025-03-01"]),
    (["--json", "--csv"], ["not allowed"]),
])
def test_bad_history_options_exit_2_with_a_fix(synthetic, args, words_in_error):
    folder, _ = synthetic
    out = coach(folder, "history", *args)
    assert out.returncode == 2
    assert all(w in out.stderr for w in words_in_error), out.stderr
    assert "Traceback" not in out.stderr and out.stdout == ""


def test_an_empty_history_says_so(data_dir):
    out = coach(data_dir, "history")
    assert out.returncode == 0 and out.stdout == "No sessions yet.\n"
    csv_out = coach(data_dir, "history", "--csv")
    assert csv_out.stdout.splitlines() == [",".join(CSV_COLUMNS)]
    assert json.loads(coach(data_dir, "history", "--json").stdout)["sessions"] == []


def test_since_words():
    today = dt.date(2025, 3, 20)
    assert parse_since("2025-03-01", today).date() == dt.date(2025, 3, 1)
    assert parse_since("today", today).date() == today
    assert parse_since("yesterday", today).date() == dt.date(2025, 3, 19)
    assert parse_since("14d", today).date() == dt.date(2025, 3, 6)
    assert parse_since("2w", today).date() == dt.date(2025, 3, 6)


# -- summaries -------------------------------------------------------------------------

T = dt.datetime(2025, 5, 1, 18, 0, tzinfo=dt.UTC)


def make_set(exercise, number, load, reps=10, felt=True, cue="curl-elbows-pinned",
             skipped=False, session=1):
    return SetRecord(session_id=session, exercise=exercise, set_number=number, load=load,
                     unit="kg", reps=reps, felt=felt, where=None, cue=cue, tempo="3-0-1-0",
                     started=T, ended=T, skipped=skipped)


def make_session(ident, sets, days=0):
    return SessionRecord(id=ident, uid=f"u{ident}", plan="p", unit="kg",
                         started=T + dt.timedelta(days=days), ended=None, status="completed",
                         sets=tuple(sets))


def test_the_example_from_the_issue():
    """Nine sets, curls up 2.5 kilos, felt in seven of nine, the best cue's own words."""
    earlier = make_session(1, [make_set("biceps_curl", n, 10, felt=n == 1,
                                        cue="curl-fight-down") for n in (1, 2, 3)])
    felt = [True] * 7 + [False] * 2
    today = make_session(2, [make_set("biceps_curl", n + 1, 12.5, felt=f, session=2)
                             for n, f in enumerate(felt)], days=7)
    text = summarize_session(today, [earlier], library_names())
    assert text == ("Nine sets. Biceps curl up 2.5 kilos. You felt it in seven of nine. "
                    "Best cue for you: Keep your elbows pinned to your sides; only your "
                    "forearms move.")


def test_summary_sentences_for_holds_firsts_drops_and_unanswered():
    names = Names(exercise=lambda i: {"squat": "squats", "row": "rows"}.get(i, i),
                  cue=lambda i: i.upper())
    earlier = make_session(1, [make_set("squat", 1, 40), make_set("row", 1, 30)])
    today = make_session(2, [make_set("squat", 1, 40, felt=None, session=2),
                             make_set("row", 1, 27.5, felt=False, session=2),
                             make_set("curl", 1, 10, felt=True, session=2),
                             make_set("curl", 2, 10, skipped=True, reps=None, session=2)], 2)
    text = summarize_session(today, [earlier], names)
    assert text.startswith("Three sets. Rows down 2.5 kilos. Same load as last time for "
                           "squats. First time logging curl. ")
    assert "You felt it in one of the two sets you answered." in text
    bodyweight = [make_session(4, [make_set("push_up", 1, 0, reps=10)]),
                  make_session(5, [make_set("push_up", 1, 0, reps=11),
                                   make_set("plank", 1, 0, reps=30)])]
    assert summarize_session(make_session(6, [make_set("push_up", 1, 0, reps=12),
                                              make_set("plank", 1, 0, reps=30)]),
                             bodyweight, names).startswith(
        "Two sets. One more push_up rep than last time. Same load as last time for plank.")
    pounds = make_session(7, [replace(make_set("squat", 1, 95), unit="lb")])
    assert "squat" not in summarize_session(pounds, [earlier], names).lower()
    assert summarize_session(make_session(3, []), [], names) == \
        "No sets were logged in this session."


def test_best_cue_needs_two_answers_and_prefers_the_higher_rate():
    sets = [make_set("squat", 1, 40, cue="a", felt=True),
            make_set("squat", 2, 40, cue="b", felt=True),
            make_set("squat", 3, 40, cue="b", felt=False),
            make_set("squat", 4, 40, cue="c", felt=True),
            make_set("squat", 5, 40, cue="c", felt=True),
            make_set("squat", 6, 40, cue="c", felt=False)]
    assert best_cue(sets) == ("squat", "c", 2, 3)  # 'a' has one answer only
    assert best_cue(sets[:1]) is None
    assert best_cue(sets, {"row"}) is None


def test_number_words():
    assert [words(n) for n in (0, 7, 13, 20, 42, 100, 115, 1200)] == [
        "zero", "seven", "thirteen", "twenty", "forty-two", "one hundred",
        "one hundred and fifteen", "1200"]


def test_overall_summary_of_the_synthetic_weeks(synthetic):
    folder, _ = synthetic
    out = coach(folder, "summary", "--all")
    assert out.returncode == 0, out.stderr
    text = out.stdout.strip()
    assert text.startswith("Three sessions since March 3. Nineteen sets in all. Biceps curl "
                           "up 2.5 kilos since your first session.")
    assert "Row down 2.5 kilos since your first session." in text
    assert "You felt it in fifteen of the seventeen sets you answered." in text
    assert "Best cue for you: At the top, draw your shoulder blades together" in text
    assert text.endswith("Four body scans. Last check-in: calm.")
    assert summarize_history(History(), plain_names()).startswith("Nothing logged yet")


def test_summary_of_one_session_and_a_wrong_id(synthetic):
    folder, _ = synthetic
    second = coach(folder, "summary", "--session", "2")
    assert second.returncode == 0, second.stderr
    assert second.stdout.startswith("Nine sets. Biceps curl up 2.5 kilos. Squat up 4 kilos. "
                                    "First time logging row.")
    last = coach(folder, "summary")
    assert last.stdout.startswith("Four sets. Row down 2.5 kilos.")
    wrong = coach(folder, "summary", "--session", "42")
    assert wrong.returncode == 2 and "no session 42" in wrong.stderr
    assert "Traceback" not in wrong.stderr


def test_the_session_speaks_the_same_summary_as_coach_summary(real):
    """The end of a real session says the summary; `coach summary` prints the same text,
    and its numbers are those of the database."""
    from coach.events import read_events

    said = [e["text"] for e in read_events(real.parent / "session2.jsonl")
            if e["type"] == "say"]
    out = coach(real, "summary")
    assert out.returncode == 0, out.stderr
    text = out.stdout.strip()
    assert text in said
    rows = db_sets(real)
    second = [r for r in rows if r["session_id"] == 2 and not r["skipped"]]
    first = [r for r in rows if r["session_id"] == 1 and not r["skipped"]]
    felt = sum(1 for r in second if r["felt"])
    answered = sum(1 for r in second if r["felt"] is not None)
    assert text.startswith(f"{words(len(second)).capitalize()} sets. ")
    assert f"You felt it in {words(felt)} of {words(answered)}." in text
    names = library_names()
    for exercise in ("biceps_curl", "triceps_pushdown"):
        before = max(r["load"] for r in first if r["exercise"] == exercise)
        now = max(r["load"] for r in second if r["exercise"] == exercise)
        if now != before:
            change = f"{now - before:+g}"
            direction = "up" if now > before else "down"
            assert f"{names.exercise(exercise).capitalize()} {direction} {change[1:]} kilo" \
                in text
    more = sum(r["reps"] for r in second if r["exercise"] == "push_up") - \
        sum(r["reps"] for r in first if r["exercise"] == "push_up")
    assert f"{words(more).capitalize()} more push-up reps than last time." in text
    assert "Best cue for you: " in text
    assert coach(real, "summary", "--session", "1").stdout.strip() in \
        [e["text"] for e in read_events(real.parent / "session1.jsonl") if e["type"] == "say"]


def test_summary_with_no_sessions_exits_2(data_dir):
    out = coach(data_dir, "summary")
    assert out.returncode == 2 and "no sessions" in out.stderr


@pytest.mark.audio
def test_summary_speak_is_heard_on_the_speaker(card, real, tmp_path):
    """--speak prints the text and says it on the speaker."""
    from coach.audio import analysis
    from coach.audio.wavio import read_wav

    with card.record(tmp_path / "heard.wav") as recording:
        out = coach(real, "summary", "--speak", env={**card.client_env(), "TZ": "UTC"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("Nine sets.")
    heard, rate = read_wav(recording.path)
    span = analysis.active_span(heard, rate)
    assert span is not None, "nothing was heard on coach_out.monitor"
    assert span[1] - span[0] > 5.0  # several sentences of speech, not a click
