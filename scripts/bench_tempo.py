#!/usr/bin/env python3
"""Benchmark: the coach's metronome against a naive one, on the virtual sound card.

The coach's metronome (``coach.workout.metronome.Metronome``) schedules every click at its
sample on one continuous output stream. The naive one does what a first attempt
does: ``time.sleep`` until the next beat, then ``sounddevice.play`` the click (a new
stream per click). Both play the same click sounds and tempo (3-1-2-1: one click
per second, accents on phase starts).

Measured:

(a) written file: the coach's track rendered offline (``OfflineSpeaker``); onsets
    detected in the audio against the scheduled samples (the naive metronome has no
    timeline to write, so n/a);
(b) played through the real stack: ``coach_out.monitor`` is recorded with parec
    (its own clock) while each metronome plays a TRACK-second track; click onsets
    are detected in the recording and matched to the beat grid. Interval deviation
    = |(onset[i+1] - onset[i]) - nominal| over consecutive beats; drift = how far
    the last click sits from where the first click and the nominal tempo put it;
(c) CPU of this process (all threads, incl. PortAudio's) while the track plays,
    in % of one core;
(d) the same as (b) over a long track (10 minutes by default) for drift.

    .venv/bin/python scripts/bench_tempo.py                 # 60 s tracks + 10 min drift
    .venv/bin/python scripts/bench_tempo.py --quick         # 20 s tracks + 1 min drift
    .venv/bin/python scripts/bench_tempo.py --drift-minutes 0   # skip (d)

A private virtual card is started in --card-dir (default /tmp/coach-bench-tempo).
The table goes to stdout, progress to stderr. Timing figures are noisy on a busy
machine: run it on a quiet one for the notes.
"""

from __future__ import annotations

import argparse
import math
import resource
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from coach.audio.analysis import match_onsets, onsets  # noqa: E402
from coach.audio.virtual_card import VirtualCard  # noqa: E402
from coach.audio.wavio import read_wav  # noqa: E402
from coach.core.tempo import Beat, beats, parse_tempo  # noqa: E402
from coach.settings import AudioSettings  # noqa: E402
from coach.sounds import load_sound  # noqa: E402

RATE = 44_100
TEMPO = "3-1-2-1"
THRESHOLD = 0.05
LEAD_IN = 0.3
#: Beat kinds; each is also the name of its sound in audio/.
KINDS = ("click", "accent", "explosive")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def detect(samples: np.ndarray) -> list[int]:
    return onsets(samples, threshold=THRESHOLD, min_gap=int(0.3 * RATE))


def schedule_for(seconds: float) -> tuple[object, int, list[Beat]]:
    tempo = parse_tempo(TEMPO)
    reps = max(1, math.ceil(seconds / tempo.rep_seconds))
    return tempo, reps, beats(tempo, reps)


@dataclass
class LiveFigures:
    expected: int
    heard: int
    lost: int
    extra: int
    cut: int
    max_dev_ms: float
    mean_dev_ms: float
    over_1ms: int
    drift_ms: float
    cpu_percent: float
    underflows: int | None = None


