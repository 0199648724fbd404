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
