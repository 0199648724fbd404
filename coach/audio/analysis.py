"""Measuring audio: levels, where sound starts and stops, onsets.

Used by tests and benchmarks to check what really came out of the speaker.
"""

from __future__ import annotations

import numpy as np


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if len(samples) else 0.0


def frame_levels(samples: np.ndarray, rate: int, frame_seconds: float = 0.01) -> np.ndarray:
    """RMS per frame of ``frame_seconds``."""
    size = max(1, int(rate * frame_seconds))
    count = len(samples) // size
    frames = samples[: count * size].reshape(count, size).astype(np.float64)
    return np.sqrt(np.mean(frames * frames, axis=1))


def active_span(samples: np.ndarray, rate: int, threshold: float = 0.01,
                frame_seconds: float = 0.01) -> tuple[float, float] | None:
    """(first, last) second at which the frame level exceeds ``threshold``, or None."""
    levels = frame_levels(samples, rate, frame_seconds)
    loud = np.nonzero(levels > threshold)[0]
    if len(loud) == 0:
        return None
    return float(loud[0] * frame_seconds), float((loud[-1] + 1) * frame_seconds)


def first_sample_above(samples: np.ndarray, threshold: float = 0.01, start: int = 0) -> int | None:
    """Index of the first sample whose magnitude exceeds ``threshold`` at or after ``start``."""
    hits = np.nonzero(np.abs(samples[start:]) > threshold)[0]
    return None if len(hits) == 0 else int(hits[0]) + start


def onsets(samples: np.ndarray, threshold: float = 0.05, min_gap: int = 2000) -> list[int]:
    """Sample indices where the signal rises above ``threshold`` after at least ``min_gap``
    quiet samples: the start of each click or word."""
    loud = np.nonzero(np.abs(samples) > threshold)[0]
    if len(loud) == 0:
        return []
    starts = [int(loud[0])]
    gaps = np.nonzero(np.diff(loud) > min_gap)[0]
    starts.extend(int(loud[i + 1]) for i in gaps)
    return starts


def dominant_frequency(samples: np.ndarray, rate: int, low: float = 50.0,
                       high: float | None = None) -> float:
    """The strongest frequency (Hz) in ``samples`` between ``low`` and ``high`` (Hann window,
    zero-padded FFT); 0.0 for silence. Tells an accent click from a plain one by pitch."""
    if len(samples) == 0 or not np.any(samples):
        return 0.0
    size = 1 << max(12, int(np.ceil(np.log2(len(samples)))))
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples)), n=size))
    freqs = np.fft.rfftfreq(size, 1.0 / rate)
    band = (freqs >= low) & (freqs <= (high or rate / 2))
    if not np.any(band):
        return 0.0
    return float(freqs[band][np.argmax(spectrum[band])])


def match_onsets(detected: list[int], expected: list[int],
                 tolerance: int) -> tuple[list[tuple[int, int]], list[int], list[int]]:
    """Pair each expected sample position with the nearest detected onset within
    ``tolerance`` samples. Returns (pairs of (expected, detected), expected ones missing,
    detected ones left over)."""
    found = sorted(detected)
    used: set[int] = set()
    pairs: list[tuple[int, int]] = []
    missing: list[int] = []
    for want in sorted(expected):
        index = int(np.searchsorted(found, want))
        best = None
        for candidate in (index - 1, index):
            if 0 <= candidate < len(found) and candidate not in used \
                    and abs(found[candidate] - want) <= tolerance \
                    and (best is None or abs(found[candidate] - want) < abs(found[best] - want)):
                best = candidate
        if best is None:
            missing.append(want)
        else:
            used.add(best)
            pairs.append((want, found[best]))
    extra = [value for i, value in enumerate(found) if i not in used]
    return pairs, missing, extra


def tonal_frames(samples: np.ndarray, rate: int, freq: float, width: float = 60.0,
                 share: float = 0.8, frame_seconds: float = 0.02,
                 floor: float = 0.01) -> int:
    """How many frames are dominated by a tone near ``freq`` Hz (at least ``share`` of the
    frame's energy within ``width`` Hz of it): metronome clicks, not speech."""
    size = int(rate * frame_seconds)
    count = len(samples) // size
    if count == 0:
        return 0
    frames = samples[: count * size].reshape(count, size).astype(np.float64)
    loud = np.sqrt(np.mean(frames * frames, axis=1)) > floor
    spectra = np.abs(np.fft.rfft(frames[loud] * np.hanning(size), axis=1)) ** 2
    bins = np.fft.rfftfreq(size, 1.0 / rate)
    band = np.abs(bins - freq) <= width
    ratio = spectra[:, band].sum(axis=1) / np.maximum(spectra.sum(axis=1), 1e-12)
    return int(np.sum(ratio >= share))
