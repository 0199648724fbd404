"""Finding an answer in a microphone stream: when it starts and when it is over. numpy only.

``Endpointer`` consumes 16 kHz int16 blocks of any size and tracks speech with an
adaptive energy threshold (noise floor + margin, in 10 ms frames). It reports

- ``started``: speech began (at least ``min_speech`` of loud frames);
- ``silence``: seconds of quiet since the last loud frame;
- ``utterance()``: the audio from a little before the start to now.

The recognizer decides when to stop: after a short pause if the words already form
a complete answer nothing can extend, otherwise after ``end_silence``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RATE = 16_000
FRAME = 160  # 10 ms


@dataclass(frozen=True)
class EndpointSettings:
    end_silence: float = 0.5
    """Seconds of quiet that end an answer that could still go on ("twenty ...")."""
    short_silence: float = 0.2
    """Seconds of quiet that end an answer that is already complete ("twelve reps")."""
    min_speech: float = 0.08
    """Seconds of loud frames before we believe speech started (a click is shorter)."""
    pre_roll: float = 0.3
    """Seconds kept before the detected start (soft consonants begin below threshold)."""
    max_utterance: float = 6.0
    """Seconds after which an answer is cut and decoded anyway."""
    margin_db: float = 9.0
    """How far above the noise floor a frame must be to count as speech, in dB."""
    min_level: float = 100.0
    """Absolute speech threshold floor, in int16 RMS units (about -50 dBFS)."""


class Endpointer:
    """Energy-based start/end detection with an adaptive noise floor."""

    def __init__(self, settings: EndpointSettings | None = None) -> None:
        self.settings = settings or EndpointSettings()
        self._chunks: list[np.ndarray] = []
        self._pending = np.zeros(0, np.int16)
        self._levels: list[float] = []
        self.floor = self.settings.min_level / 2
        self.start_frame: int | None = None
        self.last_loud: int | None = None
        self._loud_run = 0

    @property
    def frames(self) -> int:
        return len(self._levels)

    @property
    def started(self) -> bool:
        return self.start_frame is not None

    @property
    def silence(self) -> float:
        """Seconds since the last loud frame (0 before speech started)."""
        if self.last_loud is None:
            return 0.0
        return (self.frames - 1 - self.last_loud) * FRAME / RATE

    @property
    def speech_seconds(self) -> float:
        if self.start_frame is None:
            return 0.0
        return (self.frames - self.start_frame) * FRAME / RATE

    def threshold(self) -> float:
        return max(self.settings.min_level, self.floor * 10 ** (self.settings.margin_db / 20))

    def feed(self, block: np.ndarray) -> None:
        block = np.asarray(block, dtype=np.int16)
        self._chunks.append(block)
        data = np.concatenate([self._pending, block]) if len(self._pending) else block
        count = len(data) // FRAME
        self._pending = data[count * FRAME:]
        if count == 0:
            return
        frames = data[:count * FRAME].astype(np.float32).reshape(count, FRAME)
        for level in np.sqrt(np.mean(frames * frames, axis=1) + 1e-9):
            self._frame(float(level))

    def _frame(self, level: float) -> None:
        index = len(self._levels)
        self._levels.append(level)
        loud = level > self.threshold()
        if not loud and not self.started:
            # track the floor quickly down, slowly up (only from quiet frames)
            rate = 0.3 if level < self.floor else 0.02
            self.floor += rate * (level - self.floor)
        if loud:
            self._loud_run += 1
            self.last_loud = index
            need = max(1, int(self.settings.min_speech * RATE / FRAME))
            if self.start_frame is None and self._loud_run >= need:
                self.start_frame = index - self._loud_run + 1
        else:
            self._loud_run = 0

    def audio(self) -> np.ndarray:
        return np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)

    def utterance(self) -> np.ndarray:
        """From ``pre_roll`` before the start to now (all audio if speech never started)."""
        audio = self.audio()
        if self.start_frame is None:
            return audio
        first = max(0, self.start_frame * FRAME - int(self.settings.pre_roll * RATE))
        return audio[first:]

    def over(self, complete: bool) -> bool:
        """True when the answer has ended (``complete``: the words cannot be extended)."""
        if not self.started:
            return False
        if self.speech_seconds >= self.settings.max_utterance:
            return True
        limit = self.settings.short_silence if complete else self.settings.end_silence
        return self.last_loud is not None and self.silence >= limit
