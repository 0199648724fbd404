"""`coach export` / `coach import`: a versioned JSON backup that round-trips, imports once,
and refuses a bad file without changing anything."""

from __future__ import annotations

import copy
import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from coach.backup import FORMAT, VERSION, BackupError, export_data, import_data, schema
from coach.store import Store

from .conftest import run_coach
from .history_fixtures import fill_synthetic, real_history

TABLES = ("sessions", "sets", "answers", "decisions", "scans", "cue_stats")


@pytest.fixture(scope="module")
def filled(tmp_path_factory) -> Path:
    """The history of two real `coach session` runs and two `coach scan` check-ins."""
    return real_history(tmp_path_factory)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> Path:
    """Hand-written weeks: several sessions per exercise, for merges of cue counts."""
    folder = tmp_path_factory.mktemp("filled")
    fill_synthetic(folder / "coach.sqlite3")
    return folder


@pytest.fixture(scope="module")
def backup(filled, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("backup") / "backup.json"
    out = run_coach("--data-dir", str(filled), "export", str(path))
    assert out.returncode == 0, out.stderr
    return path


def counts(folder: Path) -> dict[str, int]:
    with sqlite3.connect(folder / "coach.sqlite3") as db:
        return {t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in TABLES}


def content(folder: Path) -> dict:
    """Every row of every table, references as uids: comparable across databases."""
    with Store(folder / "coach.sqlite3") as store:
        return export_data(store)["tables"]


def test_export_writes_every_table_with_uids_instead_of_local_ids(filled, backup):
    data = json.loads(backup.read_text())
    assert data["format"] == FORMAT and data["version"] == VERSION and data["schema"] >= 1
    assert {name: len(rows) for name, rows in data["tables"].items()} == counts(filled)
    first_set = data["tables"]["sets"][0]
    assert "id" not in first_set and "session_id" not in first_set
    assert first_set["session_uid"] in {s["uid"] for s in data["tables"]["sessions"]}
    scan_answers = [a for a in data["tables"]["answers"] if a["scan_uid"]]
    assert scan_answers and all(a["set_uid"] is None for a in scan_answers)


def test_round_trip_into_a_fresh_data_dir(filled, backup, tmp_path):
    fresh = tmp_path / "fresh"
    out = run_coach("--data-dir", str(fresh), "import", str(backup))
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("imported ")
    assert counts(fresh) == counts(filled)
    assert content(fresh) == content(filled)
    for args in (["history", "--csv"], ["history", "--json"], ["summary", "--all"]):
        assert run_coach("--data-dir", str(fresh), *args).stdout == \
            run_coach("--data-dir", str(filled), *args).stdout


def test_importing_the_same_file_twice_adds_nothing(filled, backup, tmp_path):
    folder = tmp_path / "twice"
    first = run_coach("--data-dir", str(folder), "import", str(backup))
    assert first.returncode == 0, first.stderr
    after_first = content(folder)
    second = run_coach("--data-dir", str(folder), "import", str(backup))
    assert second.returncode == 0, second.stderr
    assert second.stdout.startswith("imported nothing new")
    assert content(folder) == after_first
    assert counts(folder) == counts(filled)


def test_importing_into_a_database_that_has_moved_on_keeps_the_newer_rows(filled, backup,
                                                                           tmp_path):
    """Restore an old backup over a history with later sessions: old rows are recognised,
    new rows stay, cue counts never go back or double."""
    folder = tmp_path / "moved-on"
    folder.mkdir()
    shutil.copy(filled / "coach.sqlite3", folder / "coach.sqlite3")
    with Store(folder / "coach.sqlite3") as store, store.transaction() as db:
        session = db.execute("INSERT INTO sessions (uid, plan, started) VALUES "
                             "('later', 'p', '2040-04-01T10:00:00+00:00')").lastrowid
        db.execute("INSERT INTO sets (uid, session_id, exercise, set_number, load, unit, reps,"
                   " felt, cue, tempo, started, ended) VALUES ('later-set', ?, 'biceps_curl', 1,"
                   " 30, 'kg', 10, 1, 'curl-squeeze-peak', '3-0-1-1', "
                   "'2040-04-01T10:01:00+00:00', '2040-04-01T10:02:00+00:00')", (session,))
        db.execute("INSERT INTO cue_stats (exercise, cue, felt) VALUES ('biceps_curl', "
                   "'curl-squeeze-peak', 1) ON CONFLICT (exercise, cue) DO UPDATE SET "
                   "felt = felt + 1")
    before = content(folder)
    result = run_coach("--data-dir", str(folder), "import", str(backup))
    assert result.returncode == 0, result.stderr
    assert content(folder) == before


def test_a_merge_adds_only_the_missing_rows(synthetic, tmp_path):
    """Two devices: one history has the first session only; importing the full backup
    adds the rest and links them to the right local rows."""
    with Store(synthetic / "coach.sqlite3") as store:
        full = export_data(store)
    partial = copy.deepcopy(full)
    first = partial["tables"]["sessions"][0]["uid"]
    partial["tables"]["sessions"] = partial["tables"]["sessions"][:1]
    partial["tables"]["sets"] = [s for s in partial["tables"]["sets"]
                                 if s["session_uid"] == first]
    keep = {s["uid"] for s in partial["tables"]["sets"]}
    for name in ("answers", "decisions"):
        partial["tables"][name] = [r for r in partial["tables"][name]
                                   if r["set_uid"] in keep]
    partial["tables"]["scans"] = []
    partial["tables"]["cue_stats"] = []
    with Store(tmp_path / "coach.sqlite3") as store:
        import_data(store, partial)
        assert store.query("SELECT COUNT(*) AS n FROM sessions")[0]["n"] == 1
        result = import_data(store, full)
        assert result.present["sessions"] == 1
        assert result.added["sessions"] == len(full["tables"]["sessions"]) - 1
        merged = export_data(store)
    assert merged["tables"] == full["tables"]


# -- bad files -------------------------------------------------------------------------

def _mutations():
    def drop(name, index, key):
        def change(data):
            del data["tables"][name][index][key]
        return change

    def put(path, value):
        def change(data):
            target = data
            for step in path[:-1]:
                target = target[step]
            target[path[-1]] = value
        return change

    def duplicate_uid(data):
        data["tables"]["sets"].append(dict(data["tables"]["sets"][0]))

    return {
        "wrong version": (put(["version"], 99), "version 99"),
        "not a backup": (put(["format"], "something-else"), "not a coach backup"),
        "newer schema": (put(["schema"], 999), "newer coach"),
        "missing field": (drop("sets", -1, "exercise"), "has no 'exercise'"),
        "missing uid": (drop("sessions", 0, "uid"), "sessions row 1 has no 'uid'"),
        "load as text": (put(["tables", "sets", 3, "load"], "heavy"),
                         "'load' should be a number"),
        "reps as a float": (put(["tables", "sets", 0, "reps"], 9.5),
                            "'reps' should be a whole number"),
        "felt as a boolean": (put(["tables", "sets", 0, "felt"], True),
                              "'felt' should be a whole number"),
        "null where required": (put(["tables", "sessions", 0, "plan"], None),
                                "'plan' cannot be null"),
        "unknown field": (put(["tables", "scans", 0, "mood"], "sunny"), "unknown field 'mood'"),
        "unknown table": (put(["tables", "workouts"], []), "unknown table 'workouts'"),
        "rows not a list": (put(["tables", "sets"], {}), "should be a list"),
        "dangling reference": (put(["tables", "sets", -1, "session_uid"], "nope"),
                               "points at sessions uid 'nope'"),
        "repeated uid": (duplicate_uid, "repeats uid"),
        "row not an object": (put(["tables", "decisions", 0], [1, 2]), "is not an object"),
    }


MUTATIONS = _mutations()


@pytest.fixture
def half_filled(tmp_path, backup) -> Path:
    """A data dir holding one other session, so 'nothing changed' is a real check."""
    folder = tmp_path / "target"
    with Store(folder / "coach.sqlite3") as store, store.transaction() as db:
        db.execute("INSERT INTO sessions (uid, plan, started) VALUES ('mine', 'p', "
                   "'2025-02-01T10:00:00+00:00')")
    return folder


@pytest.mark.parametrize("name", list(MUTATIONS))
def test_a_bad_file_changes_nothing_and_says_why(name, backup, half_filled, tmp_path):
    change, expected = MUTATIONS[name]
    data = json.loads(backup.read_text())
    change(data)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    before = content(half_filled)
    with Store(half_filled / "coach.sqlite3") as store, pytest.raises(BackupError) as error:
        import_data(store, data, str(bad))
    assert expected in error.value.message
    assert error.value.exit_code == 2
    assert "\n" not in error.value.message
    assert content(half_filled) == before


@pytest.mark.parametrize("name, text, expected", [
    ("truncated", None, "not valid JSON"),
    ("empty", "", "not valid JSON"),
    ("a list", "[1, 2, 3]", "not a coach backup"),
    ("binary", b"\xff\xfe\x00garbage", "not UTF-8"),
])
def test_a_corrupt_file_on_the_command_line_exits_2_in_one_line(name, text, expected, backup,
                                                                half_filled, tmp_path):
    bad = tmp_path / "bad.json"
    if text is None:  # a download cut short: the last third is missing
        whole = backup.read_bytes()
        bad.write_bytes(whole[: len(whole) * 2 // 3])
    elif isinstance(text, bytes):
        bad.write_bytes(text)
    else:
        bad.write_text(text)
    before = content(half_filled)
    out = run_coach("--data-dir", str(half_filled), "import", str(bad))
    assert out.returncode == 2
    lines = out.stderr.splitlines()
    assert lines[0].startswith("coach: ") and expected in lines[0], out.stderr
    assert len(lines) == 2 and lines[1].lstrip().startswith("fix: ")
    assert "Traceback" not in out.stderr and out.stdout == ""
    assert content(half_filled) == before


def test_a_bad_row_deep_in_the_file_changes_nothing_on_the_command_line(backup, half_filled,
                                                                        tmp_path):
    """The last row of the last table is wrong: no earlier table may have been written."""
    data = json.loads(backup.read_text())
    with Store(half_filled / "coach.sqlite3") as store:
        last_table = schema(store)[-1].name
    data["tables"][last_table][-1]["uid" if "uid" in data["tables"][last_table][-1]
                                   else "felt"] = 3.5
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    before = counts(half_filled)
    out = run_coach("--data-dir", str(half_filled), "import", str(bad))
    assert out.returncode == 2 and "should be" in out.stderr
    assert counts(half_filled) == before


def test_a_missing_file_and_an_unwritable_export(data_dir, tmp_path):
    missing = run_coach("--data-dir", str(data_dir), "import", str(tmp_path / "nope.json"))
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    blocked = run_coach("--data-dir", str(data_dir), "export",
                        str(tmp_path / "no-such-folder" / "b.json"))
    assert blocked.returncode == 2 and "cannot write" in blocked.stderr
    assert "Traceback" not in missing.stderr + blocked.stderr


def test_export_to_stdout_is_the_same_backup(filled, backup):
    out = run_coach("--data-dir", str(filled), "export", "-")
    assert out.returncode == 0, out.stderr
    streamed, saved = json.loads(out.stdout), json.loads(backup.read_text())
    assert streamed["tables"] == saved["tables"]


def test_cue_counts_add_up_when_two_devices_merge(synthetic, tmp_path):
    """Device A logged the first session, device B the others: after B's backup goes into
    A, the felt-it counts per cue are those of the whole history."""
    with Store(synthetic / "coach.sqlite3") as store:
        full = export_data(store)
    first = full["tables"]["sessions"][0]["uid"]

    def part(keep_first: bool) -> dict:
        data = copy.deepcopy(full)
        tables = data["tables"]
        tables["sessions"] = [s for s in tables["sessions"] if (s["uid"] == first) == keep_first]
        uids = {s["uid"] for s in tables["sessions"]}
        tables["sets"] = [s for s in tables["sets"] if s["session_uid"] in uids]
        sets = {s["uid"] for s in tables["sets"]}
        for name in ("answers", "decisions"):
            tables[name] = [r for r in tables[name] if r["set_uid"] in sets]
        tables["answers"] = [a for a in tables["answers"] if a["scan_uid"] is None]
        tables["cue_stats"] = []  # each device's own counts come from its own sets
        return data

    with Store(tmp_path / "a" / "coach.sqlite3") as device_a, \
            Store(tmp_path / "b" / "coach.sqlite3") as device_b:
        import_data(device_a, part(True))
        import_data(device_b, part(False))
        assert device_a.cue_stats("squat")["squat-knees-out"] == (2, 1)
        assert device_b.cue_stats("squat")["squat-knees-out"] == (3, 0)
        import_data(device_a, export_data(device_b))
        merged = {(r["exercise"], r["cue"]): (r["felt"], r["not_felt"])
                  for r in export_data(device_a)["tables"]["cue_stats"]}
        expected = {(r["exercise"], r["cue"]): (r["felt"], r["not_felt"])
                    for r in full["tables"]["cue_stats"]}
        assert merged == expected
        import_data(device_a, export_data(device_b))  # again: nothing doubles
        assert device_a.cue_stats("squat")["squat-knees-out"] == (5, 1)
