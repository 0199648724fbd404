"""PocketSphinx 5 adapter: a word graph per question, the en-us model from the wheel.

Each question's phrases (``coach.core.answers.phrases``) become a minimal word graph
(``coach.hearing.grammar.word_graph``) loaded as an FSG search; searches are built once
and cached. One answer is decoded up to three times (figures in docs/notes/hearing.md):

1. the grammar search with the noise removal of the model's feat.params turned off
   (the model file forces ``remove_noise yes``; keyword arguments to ``Decoder`` cannot
   override it, so it is switched off on the config and the front end re-initialised).
   This decode gives the answer;
2. a free phone loop (allphone, en-us-phone.lm.bin) of the same audio: the best any
   sequence of sounds can score;
3. the grammar search again, with the model's own front end (noise removal on) and
   more quiet around the audio: a differently conditioned second opinion, run only
   when its answer could change the verifier's decision.

All three run on one ``Decoder``, so the acoustic model is loaded once; the decoder
knows only the questions' words (plus plan names), not the whole dictionary.

The answer is kept when a small logistic model of four measurements says it is
probably right (``verify``): the per-frame log-likelihood ratio of the grammar path
against the phone loop, the phone error rate between the answer's pronunciation and
the free phones, whether the second decode gives the same answer, and the shortest
answer word's duration (a 40 ms "up" is a sign the grammar forced a word into noise).
Its output is the answer's confidence. The coefficients were fitted on two FSDD
speakers, four espeak-ng voices and half the non-answers, and checked on the rest.

Audio is padded with quiet at each end and, when its noise floor is digitally silent,
given a faint seeded noise: cepstral mean normalisation goes wrong on runs of zeros.
"""

from __future__ import annotations

import logging
import math
import os
import tempfile
import threading
from dataclasses import dataclass

import numpy as np

from coach.core.answers import EXPECTS, Answer, parse, phrases, plan_words, unknown, vocabulary
from coach.errors import MissingPart
from coach.hearing.denoise import subtract_noise
from coach.hearing.grammar import EXTRA_PRONUNCIATIONS, word_graph
from coach.hearing.recognizer import Recognizer
from coach.settings import INPUT_RATE

log = logging.getLogger(__name__)

FRAME = 160  # samples per 10 ms frame at 16 kHz
_NOT_WORDS = ("<", "[", "+", "(NULL)")
_NOT_PHONES = ("SIL", "+SPN+", "+NSN+", "(NULL)")


@dataclass(frozen=True)
class SphinxSettings:
    pad: float = 0.1
    """Seconds of quiet added before and after the audio for the main decode."""
    second_pad: float = 0.3
    """Seconds of quiet around the audio for the second-opinion decode."""
    denoise: bool = True
    """Lower steady noise (``coach.hearing.denoise``) before the main decode."""
    denoise_second: bool = False
    """Also before the second-opinion decode."""
    dither: float = 100.0
    """RMS (int16 units) of the noise that fills digital silence."""
    min_confidence: float | None = 0.5
    """Reject answers whose verified confidence is below this (None: keep every answer
    the grammar finds, confidence 1.0)."""
    weights: tuple[float, float, float, float, float] = (2.066, -1.655, 1.069, 0.166, 0.747)
    """Logistic weights for (log-likelihood ratio per frame, phone error rate, second
    decode agrees, shortest word in 10 frames up to 4, bias); see ``verify``."""


@dataclass(frozen=True)
class Decode:
    """What one grammar or phone-loop search found."""

    tokens: tuple[str, ...]
    """Words (or phones) without silences and fillers, as decoded ("twenty(2)": the
    dictionary's second pronunciation)."""
    log_score: float
    """Natural log of the path score PocketSphinx reports (acoustic + grammar)."""
    durations: tuple[int, ...]
    """Frames of each word in ``words``."""
    frames: int

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(t.split("(")[0].strip() for t in self.tokens)


def _import():
    try:
        import pocketsphinx
    except ImportError:
        raise MissingPart("the Python package pocketsphinx is missing",
                          "run ./scripts/run.sh, or pip install pocketsphinx") from None
    return pocketsphinx


def _log(value: float) -> float:
    return math.log(max(float(value), 1e-300))


