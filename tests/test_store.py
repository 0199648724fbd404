"""The session's side of the history store, on a real SQLite file."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from coach.store import (
    AnswerRecord,
    DecisionRecord,
    LoggedSet,
    Store,
    StoreError,
    new_uid,
    now_iso,
)


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "coach.sqlite3") as opened:
        yield opened


def a_set(session_id, number=1, reps=12, felt=True, cue="curl-rope", **more):
    values = dict(session_id=session_id, exercise="biceps_curl", set_number=number, load=10.0,
                  unit="kg", reps=reps, felt=felt, where=None, cue=cue, tempo="3-0-1-1",
                  started=now_iso(), ended=now_iso())
    values.update(more)
    return LoggedSet(**values)


def test_a_set_its_answers_decision_stats_and_state_commit_together(store):
    session = store.start_session("arms", "kg", {"next": [0, 1]})
    answers = [AnswerRecord("reps", "reps", 12, "twelve", 0.93, "pocketsphinx"),
               AnswerRecord("felt", "felt", True, "yes", 0.88, "pocketsphinx")]
    decision = DecisionRecord("biceps_curl", 11.0, "curl-squeeze-peak", "3-0-1-1",
                              "12 reps and you felt it: up 1 kilo.")
    set_id = store.save_set(a_set(session), answers, decision, {"next": [0, 2]},
                            loose_answers=[AnswerRecord("command", "command", "pause", "pause",
                                                        0.9)])
    row = store.session_sets(session)[0]
    assert row["id"] == set_id and row["reps"] == 12 and row["felt"] == 1
    heard = store.query("SELECT * FROM answers ORDER BY id")
    assert [a["words"] for a in heard] == ["twelve", "yes", "pause"]
    assert [a["set_id"] for a in heard] == [set_id, set_id, None]
    assert heard[0]["value"] == "12" and heard[0]["engine"] == "pocketsphinx"
    assert store.query("SELECT reason, set_id FROM decisions")[0] == {
        "reason": "12 reps and you felt it: up 1 kilo.", "set_id": set_id}
    assert store.cue_stats("biceps_curl") == {"curl-rope": (1, 0)}
    assert store.unfinished_session()["state"] == {"next": [0, 2]}


def test_cue_statistics_accumulate_across_sessions(store):
    for felt in (True, False, False, None):
        session = store.start_session("arms", "kg", {})
        store.save_set(a_set(session, felt=felt))
    store.save_set(a_set(session, felt=True, cue=None))
    store.save_set(a_set(session, felt=True, skipped=True, reps=None))
    assert store.cue_stats("biceps_curl") == {"curl-rope": (1, 2)}
    assert store.cue_stats("squat") == {}


def test_saving_the_same_set_twice_keeps_one(store):
    session = store.start_session("arms", "kg", {})
    logged = a_set(session)
    first = store.save_set(logged, [AnswerRecord("reps", "reps", 12, "twelve", 1.0)])
    again = store.save_set(logged, [AnswerRecord("reps", "reps", 12, "twelve", 1.0)])
    assert first == again
    assert len(store.session_sets(session)) == 1
    assert store.cue_stats("biceps_curl") == {"curl-rope": (1, 0)}


def test_only_a_running_session_is_offered_for_resume(store):
    assert store.unfinished_session() is None
    first = store.start_session("arms", "kg", {"at": 1})
    store.end_session(first, "stopped")
    assert store.unfinished_session() is None
    second = store.start_session("starter", "kg", {"at": 2})
    assert store.unfinished_session()["id"] == second
    store.end_session(second, "completed", {"at": "end"})
    row = store.query("SELECT status, ended, state FROM sessions WHERE id = ?", (second,))[0]
    assert row["status"] == "completed" and row["ended"] and '"end"' in row["state"]


def test_recent_sets_feed_the_one_rep_max(store):
    session = store.start_session("arms", "kg", {})
    store.save_set(a_set(session, reps=12, load=10.0))
    store.save_set(a_set(session, reps=None, felt=None))
    store.save_set(a_set(session, reps=8, load=12.0, unit="lb"))
    assert store.recent_sets("biceps_curl", "kg") == [(10.0, 12)]


def _scan(store, started, sore, style="pre-workout"):
    with store.transaction() as db:
        db.execute("INSERT INTO scans (uid, style, minutes, started, status, sore) "
                   "VALUES (?, ?, 5, ?, 'completed', ?)", (new_uid(), style, started, sore))


def test_the_sore_region_of_todays_latest_scan(store):
    now = dt.datetime.now().astimezone()
    yesterday = (now - dt.timedelta(days=1)).astimezone(dt.UTC).isoformat()
    _scan(store, yesterday, "knees")
    assert store.sore_today(now) is None
    midnight = now.replace(hour=0, minute=0, second=1, microsecond=0)
    _scan(store, midnight.astimezone(dt.UTC).isoformat(), "lower back")
    assert store.sore_today(now) == "lower back"
    # a full scan afterwards never asks about soreness, so it does not hide it
    later = now.replace(hour=0, minute=0, second=2, microsecond=0)
    _scan(store, later.astimezone(dt.UTC).isoformat(), None, style="full")
    assert store.sore_today(now) == "lower back"


def test_the_store_takes_its_time_from_the_clock_it_is_given(tmp_path):
    """Times written and "recent"/"today" come from the store's clock, not the wall: a
    session a year back is stamped then, and a scan's sore region counts on its own day."""
    moment = dt.datetime(2025, 3, 4, 12, 0, tzinfo=dt.UTC)
    with Store(tmp_path / "coach.sqlite3", clock=lambda: moment) as store:
        session = store.start_session("arms", "kg", {})
        store.save_set(a_set(session, started="2025-03-04T11:59:00.000+00:00",
                             ended="2025-03-04T12:00:00.000+00:00"))
        store.end_session(session, "completed")
        scan = store.start_scan("pre-workout", 5, ())
        store.end_scan(scan, "completed", None, "knees")
        stamped = "2025-03-04T12:00:00.000+00:00"
        assert store.query("SELECT started, ended FROM sessions") == [
            {"started": stamped, "ended": stamped}]
        assert store.query("SELECT started, ended FROM scans")[0]["ended"] == stamped
        assert store.recent_sets("biceps_curl", "kg") == [(10.0, 12)]
        assert store.sore_today() == "knees"
        assert store.sore_regions() == ["knees"]
    with Store(tmp_path / "coach.sqlite3") as now:  # the wall clock: a year later
        assert now.recent_sets("biceps_curl", "kg") == [] and now.sore_today() is None