def analyse(recording: Path, schedule: list[Beat], cpu_percent: float) -> LiveFigures:
    """Match the recorded onsets to the beat grid and measure their intervals."""
    audio, rate = read_wav(recording)
    heard = detect(audio)
    grid = [round(b.t * rate) for b in schedule]
    best, best_shift = ([], grid, heard), 0
    for anchor in heard[:3]:  # align the grid on one of the first clicks heard
        for first in grid[:3]:
            shift = anchor - first
            result = match_onsets(heard, [g + shift for g in grid], tolerance=int(0.25 * rate))
            if len(result[0]) > len(best[0]):
                best, best_shift = result, shift
    pairs, missing, extra = best
    position = {g + best_shift: k for k, g in enumerate(grid)}
    by_expected = dict(pairs)
    wants = sorted(by_expected)
    # a click whose attack is missing (its stream started late or was stopped early):
    # its peak in the first 10 ms is below 80% of the sound's own
    peaks = {kind: float(np.max(np.abs(load_sound(kind, rate)))) for kind in KINDS}
    cut = sum(1 for want in wants
              if np.max(np.abs(audio[by_expected[want]:by_expected[want] + rate // 100]))
              < 0.8 * peaks[schedule[position[want]].kind])
    deviations = []
    for a, b in zip(wants, wants[1:], strict=False):
        if position[b] - position[a] != 1:  # consecutive beats only: a lost click breaks it
            continue
        deviations.append(abs((by_expected[b] - by_expected[a]) - (b - a)) / rate * 1000)
    if len(wants) >= 2:
        first, last = wants[0], wants[-1]
        drift = ((by_expected[last] - by_expected[first]) - (last - first)) / rate * 1000
    else:
        drift = float("nan")
    return LiveFigures(
        expected=len(schedule), heard=len(heard), lost=len(missing), extra=len(extra), cut=cut,
        max_dev_ms=max(deviations) if deviations else float("nan"),
        mean_dev_ms=float(np.mean(deviations)) if deviations else float("nan"),
        over_1ms=sum(1 for d in deviations if d > 1.0),
        drift_ms=drift, cpu_percent=cpu_percent)


def play_coach(card: VirtualCard, seconds: float, folder: Path,
               audio: AudioSettings) -> LiveFigures:
    from coach.audio.engine import Speaker
    from coach.workout.metronome import Metronome

    tempo, reps, schedule = schedule_for(seconds)
    path = folder / f"coach-{int(seconds)}.wav"
    with Speaker(audio) as speaker:
        metronome = Metronome(speaker, voice=None, lead_in=LEAD_IN)
        with card.record(path) as recording:
            cpu0, wall0 = cpu_seconds(), time.monotonic()
            metronome.play_set(tempo, reps)
            cpu = (cpu_seconds() - cpu0) / (time.monotonic() - wall0) * 100
            metronome.wait_tail()
            speaker.wait_until(speaker.now() + speaker.samples(speaker.output_latency + 0.5))
            recording.stop()
        underflows = getattr(speaker, "_status_errors", None)  # the callback's count
    figures = analyse(path, schedule, cpu)
    figures.underflows = underflows
    return figures


def play_naive(card: VirtualCard, seconds: float, folder: Path) -> LiveFigures:
    """time.sleep to each beat, then one sounddevice.play per click."""
    import sounddevice as sd

    _, _, schedule = schedule_for(seconds)
    sounds = {kind: load_sound(kind, RATE).copy() for kind in KINDS}
    path = folder / f"naive-{int(seconds)}.wav"
    with card.record(path) as recording:
        cpu0, wall0 = cpu_seconds(), time.monotonic()
        start = time.monotonic() + LEAD_IN
        for beat in schedule:
            delay = start + beat.t - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            sd.play(sounds[beat.kind], RATE)
        time.sleep(0.3)
        cpu = (cpu_seconds() - cpu0) / (time.monotonic() - wall0) * 100
        sd.wait()
        time.sleep(0.5)
        recording.stop()
    return analyse(path, schedule, cpu)


def written_file(seconds: float) -> tuple[int, int, int, int]:
    """(max |onset - scheduled| in samples, clicks, missing, extra) for a rendered track."""
    from coach.audio.engine import OfflineSpeaker
    from coach.workout.metronome import Metronome

    tempo, reps, schedule = schedule_for(seconds)
    speaker = OfflineSpeaker(RATE)
    Metronome(speaker, voice=None, lead_in=LEAD_IN).play_set(tempo, reps)
    audio = speaker.render()
    lead = round(LEAD_IN * RATE)
    expected = [lead + round(b.t * RATE) for b in schedule]
    pairs, missing, extra = match_onsets(detect(audio), expected, tolerance=RATE // 10)
    worst = max((abs(d - w) for w, d in pairs), default=-1)
    return worst, len(expected), len(missing), len(extra)


def fmt(value: float, digits: int = 2) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) \
        else f"{value:.{digits}f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="metronome timing benchmark")
    parser.add_argument("--seconds", type=float, default=60.0, help="live track length (60)")
    parser.add_argument("--drift-minutes", type=float, default=10.0,
                        help="long track for drift, minutes (10; 0 skips)")
    parser.add_argument("--naive-drift", action="store_true",
                        help="also run the naive metronome over the long track")
    parser.add_argument("--quick", action="store_true", help="20 s tracks and 1 min drift")
    parser.add_argument("--card-dir", type=Path, default=Path("/tmp/coach-bench-tempo"))
    parser.add_argument("--latency", default="low",
                        help="the coach's output latency: low, high or seconds (low)")
    parser.add_argument("--keep", type=Path, help="keep the recordings in this folder")
    parser.add_argument("--block", type=int, default=512, help="frames per audio callback")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.drift_minutes = 20.0, 1.0

    latency = args.latency if args.latency in ("low", "high") else float(args.latency)
    audio = AudioSettings(latency=latency, block_frames=args.block)
    card = VirtualCard(args.card_dir).start()
    card.activate()
    rows: list[tuple[str, str, str, str]] = []
    with tempfile.TemporaryDirectory(prefix="bench-tempo-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        log(f"(a) rendering a {args.seconds:g} s track offline")
        worst, count, missing, extra = written_file(args.seconds)
        rows.append((f"(a) file: max |onset - scheduled|, samples ({count} clicks)",
                     f"{worst} (missing {missing}, extra {extra})", "n/a", "<= 1"))
        log(f"(b) coach metronome, {args.seconds:g} s through the virtual card")
        coach = play_coach(card, args.seconds, folder, audio)
        log(f"(b) naive metronome, {args.seconds:g} s through the virtual card")
        naive = play_naive(card, args.seconds, folder)
        label = f"(b) live {args.seconds:g} s"
        rows += [
            (f"{label}: clicks heard / expected", f"{coach.heard} / {coach.expected}",
             f"{naive.heard} / {naive.expected}", "all"),
            (f"{label}: lost clicks", str(coach.lost), str(naive.lost), "0"),
            (f"{label}: clicks cut (attack missing)", str(coach.cut), str(naive.cut), "0"),
            (f"{label}: max interval deviation, ms", fmt(coach.max_dev_ms, 3),
             fmt(naive.max_dev_ms, 3), "<= 1"),
            (f"{label}: mean interval deviation, ms", fmt(coach.mean_dev_ms, 3),
             fmt(naive.mean_dev_ms, 3), ""),
            (f"{label}: intervals off by > 1 ms", str(coach.over_1ms), str(naive.over_1ms),
             "0"),
            (f"{label}: drift over the track, ms", fmt(coach.drift_ms, 3),
             fmt(naive.drift_ms, 3), "~0"),
            (f"{label}: output underflows reported", str(coach.underflows), "n/a", "0"),
            ("(c) CPU while playing, % of one core", fmt(coach.cpu_percent),
             fmt(naive.cpu_percent), "<= 3"),
        ]
        if args.drift_minutes > 0:
            seconds = args.drift_minutes * 60
            log(f"(d) coach metronome, {args.drift_minutes:g} min through the virtual card")
            long_coach = play_coach(card, seconds, folder, audio)
            long_naive = None
            if args.naive_drift:
                log(f"(d) naive metronome, {args.drift_minutes:g} min")
                long_naive = play_naive(card, seconds, folder)
            label = f"(d) live {args.drift_minutes:g} min"

            def naive_cell(value: str) -> str:
                return value if long_naive is not None else "not run"

            rows += [
                (f"{label}: lost clicks of {long_coach.expected}", str(long_coach.lost),
                 naive_cell(str(long_naive.lost) if long_naive else ""), "0"),
                (f"{label}: clicks cut", str(long_coach.cut),
                 naive_cell(str(long_naive.cut) if long_naive else ""), "0"),
                (f"{label}: max interval deviation, ms", fmt(long_coach.max_dev_ms, 3),
                 naive_cell(fmt(long_naive.max_dev_ms, 3) if long_naive else ""), "<= 1"),
                (f"{label}: intervals off by > 1 ms", str(long_coach.over_1ms),
                 naive_cell(str(long_naive.over_1ms) if long_naive else ""), "0"),
                (f"{label}: drift, ms", fmt(long_coach.drift_ms, 3),
                 naive_cell(fmt(long_naive.drift_ms, 3) if long_naive else ""), "~0"),
                (f"{label}: output underflows reported", str(long_coach.underflows),
                 naive_cell("n/a"), "0"),
                (f"{label}: CPU, % of one core", fmt(long_coach.cpu_percent),
                 naive_cell(fmt(long_naive.cpu_percent) if long_naive else ""), "<= 3"),
            ]
    widths = [max(len(row[i]) for row in [*rows, HEADER]) for i in range(4)]
    for row in [HEADER, tuple("-" * w for w in widths), *rows]:
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
    return 0


HEADER = ("measure", "coach (sample clock)", "naive (sleep + sd.play)", "target")


if __name__ == "__main__":
    raise SystemExit(main())
