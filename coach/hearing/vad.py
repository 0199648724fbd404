"""The voice gate: where speech starts and ends, decided by Silero VAD.

The model is the Silero VAD ONNX file that faster-whisper ships
(``faster_whisper/assets/silero_vad_v6.onnx``), run with onnxruntime on one thread. It
reads 16 kHz audio in windows of 512 samples (32 ms), each with the 64 samples before
it as context, and carries an LSTM state (``h``, ``c``: 1 x 1 x 128) from window to
window; several windows go through in one call (the batch axis is time). Its output is
a speech probability per window. A clank, a cough, a steady tone or white noise stays
far below the thresholds; speech goes near 1 (figures in docs/notes/hearing.md).

``VoiceGate`` consumes int16 blocks of any size and tracks one utterance with
hysteresis:

- a run of windows starts at a probability >= ``threshold`` and lasts while the
  probability stays >= ``release``;
- speech has ``started`` once one run holds ``min_speech`` seconds of windows at or
  above ``threshold`` (a shorter run is forgotten: a click, a knock) and its spectrum
  moves like a voice's: a held note (a hum, an organ, a synthesiser) can score as
  speech for Silero, but its spectrum stays the same from window to window, while a
  voice's formants move. A run in which at least ``max_steady`` of the steps between
  windows change the band levels by less than ``steady_db`` (``band_levels``: on
  average over 15 bands from 125 Hz to 4 kHz) is not speech, unless Silero is sure
  (``min_speech`` of windows at or above ``sure``, which no clank, cough, tone or
  synthetic music reached, while espeak-ng's vowels, as steady as a held note, do);
- ``silence`` is the time since the last speech window, ``utterance()`` the audio from
  ``pre_roll`` before the start to now and ``span()`` where the speech lies in it.

``speech_span(audio)`` runs the same gate over a whole clip (padded with quiet so the
model's state settles before the clip starts) and returns (start, end) in samples, or
None when the clip holds no speech.

The ONNX session is loaded once per process (``silero()``); it is about 1.2 MB and
costs about 0.4 ms per call plus 0.12 ms per window on one x86 core, so watching a
microphone costs about 1% of a core.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from coach.errors import MissingPart
from coach.settings import INPUT_RATE

WINDOW = 512
"""Samples the model reads per step (32 ms at 16 kHz)."""
CONTEXT = 64
"""Samples of the previous window given with each window."""
STATE = (1, 1, 128)


@dataclass(frozen=True)
class GateSettings:
    threshold: float = 0.2
    """Speech probability at or above which a window starts (or confirms) speech (FSDD's
    8 kHz recordings often score 0.3 to 0.6)."""
    release: float = 0.15
    """Probability below which a window is not speech; between the two, a window only
    continues speech that has begun (hysteresis)."""
    min_speech: float = 0.09
    """Seconds of windows at or above ``threshold``, in one run, before speech counts as
    started (three windows)."""
    sure: float = 0.9
    """Probability at which a window counts as surely speech (see ``max_steady``)."""
    steady_db: float = 0.8
    """A step between windows whose band levels change less than this (mean, in dB) is
    steady: a held note, not a voice."""
    max_steady: float = 0.6
    """A run whose share of steady steps reaches this is not speech, unless it holds
    ``min_speech`` of windows at or above ``sure``."""
    min_steps: int = 3
    """Steps between windows a run needs before its steadiness is judged."""
    pre_roll: float = 0.3
    """Seconds kept before the detected start (the model reacts a window or two late)."""
    short_silence: float = 0.096
    """Seconds without speech that end an answer already complete ("twelve reps"); the
    model's probability falls 40 to 90 ms after the last sound, which adds to it."""
    end_silence: float = 0.5
    """Seconds without speech that end an answer that could still go on ("twenty ...")."""
    decode_after: float = 0.032
    """Seconds without speech after which a first decode is tried, so its answer is ready
    when ``short_silence`` has passed."""
    max_utterance: float = 6.0
    """Seconds of speech after which an answer is cut and decoded anyway."""


def model_path() -> Path:
    """The Silero VAD ONNX file inside the installed faster-whisper (found without
    importing faster-whisper, which would load CTranslate2 and PyAV for nothing)."""
    from importlib.util import find_spec

    spec = find_spec("faster_whisper")
    if spec is None or not spec.submodule_search_locations:
        raise MissingPart("the Python package faster-whisper is missing (its Silero voice "
                          "model is the coach's voice gate)",
                          "run ./scripts/run.sh, or pip install faster-whisper")
    path = Path(next(iter(spec.submodule_search_locations))) / "assets" / "silero_vad_v6.onnx"
    if not path.is_file():
        raise MissingPart(f"the Silero voice model is missing from {path.parent}",
                          "pip install --force-reinstall faster-whisper")
    return path


