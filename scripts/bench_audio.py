#!/usr/bin/env python3
"""Benchmark: the coach's speech out, espeak-ng beside Piper, on the virtual sound card.

    .venv/bin/python scripts/bench_audio.py [--phrases 20] [--voices espeak:en-us,piper:...]
        [--no-session] [--no-scan] [--scan-minutes 30]

Tables, one row per voice:

1. ``say`` to the first audible sample. The speaker stream is already running (as in a
   session); for each phrase we note the time, render (or take from a cache) and
   schedule the speech, and a second PortAudio stream records ``coach_out.monitor`` and
   notes when the first sample above the noise floor was captured: PortAudio's time for
   the block (taken on its audio thread before our callback runs), less the samples
   before the first loud one. The probe lives in the coach's process, so its callback
   can wait for the interpreter lock while the renderer works; stamping blocks when that
   callback ran (as this benchmark did before) counted that wait as the coach's, and is
   still shown as a column. The capture path's own delay is included, so the figure
   over-states the true delay slightly. A line's first loud sample is not its first
   sample: a soft consonant takes a few milliseconds to pass the probe's threshold
   (Piper's lines ~11 ms median, espeak-ng's ~5 ms); the last column subtracts each line's
   own onset (where its rendered samples first pass the threshold), which gives the
   delay to the line's first sample. Cases: not prepared (the engine renders
   the line when it is due), prepared (rendered ahead by the background renderer while
   something else played), disk cache (a new process).
2. Rendering: real-time factor (seconds of rendering per second of speech, cold, on this
   machine's cores), model load, and peak memory (VmHWM of a child process that loads the
   voice and renders the phrases).
3. A whole recorded session: a short plan run live on the virtual card with scripted
   answers and an empty speech cache, the background renderer working ahead. The set-up
   is `coach session`'s (``coach.workout.run``): the voice is created and its opening line
   handed to the renderer before the recognizer and the speaker open, and the session
   starts once that line is rendered (the voice's model load is part of the set-up, not
   done before it); with ``--prepare``, every line of the plan is rendered first. Each
   line is due when the session calls ``say``; it starts when its first sample is heard
   on the monitor. Lines more than 100 ms late are counted (the floor, speaker buffer plus
   capture, is ~40 ms).
4. ``coach scan --minutes 30 --out F.wav`` with a cold speech cache (wall time).

Raspberry Pi 4 estimate: the published real-time factor of a medium Piper voice on a
Pi 4 is 0.36-0.77; each time here that is rendering is scaled by (Pi RTF / RTF here).
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from coach.audio.engine import Speaker  # noqa: E402
from coach.audio.speech import Voice  # noqa: E402
from coach.audio.virtual_card import SPEAKER_MONITOR, VirtualCard, default_dir  # noqa: E402
from coach.settings import AudioSettings, SpeechSettings  # noqa: E402

PHRASES = [
    "Set one of three. Biceps curl.", "Ready?", "How many reps?", "Did you feel it?",
    "Squeeze at the top.", "Slow the lowering.", "Rest forty five seconds.",
    "Ten seconds left.", "Up two and a half kilos.", "Next exercise: Romanian deadlift.",
    "Feel the glutes drive the hips forward.", "Keep the shoulders down.",
    "Push the floor away.", "Breathe in slowly.", "Good set.", "Last set.",
    "Tap the muscle you want to feel.", "Lower for four seconds.", "Hold.",
    "Well done, that is the session.",
]
VOICES = "espeak:en-us,piper:en_US-joe-medium"
PI4_RTF = (0.36, 0.77)
LATE_MS = 100.0

SESSION_PLAN = """
name = "Bench"
unit = "kg"

[[exercise]]
id = "biceps_curl"
sets = 2
reps = [8, 12]
load = 10
tempo = "1-0-1-0"
rest = 10

