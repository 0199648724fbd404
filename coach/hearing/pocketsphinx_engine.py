"""PocketSphinx 5 adapter: a word graph per question, the en-us model from the wheel.

Each question's phrases (``coach.core.answers.phrases``) become a minimal word graph
(``coach.hearing.grammar.word_graph``) loaded as an FSG search; searches are built once
and cached. Rejection of non-answers (see docs/notes/hearing.md for the figures):

- a *garbage loop* next to the answers: a path of single phones that any sound can
  take; when it wins, the answer is "unknown";
- the decoded words must parse as a complete answer (a search that ends inside a
  phrase, "i did", is unknown).

Audio is padded with 0.3 s of quiet at each end and, when its noise floor is
digitally silent, given a faint seeded noise: the model's cepstral mean normalisation
goes wrong on runs of exact zeros.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass

import numpy as np

from coach.core.answers import Answer, parse, phrases, unknown
from coach.errors import MissingPart
from coach.hearing import Recognizer
from coach.hearing.grammar import EXTRA_PRONUNCIATIONS, Arc, WordGraph, word_graph

log = logging.getLogger(__name__)

#: The phones of the en-us acoustic model (CMUdict ARPAbet, no stress).
PHONES = ("AA AE AH AO AW AY B CH D DH EH ER EY F G HH IH IY JH K L M N NG OW OY P R S SH T "
          "TH UH UW V W Y Z ZH").split()
GARBAGE_PREFIX = "garbage_"


@dataclass(frozen=True)
class SphinxSettings:
    garbage: float = 0.0
    """Prior probability of the garbage loop against all answers (0: no garbage path).
    Measured: any value that rejects non-answers also rejects most real answers."""
    garbage_loop: float = 0.7
    """Probability that the garbage loop continues with another phone."""
    pad: float = 0.3
    """Seconds of quiet added before and after the audio."""
    dither: float = 100.0
    """RMS (int16 units) of the noise that fills digital silence."""
    max_phone_error: float | None = 0.8
    """Reject when the free phone decode of the same audio differs from the answer's
    pronunciation by more than this phone error rate (None: no check)."""


def _import():
    try:
        import pocketsphinx
    except ImportError:
        raise MissingPart("the Python package pocketsphinx is missing",
                          "run ./scripts/run.sh, or pip install pocketsphinx") from None
    return pocketsphinx


class PocketSphinxRecognizer(Recognizer):
    name = "pocketsphinx"

    def __init__(self, settings: SphinxSettings | None = None) -> None:
        ps = _import()
        self.settings = settings or SphinxSettings()
        model = ps.get_model_path()
        if not os.path.isdir(os.path.join(model, "en-us", "en-us")):
            raise MissingPart(f"the PocketSphinx en-us model is missing from {model}",
                              "pip install --force-reinstall pocketsphinx")
        # bestpath (lattice rescoring) loses 5-10 points on short answers: off.
        self._decoder = ps.Decoder(lm=None, samprate=16000, loglevel="FATAL", bestpath=False)
        for word, phones in EXTRA_PRONUNCIATIONS.items():
            if self._decoder.lookup_word(word) is None:
                self._decoder.add_word(word, phones, False)
        for phone in PHONES:
            self._decoder.add_word(GARBAGE_PREFIX + phone.lower(), phone, False)
        self._decoder.add_word("zzgarbage_end", "SIL", True)
        self._decoder.add_allphone_file("phones", os.path.join(model, "en-us",
                                                               "en-us-phone.lm.bin"))
        self._searches: dict[tuple[str, tuple[str, ...]], str] = {}
        self._lock = threading.Lock()

    # -- grammar ---------------------------------------------------------------------
    def graph(self, expect: str, plans: tuple[str, ...] = ()) -> WordGraph:
        """The answer graph for a question, with the garbage loop when enabled."""
        graph = word_graph(phrases(expect, plans))
        garbage = self.settings.garbage
        if garbage <= 0:
            return graph
        loop = graph.states
        arcs = [Arc(a.source, a.target, a.word,
                    a.probability * (1 - garbage) if a.source == graph.start else a.probability)
                for a in graph.arcs]
        share = 1.0 / len(PHONES)
        for phone in PHONES:
            word = GARBAGE_PREFIX + phone.lower()
            arcs.append(Arc(graph.start, loop, word, garbage * share))
            arcs.append(Arc(loop, loop, word, self.settings.garbage_loop * share))
        arcs.append(Arc(loop, graph.final, None, 1 - self.settings.garbage_loop))
        return WordGraph(graph.start, graph.final, graph.states + 1, tuple(arcs))

    def prepare(self, expect: str, plans=()) -> None:
        self._search(expect, tuple(plans))

    def _search(self, expect: str, plans: tuple[str, ...]) -> str:
        key = (expect, plans)
        name = self._searches.get(key)
        if name is None:
            name = f"q{len(self._searches)}"
            graph = self.graph(expect, plans)
            with self._lock:
                fsg = self._decoder.create_fsg(name, graph.start, graph.final,
                                               graph.transitions())
                self._decoder.add_fsg(name, fsg)
            self._searches[key] = name
        return name

    # -- decoding --------------------------------------------------------------------
    def condition(self, audio: np.ndarray) -> np.ndarray:
        """Pad with quiet and fill digital silence with faint noise."""
        pad = np.zeros(int(self.settings.pad * 16000), np.float32)
        data = np.concatenate([pad, audio.astype(np.float32), pad])
        frames = data[: len(data) // 160 * 160].reshape(-1, 160)
        floor = float(np.percentile(np.sqrt(np.mean(frames * frames, axis=1)), 10)) \
            if len(frames) else 0.0
        if floor < self.settings.dither:
            level = np.sqrt(max(self.settings.dither ** 2 - floor ** 2, 0.0))
            rng = np.random.default_rng(len(data))  # the same audio always decodes the same
            data = data + rng.normal(0.0, level, len(data)).astype(np.float32)
        return np.clip(data, -32768, 32767).astype(np.int16)

    def phones(self, data: np.ndarray) -> list[str]:
        """A free phone decode (no words) of conditioned audio."""
        with self._lock:
            self._decoder.activate_search("phones")
            self._decoder.start_utt()
            self._decoder.process_raw(data.tobytes(), full_utt=True)
            self._decoder.end_utt()
            return [s.word for s in (self._decoder.seg() or ()) if s.word not in ("SIL", "+SPN+",
                                                                                   "+NSN+")]

    def pronounce(self, words: list[str]) -> list[str]:
        out: list[str] = []
        for word in words:
            out.extend((self._decoder.lookup_word(word) or "").split())
        return out

    def words(self, audio: np.ndarray, expect: str, plans: tuple[str, ...] = (),
              data: np.ndarray | None = None) -> list[str]:
        """The word path the search found (fillers and silences removed)."""
        name = self._search(expect, plans)
        data = self.condition(audio) if data is None else data
        with self._lock:
            decoder = self._decoder
            decoder.activate_search(name)
            decoder.start_utt()
            decoder.process_raw(data.tobytes(), full_utt=True)
            decoder.end_utt()
            segments = [s.word for s in (decoder.seg() or ())]
        words = []
        for word in segments:
            if word.startswith("<") or word.startswith("[") or word.startswith("+"):
                continue
            words.append(word.split("(")[0].strip())
        return words

    def _decode(self, audio: np.ndarray, expect: str, plans: tuple[str, ...]) -> Answer:
        data = self.condition(audio)
        words = self.words(audio, expect, plans, data)
        if any(w.startswith(GARBAGE_PREFIX) for w in words):
            return unknown("", 0.0, reason="garbage", path=" ".join(words))
        text = " ".join(words)
        answer = parse(text, expect, plans)
        if not answer.understood:
            return unknown(text, 0.0, reason="no complete answer")
        per = None
        if self.settings.max_phone_error is not None:
            free = self.phones(data)
            expected = self.pronounce(words)
            per = edit_distance(free, expected) / max(1, len(expected))
            if per > self.settings.max_phone_error:
                return unknown(text, 0.0, reason="phones disagree", per=per, path=text)
        confidence = 1.0 if per is None else max(0.0, 1.0 - per)
        return Answer(answer.kind, answer.value, answer.text, confidence,
                      {"path": text, "per": per})


def edit_distance(a: list[str], b: list[str]) -> int:
    """Levenshtein distance between two token lists."""
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]