class PocketSphinxRecognizer(Recognizer):
    name = "pocketsphinx"

    def __init__(self, settings: SphinxSettings | None = None) -> None:
        ps = _import()
        self.settings = settings or SphinxSettings()
        model = ps.get_model_path()
        if not os.path.isdir(os.path.join(model, "en-us", "en-us")):
            raise MissingPart(f"the PocketSphinx en-us model is missing from {model}",
                              "pip install --force-reinstall pocketsphinx")
        self._dictionary = os.path.join(model, "en-us", "cmudict-en-us.dict")
        # The decoders load only the words the questions use, not the 130,000-word
        # dictionary: that dictionary costs about 21 MB per decoder (docs/notes/hearing.md).
        words = {w for expect in EXPECTS for w in vocabulary(expect)}
        lexicon = {**EXTRA_PRONUNCIATIONS, **lexicon_entries(self._dictionary, words)}
        with tempfile.NamedTemporaryFile("w", suffix=".dict", delete=False) as small:
            small.writelines(f"{w} {phones}\n" for w, phones in sorted(lexicon.items()))
        try:
            # bestpath (lattice rescoring) loses 5-25 points on short answers: off.
            self._decoder = ps.Decoder(lm=None, dict=small.name, samprate=INPUT_RATE,
                                       loglevel="FATAL", bestpath=False)
        finally:
            os.unlink(small.name)
        self._remove_noise: bool | None = None
        self._decoder.add_allphone_file("phones", os.path.join(model, "en-us",
                                                               "en-us-phone.lm.bin"))
        self._searches: dict[tuple[str, tuple[str, ...]], str] = {}
        self._lock = threading.Lock()

    def _speakable(self, plans: tuple[str, ...]) -> tuple[str, ...]:
        """The plan names whose words have a pronunciation: words the small lexicon lacks
        are added from the full dictionary; a name with a word neither knows is left out
        of the grammar (said once on stderr), since PocketSphinx cannot build it."""
        spoken = {plan: plan_words(plan).split() for plan in plans}
        missing = {w for words in spoken.values() for w in words
                   if self._decoder.lookup_word(w) is None}
        if missing:
            for word, phones in lexicon_entries(self._dictionary, missing).items():
                self._decoder.add_word(word, phones, False)
        kept = []
        for plan, words in spoken.items():
            unknown_words = [w for w in words if self._decoder.lookup_word(w) is None]
            if unknown_words:
                log.warning("hearing: the plan %r cannot be asked for by voice: %s not in "
                            "the pronunciation dictionary (rename the plan file)",
                            plan, ", ".join(repr(w) for w in unknown_words))
            else:
                kept.append(plan)
        return tuple(kept)

    # -- grammar ---------------------------------------------------------------------
    def prepare(self, expect: str, plans=()) -> None:
        self._search(expect, tuple(plans))

    def _search(self, expect: str, plans: tuple[str, ...]) -> str:
        key = (expect, plans)
        name = self._searches.get(key)
        if name is None:
            name = f"q{len(self._searches)}"
            with self._lock:
                graph = word_graph(phrases(expect, self._speakable(plans)))
                fsg = self._decoder.create_fsg(name, graph.start, graph.final,
                                               graph.transitions())
                self._decoder.add_fsg(name, fsg)
            self._searches[key] = name
        return name

    # -- decoding --------------------------------------------------------------------
    def condition(self, audio: np.ndarray, pad: float | None = None) -> np.ndarray:
        """Pad with quiet and fill digital silence with faint noise."""
        pad = self.settings.pad if pad is None else pad
        quiet = np.zeros(int(pad * INPUT_RATE), np.float32)
        data = np.concatenate([quiet, audio.astype(np.float32), quiet])
        frames = data[: len(data) // FRAME * FRAME].reshape(-1, FRAME)
        floor = float(np.percentile(np.sqrt(np.mean(frames * frames, axis=1)), 10)) \
            if len(frames) else 0.0
        if floor < self.settings.dither:
            level = np.sqrt(max(self.settings.dither ** 2 - floor ** 2, 0.0))
            rng = np.random.default_rng(len(data))  # the same audio always decodes the same
            data = data + rng.normal(0.0, level, len(data)).astype(np.float32)
        return np.clip(data, -32768, 32767).astype(np.int16)

    def _run(self, search: str, data: np.ndarray, skip: tuple[str, ...],
             remove_noise: bool = False) -> Decode:
        """One search over conditioned audio. ``remove_noise``: the model's own front end
        (its feat.params force noise removal on; keyword arguments to ``Decoder`` cannot
        override it, so it is switched on the config and the front end re-initialised,
        which takes well under a millisecond)."""
        decoder = self._decoder
        with self._lock:
            if remove_noise != self._remove_noise:
                decoder.config["remove_noise"] = remove_noise
                decoder.reinit_feat()
                self._remove_noise = remove_noise
            decoder.activate_search(search)
            decoder.start_utt()
            decoder.process_raw(data.tobytes(), full_utt=True)
            decoder.end_utt()
            hyp = decoder.hyp()
            segments = [(s.word, s.end_frame - s.start_frame + 1) for s in (decoder.seg() or ())]
        kept = [(w, n) for w, n in segments if not w.startswith(skip)]
        return Decode(tuple(w for w, _ in kept), _log(hyp.score) if hyp else -1e9,
                      tuple(n for _, n in kept), len(data) // FRAME)

    def phones(self, data: np.ndarray) -> Decode:
        """A free phone decode (no words) of conditioned audio."""
        return self._run("phones", data, _NOT_PHONES)

    def pronounce(self, words) -> list[str]:
        out: list[str] = []
        for word in words:
            out.extend((self._decoder.lookup_word(word) or "").split())
        return out

    def words(self, audio: np.ndarray, expect: str, plans: tuple[str, ...] = (),
              data: np.ndarray | None = None) -> list[str]:
        """The word path the main search found (fillers and silences removed)."""
        data = self.condition(audio) if data is None else data
        return list(self._run(self._search(expect, plans), data, _NOT_WORDS).words)

    def features(self, grammar: Decode, free: Decode, agrees: float) -> tuple[float, ...]:
        """The verifier's inputs: (log-likelihood ratio per frame x 1000, phone error rate,
        second decode agrees 1 / disagrees 0 / not asked 0.5, shortest answer word in
        10-frame units up to 4, 1)."""
        ratio = 1000.0 * (grammar.log_score - free.log_score) / max(1, grammar.frames)
        expected = self.pronounce(grammar.tokens)
        per = edit_distance(list(free.words), expected) / max(1, len(expected))
        shortest = min(min(grammar.durations, default=0), 40) / 10
        return (ratio, per, float(agrees), shortest, 1.0)

    def verify(self, features: tuple[float, ...]) -> float:
        """Probability (0..1) that the grammar's answer is what was said."""
        z = sum(w * x for w, x in zip(self.settings.weights, features, strict=True))
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))

    def measure(self, audio: np.ndarray, expect: str, plans: tuple[str, ...] = (),
                check: bool = True, decide: float | None = None,
                ) -> tuple[Answer, tuple[float, ...] | None]:
        """The grammar's answer (confidence 1.0) and, when it parses and ``check``, the
        verifier's features.

        ``decide``: a confidence threshold. The second-opinion decode (a quarter of the
        work) is then run only when its answer could move the confidence across it;
        otherwise its feature is 0.5, "not asked", which gives the same decision.
        """
        search = self._search(expect, plans)
        cleaned = subtract_noise(audio) if self.settings.denoise else audio
        data = self.condition(cleaned)
        grammar = self._run(search, data, _NOT_WORDS)
        text = " ".join(grammar.words)
        answer = parse(text, expect, plans)
        if not answer.understood or not check:
            return answer, None
        free = self.phones(data)
        features = self.features(grammar, free, 0.0)
        if decide is not None:
            low, high = (self.verify(with_agreement(features, agrees)) for agrees in (0.0, 1.0))
            if (low >= decide) == (high >= decide):
                return answer, with_agreement(features, 0.5)
        second_audio = cleaned if self.settings.denoise_second else audio
        second = self._run(search, self.condition(second_audio, self.settings.second_pad),
                           _NOT_WORDS, remove_noise=True)
        other = parse(" ".join(second.words), expect, plans)
        agrees = other.kind == answer.kind and other.value == answer.value
        return answer, with_agreement(features, 1.0 if agrees else 0.0)

    def _decode(self, audio: np.ndarray, expect: str, plans: tuple[str, ...],
                speech: tuple[int, int] | None = None) -> Answer:
        check = self.settings.min_confidence is not None
        answer, features = self.measure(audio, expect, plans, check,
                                        decide=self.settings.min_confidence)
        if not answer.understood:
            return unknown(answer.text, 0.0, reason="no complete answer", path=answer.text)
        if features is None:
            return Answer(answer.kind, answer.value, answer.text, 1.0, {"path": answer.text})
        confidence = self.verify(features)
        details = {"path": answer.text, "features": [round(f, 3) for f in features[:4]]}
        if confidence < self.settings.min_confidence:
            return unknown(answer.text, confidence, reason="not verified", **details)
        return Answer(answer.kind, answer.value, answer.text, confidence, details)


def with_agreement(features: tuple[float, ...], agrees: float) -> tuple[float, ...]:
    """The verifier's features with the second-opinion input set to ``agrees``."""
    return features[:2] + (agrees,) + features[3:]


def lexicon_entries(dictionary: str, words) -> dict[str, str]:
    """Pronunciations of ``words`` in a CMU-format dictionary file, alternates included
    ("twenty(2)")."""
    wanted = set(words)
    found: dict[str, str] = {}
    with open(dictionary, encoding="utf-8") as lines:
        for line in lines:
            head, _, phones = line.partition(" ")
            if head.split("(")[0] in wanted:
                found[head] = phones.strip()
    return found


def edit_distance(a: list[str], b: list[str]) -> int:
    """Levenshtein distance between two token lists."""
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]
