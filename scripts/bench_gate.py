#!/usr/bin/env python3
"""The voice gate (Silero VAD, ``coach.hearing.vad``) on speech and on sounds that are not.

    .venv/bin/python scripts/bench_gate.py [--per-speaker 100] [--seeds 100]
                                           [--stall whisper,pocketsphinx]

Prints which clips open the gate (``speech_span`` finds speech): generated clanks,
coughs, music and steady tones (``coach.hearing.synth``), quiet and hiss, espeak-ng
answers and other sentences, and FSDD recordings per speaker (``../shared/data``, 8 kHz;
skipped when absent). Then the gate's CPU cost per second of microphone audio, in the
20 ms blocks a microphone delivers.

``--stall``: how long another Python thread (the speaker's audio callback needs the
interpreter every 11.6 ms) waits while each engine decodes answers back to back: a
thread that sleeps 2 ms in a loop records its longest gap. A decoder that holds the
interpreter lock makes the metronome's callback late.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from coach.hearing import synth, to_int16_16k  # noqa: E402
from coach.hearing.vad import VoiceGate, silero, speech_span  # noqa: E402
from coach.settings import INPUT_RATE as RATE  # noqa: E402

FSDD = ROOT.parent / "shared" / "data" / "fsdd" / "recordings"
WORDS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "yes",
         "no", "up", "stop", "pause", "done", "twelve", "felt it", "back", "legs", "oh",
         "zero", "twenty one reps", "not really", "lower back")


def tone(freq: float, seconds: float, harmonics: int) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    wave = sum(np.sin(2 * np.pi * freq * k * t) / k for k in range(1, harmonics + 1))
    return synth.pad((wave / np.max(np.abs(wave)) * 0.5 * 32767).astype(np.int16))


def clip_sets(seeds: int, per_speaker: int) -> dict[str, list[np.ndarray]]:
    from coach.audio.wavio import read_wav

    rng = np.random.default_rng(0)
    sets = {
        f"clank ({seeds} seeds)": [synth.clank(np.random.default_rng(k)) for k in range(seeds)],
        f"cough ({seeds} seeds)": [synth.cough(np.random.default_rng(k)) for k in range(seeds)],
        f"music ({seeds} seeds)": [synth.music(np.random.default_rng(k)) for k in range(seeds)],
        "steady tones 110-440 Hz, 1/3/6 harmonics": [
            tone(f, 2.0, h) for f in (110, 147, 196, 262, 330, 440) for h in (1, 3, 6)],
        "quiet and hiss": [synth.silence(np.random.default_rng(k)) for k in range(20)] + [
            np.random.default_rng(k).normal(0, 4000, 2 * RATE).astype(np.int16)
            for k in range(20)],
        f"espeak-ng answers ({len(WORDS)} x {len(synth.VOICES)} voices)": [
            synth.pad(synth.speak(w, v, int(rng.choice([130, 170, 220]))))
            for w in WORDS for v in synth.VOICES],
        f"other speech ({len(synth.OTHER_SPEECH)} x 2 voices)": [
            synth.pad(synth.speak(s, v, 160)) for s in synth.OTHER_SPEECH
            for v in synth.VOICES[:2]],
    }
    if FSDD.is_dir():
        files = sorted(FSDD.glob("*.wav"))
        for speaker in ("jackson", "nicolas", "george", "lucas"):
            mine = [f for f in files if f"_{speaker}_" in f.name]
            chosen = rng.choice(mine, min(per_speaker, len(mine)), replace=False)
            sets[f"FSDD {speaker} ({len(chosen)})"] = [to_int16_16k(*read_wav(f))
                                                       for f in chosen]
    else:
        print(f"FSDD not found in {FSDD}: skipped", file=sys.stderr)
    return sets


def gate_cpu(seconds: float = 30.0) -> float:
    """CPU milliseconds per second of quiet microphone audio fed in 20 ms blocks."""
    silero()
    audio = np.random.default_rng(0).normal(0, 30, int(seconds * RATE)).astype(np.int16)
    gate = VoiceGate()
    started = time.process_time()
    for offset in range(0, len(audio), 320):
        gate.feed(audio[offset:offset + 320])
    return (time.process_time() - started) / seconds * 1000


def stalls(engine: str, seconds: float = 5.0) -> tuple[float, float, float, int]:
    """(longest gap, 99th percentile gap, idle longest gap) in ms, decodes done."""
    import threading

    from coach.hearing import open_recognizer

    recognizer = open_recognizer(engine)
    audio = synth.pad(synth.speak("twenty one reps", "en-us", 150), 0.3, 0.3)
    gaps: list[float] = []
    done = threading.Event()

    def tick() -> None:
        last = time.perf_counter()
        while not done.is_set():
            time.sleep(0.002)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    ticker = threading.Thread(target=tick)
    ticker.start()
    time.sleep(0.5)
    idle = max(gaps)
    gaps.clear()
    started, count = time.perf_counter(), 0
    while time.perf_counter() - started < seconds:
        recognizer.decode(audio, "reps")
        count += 1
    done.set()
    ticker.join()
    return max(gaps) * 1000, float(np.percentile(gaps, 99)) * 1000, idle * 1000, count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=100)
    parser.add_argument("--per-speaker", type=int, default=100)
    parser.add_argument("--stall", default="", help="engines to measure (comma-separated)")
    options = parser.parse_args()
    if options.stall:
        print("| engine | decodes in 5 s | longest stall | 99th percentile | idle longest |")
        print("| --- | ---: | ---: | ---: | ---: |")
        for engine in options.stall.split(","):
            longest, p99, idle, count = stalls(engine.strip())
            print(f"| {engine} | {count} | {longest:.1f} ms | {p99:.1f} ms | {idle:.1f} ms |")
        return 0
    print("| clips | opened the gate |")
    print("| --- | ---: |")
    for name, clips in clip_sets(options.seeds, options.per_speaker).items():
        opened = sum(speech_span(clip) is not None for clip in clips)
        print(f"| {name} | {opened}/{len(clips)} ({opened / len(clips) * 100:.1f}%) |")
    cost = gate_cpu()
    print(f"\ngate while waiting: {cost:.1f} ms of CPU per second of audio "
          f"({cost / 10:.2f}% of one core)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
