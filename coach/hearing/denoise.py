"""Gentle spectral subtraction for steady noise (fans, air conditioning, hiss). numpy only.

The noise spectrum is the mean power of the quietest fifth of the short-time frames;
each frame keeps ``max(1 - over * noise / power, floor)`` of its power. Steady noise
is lowered, speech is left nearly untouched, and the floor keeps the musical-noise
artefacts small. Measured on espeak-ng answers (docs/notes/hearing.md): +11 points at
white 10 dB, +17 at pink 5 dB, -4 at babble 10 dB, -1 clean with PocketSphinx.
"""

from __future__ import annotations

import numpy as np

WINDOW = 512
HOP = 128


def subtract_noise(audio: np.ndarray, over: float = 1.0, floor: float = 0.2,
                   quiet_share: float = 0.2) -> np.ndarray:
    """int16 mono audio -> the same length with steady noise lowered (int16)."""
    x = np.asarray(audio, dtype=np.float64).reshape(-1)
    if len(x) < 4 * WINDOW:
        return np.asarray(audio, dtype=np.int16)
    window = np.hanning(WINDOW)
    padded = np.pad(x, (WINDOW, WINDOW + HOP))
    frames = np.lib.stride_tricks.sliding_window_view(padded, WINDOW)[::HOP] * window
    spectrum = np.fft.rfft(frames, axis=1)
    power = np.abs(spectrum) ** 2
    energy = power.sum(axis=1)
    quiet = energy <= np.quantile(energy, quiet_share)
    noise = power[quiet].mean(axis=0)
    gain = np.sqrt(np.maximum(1.0 - over * noise / np.maximum(power, 1e-9), floor))
    cleaned = np.fft.irfft(spectrum * gain, WINDOW, axis=1) * window
    out = np.zeros(len(padded))
    norm = np.zeros(len(padded))
    starts = np.arange(len(cleaned)) * HOP
    index = starts[:, None] + np.arange(WINDOW)[None, :]
    np.add.at(out, index, cleaned)
    np.add.at(norm, index, np.broadcast_to(window ** 2, cleaned.shape))
    out = out / np.maximum(norm, 1e-9)
    return np.clip(out[WINDOW:WINDOW + len(x)], -32768, 32767).astype(np.int16)
