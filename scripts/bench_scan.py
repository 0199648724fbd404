#!/usr/bin/env python3
"""Benchmark: how exactly a body scan lasts the minutes asked, and what rendering costs.

(a) the plan: for each style and length, which script length and rounds the planner
    picks, where the pauses sit in their ranges (-1 shortest, 0 usual, 1 longest) and
    the planned length against the minutes asked (real espeak-ng line lengths);
(b) ``coach scan --out``: wall time, peak memory and the WAV's length against the
    target, each run in its own process (a cold process, a warm speech cache);
(c) played live on the private virtual sound card: ``coach_out.monitor`` is recorded
    (parec, its own clock) while ``coach scan --minutes N`` plays; the scan's length is
    measured in the recording from the first sample of the start chime to the last of
    the end chime.

    .venv/bin/python scripts/bench_scan.py                # (a), (b), (c) with 1 and 3 min
    .venv/bin/python scripts/bench_scan.py --quick        # (c) with 1 min only
    .venv/bin/python scripts/bench_scan.py --live 0       # skip (c)

The tables go to stdout, progress to stderr. Timing figures are noisy on a busy
machine: run it on a quiet one for the notes.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from coach.audio import analysis  # noqa: E402
from coach.audio.speech import Voice  # noqa: E402
from coach.audio.virtual_card import VirtualCard  # noqa: E402
from coach.audio.wavio import read_wav  # noqa: E402
from coach.core import scan as core  # noqa: E402
from coach.settings import OUTPUT_RATE, SpeechSettings  # noqa: E402
from coach.sounds import BREATH_IN, BREATH_OUT, CHIME_END, CHIME_START, load_sound  # noqa: E402

PLAN_MINUTES = (1, 2, 3, 5, 10, 20, 30)
RENDER_CASES = [("full", 1), ("full", 3), ("full", 10), ("full", 30), ("tense-relax", 30),
                ("pre-workout", 3), ("full", 10, "cold")]
FOCUS = ("shoulders", "core", "glutes", "quads")

_MEASURE = """
import re, sys, time
start = time.perf_counter()
from coach.cli import main
code = main(sys.argv[1:])
status = open("/proc/self/status").read()
peak = int(re.search(r"VmHWM:\\s+(\\d+)", status).group(1))
print("BENCH", time.perf_counter() - start, peak, code, file=sys.stderr)
"""


def table(title: str, header: list[str], rows: list[list]) -> None:
    print(f"\n{title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join(" --- " for _ in header) + "|")
    for row in rows:
        print("| " + " | ".join(str(c) for c in row) + " |")


def plan_table(cache: Path) -> None:
    voice = Voice(SpeechSettings(), OUTPUT_RATE, cache)
    sounds = {n: len(load_sound(n, OUTPUT_RATE)) for n in
              (CHIME_START, CHIME_END, BREATH_IN, BREATH_OUT)}
    rows = []
    for style in core.STYLES:
        script = core.load_script(style)
        focus = FOCUS if style == core.PRE_WORKOUT else ()
        for minutes in PLAN_MINUTES:
            started = time.perf_counter()
            timeline = core.build(script, minutes, OUTPUT_RATE,
                                  lambda text: len(voice.render(text)), sounds[CHIME_START],
                                  sounds[CHIME_END], focus)
            ms = (time.perf_counter() - started) * 1000
            error = (timeline.seconds - minutes * 60) / (minutes * 60) * 100
            rows.append([style, minutes, timeline.length, timeline.rounds,
                         len(timeline.lines()), timeline.fit, f"{timeline.fraction:+.2f}",
                         f"{timeline.seconds:.3f}", f"{error:+.4f}%", f"{ms:.0f}"])
    table("(a) plans (pre-workout: shoulders, core, glutes, quads)",
          ["style", "min", "length", "rounds", "lines", "fit", "pauses", "planned s",
           "error", "plan ms"], rows)


def render_table(data_dir: Path, folder: Path) -> None:
    rows = []
    for style, minutes, *cold in RENDER_CASES:
        out = folder / f"{style}-{minutes}.wav"
        where = folder / "cold" if cold else data_dir  # cold: an empty speech cache
        args = ["--data-dir", str(where), "scan", "--style", style, "--minutes", str(minutes),
                "--out", str(out)]
        if style == core.PRE_WORKOUT:
            args += ["--focus", ",".join(FOCUS)]
        print(f"rendering {style} {minutes} min", file=sys.stderr)
        result = subprocess.run([sys.executable, "-c", _MEASURE, *args], capture_output=True,
                                text=True, cwd=ROOT)
        line = [x for x in result.stderr.splitlines() if x.startswith("BENCH")][-1].split()
        seconds, peak_kb = float(line[1]), int(line[2])
        samples, rate = read_wav(out)
        length = len(samples) / rate
        rows.append([style + (" (cold cache)" if cold else ""), minutes, f"{seconds:.2f}",
                     f"{peak_kb / 1024:.0f}",
                     f"{length:.3f}", f"{(length - minutes * 60) / (minutes * 60) * 100:+.4f}%",
                     f"{minutes * 60 / seconds:.0f}x"])
        out.unlink()
    table("(b) coach scan --out (own process; warm speech cache unless cold)",
          ["style", "min", "wall s", "peak MB", "WAV s", "error", "faster than live"], rows)


def live_table(data_dir: Path, folder: Path, minutes_list: list[int], card_dir: Path) -> None:
    card = VirtualCard(card_dir).start()
    rows = []
    try:
        for minutes in minutes_list:
            print(f"playing a {minutes}-minute scan on the virtual card", file=sys.stderr)
            offline = folder / f"offline-{minutes}.wav"
            subprocess.run([sys.executable, "-m", "coach", "--data-dir", str(data_dir), "scan",
                            "--minutes", str(minutes), "--out", str(offline)],
                           capture_output=True, check=True, cwd=ROOT)
            path = folder / f"live-{minutes}.wav"
            with card.record(path):
                result = subprocess.run(
                    [sys.executable, "-m", "coach", "--data-dir", str(data_dir), "scan",
                     "--minutes", str(minutes), "--typed"], stdin=subprocess.DEVNULL,
                    capture_output=True, text=True, env=card.client_env(), cwd=ROOT)
            if result.returncode != 0:
                raise SystemExit(result.stderr)
            summary = json.loads(result.stdout.strip().splitlines()[-1])
            live, rate = read_wav(path)
            planned, _ = read_wav(offline)
            span = analysis.active_span(live, rate, threshold=0.002, frame_seconds=0.01)
            planned_span = analysis.active_span(planned, rate, threshold=0.002,
                                                frame_seconds=0.01)
            heard = span[1] - span[0]
            gap = int(0.5 * rate)
            heard_onsets = analysis.onsets(live, 0.02, min_gap=gap)
            planned_onsets = analysis.onsets(planned, 0.02, min_gap=gap)
            deviation = max(abs((h - heard_onsets[0]) - (p - planned_onsets[0]))
                            for h, p in zip(heard_onsets, planned_onsets, strict=False))
            underruns = result.stderr.count("underrun occurred")
            rows.append([minutes, f"{summary['played_seconds']:.3f}",
                         f"{planned_span[1] - planned_span[0]:.2f}", f"{heard:.2f}",
                         f"{(heard - minutes * 60) / (minutes * 60) * 100:+.3f}%",
                         f"{len(heard_onsets)}/{len(planned_onsets)}",
                         f"{deviation / rate * 1000:.1f}", underruns])
    finally:
        card.stop()
    table("(c) played on the virtual card, recorded from coach_out.monitor, against the same "
          "scan rendered offline",
          ["min", "speaker clock s", "offline WAV: chime to chime s", "heard: chime to chime s",
           "error", "onsets heard/planned", "max onset offset ms", "ALSA underruns"], rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="(c) with a 1-minute scan only")
    parser.add_argument("--live", type=int, nargs="*", default=None,
                        help="minutes of the live scans (c); 0 skips them")
    parser.add_argument("--card-dir", type=Path, default=Path("/tmp/coach-bench-scan"))
    args = parser.parse_args()
    live = args.live if args.live is not None else ([1] if args.quick else [1, 3])
    live = [m for m in live if m > 0]
    with tempfile.TemporaryDirectory(prefix="coach-bench-scan-") as temp:
        folder = Path(temp)
        data_dir = folder / "data"
        cache = data_dir / "cache" / "speech"
        plan_table(cache)  # also fills the speech cache for (b) and (c)
        render_table(data_dir, folder)
        if live:
            live_table(data_dir, folder, live, args.card_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
