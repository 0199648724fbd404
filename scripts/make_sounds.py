#!/usr/bin/env python3
"""Make the coach's short sounds in ``coach/data/sounds/`` (``audio/`` links there):
16-bit mono 44.1 kHz WAV files.

Every sound is synthesised with numpy from a fixed recipe (noise from a seeded
generator), so running this again writes byte-identical files.

    python scripts/make_sounds.py            # (re)write every sound
    python scripts/make_sounds.py --check    # exit 1 if a file is missing or differs

The sounds:

- ``click``      the metronome tick: a short woodblock-like knock, 1 kHz, 45 ms.
- ``accent``     the first click of each phase: the same knock, a fifth-plus higher
                 (1.6 kHz), so it is told apart by pitch, and a little louder.
- ``explosive``  one sharp accent for an explosive (X) phase: a bright noisy crack.
- ``chime_start`` / ``chime_end``  soft bells that open and close a body scan.
- ``breath_in`` / ``breath_out``   gentle rising / falling tones pacing a breath.
- ``listen``     a short rising two-note "I'm listening".
- ``done``       a short falling two-note "got it / finished".

Click, accent and explosive start at full level on their very first sample (a
cosine starts at its peak), so an onset detector finds them to the sample.
"""

from __future__ import annotations

import argparse
import sys
import wave
from pathlib import Path

import numpy as np

RATE = 44_100
ROOT = Path(__file__).resolve().parents[1]
AUDIO = ROOT / "coach" / "data" / "sounds"


def _time(seconds: float) -> np.ndarray:
    return np.arange(int(round(seconds * RATE))) / RATE


def knock(freq: float, seconds: float = 0.045, level: float = 0.6,
          decay: float = 0.010) -> np.ndarray:
    """A woodblock-like knock: a few damped inharmonic modes, starting at their peak."""
    t = _time(seconds)
    modes = ((1.0, 1.0, decay), (2.57, 0.35, decay * 0.6), (4.1, 0.12, decay * 0.4))
    out = np.zeros_like(t)
    for ratio, gain, tau in modes:
        out += gain * np.cos(2 * np.pi * freq * ratio * t) * np.exp(-t / tau)
    out *= _fade_out(len(t), 0.004)
    return level * out / np.max(np.abs(out))


def crack(seconds: float = 0.06, level: float = 0.75) -> np.ndarray:
    """A sharp, bright crack: a high damped tone plus a burst of seeded noise."""
    t = _time(seconds)
    rng = np.random.default_rng(20240604)
    noise = rng.standard_normal(len(t))
    # a crude high-pass (first difference) makes the noise bright
    noise = np.concatenate([[noise[0]], np.diff(noise)]) * np.exp(-t / 0.008)
    tone = np.cos(2 * np.pi * 2400 * t) * np.exp(-t / 0.018)
    out = 0.6 * tone + 0.4 * noise / np.max(np.abs(noise))
    out[0] = 1.0  # full level on the first sample: a crisp, findable onset
    out *= _fade_out(len(t), 0.005)
    return level * out / np.max(np.abs(out))


def bell(freqs: tuple[float, ...], seconds: float = 1.6, level: float = 0.35,
         decay: float = 0.45) -> np.ndarray:
    """A soft bell: partials with a gentle attack and a long exponential decay."""
    t = _time(seconds)
    out = np.zeros_like(t)
    for index, freq in enumerate(freqs):
        gain = 1.0 / (1 + index)
        for ratio, partial_gain, tau in ((1.0, 1.0, decay), (2.76, 0.25, decay * 0.4),
                                         (5.4, 0.08, decay * 0.2)):
            out += gain * partial_gain * np.sin(2 * np.pi * freq * ratio * t) * np.exp(-t / tau)
    out *= _fade_in(len(t), 0.008) * _fade_out(len(t), 0.2)
    return level * out / np.max(np.abs(out))


def glide(start_hz: float, end_hz: float, seconds: float = 0.6, level: float = 0.25) -> np.ndarray:
    """A soft tone gliding in pitch under a Hann envelope (a breath)."""
    t = _time(seconds)
    freq = np.geomspace(start_hz, end_hz, len(t))
    phase = 2 * np.pi * np.cumsum(freq) / RATE
    out = np.sin(phase) + 0.15 * np.sin(2 * phase)
    out *= np.hanning(len(t))
    return level * out / np.max(np.abs(out))


def two_notes(first_hz: float, second_hz: float, note: float = 0.09, gap: float = 0.03,
              level: float = 0.35) -> np.ndarray:
    """Two short soft notes: rising for "listening", falling for "done"."""
    def tone(freq: float) -> np.ndarray:
        t = _time(note)
        body = np.sin(2 * np.pi * freq * t) + 0.2 * np.sin(4 * np.pi * freq * t)
        return body * _fade_in(len(t), 0.006) * _fade_out(len(t), 0.04)

    out = np.concatenate([tone(first_hz), np.zeros(int(gap * RATE)), tone(second_hz)])
    return level * out / np.max(np.abs(out))


def _fade_in(count: int, seconds: float) -> np.ndarray:
    ramp = np.ones(count)
    n = min(count, int(seconds * RATE))
    ramp[:n] = np.linspace(0.0, 1.0, n, endpoint=False)
    return ramp


def _fade_out(count: int, seconds: float) -> np.ndarray:
    return _fade_in(count, seconds)[::-1]


SOUNDS = {
    "click": lambda: knock(1000.0, level=0.55),
    "accent": lambda: knock(1600.0, level=0.7),
    "explosive": crack,
    "chime_start": lambda: bell((660.0, 990.0)),
    "chime_end": lambda: bell((440.0, 660.0), seconds=1.9, decay=0.55),
    "breath_in": lambda: glide(300.0, 420.0),
    "breath_out": lambda: glide(420.0, 300.0),
    "listen": lambda: two_notes(660.0, 880.0),
    "done": lambda: two_notes(880.0, 587.0),
}


def pcm16(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1.0, 1.0) * 32767.0).round().astype("<i2").tobytes()


def write(path: Path, samples: np.ndarray) -> None:
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(RATE)
        handle.writeframes(pcm16(samples))


def frames_of(path: Path) -> bytes | None:
    if not path.exists():
        return None
    with wave.open(str(path), "rb") as handle:
        return handle.readframes(handle.getnframes())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="only check that coach/data/sounds/ holds exactly these sounds")
    parser.add_argument("--out", type=Path, default=AUDIO,
                        help="folder (default: coach/data/sounds/)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    stale = []
    for name, make in SOUNDS.items():
        path = args.out / f"{name}.wav"
        samples = make()
        if args.check:
            if frames_of(path) != pcm16(samples):
                stale.append(name)
            continue
        write(path, samples)
        print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}\t"
              f"{len(samples) / RATE:.3f} s", file=sys.stderr)
    if stale:
        print(f"missing or different: {', '.join(stale)} (run python scripts/make_sounds.py)",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