def test_a_full_disk_raises_a_store_error_and_a_retry_lands(store):
    session = store.start_session("arms", "kg", {})
    pages = store.query("PRAGMA page_count")[0]["page_count"]
    store.db.execute(f"PRAGMA max_page_count = {pages}")
    logged = a_set(session)
    big = [AnswerRecord("reps", "reps", 12, "x" * 20000, 1.0)]
    with pytest.raises(StoreError) as caught:
        store.save_set(logged, big)
    assert "full" in caught.value.message and caught.value.fix
    assert store.session_sets(session) == []  # nothing half-written
    store.db.execute(f"PRAGMA max_page_count = {pages * 100}")
    store.save_set(logged, big)
    assert len(store.session_sets(session)) == 1


#: The start of an SQL statement, as this project writes them (upper case).
SQL = re.compile(r"\s*(SELECT|INSERT( OR \w+)? INTO|UPDATE \S+ SET|DELETE FROM|"
                 r"(CREATE|DROP|ALTER) (TABLE|INDEX)|PRAGMA|BEGIN|COMMIT|ROLLBACK)\b")


def test_all_sql_lives_in_the_store():
    """No module but coach/store.py runs SQL or holds an SQL statement (issue 14: one home
    for every query, so a schema change is made in one file)."""
    import ast
    from pathlib import Path

    import coach

    found = []
    for path in sorted(Path(coach.__file__).parent.rglob("*.py")):
        if path.name == "store.py" and path.parent.name == "coach":
            continue
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                    node.func.attr in ("execute", "executemany", "executescript", "query"):
                found.append(f"{path.name}:{node.lineno} .{node.func.attr}()")
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and \
                    SQL.match(node.value):
                found.append(f"{path.name}:{node.lineno} {node.value.strip()[:40]!r}")
    assert found == []