class Silero:
    """One onnxruntime session of the Silero VAD model (one thread, no memory arena)."""

    def __init__(self, path: Path | None = None) -> None:
        try:
            import onnxruntime
        except ImportError:
            raise MissingPart("the Python package onnxruntime is missing (it runs the "
                              "voice gate)", "run ./scripts/run.sh, or pip install "
                              "onnxruntime") from None
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.enable_cpu_mem_arena = False
        options.log_severity_level = 4
        path = path or model_path()
        try:
            self._session = onnxruntime.InferenceSession(
                str(path), sess_options=options, providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime raises its own types for a bad file
            raise MissingPart(f"the Silero voice model {path} does not load ({error})",
                              "pip install --force-reinstall faster-whisper") from None

    def run(self, windows: np.ndarray, state: tuple[np.ndarray, np.ndarray]
            ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
        """Speech probabilities of ``windows`` (n x (CONTEXT + WINDOW) float32, in time
        order) and the state after the last one."""
        probabilities, h, c = self._session.run(
            None, {"input": windows, "h": state[0], "c": state[1]})
        return np.asarray(probabilities, np.float32).reshape(-1), (h, c)


_lock = threading.Lock()


@functools.cache
def _silero() -> Silero:
    return Silero()


def silero() -> Silero:
    """The process's one Silero session (loaded on first use)."""
    with _lock:
        return _silero()


def fresh_state() -> tuple[np.ndarray, np.ndarray]:
    return np.zeros(STATE, np.float32), np.zeros(STATE, np.float32)


#: 15 bands: 125 Hz wide up to 1 kHz, then log-spaced to 4 kHz (each spans >= 4 FFT bins).
_BAND_EDGES = np.concatenate([np.arange(125.0, 1000.0, 125.0), np.geomspace(1000.0, 4000.0, 9)])
_BAND_OF_BIN = np.digitize(np.fft.rfftfreq(WINDOW, 1 / INPUT_RATE), _BAND_EDGES)
_BAND_MASK = np.stack([_BAND_OF_BIN == band for band in range(1, len(_BAND_EDGES))]
                      ).astype(np.float32)
_HANN = np.hanning(WINDOW).astype(np.float32)


def band_levels(frames: np.ndarray) -> np.ndarray:
    """Per window (rows of WINDOW samples): the levels of 15 bands from 125 Hz to 4 kHz in
    dB, floored 30 dB below the loudest band and taken relative to their mean (so
    loudness changes and empty bands cancel)."""
    power = np.abs(np.fft.rfft(frames * _HANN, axis=1)) ** 2
    levels = 10 * np.log10(power @ _BAND_MASK.T + 1e-7)
    levels = np.maximum(levels, levels.max(axis=1, keepdims=True) - 30.0)
    return levels - levels.mean(axis=1, keepdims=True)


class VoiceGate:
    """Streaming speech start/end detection over 16 kHz int16 blocks; see the module doc.

    ``batch``: windows gathered before the model runs while no speech has started (fewer
    calls while waiting); once speech started, every window runs at once, so the end of
    an answer is seen within one window.
    """

    def __init__(self, settings: GateSettings | None = None, model: Silero | None = None,
                 batch: int = 3) -> None:
        self.settings = settings or GateSettings()
        self.model = model or silero()
        self.batch = max(1, batch)
        self._state = fresh_state()
        self._context = np.zeros(CONTEXT, np.float32)
        self._chunks: list[np.ndarray] = []
        self._pending = np.zeros(0, np.float32)
        self.samples = 0
        """Samples fed so far."""
        self.windows = 0
        """Windows the model has scored."""
        self.probabilities: list[float] = []
        self.start_window: int | None = None
        self.last_speech: int | None = None
        """Index of the last window that was speech (after the start)."""
        self._run_start: int | None = None
        self._run_hits = 0
        self._run_sure = 0
        self._run_steps = 0
        self._run_steady = 0
        self._levels: np.ndarray | None = None
        self._need = max(1, round(self.settings.min_speech * INPUT_RATE / WINDOW))

    # -- state ------------------------------------------------------------------------
    @property
    def started(self) -> bool:
        return self.start_window is not None

    @property
    def silence(self) -> float:
        """Seconds scored since the last speech window (0 before speech started)."""
        if self.last_speech is None:
            return 0.0
        return (self.windows - 1 - self.last_speech) * WINDOW / INPUT_RATE

    @property
    def speech_seconds(self) -> float:
        if self.start_window is None:
            return 0.0
        return (self.windows - self.start_window) * WINDOW / INPUT_RATE

    def over(self, complete: bool) -> bool:
        """True when the answer has ended (``complete``: the words cannot be extended)."""
        if not self.started:
            return False
        if self.speech_seconds >= self.settings.max_utterance:
            return True
        limit = self.settings.short_silence if complete else self.settings.end_silence
        return self.silence >= limit

    # -- feeding ----------------------------------------------------------------------
    def feed(self, block: np.ndarray) -> None:
        block = np.asarray(block, dtype=np.int16).reshape(-1)
        self._chunks.append(block)
        self.samples += len(block)
        data = block.astype(np.float32) / 32768.0
        self._pending = np.concatenate([self._pending, data]) if len(self._pending) else data
        count = len(self._pending) // WINDOW
        if count == 0 or (not self.started and count < self.batch):
            return
        self._score(count)

    def flush(self) -> None:
        """Score every whole window still waiting for a batch."""
        count = len(self._pending) // WINDOW
        if count:
            self._score(count)

    def _score(self, count: int) -> None:
        frames = self._pending[:count * WINDOW].reshape(count, WINDOW)
        self._pending = self._pending[count * WINDOW:]
        context = np.empty((count, CONTEXT), np.float32)
        context[0] = self._context
        context[1:] = frames[:-1, -CONTEXT:]
        self._context = frames[-1, -CONTEXT:].copy()
        probabilities, self._state = self.model.run(
            np.concatenate([context, frames], axis=1), self._state)
        levels = band_levels(frames) if self.start_window is None else None
        for row, probability in enumerate(probabilities):
            self._window(float(probability), None if levels is None else levels[row])

    def _window(self, probability: float, levels: np.ndarray | None) -> None:
        index = self.windows
        self.windows += 1
        self.probabilities.append(probability)
        settings = self.settings
        previous, self._levels = self._levels, levels
        if self._run_start is None:
            if probability < settings.threshold:
                return
            self._run_start, self._run_hits, self._run_sure = index, 0, 0
            self._run_steps = self._run_steady = 0
        elif probability < settings.release:  # the run ends
            self._run_start = None
            return
        elif previous is not None and levels is not None:
            self._run_steps += 1
            self._run_steady += float(np.mean(np.abs(levels - previous))) < settings.steady_db
        self._run_hits += probability >= settings.threshold
        self._run_sure += probability >= settings.sure
        moving = self._run_steps >= settings.min_steps and \
            self._run_steady < settings.max_steady * self._run_steps
        if self.start_window is None and self._run_hits >= self._need and \
                (moving or self._run_sure >= self._need):
            self.start_window = self._run_start
        if self.start_window is not None:
            self.last_speech = index

    # -- audio ------------------------------------------------------------------------
    def audio(self) -> np.ndarray:
        if len(self._chunks) > 1:
            self._chunks = [np.concatenate(self._chunks)]
        return self._chunks[0] if self._chunks else np.zeros(0, np.int16)

    def _first(self) -> int:
        if self.start_window is None:
            return 0
        return max(0, self.start_window * WINDOW - int(self.settings.pre_roll * INPUT_RATE))

    def utterance(self) -> np.ndarray:
        """From ``pre_roll`` before the start to now (all audio if speech never started)."""
        return self.audio()[self._first():]

    def span(self) -> tuple[int, int] | None:
        """(start, end) of the speech in ``utterance()``, in samples; None before speech."""
        if self.start_window is None or self.last_speech is None:
            return None
        first = self._first()
        end = min(self.samples, (self.last_speech + 1) * WINDOW)
        return self.start_window * WINDOW - first, end - first


def speech_span(audio: np.ndarray, settings: GateSettings | None = None,
                lead: float = 0.5) -> tuple[int, int] | None:
    """Where the speech in a whole clip (int16, 16 kHz) starts and ends, in samples of
    ``audio``; None when it holds none. ``lead`` seconds of quiet go before the clip
    and after it, so the model's state has settled when the clip starts and a word at
    the very end is still scored."""
    audio = np.asarray(audio, dtype=np.int16).reshape(-1)
    quiet = np.zeros(int(lead * INPUT_RATE), np.int16)
    gate = VoiceGate(settings, batch=1 << 30)
    gate.feed(np.concatenate([quiet, audio, quiet]))
    gate.flush()
    if gate.start_window is None or gate.last_speech is None:
        return None
    start = max(0, gate.start_window * WINDOW - len(quiet))
    end = min(len(audio), (gate.last_speech + 1) * WINDOW - len(quiet))
    return (start, end) if end > start else None
