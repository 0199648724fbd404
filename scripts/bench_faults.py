"""Kill soak: a scripted session killed with SIGKILL, again and again, then resumed.

Each trial runs ``coach session --answers FILE --out FILE.wav`` (an offline speaker: no
sound card) in a fresh data folder, kills it with SIGKILL, checks the database
(``PRAGMA integrity_check``), runs ``coach session --resume`` to the end, and counts:

- answered sets **lost**: a set is answered when its answers were used and its commit
  returned; the session writes the ``set`` event only then, so the events file says
  which sets were answered before the kill. Each must be in the database afterwards,
  with the reps and felt-it it was given;
- sets **duplicated**: an exercise's set number logged twice in the session;
- resumes that **failed**: ``--resume`` exited with an error, or the session did not end
  with every set of the plan logged.

Where the kill lands (seeded, the seed is printed):

- ``random``: a moment drawn over a whole session, from its first event to its ``end``
  event (timed on a run without a kill);
- ``before COMMIT``: the store stops itself (SIGSTOP, ``COACH_TEST_PAUSE_AT_COMMIT=N``)
  inside the N-th set's transaction, rows written, COMMIT not yet run;
- ``during COMMIT``: stopped there as above, continued, killed 0 to 4 ms later: while
  SQLite writes and syncs the WAL, or just after;
- ``after COMMIT``: stopped after COMMIT returned, before the session heard it
  (``N+``): the set is answered though no event says so yet.

    .venv/bin/python scripts/bench_faults.py [--kills 100] [--seed S] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from coach.events import END, SET, read_events  # noqa: E402

PLAN = """\
name = "Soak"
unit = "kg"
{exercises}"""

EXERCISE = """
[[exercise]]
id = "{id}"
sets = 2
reps = [8, 12]
load = {load}
tempo = "1-0-1-0"
rest = 5
"""

EXERCISES = (("biceps_curl", 8), ("squat", 40), ("row", 20))
QUICK = ("--rest-scale", "0", "--no-warmup", "--no-summary", "--max-reps", "1",
         "--ready-seconds", "0", "--seed", "1")
KINDS = ("random", "before COMMIT", "during COMMIT", "after COMMIT")
WEIGHTS = (0.5, 0.2, 0.15, 0.15)


def plan_sets() -> list[tuple[str, int]]:
    return [(ident, number) for ident, _ in EXERCISES for number in (1, 2)]


def answers(first_reps: int, count: int) -> str:
    """Set k: reps first_reps + k, felt yes on odd sets, no on even ones."""
    lines = []
    for k in range(1, count + 1):
        lines += [str(first_reps + k), "yes" if k % 2 else "no"]
    return "\n".join(lines) + "\n"


def expected_first_run() -> dict[tuple[str, int], tuple[int, bool]]:
    return {key: (10 + k, k % 2 == 1) for k, key in enumerate(plan_sets(), start=1)}


class Soak:
    def __init__(self, work: Path, seed: int) -> None:
        self.work = work
        self.rng = random.Random(seed)
        self.cache = work / "speech-cache"
        self.plan = work / "soak.toml"
        self.plan.write_text(PLAN.format(exercises="".join(
            EXERCISE.format(id=ident, load=load) for ident, load in EXERCISES)))
        total = len(plan_sets())
        self.first = work / "answers.txt"
        self.first.write_text(answers(10, total))
        self.rest = work / "resume-answers.txt"
        self.rest.write_text(answers(20, total))
        self.env = dict(os.environ)
        self.env["PULSE_SERVER"] = f"unix:{work}/no-sound-server/native"  # never a card
        self.env.pop("COACH_TEST_PAUSE_AT_COMMIT", None)
        self.run_seconds = 0.0

    def _folder(self, name: str) -> Path:
        data = self.work / name
        data.mkdir()
        (data / "cache").mkdir()
        (data / "cache" / "speech").symlink_to(self.cache, target_is_directory=True)
        return data

    def _start(self, data: Path, env: dict[str, str]) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "coach", "--data-dir", str(data), "session",
             "--plan", str(self.plan), "--answers", str(self.first),
             "--out", str(data / "out.wav"), "--events", str(data / "events.jsonl"), *QUICK],
            cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE)

    def calibrate(self) -> None:
        """Two runs without a kill: the first warms the speech cache, the second times a
        whole run (random kills are drawn over that time)."""
        self.cache.mkdir()
        for name in ("calibration-cold", "calibration"):
            data = self._folder(name)
            process = self._start(data, self.env)
            started = wait_first_event(process, data / "events.jsonl", 300)
            ended = wait_first_event(process, data / "events.jsonl", 300, END)
            _, err = process.communicate(timeout=300)
            self.run_seconds = ended - started
            if process.returncode != 0:
                raise SystemExit(f"the session without a kill failed: {err.decode()[-500:]}")
            rows = sets_in(data / "coach.sqlite3")
            if len(rows) != len(plan_sets()):
                raise SystemExit(f"the session without a kill logged {len(rows)} sets")

    def trial(self, index: int) -> dict:
        kind = self.rng.choices(KINDS, WEIGHTS)[0]
        data = self._folder(f"trial-{index:03d}")
        env = dict(self.env)
        paused_set = None
        if kind != "random":
            paused_set = self.rng.randint(1, len(plan_sets()))
            after = "+" if kind == "after COMMIT" else ""
            env["COACH_TEST_PAUSE_AT_COMMIT"] = f"{paused_set}{after}"
        process = self._start(data, env)
        finished_first = False
        if kind == "random":
            wait_first_event(process, data / "events.jsonl", 120)
            deadline = time.monotonic() + self.rng.uniform(0, self.run_seconds)
            while time.monotonic() < deadline and process.poll() is None:
                time.sleep(0.002)
            finished_first = process.poll() is not None
        else:
            if not wait_stopped(process, 120):
                raise SystemExit(f"trial {index}: the process never reached commit "
                                 f"{paused_set}: {process.stderr.read().decode()[-400:]}")
            if kind == "during COMMIT":
                os.kill(process.pid, signal.SIGCONT)
                time.sleep(self.rng.uniform(0, 0.004))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        process.stderr.close()

        answered = answered_sets(data / "events.jsonl")
        if kind == "after COMMIT":  # COMMIT returned: answered, though no event says so
            key = plan_sets()[paused_set - 1]
            answered[key] = expected_first_run()[key]
        database = data / "coach.sqlite3"
        intact = integrity(database)
        resume = subprocess.run(
            [sys.executable, "-m", "coach", "--data-dir", str(data), "session", "--resume",
             "--answers", str(self.rest), "--out", str(data / "resumed.wav"), *QUICK],
            cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
            timeout=300)
        nothing_to_resume = resume.returncode == 2 and "no interrupted session" in resume.stderr
        rows = sets_in(database)
        logged = Counter((row[0], row[1]) for row in rows)
        duplicated = sum(count - 1 for count in logged.values() if count > 1)
        kept = {(row[0], row[1], row[2], row[3]) for row in rows}
        lost = sum(1 for key, value in answered.items() if (*key, *value) not in kept)
        complete = set(logged) == set(plan_sets())
        failed = not nothing_to_resume and (resume.returncode != 0 or not complete)
        if nothing_to_resume and rows and not complete:
            failed = True  # a session that ended half-way, yet cannot be resumed
        intact = intact and integrity(database)
        result = {"kind": kind, "answered": len(answered), "lost": lost,
                  "duplicated": duplicated, "integrity_ok": intact, "failed": failed,
                  "nothing_to_resume": nothing_to_resume, "finished_first": finished_first}
        if lost or duplicated or failed or not intact:
            result["detail"] = {"answered": {f"{k[0]}#{k[1]}": v for k, v in answered.items()},
                                "rows": rows, "resume_stderr": resume.stderr[-800:],
                                "folder": str(data)}
        else:
            shutil.rmtree(data)
        return result


def wait_first_event(process: subprocess.Popen, events: Path, timeout: float,
                     kind: str | None = None) -> float:
    """Wait until the session has written its first event (or one of type ``kind``);
    returns that moment."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if events.exists() and events.stat().st_size > 0 and (
                kind is None or any(r.get("type") == kind for r in read_events(events))):
            break
        time.sleep(0.002)
    return time.monotonic()


