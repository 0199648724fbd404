#!/usr/bin/env python3
"""Benchmark: time from `say` to the first audible sample on the virtual sound card.

The speaker stream is already running (as in a session); for each phrase we note
the time, render (or fetch from the cache) and schedule the speech, and a second
PortAudio stream records ``coach_out.monitor`` and notes when the first sample above
the noise floor arrives. The figure includes the capture path's own latency, so it
over-states the true delay slightly.

    .venv/bin/python scripts/bench_audio.py [--phrases 20]

Rows: uncached (first time a phrase is said: espeak-ng renders it), disk cache (a new
Voice, as after a restart), memory cache (a repeat within a run).
"""

from __future__ import annotations

import argparse
import os
import queue
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

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


class MonitorProbe:
    """Records the speaker monitor and reports when sound first crosses a threshold."""

    def __init__(self, threshold: float = 0.02) -> None:
        import sounddevice as sd

        self.threshold = threshold
        self.hits: queue.Queue[float] = queue.Queue()
        self.armed = threading.Event()
        os.environ["PULSE_SOURCE"] = SPEAKER_MONITOR
        self.stream = sd.InputStream(samplerate=44_100, channels=1, dtype="float32",
                                     blocksize=128, latency="low", callback=self._callback)
        self.stream.start()

    def _callback(self, indata, frames, time_info, status) -> None:
        now = time.perf_counter()
        if not self.armed.is_set():
            return
        loud = np.nonzero(np.abs(indata[:, 0]) > self.threshold)[0]
        if len(loud):
            # time at which that sample was captured: the block ends "now"
            self.hits.put(now - (frames - loud[0]) / 44_100)
            self.armed.clear()

    def measure(self, speaker: Speaker, render) -> float:
        """Milliseconds from calling ``render`` + ``play`` to the first audible sample."""
        while not self.hits.empty():
            self.hits.get_nowait()
        self.armed.set()
        start = time.perf_counter()
        sound = speaker.play(render())
        hit = self.hits.get(timeout=10)
        speaker.wait(sound)  # the next phrase starts in silence
        speaker.wait_until(speaker.now() + speaker.samples(0.3))
        return (hit - start) * 1000

    def close(self) -> None:
        self.stream.stop()
        self.stream.close()


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phrases", type=int, default=20)
    options = parser.parse_args()
    if not os.environ.get("PULSE_SERVER"):
        VirtualCard(Path(str(default_dir()) + "-bench")).start().activate()
    os.environ["PULSE_SINK"] = "coach_out"
    phrases = PHRASES[: options.phrases]
    cache = Path(tempfile.mkdtemp(prefix="coach-bench-cache-"))
    settings = AudioSettings()
    rows: dict[str, list[float]] = {"uncached": [], "disk cache": [], "memory cache": []}
    speaker = Speaker(settings).start()
    probe = MonitorProbe()
    speaker.wait_until(speaker.samples(1.0))  # both streams running, as mid-session
    try:
        voice = Voice(SpeechSettings(), settings.output_rate, cache)
        voice.warm_up()  # a session starts the speech engine once, before its first line
        for text in phrases:
            rows["uncached"].append(probe.measure(speaker, lambda t=text: voice.render(t)))
        restarted = Voice(SpeechSettings(), settings.output_rate, cache)
        for text in phrases:
            rows["disk cache"].append(probe.measure(speaker, lambda t=text: restarted.render(t)))
        for text in phrases:
            rows["memory cache"].append(
                probe.measure(speaker, lambda t=text: restarted.render(t)))
        latency = speaker.output_latency * 1000
    finally:
        probe.close()
        speaker.close()
    print(f"say -> first audible sample on the virtual card, {len(phrases)} phrases "
          f"(PortAudio output latency {latency:.1f} ms, block {settings.block_frames} frames)")
    print(f"| {'case':14s} | {'median ms':>9s} | {'p95 ms':>7s} | {'max ms':>7s} | target |")
    print(f"|{'-' * 16}|{'-' * 11}|{'-' * 9}|{'-' * 9}|--------|")
    targets = {"uncached": "≤ 200", "disk cache": "≤ 50", "memory cache": "≤ 50"}
    for name, values in rows.items():
        print(f"| {name:14s} | {statistics.median(values):9.1f} | {percentile(values, 95):7.1f} "
              f"| {max(values):7.1f} | {targets[name]:6s} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