[[exercise]]
id = "squat"
sets = 2
reps = [8, 12]
load = 16
tempo = "1-0-1-0"
rest = 10
"""
ANSWERS = ["10", "yes", "12", "no", "9", "in my lower back", "12", "yes"]


class MonitorProbe:
    """Records the speaker monitor; every block stamped with the wall clock on arrival."""

    def __init__(self, threshold: float = 0.02) -> None:
        import sounddevice as sd

        self.threshold = threshold
        self.hits: queue.Queue[tuple[float, float]] = queue.Queue()
        self.armed = threading.Event()
        self.onsets: list[float] = []
        self.late_stamps: list[float] = []
        """Per measure(): the delay by the callback's own clock, as measured before."""
        self.to_first_sample: list[float] = []
        """Per measure(): the delay less the line's own quiet onset, in ms."""
        self._quiet_since = 0.0
        os.environ["PULSE_SOURCE"] = SPEAKER_MONITOR
        self.stream = sd.InputStream(samplerate=44_100, channels=1, dtype="float32",
                                     blocksize=128, latency="low", callback=self._callback)
        self.stream.start()

    def _callback(self, indata, frames, time_info, status) -> None:
        now = time.time()
        # PortAudio's clock for this block (the wall clock, read on its audio thread before
        # this callback waited for the interpreter lock): the end of the block's capture
        captured = time_info.currentTime if time_info.currentTime > 1e9 else now
        loud = np.nonzero(np.abs(indata[:, 0]) > self.threshold)[0]
        if len(loud):
            stamp = captured - (frames - loud[0]) / 44_100
            self.onsets.append(stamp)
            if self.armed.is_set():
                self.hits.put((stamp, now - (frames - loud[0]) / 44_100))
                self.armed.clear()

    def measure(self, speaker: Speaker, render) -> float:
        """Milliseconds from calling ``render`` + ``play`` to the first audible sample."""
        while not self.hits.empty():
            self.hits.get_nowait()
        self.armed.set()
        start = time.time()
        samples = render()
        sound = speaker.play(samples)
        hit, arrived = self.hits.get(timeout=30)
        speaker.wait(sound)  # the next phrase starts in silence
        speaker.wait_until(speaker.now() + speaker.samples(0.3))
        onset = int(np.argmax(np.abs(samples) > self.threshold)) / speaker.rate
        self.late_stamps.append((arrived - start) * 1000)
        self.to_first_sample.append((hit - onset - start) * 1000)
        return (hit - start) * 1000

    def first_after(self, moment: float) -> float | None:
        return next((t for t in self.onsets if t >= moment), None)

    def close(self) -> None:
        self.stream.stop()
        self.stream.close()


def latency_rows(spec: str, phrases: list[str], speaker: Speaker, probe: MonitorProbe
                 ) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Per case, ms to the first loud sample as captured; the same as the probe's callback
    saw it; and to the line's first sample (less its own onset)."""
    first = len(probe.late_stamps)
    cache = Path(tempfile.mkdtemp(prefix="coach-bench-cache-"))
    rate = speaker.rate
    rows: dict[str, list[float]] = {"not prepared": [], "prepared": [], "disk cache": []}
    voice = Voice(SpeechSettings(voice=spec), rate, cache)
    voice.warm_up()  # a session loads the voice once, before its first line
    for text in phrases:
        rows["not prepared"].append(probe.measure(speaker, lambda t=text: voice.render(t)))
    ahead = Voice(SpeechSettings(voice=spec, rate=171), rate, cache)  # other lines: a new key
    ahead.warm_up()
    for number, text in enumerate(phrases):
        if number == 0:
            ahead.prepare([text])
            ahead.wait_prepared()
        if number + 1 < len(phrases):
            ahead.prepare([phrases[number + 1]])  # the next line, while this one plays
        rows["prepared"].append(probe.measure(speaker, lambda t=text: ahead.render(t)))
    ahead.close()
    restarted = Voice(SpeechSettings(voice=spec), rate, cache)
    for text in phrases:
        rows["disk cache"].append(probe.measure(speaker, lambda t=text: restarted.render(t)))
    arrived, starts, offset = {}, {}, first
    for case, values in rows.items():
        arrived[case] = probe.late_stamps[offset:offset + len(values)]
        starts[case] = probe.to_first_sample[offset:offset + len(values)]
        offset += len(values)
    return rows, arrived, starts


def memory_child(spec: str) -> None:
    """Child process: load the voice, render the phrases cold; print a JSON line."""
    started = time.perf_counter()
    voice = Voice(SpeechSettings(voice=spec), 44_100, None)
    voice.warm_up()
    loaded = time.perf_counter() - started
    render = audio = 0.0
    for text in PHRASES:
        began = time.perf_counter()
        samples = voice.render(text)
        render += time.perf_counter() - began
        audio += len(samples) / 44_100
    status = Path("/proc/self/status").read_text()
    peak = next(int(line.split()[1]) for line in status.splitlines()
                if line.startswith("VmHWM:"))
    print(json.dumps({"voice": voice.voice_id, "load_s": loaded, "render_s": render,
                      "audio_s": audio, "rtf": render / audio, "peak_mb": peak / 1024}))


