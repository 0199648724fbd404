"""How long history, summary, export, import and report take on a big history.

Fills a throw-away database with a year of training (3 sessions a week, 4 exercises of
3 sets each, answers and decisions per set, a body scan every other day), then times
each step. Prints a table; asserts nothing. Run:

    .venv/bin/python scripts/bench_history.py [--weeks 52] [--runs 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import tempfile
import time
from pathlib import Path

from coach import backup, history, summary
from coach.store import Store, new_uid

EXERCISES = [("squat", ["squat-knees-out", "squat-push-floor", "squat-low-stool"], 40.0),
             ("row", ["row-elbow-leads", "row-blades-together"], 30.0),
             ("biceps_curl", ["curl-elbows-pinned", "curl-fight-down"], 10.0),
             ("chest_press", ["chest-hug-trunk", "chest-squeeze-top"], 35.0)]


def iso(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


def fill(path: Path, weeks: int, seed: int = 7) -> dict[str, int]:
    rng = random.Random(seed)
    start = dt.datetime(2024, 1, 1, 18, tzinfo=dt.UTC)
    loads = {name: load for name, _, load in EXERCISES}
    counts = dict.fromkeys(("sessions", "sets", "answers", "decisions", "scans"), 0)
    with Store(path) as store, store.transaction() as db:
        for day in range(weeks * 7):
            moment = start + dt.timedelta(days=day)
            if day % 2 == 0:
                db.execute("INSERT INTO scans (uid, style, minutes, started, ended, status,"
                           " feeling, sore) VALUES (?, 'quick', 3, ?, ?, 'completed', ?, ?)",
                           (new_uid(), iso(moment), iso(moment + dt.timedelta(minutes=3)),
                            rng.choice(["calm", "okay", "tense"]),
                            rng.choice([None, None, "lower back", "shoulders"])))
                counts["scans"] += 1
            if day % 7 not in (0, 2, 4):
                continue
            session = db.execute(
                "INSERT INTO sessions (uid, plan, started, ended, status) VALUES "
                "(?, 'full-body', ?, ?, 'completed')",
                (new_uid(), iso(moment), iso(moment + dt.timedelta(minutes=45)))).lastrowid
            counts["sessions"] += 1
            clock = moment
            for name, cues, _ in EXERCISES:
                cue = rng.choice(cues)
                for number in (1, 2, 3):
                    clock += dt.timedelta(minutes=3)
                    reps, felt = rng.randint(7, 12), int(rng.random() < 0.75)
                    set_id = db.execute(
                        "INSERT INTO sets (uid, session_id, exercise, set_number, load, unit,"
                        " reps, felt, felt_where, cue, tempo, started, ended) VALUES"
                        " (?, ?, ?, ?, ?, 'kg', ?, ?, ?, ?, '3-1-2-0', ?, ?)",
                        (new_uid(), session, name, number, loads[name], reps, felt,
                         "target" if felt else "elsewhere", cue, iso(clock),
                         iso(clock + dt.timedelta(seconds=45)))).lastrowid
                    counts["sets"] += 1
                    for kind, value in (("reps", reps), ("felt", felt)):
                        db.execute("INSERT INTO answers (uid, session_id, set_id, expect, kind,"
                                   " value, words, at) VALUES (?, ?, ?, ?, ?, ?, '', ?)",
                                   (new_uid(), session, set_id, kind, kind, str(value),
                                    iso(clock)))
                        counts["answers"] += 1
                    db.execute("INSERT INTO decisions (uid, session_id, set_id, exercise,"
                               " next_load, reason, at) VALUES (?, ?, ?, ?, ?, 'bench', ?)",
                               (new_uid(), session, set_id, name, loads[name], iso(clock)))
                    counts["decisions"] += 1
                    db.execute("INSERT INTO cue_stats (exercise, cue, felt, not_felt) VALUES"
                               " (?, ?, ?, ?) ON CONFLICT (exercise, cue) DO UPDATE SET"
                               " felt = felt + excluded.felt,"
                               " not_felt = not_felt + excluded.not_felt",
                               (name, cue, felt, 1 - felt))
                if rng.random() < 0.3:
                    loads[name] += 2.5
    return counts


def timed(step, runs: int) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        step()
        times.append(time.perf_counter() - began)
    return statistics.median(times), max(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="coach-bench-history-") as folder:
        root = Path(folder)
        source = root / "a" / "coach.sqlite3"
        began = time.perf_counter()
        counts = fill(source, args.weeks)
        fill_seconds = time.perf_counter() - began
        store = Store(source)
        file = root / "backup.json"
        names = summary.plain_names()
        rows: list[tuple[str, float, float]] = []

        def fresh_import() -> None:
            target = root / f"b{len(list(root.iterdir()))}" / "coach.sqlite3"
            with Store(target) as other:
                backup.import_file(other, file)

        steps = [
            ("load_history", lambda: history.load_history(store)),
            ("history table", lambda: history.to_table(history.load_history(store))),
            ("history --csv", lambda: history.to_csv(history.load_history(store))),
            ("history --json", lambda: history.to_json(history.load_history(store))),
            ("summary (last session)", lambda: summary.session_summary(store, names=names)),
            ("summary --all", lambda: summary.overall_summary(store, names=names)),
            ("export", lambda: backup.export_file(store, file)),
            ("import into a fresh db", fresh_import),
        ]
        for label, step in steps:
            median, worst = timed(step, args.runs)
            rows.append((label, median, worst))
        with Store(root / "dup" / "coach.sqlite3") as other:
            backup.import_file(other, file)
            median, worst = timed(lambda: backup.import_file(other, file), args.runs)
        rows.append(("import again (adds nothing)", median, worst))
        try:
            from coach.report import draw, report_data

            data = report_data(history.load_history(store), names)
            median, worst = timed(lambda: draw(data).savefig(root / "p.png"), args.runs)
            rows.append(("report PNG (matplotlib)", median, worst))
        except ImportError:
            rows.append(("report PNG (matplotlib missing)", float("nan"), float("nan")))
        store.close()
        size = file.stat().st_size / 1e6
        print(f"history of {args.weeks} weeks: " + ", ".join(f"{n} {t}" for t, n in
                                                              counts.items())
              + f"; filled in {fill_seconds:.1f} s; backup file {size:.1f} MB")
        print(f"{'step':<32}{'median s':>10}{'worst s':>10}")
        for label, median, worst in rows:
            print(f"{label:<32}{median:>10.3f}{worst:>10.3f}")


if __name__ == "__main__":
    main()
