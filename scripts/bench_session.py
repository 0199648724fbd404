#!/usr/bin/env python3
"""Benchmark of the coaching session's own costs; prints tables, asserts nothing.

1. Committing a set (set + 2 answers + decision + cue stats + resume state, one
   transaction, WAL, synchronous=FULL) on a real SQLite file: ms per set.
2. The adaptation decision (load rule + Thompson cue draw): microseconds.
3. A whole built-in plan rendered offline with scripted answers (speech synthesis,
   metronome, store): wall time against the session's length.

Usage: .venv/bin/python scripts/bench_session.py [--sets 300] [--plan starter]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from coach.audio.engine import OfflineSpeaker  # noqa: E402
from coach.audio.speech import Voice  # noqa: E402
from coach.core import adapt  # noqa: E402
from coach.core.library import builtin_library  # noqa: E402
from coach.core.plans import load_plan  # noqa: E402
from coach.dialogue.sources import ScriptSource  # noqa: E402
from coach.settings import OUTPUT_RATE, SpeechSettings  # noqa: E402
from coach.store import AnswerRecord, DecisionRecord, LoggedSet, Store, now_iso  # noqa: E402
from coach.workout.loop import Session  # noqa: E402
from coach.workout.state import SessionSettings  # noqa: E402


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def bench_commit(folder: Path, count: int) -> list[tuple[str, str]]:
    times = []
    with Store(folder / "bench.sqlite3") as store:
        session = store.start_session("bench", "kg", {"next": [0, 1]})
        for number in range(count):
            logged = LoggedSet(session, "biceps_curl", number + 1, 10.0, "kg", 12, True, None,
                               "curl-rope", "3-0-1-1", now_iso(), now_iso())
            answers = [AnswerRecord("reps", "reps", 12, "twelve", 0.9, "bench"),
                       AnswerRecord("felt", "felt", True, "yes", 0.9, "bench")]
            decision = DecisionRecord("biceps_curl", 11.0, "curl-rope", "3-0-1-1", "reason")
            start = time.perf_counter()
            store.save_set(logged, answers, decision, {"next": [0, number + 2]})
            times.append((time.perf_counter() - start) * 1000)
    return [("sets committed", str(count)),
            ("median ms per set", f"{statistics.median(times):.2f}"),
            ("p95 ms", f"{percentile(times, 0.95):.2f}"),
            ("max ms", f"{max(times):.2f}")]


def bench_decide(count: int = 5000) -> list[tuple[str, str]]:
    library = builtin_library()
    curl = library.exercise("biceps_curl")
    cues = library.cues_for("biceps_curl")
    stats = {cue.id: (i, 3) for i, cue in enumerate(cues)}
    rng = random.Random(1)
    outcome = adapt.SetOutcome(curl, 10.0, "kg", "3-0-1-1", (10, 12), 12, False, "shoulders",
                               cues[0].id)
    start = time.perf_counter()
    for _ in range(count):
        adapt.decide(outcome, 1.0, cues, stats, rng)
    micro = (time.perf_counter() - start) / count * 1e6
    return [("decisions", str(count)), ("microseconds per decision", f"{micro:.1f}")]


def bench_offline_session(folder: Path, plan_name: str) -> list[tuple[str, str]]:
    library = builtin_library()
    plan = load_plan(plan_name, library)
    answers = []
    for item in plan.exercises:
        for number in range(item.sets):
            answers += [str(item.reps[1] if number % 2 == 0 else item.reps[0]),
                        "yes" if number % 3 != 1 else "no"]
    script = folder / "answers.txt"
    script.write_text("\n".join(answers) + "\n")
    speaker = OfflineSpeaker(OUTPUT_RATE)
    voice = Voice(SpeechSettings(), OUTPUT_RATE, folder / "speech")
    with Store(folder / "session.sqlite3") as store:
        session = Session(plan=plan, library=library, store=store, speaker=speaker,
                          voice=voice, source=ScriptSource(script),
                          settings=SessionSettings(seed=1, summary=False))
        start = time.perf_counter()
        result = session.run()
        cold = time.perf_counter() - start
    length = speaker.now() / OUTPUT_RATE
    # the same again: every line is now in the speech cache
    with Store(folder / "session2.sqlite3") as store:
        session = Session(plan=plan, library=library, store=store,
                          speaker=OfflineSpeaker(OUTPUT_RATE), voice=voice,
                          source=ScriptSource(script),
                          settings=SessionSettings(seed=1, summary=False))
        start = time.perf_counter()
        session.run()
        warm = time.perf_counter() - start
    return [("plan", plan_name), ("sets saved", str(result.sets_saved)),
            ("session length (min)", f"{length / 60:.1f}"),
            ("wall time, cold speech cache (s)", f"{cold:.2f}"),
            ("wall time, warm cache (s)", f"{warm:.2f}")]


def table(title: str, rows: list[tuple[str, str]]) -> None:
    width = max(len(k) for k, _ in rows)
    print(f"\n{title}")
    print(f"  {'what':<{width}}  value")
    for key, value in rows:
        print(f"  {key:<{width}}  {value}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", type=int, default=300)
    parser.add_argument("--plan", default="starter")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-session-") as name:
        folder = Path(name)
        table("1. committing a set (SQLite WAL, synchronous=FULL)", bench_commit(folder,
                                                                                 args.sets))
        table("2. the adaptation decision", bench_decide())
        table("3. a whole plan, rendered offline with scripted answers",
              bench_offline_session(folder, args.plan))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