def render_row(spec: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--memory-child", spec],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def session_row(spec: str, prepare: bool) -> dict:
    """A short plan live on the virtual card from an empty speech cache (with ``prepare``:
    warmed first, as ``--prepare`` does); lines late against `say`."""
    from dataclasses import replace

    from coach.dialogue.sources import ScriptSource, recognizer_factory
    from coach.settings import HearingSettings, Paths, Settings
    from coach.store import Store
    from coach.workout.lines import opening_line
    from coach.workout.loop import Session
    from coach.workout.state import SessionSettings

    folder = Path(tempfile.mkdtemp(prefix="coach-bench-session-"))
    plan_file = folder / "bench.toml"
    plan_file.write_text(SESSION_PLAN)
    answers = folder / "answers.txt"
    answers.write_text("\n".join(ANSWERS) + "\n")
    settings = Settings(audio=AudioSettings(), speech=SpeechSettings(voice=spec),
                        paths=Paths(data_dir=folder / "data"))
    options = SessionSettings(rest_scale=1.0, max_reps=2, ready_seconds=0.3, warmup=True,
                              seed=1, summary=False)
    from coach.core.library import builtin_library
    from coach.core.plans import load_plan

    library = builtin_library()
    plan = load_plan(str(plan_file), library, folder / "plans")
    due: list[tuple[float, str]] = []
    with Store(settings.paths.database) as store:
        began = time.perf_counter()  # as coach.workout.run.run_session sets a session up
        voice = Voice(settings.speech, settings.audio.output_rate, settings.paths.speech_cache)
        opening = opening_line(plan)
        voice.prepare([opening])
        source = ScriptSource(answers, recognizer_factory(
            replace(settings, hearing=HearingSettings(engine="pocketsphinx"))))
        speaker = Speaker(settings.audio).start()
        probe = MonitorProbe()
        speaker.wait_until(speaker.now() + speaker.samples(0.5))
        try:
            session = Session(plan=plan, library=library, store=store, speaker=speaker,
                              voice=voice, source=source, settings=options,
                              rng=random.Random(1))
            said = session.say

            def timed_say(text: str, instruction: bool = False) -> None:
                if text:
                    due.append((time.time(), text))
                said(text, instruction)

            session.say = timed_say
            if prepare:
                voice.warm(session.lines_of_plan())
            else:
                voice.warm([opening])
            setup = time.perf_counter() - began
            started = time.perf_counter()
            session.run()
            seconds = time.perf_counter() - started
            speaker.wait_until(speaker.now() + speaker.samples(0.5))
        finally:
            probe.close()
            speaker.close()
            source.close()
            voice.close()
    late = []
    for moment, text in due:
        onset = probe.first_after(moment)
        late.append(((onset - moment) * 1000 if onset is not None else float("inf"), text))
    delays = [d for d, _ in late]
    worst = max(late)
    for delay, text in late:
        if delay > LATE_MS:
            print(f"{spec}{' --prepare' if prepare else ''}: {delay:.0f} ms late: {text!r}",
                  file=sys.stderr)
    return {"lines": len(late), "late": sum(d > LATE_MS for d in delays),
            "median": statistics.median(delays), "p95": float(np.percentile(delays, 95)),
            "max": worst[0], "worst": worst[1], "seconds": seconds, "setup": setup}


def scan_row(spec: str, minutes: int) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="coach-bench-scan-"))
    env = dict(os.environ, COACH_CACHE_DIR=str(folder / "cache"))
    out = folder / "scan.wav"
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "coach", "--data-dir", str(folder / "data"),
                             "--voice", spec, "scan", "--minutes", str(minutes), "--out",
                             str(out)], capture_output=True, text=True, env=env, cwd=ROOT)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(result.stderr)
    record = json.loads(result.stdout)
    return {"seconds": seconds, "out_seconds": record["out_seconds"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phrases", type=int, default=20)
    parser.add_argument("--voices", default=VOICES, help="comma-separated --voice values")
    parser.add_argument("--no-session", action="store_true")
    parser.add_argument("--no-scan", action="store_true")
    parser.add_argument("--scan-minutes", type=int, default=30)
    parser.add_argument("--memory-child", default=None, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.memory_child:
        memory_child(options.memory_child)
        return 0
    if not os.environ.get("PULSE_SERVER"):
        VirtualCard(Path(str(default_dir()) + "-bench")).start().activate()
    os.environ["PULSE_SINK"] = "coach_out"
    specs = options.voices.split(",")
    phrases = PHRASES[: options.phrases]
    settings = AudioSettings()

    latency: dict[str, dict[str, list[float]]] = {}
    arrival: dict[str, dict[str, list[float]]] = {}
    first_sample: dict[str, dict[str, list[float]]] = {}
    speaker = Speaker(settings).start()
    probe = MonitorProbe()
    speaker.wait_until(speaker.samples(1.0))  # both streams running, as mid-session
    try:
        for spec in specs:
            latency[spec], arrival[spec], first_sample[spec] = latency_rows(spec, phrases,
                                                                            speaker, probe)
        output_latency = speaker.output_latency * 1000
    finally:
        probe.close()
        speaker.close()
    rendering = {spec: render_row(spec) for spec in specs}
    sessions = {} if options.no_session else {
        (spec, prepare): session_row(spec, prepare) for spec in specs for prepare in (False, True)}
    scans = {} if options.no_scan else {spec: scan_row(spec, options.scan_minutes)
                                        for spec in specs}

    print(f"say -> first audible sample on the virtual card, {len(phrases)} phrases "
          f"(PortAudio output latency {output_latency:.1f} ms, block "
          f"{settings.block_frames} frames)")
    print("| voice | case | median ms | p95 ms | max ms | target | p95 ms, callback's clock "
          "| to the line's first sample: median / p95 / max ms |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    targets = {"not prepared": "", "prepared": "≤ 50", "disk cache": "≤ 50"}
    for spec, rows in latency.items():
        for name, values in rows.items():
            print(f"| {spec} | {name} | {statistics.median(values):.1f} | "
                  f"{np.percentile(values, 95):.1f} | {max(values):.1f} | {targets[name]} | "
                  f"{np.percentile(arrival[spec][name], 95):.1f} | "
                  f"{statistics.median(first_sample[spec][name]):.1f} / "
                  f"{np.percentile(first_sample[spec][name], 95):.1f} / "
                  f"{max(first_sample[spec][name]):.1f} |")
    print()
    print(f"rendering {len(PHRASES)} phrases cold, one process per voice")
    print("| voice | real-time factor | model load s | peak memory MB |")
    print("|---|---:|---:|---:|")
    for row in rendering.values():
        print(f"| {row['voice']} | {row['rtf']:.3f} | {row['load_s']:.2f} | "
              f"{row['peak_mb']:.0f} |")
    if sessions:
        print()
        print("a recorded session (2 exercises x 2 sets) from an empty speech cache, "
              "say -> first sample heard")
        print(f"| voice | set-up | lines | late > {LATE_MS:.0f} ms | median ms | p95 ms | "
              "max ms (line) | session s |")
        print("|---|---|---:|---:|---:|---:|---|---:|")
        for (spec, prepare), row in sessions.items():
            setup = (f"--prepare {row['setup']:.1f} s" if prepare
                     else f"opening line {row['setup']:.1f} s")
            print(f"| {spec} | {setup} | {row['lines']} | {row['late']} | {row['median']:.1f} | "
                  f"{row['p95']:.1f} | {row['max']:.1f} ({row['worst'][:32]!r}) | "
                  f"{row['seconds']:.0f} |")
    if scans:
        print()
        print(f"`coach scan --minutes {options.scan_minutes} --out F.wav`, cold speech cache")
        print("| voice | wall s | WAV s | target |")
        print("|---|---:|---:|---:|")
        for spec, row in scans.items():
            print(f"| {spec} | {row['seconds']:.1f} | {row['out_seconds']:.1f} | ≤ 60 |")
    piper = [s for s in specs if rendering[s]["voice"].startswith("piper")]
    if piper:
        spec = piper[0]
        here = rendering[spec]["rtf"]
        low, high = (pi / here for pi in PI4_RTF)
        print()
        print(f"Raspberry Pi 4 estimate for {spec}: published RTF {PI4_RTF[0]}-{PI4_RTF[1]} "
              f"vs {here:.3f} here, so rendering is x{low:.1f}-x{high:.1f} slower")
        not_prepared = statistics.median(latency[spec]["not prepared"])
        print("| what | here | Pi 4 (estimate) |")
        print("|---|---:|---:|")
        print(f"| line not prepared, median ms | {not_prepared:.0f} | "
              f"{not_prepared * low:.0f}-{not_prepared * high:.0f} |")
        print(f"| line prepared, median ms | "
              f"{statistics.median(latency[spec]['prepared']):.0f} | same (no rendering) |")
        if scans:
            wall = scans[spec]["seconds"]
            print(f"| {options.scan_minutes}-min scan --out, cold, s | {wall:.0f} | "
                  f"{wall * low:.0f}-{wall * high:.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
