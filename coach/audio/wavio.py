"""WAV files in and out, and sample-rate conversion, with numpy only.

Everything inside the coach is float32 mono in -1..1; these helpers convert at
the edges. The resamplers low-pass before they decimate so that 44.1 kHz audio
decoded at 16 kHz does not alias.
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from coach.errors import CoachError


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """Read a PCM WAV (8/16/24/32-bit, any rate, any channel count) as float32 mono."""
    try:
        with wave.open(str(path), "rb") as handle:
            channels = handle.getnchannels()
            width = handle.getsampwidth()
            rate = handle.getframerate()
            raw = handle.readframes(handle.getnframes())
    except FileNotFoundError:
        raise CoachError(f"no such file: {path}", "check the path", exit_code=2) from None
    except OSError as error:
        raise CoachError(f"cannot read {path} ({error.strerror or error})", "give a WAV file",
                         exit_code=2) from None
    except (wave.Error, EOFError) as error:
        raise CoachError(
            f"{path} is not a PCM WAV file ({error})",
            "convert it, e.g. sox in.mp3 -b 16 out.wav",
            exit_code=2,
        ) from None
    if width == 1:
        data = (np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width == 2:
        data = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    elif width == 3:
        bytes3 = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3)
        ints = (bytes3[:, 0].astype(np.int32) | (bytes3[:, 1].astype(np.int32) << 8)
                | (bytes3[:, 2].astype(np.int32) << 16))
        ints = np.where(ints >= 1 << 23, ints - (1 << 24), ints)
        data = ints.astype(np.float32) / float(1 << 23)
    elif width == 4:
        data = np.frombuffer(raw, dtype="<i4").astype(np.float32) / float(1 << 31)
    else:
        raise CoachError(f"{path}: unsupported sample width {width}", "use 16-bit PCM", 2)
    if channels > 1:
        data = data.reshape(-1, channels).mean(axis=1)
    return data.astype(np.float32, copy=False), rate


def write_wav(path: str | Path, samples: np.ndarray, rate: int) -> None:
    """Write float32 mono samples (-1..1) as a 16-bit PCM WAV (whole or not at all; an
    unwritable path is a CoachError with a fix, see ``coach.files``)."""
    from coach.files import output_file

    pcm = to_int16(samples)
    with output_file(path) as raw, wave.open(raw, "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(int(rate))
        handle.writeframes(pcm.tobytes())


def to_int16(samples: np.ndarray) -> np.ndarray:
    return (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2")


def _lowpass_kernel(cutoff: float, taps: int = 63) -> np.ndarray:
    """Windowed-sinc low-pass; ``cutoff`` as a fraction of the sample rate (0..0.5)."""
    n = np.arange(taps) - (taps - 1) / 2
    kernel = 2 * cutoff * np.sinc(2 * cutoff * n) * np.blackman(taps)
    return (kernel / kernel.sum()).astype(np.float32)


def resample(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Resample a whole clip (float32 mono). Band-limits before going down, and after
    going up: linear interpolation mirrors the old band above its edge (8 kHz digits
    upsampled to 16 kHz got vowel energy mirrored to 4-8 kHz, costing the recognizer
    about 2.5 points; docs/notes/hearing.md)."""
    if from_rate == to_rate or len(samples) == 0:
        return samples.astype(np.float32, copy=False)
    x = samples.astype(np.float32, copy=False)
    if to_rate < from_rate:
        x = np.convolve(x, _lowpass_kernel(0.45 * to_rate / from_rate), mode="same")
    count = int(round(len(x) * to_rate / from_rate))
    positions = np.arange(count) * (from_rate / to_rate)
    y = np.interp(positions, np.arange(len(x)), x)
    if to_rate > from_rate:
        y = np.convolve(y, _lowpass_kernel(0.45 * from_rate / to_rate), mode="same")
    return y.astype(np.float32)


class StreamResampler:
    """Resamples a stream chunk by chunk, keeping filter and phase state between chunks."""

    def __init__(self, from_rate: int, to_rate: int) -> None:
        self.from_rate = from_rate
        self.to_rate = to_rate
        self.step = from_rate / to_rate
        self._kernel = (
            _lowpass_kernel(0.45 * to_rate / from_rate) if to_rate < from_rate else None
        )
        self._history = np.zeros(0 if self._kernel is None else len(self._kernel) - 1, np.float32)
        self._buffer = np.zeros(0, np.float32)
        self._position = 0.0  # next output position, in input samples, relative to _buffer

    def process(self, chunk: np.ndarray) -> np.ndarray:
        if self.from_rate == self.to_rate:
            return chunk.astype(np.float32, copy=False)
        x = chunk.astype(np.float32, copy=False)
        if self._kernel is not None:
            joined = np.concatenate([self._history, x])
            self._history = joined[len(joined) - len(self._history):]
            x = np.convolve(joined, self._kernel, mode="valid").astype(np.float32)
        self._buffer = np.concatenate([self._buffer, x])
        last = len(self._buffer) - 1
        if last < 1:
            return np.zeros(0, np.float32)
        positions = np.arange(self._position, last, self.step)
        out = np.interp(positions, np.arange(len(self._buffer)), self._buffer)
        self._position = (positions[-1] + self.step) if len(positions) else self._position
        # the next position can lie past this chunk (in the next one): drop no more than
        # is here, or the stream loses that sample's time and makes extra samples (512
        # frames at a time, 44.1 -> 16 kHz made 16,020 a second: the echo canceller's
        # reference drifted 1.25 ms a second from the microphone's)
        drop = min(int(self._position), len(self._buffer))
        self._buffer = self._buffer[drop:]
        self._position -= drop
        return out.astype(np.float32)