def wait_stopped(process: subprocess.Popen, timeout: float) -> bool:
    """Wait until ``process`` has stopped itself (SIGSTOP): state T in /proc."""
    deadline = time.monotonic() + timeout
    stat = Path(f"/proc/{process.pid}/stat")
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            state = stat.read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            state = ""
        if state == "T":
            return True
        time.sleep(0.002)
    return False


def answered_sets(events: Path) -> dict[tuple[str, int], tuple[int, bool]]:
    if not events.exists():
        return {}
    return {(record["exercise"], int(record["set"])): (int(record["reps"]), bool(record["felt"]))
            for record in read_events(events) if record.get("type") == SET}


def sets_in(database: Path) -> list[tuple]:
    if not database.exists():
        return []
    with sqlite3.connect(database) as db:
        rows = db.execute("SELECT exercise, set_number, reps, felt FROM sets "
                          "ORDER BY id").fetchall()
    db.close()
    return [(e, int(n), None if r is None else int(r), None if f is None else bool(f))
            for e, n, r, f in rows]


def integrity(database: Path) -> bool:
    if not database.exists():
        return True
    with sqlite3.connect(database) as db:
        verdict = db.execute("PRAGMA integrity_check").fetchone()[0]
    db.close()
    return verdict == "ok"


def table(results: list[dict]) -> str:
    lines = ["| kill point | kills | answered before the kill | lost | duplicated | "
             "integrity not ok | resumes failed | nothing to resume | ended before the kill |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for kind in (*KINDS, "all"):
        rows = [r for r in results if kind in ("all", r["kind"])]
        if not rows:
            continue
        name = f"**{kind}**" if kind == "all" else kind
        lines.append(
            f"| {name} | {len(rows)} | {sum(r['answered'] for r in rows)} | "
            f"{sum(r['lost'] for r in rows)} | {sum(r['duplicated'] for r in rows)} | "
            f"{sum(not r['integrity_ok'] for r in rows)} | {sum(r['failed'] for r in rows)} | "
            f"{sum(r['nothing_to_resume'] for r in rows)} | "
            f"{sum(r['finished_first'] for r in rows)} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--seed", type=int, default=None,
                        help="seed of the kill moments (default: a new one, printed)")
    parser.add_argument("--work", type=Path, default=None,
                        help="folder for the trials (default: a temporary one)")
    parser.add_argument("--json", action="store_true",
                        help="also print the totals as one JSON line at the end")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(10**6)
    print(f"kill soak: {args.kills} kills, seed {seed}", flush=True)
    with tempfile.TemporaryDirectory(prefix="coach-soak-") as temp:
        work = args.work or Path(temp)
        work.mkdir(parents=True, exist_ok=True)
        soak = Soak(work, seed)
        soak.calibrate()
        print(f"a whole run without a kill: {soak.run_seconds:.2f} s, "
              f"{len(plan_sets())} sets", flush=True)
        started = time.monotonic()
        results = []
        for index in range(args.kills):
            result = soak.trial(index)
            results.append(result)
            if "detail" in result:
                print(f"trial {index}: {json.dumps(result)}", file=sys.stderr, flush=True)
        print(table(results))
        print(f"seed {seed}; {time.monotonic() - started:.0f} s for {args.kills} kills")
        totals = {"kills": len(results), "seed": seed,
                  "answered": sum(r["answered"] for r in results),
                  "lost": sum(r["lost"] for r in results),
                  "duplicated": sum(r["duplicated"] for r in results),
                  "integrity_failures": sum(not r["integrity_ok"] for r in results),
                  "failed_resumes": sum(r["failed"] for r in results),
                  "nothing_to_resume": sum(r["nothing_to_resume"] for r in results),
                  "commit_kills": sum(r["kind"] != "random" for r in results)}
        if args.json:
            print(json.dumps(totals))
    bad = totals["lost"] + totals["duplicated"] + totals["integrity_failures"] \
        + totals["failed_resumes"]
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
