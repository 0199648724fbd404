"""Faults on purpose: a short kill soak (the long one is scripts/bench_faults.py) and a
disk that fills up while a session runs (a small tmpfs as the data folder)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from coach.events import read_events

from .conftest import ROOT

PLAN = """\
name = "Four"
unit = "kg"

[[exercise]]
id = "biceps_curl"
sets = 4
reps = [1, 12]
load = 10
tempo = "1-0-1-0"
rest = 5
"""

SORRY = "I couldn't save that set yet. I'm keeping it and will try again."


def test_ten_kills_lose_and_duplicate_no_answered_set():
    """SIGKILL at random moments and inside the commit (before COMMIT, during it, after it),
    then --resume: no answered set lost or logged twice, the database intact, every resume
    finishing the plan."""
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "bench_faults.py"),
                           "--kills", "10", "--seed", "1616", "--json"],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    totals = json.loads(done.stdout.strip().splitlines()[-1])
    assert done.returncode == 0, done.stdout + done.stderr
    assert totals["kills"] == 10 and totals["commit_kills"] >= 3, totals
    assert totals["answered"] > 10, totals
    assert (totals["lost"], totals["duplicated"], totals["integrity_failures"],
            totals["failed_resumes"]) == (0, 0, 0, 0), done.stdout


# -- a disk that fills up ---------------------------------------------------------------

@pytest.fixture
def small_disk(tmp_path):
    """A 32 MB tmpfs: the data folder on a disk that can really fill up."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", str(disk)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"filling a disk needs a tmpfs mount (root): {mounted.stderr.strip()}")
    yield disk
    subprocess.run(["umount", "-l", str(disk)], capture_output=True)


def fill(disk: Path):
    """Write files until the disk is full; returns the function that frees it again."""
    filler = disk / "filler"
    block = b"\0" * 65536
    with open(filler, "wb") as handle:
        try:
            while True:
                handle.write(block)
                handle.flush()
        except OSError:
            pass
    with open(disk / "filler-tail", "wb", buffering=0) as handle:  # the last few bytes
        try:
            while True:
                handle.write(b"\0" * 512)
        except OSError:
            pass

    def free() -> None:
        filler.unlink()
        (disk / "filler-tail").unlink()

    return free


class TypedSession:
    """``coach session --typed`` answering set by set, when the coach asks."""

    def __init__(self, data: Path, folder: Path) -> None:
        plan = folder / "four.toml"
        plan.write_text(PLAN)
        self.events = folder / "events.jsonl"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "coach", "--data-dir", str(data), "--rate", "350",
             "session", "--plan", str(plan), "--typed", "--out", str(folder / "out.wav"),
             "--events", str(self.events), "--rest-scale", "0", "--no-warmup", "--no-summary",
             "--max-reps", "1", "--ready-seconds", "0.05", "--seed", "1"],
            cwd=ROOT, text=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "PULSE_SERVER": f"unix:{folder}/no-sound-server/native"})
        self.asked = 0

    def records(self) -> list[dict]:
        return read_events(self.events) if self.events.exists() else []

    def wait(self, predicate, timeout: float = 60) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            records = self.records()
            if predicate(records):
                return records
            if self.process.poll() is not None:
                break
            time.sleep(0.02)
        raise AssertionError(f"timed out; stderr: {self.process.stderr.read()[-800:]}")

    def answer_set(self, reps: int) -> None:
        """Wait for "How many reps?" of the next set, answer it and "yes"."""
        self.asked += 1
        for text, expect in ((str(reps), "reps"), ("yes", "felt")):
            wanted = self.asked
            self.wait(lambda rs, e=expect, n=wanted: sum(
                1 for r in rs if r["type"] == "listen" and r["expect"] == e) >= n)
            self.process.stdin.write(text + "\n")
            self.process.stdin.flush()

    def first_set_then_fill(self, disk: Path):
        """Answer set 1, wait until it is saved, fill ``disk``; returns what frees it."""
        self.answer_set(5)
        self.wait(lambda rs: [r["reps"] for r in rs if r["type"] == "set"] == [5])
        return fill(disk)

    def logged(self) -> list[int]:
        return [r["reps"] for r in self.records() if r["type"] == "set"]

    def finish(self) -> subprocess.CompletedProcess:
        out, err = self.process.communicate(timeout=60)
        return subprocess.CompletedProcess(self.process.args, self.process.returncode, out, err)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def _rows(database: Path) -> list[tuple]:
    with sqlite3.connect(database) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = db.execute("SELECT set_number, reps FROM sets ORDER BY id").fetchall()
    db.close()
    return rows


def test_a_disk_that_fills_keeps_the_sets_tells_once_and_saves_them_when_freed(small_disk,
                                                                               tmp_path):
    data = small_disk / "coach"
    session = TypedSession(data, tmp_path)
    try:
        free = session.first_set_then_fill(small_disk)
        session.answer_set(6)  # SQLite: "database or disk is full"
        session.answer_set(7)  # still full: kept too, not said again
        session.wait(lambda rs: sum(1 for r in rs if r["type"] == "listen"
                                    and r["expect"] == "reps") >= 4)
        assert session.logged() == [5]
        free()
        session.answer_set(8)
        result = session.finish()
    finally:
        session.close()
    assert result.returncode == 0, result.stderr
    said = [r["text"] for r in session.records() if r["type"] == "say"]
    assert said.count(SORRY) == 1
    assert result.stderr.count("kept in memory, will retry") == 1, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert session.logged() == [5, 6, 7, 8]
    assert _rows(data / "coach.sqlite3") == [(1, 5), (2, 6), (3, 7), (4, 8)]


def test_a_disk_that_stays_full_ends_cleanly_and_the_session_resumes(small_disk, tmp_path):
    data = small_disk / "coach"
    session = TypedSession(data, tmp_path)
    try:
        free = session.first_set_then_fill(small_disk)
        for reps in (6, 7, 8):
            session.answer_set(reps)
        result = session.finish()
    finally:
        session.close()
    assert result.returncode == 1
    assert "3 set(s) could not be saved" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    unsaved = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert [row["reps"] for row in unsaved] == [6, 7, 8]  # printed, so not lost
    free()
    assert _rows(data / "coach.sqlite3") == [(1, 5)]
    done = subprocess.run(
        [sys.executable, "-m", "coach", "--data-dir", str(data), "--rate", "350", "session",
         "--resume", "--typed", "--out", str(tmp_path / "resumed.wav"), "--rest-scale", "0",
         "--no-warmup", "--no-summary", "--max-reps", "1", "--ready-seconds", "0.05"],
        cwd=ROOT, text=True, capture_output=True, input="6\nyes\n7\nyes\n8\nyes\n", timeout=120,
        env={**os.environ, "PULSE_SERVER": f"unix:{tmp_path}/no-sound-server/native"})
    assert done.returncode == 0, done.stderr
    assert _rows(data / "coach.sqlite3") == [(1, 5), (2, 6), (3, 7), (4, 8)]


def test_a_full_disk_leaves_no_half_written_speech_in_the_cache(small_disk):
    """The speech cache on a disk that fills during a write: the line is simply not
    cached, and nothing half-written stays behind taking the space."""
    import numpy as np

    from coach.audio.speech import DiskCache

    (small_disk / "speech").mkdir()
    free = fill(small_disk)
    cache = DiskCache(small_disk / "speech", max_bytes=10**9)
    cache.put("a-line", np.zeros(44_100, np.float32))
    assert [p.name for p in (small_disk / "speech").rglob("*") if p.is_file()] == []
    free()
