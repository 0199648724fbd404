"""Vosk adapter: Kaldi grammar mode, only the phrases a question allows plus ``[unk]``.

One ``vosk.Model`` is loaded per run; one ``KaldiRecognizer`` per question grammar is
built on first use and reset between answers. Vosk reports a confidence per word
(``SetWords``); the answer's confidence is the lowest word confidence, and anything
heard as ``[unk]`` (words outside the grammar) makes the answer "unknown".

The grammar is passed as JSON with non-ASCII kept as is (``ensure_ascii=False``):
escaped words are silently ignored by Vosk. ``transcribe(audio, phrases)`` takes any
phrase list, which is how the tests drive the Korean model.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from coach.core.answers import Answer, parse, phrases, unknown
from coach.errors import MissingPart, missing_library
from coach.hearing.grammar import vosk_grammar
from coach.hearing.recognizer import Recognizer
from coach.settings import INPUT_RATE

log = logging.getLogger(__name__)

UNK = "[unk]"


def vosk_available() -> bool:
    try:
        import vosk  # noqa: F401
    except (ImportError, OSError):  # not installed, or its library cannot load
        return False
    return True


def _import():
    try:
        import vosk
    except (ImportError, OSError) as error:
        missing = missing_library("vosk's libvosk.so", error)
        if missing is not None:
            raise missing from None
        if isinstance(error, OSError):
            raise MissingPart(f"vosk's library cannot load ({error})",
                              "pip install --force-reinstall vosk") from None
        raise MissingPart("the Python package vosk is missing",
                          "run ./scripts/run.sh, or pip install vosk") from None
    return vosk


@dataclass(frozen=True)
class VoskSettings:
    min_confidence: float = 0.6
    """Answers whose lowest word confidence is below this are "unknown"."""
    pad: float = 0.3
    """Seconds of silence appended so the last word is finished."""


@dataclass(frozen=True)
class Heard:
    text: str
    """Words heard, [unk] included."""
    words: tuple[tuple[str, float], ...]
    """(word, confidence) pairs."""


class VoskRecognizer(Recognizer):
    name = "vosk"

    def __init__(self, model: Path, settings: VoskSettings | None = None) -> None:
        vosk = _import()
        self.settings = settings or VoskSettings()
        vosk.SetLogLevel(-1)
        try:
            self._model = vosk.Model(str(model))
        except Exception as error:  # vosk raises bare Exception on a bad folder
            raise MissingPart(f"the Vosk model in {model} does not load ({error})",
                              "fetch it again with `coach models fetch NAME`") from None
        self.model_path = Path(model)
        self._vosk = vosk
        self._recognizers: dict[str, object] = {}
        self._lock = threading.Lock()

    def _recognizer(self, grammar: str):
        rec = self._recognizers.get(grammar)
        if rec is None:
            rec = self._vosk.KaldiRecognizer(self._model, INPUT_RATE, grammar)
            rec.SetWords(True)
            self._recognizers[grammar] = rec
        return rec

    def prepare(self, expect: str, plans=()) -> None:
        with self._lock:
            self._recognizer(vosk_grammar(phrases(expect, tuple(plans))))

    def transcribe(self, audio: np.ndarray, allowed: list[str] | None,
                   unknown_words: bool = True) -> Heard:
        """Decode ``audio`` (int16 16 kHz) with a grammar of ``allowed`` phrases (None: the
        model's full language model)."""
        pad = np.zeros(int(self.settings.pad * INPUT_RATE), np.int16)
        data = np.concatenate([np.asarray(audio, np.int16), pad]).tobytes()
        with self._lock:
            if allowed is None:
                rec = self._recognizers.get("") or self._vosk.KaldiRecognizer(self._model,
                                                                              INPUT_RATE)
                rec.SetWords(True)
                self._recognizers[""] = rec
            else:
                rec = self._recognizer(vosk_grammar(allowed, unknown_words))
            step = 8000 * 2
            for offset in range(0, len(data), step):
                rec.AcceptWaveform(data[offset:offset + step])
            result = json.loads(rec.FinalResult())
            rec.Reset()
        words = tuple((w.get("word", ""), float(w.get("conf", 0.0)))
                      for w in result.get("result", []))
        return Heard(result.get("text", "").strip(), words)

    def _decode(self, audio: np.ndarray, expect: str, plans: tuple[str, ...],
                speech: tuple[int, int] | None = None) -> Answer:
        heard = self.transcribe(audio, phrases(expect, plans))
        if not heard.text:
            return unknown("", 0.0, reason="nothing heard")
        if UNK in heard.text.split():
            return unknown(heard.text, 0.0, reason="unk")
        confidence = min((c for _, c in heard.words), default=0.0)
        answer = parse(heard.text, expect, plans)
        if not answer.understood:
            return unknown(heard.text, confidence, reason="no complete answer")
        if confidence < self.settings.min_confidence:
            return unknown(heard.text, confidence, reason="low confidence")
        return Answer(answer.kind, answer.value, answer.text, confidence,
                      {"words": heard.words})
