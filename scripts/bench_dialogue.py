#!/usr/bin/env python
"""Whole exchanges, as the athlete lives them: question, answer, any check or re-ask.

    .venv/bin/python scripts/bench_dialogue.py [--quick] [--engines old,new,pocketsphinx]
    .venv/bin/python scripts/bench_dialogue.py --fit [--quick]   # writes coach/data/policy.toml
    .venv/bin/python scripts/bench_dialogue.py --manifest FILE.tsv [--engines new]

Every answer is played through the dialogue's own ``ask()`` (``exchanges.play``): the
answer decoded as the coach decodes it, an unsure guess checked aloud and the athlete's
"yes" / "no" decoded too, an unclear answer asked again and answered again (a fresh take
in the same voice and noise), up to the question's retries.

Question kinds: reps, felt, where, sore, feeling, commands (said at a reps, felt or
where question), and non-answers (other speech, cough, clank, music, kitchen noise:
nothing may be logged). Voices: real people (``../shared/data/realdev``, digits: the
reps question), espeak-ng voices, and the packaged Piper voice pitch-shifted -400..+400
cents and sped up / slowed down (never unshifted: that is the coach's own voice).

Split, by speaker and voice ("fit" is what ``--fit`` sees; tables are on "held"):

- realdev: speakers sorted by name, every third (0, 3, 6, ...) is held apart;
- espeak-ng: the first four ``synth.VOICES`` fit, the last three are held apart;
- Piper: shifts -400, -200, +200, +400 cents fit; -300 slow and +300 fast are held apart.

Conditions: quiet, and real noise (Speech Commands' ``_background_noise_``: dishes,
exercise bike, running tap; ``scripts/data/noise``) at 10, 5 and 0 dB over speech in a
small reverberant room. Fitting uses the first 10 s of each noise, tables the last 10 s.

Engines: "old" (Whisper as before issue 23: one 0.9 threshold, per-phrase scores, yes /
no and commands re-asked), "new" (the shipped ``coach/data/policy.toml``, an unsure yes /
no or command checked aloud: "You felt it, right?", "Pause, right?"), "new-reask" (the
same, an unsure yes / no asked again instead; felt question only), "new-narrow" (asked
again and the answer heard with the yes / no grammar only; felt question only),
"pocketsphinx". The
ceiling is the best allowed phrase Whisper finds, taken whatever its confidence.
Times are CPU time of this process (one thread). Tables go to stdout, progress to stderr.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

if os.environ.get("OPENBLAS_NUM_THREADS") != "1":  # one core, as the coach decodes
    from exchanges import ONE_THREAD
    os.execve(sys.executable, [sys.executable, *sys.argv], ONE_THREAD)

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from exchanges import log, logistic, play, whisper_model_dir  # noqa: E402

REALDEV = ROOT.parent / "shared" / "data" / "realdev"
NOISE = Path(__file__).resolve().parent / "data" / "noise"
NOISES = ("doing_the_dishes", "exercise_bike", "running_tap")
CONDITIONS = (("quiet", None), ("noise 10 dB", 10), ("noise 5 dB", 5), ("noise 0 dB", 0))

#: question kind -> (expect, [(said, truth kind, truth value)]). The workout asks "Did you
#: feel it in your ...?" with the "any" grammar (a yes / no or a place), the scan asks
#: "feeling" and "sore"; commands come at a reps question, the felt question, or while
#: the coach waits for one (paused, ready).
ANSWERS = {
    "reps": ("reps", [("twelve", "reps", 12), ("I did ten", "reps", 10), ("eight", "reps", 8),
                      ("four", "reps", 4), ("fifteen", "reps", 15),
                      ("twenty one reps", "reps", 21)]),
    "felt": ("any", [("felt it", "felt", True), ("I felt it", "felt", True),
                      ("yes felt it", "felt", True), ("yes", "felt", True),
                      ("no", "felt", False), ("didn't feel it", "felt", False),
                      ("not really", "felt", False), ("nope", "felt", False)]),
    "where": ("any", [("lower back", "where", "lower back"),
                        ("shoulders", "where", "shoulders"),
                        ("my forearms", "where", "forearms"), ("glutes", "where", "glutes"),
                        ("hamstrings", "where", "hamstrings"), ("nowhere", "felt", False)]),
    "sore": ("sore", [("my knees hurt", "where", "knees"),
                      ("lower back is sore", "where", "lower back"),
                      ("my shoulders", "where", "shoulders"), ("nothing", "where", None),
                      ("no", "where", None)]),
    "feeling": ("feeling", [("calm", "feeling", "calm"), ("tense", "feeling", "tense"),
                            ("okay", "feeling", "okay"), ("I feel relaxed", "feeling", "calm"),
                            ("stressed", "feeling", "tense")]),
    "command": (None, [("pause", "command", "pause"), ("stop", "command", "stop"),
                       ("repeat", "command", "repeat"), ("slower", "command", "slower"),
                       ("skip exercise", "command", "skip exercise")]),
}
#: Fitted, not tabled on its own: the athlete's "yes" / "no" to a check, heard with the
#: "felt" grammar (``coach.dialogue.ask.CONFIRM_GRAMMAR``); the tables count it in the
#: exchanges it ends.
REPLIES = ("felt", [("yes", "felt", True), ("no", "felt", False), ("yeah", "felt", True),
                    ("nope", "felt", False)])
COMMAND_AT = ("reps", "any", "command")
#: What a non-answer is heard with, in turn.
NON_AT = ("reps", "any", "sore", "feeling", "command")


def felt_or_where(answer) -> bool:
    """The workout's felt question takes a yes / no or a place (coach/workout/loop.py)."""
    return answer.kind == "felt" or (answer.kind == "where" and answer.value is not None)


def accepts(kind: str, expect: str):
    """What the question that hears ``kind`` with ``expect`` takes."""
    if expect == "any" and kind in ("felt", "where", "command", "non-answer"):
        return felt_or_where
    return lambda answer: answer.understood
KINDS = (*ANSWERS, "non-answer")
SHORT_OTHER = ("purple elephant", "banana", "good morning", "thank you")
ESPEAK_FIT = 4
PIPER_FIT = ((-400, 1.0), (-200, 1.15), (200, 0.85), (400, 1.0))
PIPER_HELD = ((-300, 0.85), (300, 1.15))


@dataclass(frozen=True)
class Voice:
    name: str
    split: str
    """"fit" or "held"."""
    speak: Callable[[str, int], np.ndarray]
    """(words, take) -> clean int16 16 kHz; take 0 is the first answer, 1.. said again."""


def espeak_voice(voice: str, split: str, rate: int = 150) -> Voice:
    from coach.hearing import synth

    return Voice(f"espeak {voice}", split,
                 lambda words, take: synth.pad(synth.speak(words, voice, rate - 15 * take)))


def piper_voice(cents: int, speed: float, split: str) -> Voice:
    from coach.hearing import synth

    return Voice(f"piper {cents:+d}c x{speed}", split,
                 lambda words, take: synth.pad(synth.piper(words, cents, speed)))


def realdev_speakers() -> dict[str, list[tuple[str, str]]]:
    """speaker -> [(word, file)] from realdev's manifest ({} when absent)."""
    manifest = REALDEV / "manifest.tsv"
    if not manifest.exists():
        return {}
    out: dict[str, list[tuple[str, str]]] = {}
    for line in manifest.read_text().splitlines()[1:]:
        file, word, speaker, _ = line.split("\t")
        out.setdefault(speaker, []).append((word, file))
    return out


def held_speakers(speakers) -> set[str]:
    return {s for n, s in enumerate(sorted(speakers)) if n % 3 == 0}


# -- sound of a room ---------------------------------------------------------------------------
def room(audio: np.ndarray, seed: int) -> np.ndarray:
    """``audio`` in a small reverberant room (RT60 0.3-0.5 s, the reverberant tail 3-7 dB
    under the direct sound, as a few metres from the coach): a seeded impulse response
    of decaying noise after the direct sound, convolved by FFT, level kept."""
    rng = np.random.default_rng(seed)
    rt60 = rng.uniform(0.3, 0.5)
    n = int(rt60 * 16_000)
    t = np.arange(n) / 16_000
    response = rng.normal(0, 1, n) * np.exp(-6.9 * t / rt60)
    response *= np.sqrt(10 ** (-rng.uniform(3, 7) / 10) / np.sum(response ** 2))
    response[:int(0.003 * 16_000)] = 0.0
    response[0] = 1.0
    size = len(audio) + n - 1
    wet = np.fft.irfft(np.fft.rfft(audio.astype(np.float64), size)
                       * np.fft.rfft(response, size), size)[:len(audio)]
    peak = float(np.max(np.abs(wet))) or 1.0
    return wet / peak * float(np.max(np.abs(audio)) or 1)


_NOISE_CACHE: dict[str, np.ndarray] = {}


def noise_clip(name: str, n: int, part: str, rng: np.random.Generator) -> np.ndarray:
    """``n`` samples of the recorded noise ``name``: from its first half ("fit") or its
    second ("held")."""
    from coach.audio.wavio import read_wav

    if name not in _NOISE_CACHE:
        samples, _ = read_wav(NOISE / f"{name}.wav")
        _NOISE_CACHE[name] = np.asarray(samples, np.float64).reshape(-1)
    whole = _NOISE_CACHE[name]
    half = len(whole) // 2
    pool = whole[:half] if part == "fit" else whole[half:]
    start = int(rng.integers(0, max(1, len(pool) - n)))
    clip = pool[start:start + n]
    return np.pad(clip, (0, n - len(clip)), mode="wrap") if len(clip) < n else clip


def condition(audio: np.ndarray, snr: float | None, part: str, seed: int) -> np.ndarray:
    """The clean take as heard in a condition: quiet as is; noisy in a room, with one of
    the recorded noises at ``snr`` dB under the speech."""
    if snr is None:
        return audio
    rng = np.random.default_rng(seed)
    wet = room(audio, seed)
    loud = wet[np.abs(wet) > 0.05 * (np.max(np.abs(wet)) or 1)]
    power = float(np.mean(loud ** 2)) if len(loud) else 1.0
    noise = noise_clip(NOISES[seed % len(NOISES)], len(wet), part, rng)
    noise = noise * np.sqrt(power / 10 ** (snr / 10)) / (np.std(noise) or 1.0)
    return np.clip(wet + noise, -32768, 32767).astype(np.int16)


# -- the items ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Item:
    kind: str
    expect: str
    truth: tuple[str, object] | None
    voice: str
    split: str
    take: Callable[[int], np.ndarray]
    """take number -> clean audio of the answer."""
    reply: Callable[[str], np.ndarray]
    """words -> the athlete's clean reply to a check ("yes" / "no")."""


def items(quick: bool, fitting: bool = False) -> list[Item]:
    from coach.audio.wavio import read_wav
    from coach.hearing import synth, to_int16_16k

    out: list[Item] = []
    voices = [espeak_voice(v, "fit" if n < ESPEAK_FIT else "held")
              for n, v in enumerate(synth.VOICES)]
    voices += [piper_voice(c, s, "fit") for c, s in PIPER_FIT]
    voices += [piper_voice(c, s, "held") for c, s in PIPER_HELD]
    if quick:
        voices = [voices[0], voices[5], voices[7], voices[8], voices[9], voices[12]]
    cache: dict = {}

    def cached(voice: Voice, words: str, take: int) -> np.ndarray:
        key = (voice.name, words, take)
        if key not in cache:
            cache[key] = voice.speak(words, take)
        return cache[key]

    asked = dict(ANSWERS)
    if fitting:
        asked["reply"] = REPLIES
    for voice in voices:
        for kind, (expect, answers) in asked.items():
            chosen = answers[::2] if quick else answers
            for number, (said, truth_kind, value) in enumerate(chosen):
                out.append(Item(kind, expect or COMMAND_AT[number % len(COMMAND_AT)],
                                (truth_kind, value), voice.name, voice.split,
                                partial(cached, voice, said),
                                lambda w, v=voice: cached(v, w, 0)))
        others = SHORT_OTHER[:2] if quick else SHORT_OTHER + synth.OTHER_SPEECH[:3]
        for number, said in enumerate(others):
            out.append(Item("non-answer", NON_AT[number % 5], None, voice.name, voice.split,
                            partial(cached, voice, said), lambda w, v=voice: cached(v, w, 0)))
    speakers = realdev_speakers()
    held = held_speakers(speakers)
    replies = [espeak_voice(v, "held") for v in ("en-gb-x-rp+f2", "en-us+m3")]
    for number, (speaker, files) in enumerate(sorted(speakers.items())):
        digits = [(w, f) for w, f in files if w != "stop"]
        for word, file in (digits[:2] if quick else digits):
            takes = [f for w, f in digits if w == word]

            def take(n: int, takes=takes, first=file) -> np.ndarray:
                name = first if n == 0 else takes[(takes.index(first) + n) % len(takes)]
                samples, rate = read_wav(REALDEV / name)
                return synth.pad(to_int16_16k(samples, rate))

            from coach.core.answers import parse
            value = parse(word, "reps").value
            reply = replies[number % len(replies)]
            out.append(Item("reps", "reps", ("reps", value), f"realdev {speaker}",
                            "held" if speaker in held else "fit", take,
                            lambda w, r=reply: cached(r, w, 0)))
    rng = np.random.default_rng(5)
    for number in range(3 if quick else 8):
        for make in (synth.cough, synth.clank, synth.music):
            audio = make(rng)
            out.append(Item("non-answer", NON_AT[number % 5], None, make.__name__,
                            "fit" if number % 2 == 0 else "held",
                            lambda n, a=audio: a, lambda w: replies[0].speak(w, 0)))
    return out


# -- engines ------------------------------------------------------------------------------
def engine(name: str):
    """(recognizer, confirm line) for "old", "new", "pocketsphinx"."""
    from coach.dialogue.ask import check_line
    from coach.hearing.whisper_engine import WEIGHTS, WhisperRecognizer, WhisperSettings

    if name == "pocketsphinx":
        from coach.hearing.pocketsphinx_engine import PocketSphinxRecognizer
        return PocketSphinxRecognizer(), partial(check_line, yes_no=False, commands=False)
    if name == "old":
        settings = WhisperSettings(min_confidence=0.9, weights=WEIGHTS, sure=0.95,
                                   per_meaning=False)
        return (WhisperRecognizer(whisper_model_dir(), settings=settings),
                partial(check_line, yes_no=False, commands=False))
    if name in ("new-reask", "new-narrow"):  # an unsure yes / no asked again
        return WhisperRecognizer(whisper_model_dir()), partial(check_line, yes_no=False)
    return WhisperRecognizer(whisper_model_dir()), check_line


def run(name: str, chosen: list[Item], retries: int = 2) -> list[dict]:
    from coach.core.answers import parse

    recognizer, confirm = engine(name)
    rows = []
    for number, item in enumerate(chosen):
        for label, snr in CONDITIONS:
            seed = zlib.crc32(repr((item.voice, item.kind, number, label)).encode())

            def heard(n: int, item=item, snr=snr, seed=seed) -> np.ndarray:
                return condition(item.take(n), snr, item.split, seed + n)

            def reply(words: str, snr=snr, seed=seed, item=item) -> np.ndarray:
                return condition(item.reply(words), snr, item.split, seed + 99)

            audio = [heard(n) for n in range(retries + 1)]
            replies = {w: reply(w) for w in ("yes", "no", "what?")}
            started = time.process_time()
            first = recognizer.decode(audio[0], item.expect)
            decode_ms = (time.process_time() - started) * 1000
            answers = [first] + [lambda a=a: a for a in audio[1:]]
            outcome = play(recognizer, item.expect, answers, item.truth,
                           replies.__getitem__, confirm, retries,
                           accepts(item.kind, item.expect), narrow=name == "new-narrow")
            ms = (time.process_time() - started) * 1000
            best = first if first.understood else (
                parse(first.details["phrase"], item.expect) if "phrase" in first.details
                else None)
            rows.append({"kind": item.kind, "condition": label, "voice": item.voice,
                         "split": item.split, **outcome, "cpu_ms": ms,
                         "decode_ms": decode_ms,
                         "ceiling": item.truth is not None and best is not None and
                         (best.kind, best.value) == item.truth})
        if number % 50 == 0:
            log(f"{name}: {number}/{len(chosen)}")
    return rows


# -- tables -------------------------------------------------------------------------------
def pct(values) -> str:
    values = list(values)
    return f"{100 * np.mean(values):.1f}%" if values else "-"


def table(name: str, rows: list[dict]) -> None:
    print(f"\n## {name}\n")
    print("| kind | condition | n | right, first exchange | right within turns | "
          "logged wrong | turns / answer | CPU ms / exchange | CPU ms / answer | ceiling "
          "| worst voice (first exchange) |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for kind in KINDS:
        for label, _ in CONDITIONS:
            chosen = [r for r in rows if r["kind"] == kind and r["condition"] == label]
            if not chosen:
                continue
            right = "right" if kind != "non-answer" else "nothing"
            voices: dict[str, list] = {}
            for r in chosen:
                voices.setdefault(r["voice"], []).append(r["first"] == right)
            worst = min(voices, key=lambda v: np.mean(voices[v]))
            print(f"| {kind} | {label} | {len(chosen)} | "
                  f"{pct(r['first'] == right for r in chosen)} | "
                  f"{pct(r['end'] == right for r in chosen)} | "
                  f"{pct(r['end'] == 'wrong' for r in chosen)} | "
                  f"{np.mean([r['turns'] for r in chosen]):.2f} | "
                  f"{np.mean([r['cpu_ms'] for r in chosen]):.0f} | "
                  f"{np.mean([r['decode_ms'] for r in chosen]):.0f} | "
                  f"{'-' if kind == 'non-answer' else pct(r['ceiling'] for r in chosen)} | "
                  f"{worst} {pct(voices[worst])} |")
    answers = [r for r in rows if r["kind"] != "non-answer"]
    print("\nAll answers (targets: first exchange quiet >= 97%, 10 dB >= 93%, 5 dB >= 85%;"
          " wrong <= 0.5%; turns quiet <= 1.10):\n")
    print("| condition | n | right, first exchange | logged wrong | turns / answer "
          "| ceiling |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for label, _ in CONDITIONS:
        chosen = [r for r in answers if r["condition"] == label]
        print(f"| {label} | {len(chosen)} | {pct(r['first'] == 'right' for r in chosen)} | "
              f"{pct(r['end'] == 'wrong' for r in chosen)} | "
              f"{np.mean([r['turns'] for r in chosen]):.2f} | "
              f"{pct(r['ceiling'] for r in chosen)} |")
    felt = [r for r in answers if r["kind"] == "felt" and r["condition"] == "quiet"]
    non = [r for r in rows if r["kind"] == "non-answer"]
    print(f"\nfelt it / didn't feel it / yes / no taken the first time, quiet: "
          f"{pct(r['first'] == 'right' for r in felt)} (n={len(felt)}); non-answers "
          f"logged: {sum(r['end'] == 'wrong' for r in non)} of {len(non)}; CPU per answer "
          f"{np.mean([r['decode_ms'] for r in rows]):.0f} ms")


# -- fitting ------------------------------------------------------------------------------
GRID = np.arange(0.3, 0.971, 0.01)


def fit(quick: bool, reuse: bool = False) -> int:
    """Measure every "fit" item in every condition (per-meaning scores, the second look;
    kept in a JSON file, ``reuse`` refits from it), fit the confidence model per question
    kind, then per kind (and for clear answers apart) the lowest threshold that takes at
    most ``WRONG_SHARE`` of its inputs wrongly beyond what the strictest threshold does
    (answers and non-answers asked with that kind; an answer under the threshold is only
    checked aloud, never logged without a yes)."""
    import json

    from coach.hearing.whisper_engine import POLICY_PATH

    cache = Path(os.environ.get("TMPDIR", "/tmp")) / f"coach-policy-fit{'-quick' * quick}.json"
    if reuse and cache.exists():
        rows = json.loads(cache.read_text())
        log(f"fit: measurements reused from {cache}")
    else:
        rows = measure_fit(quick)
        cache.write_text(json.dumps(rows))
    from coach.core.answers import EXPECTS

    everyone = logistic([(None, None, None, None, r[1], r[2]) for r in rows])
    weights, take, sure, take_clear = {}, {}, {}, {}
    print(f"# policy fit ({'quick' if quick else 'full'}), {time.strftime('%Y-%m-%d %H:%M')}"
          f", {len(rows)} decoded answers of the fit split\n")
    print(f"| expect | n | own model | wrong taken at 0.5 / 0.7 / 0.9 | chosen (>= {CLEAR_DB}"
          " dB / under) | wrong taken "
          "| right taken | right taken, quiet |")
    print("| --- | ---: | --- | --- | ---: | ---: | ---: | ---: |")
    for expect in EXPECTS:
        mine = [r for r in rows if r[0] == expect]
        own = len(mine) >= 150  # enough for its own model; else everyone's
        weights[expect] = logistic([(None,) * 4 + (r[1], r[2]) for r in mine]) if own \
            else everyone
        if not mine:
            take[expect], sure[expect], take_clear[expect] = 0.9, 0.95, 0.9
            continue
        conf = np.array([1 / (1 + np.exp(-np.clip(np.dot(weights[expect], r[2]), -50, 50)))
                         for r in mine])
        right = np.array([r[1] for r in mine])
        agree = np.array([r[3] for r in mine])
        quiet = np.array([r[4] == "quiet" for r in mine])

        clear = np.array([r[5] >= CLEAR_DB for r in mine])

        def taken(t: float, conf=conf, agree=agree) -> np.ndarray:
            return (conf >= t) & ((conf >= min(0.97, t + 0.1)) | agree)

        def lowest(rows: np.ndarray, right=right, conf=conf, taken=taken) -> float:
            """The lowest threshold taking at most ``WRONG_SHARE`` more of ``rows``
            wrongly than the strictest one (0.97) does: a mistake made at any confidence
            is the recognizer's, not the threshold's (it is counted in the tables)."""
            floor = np.sum((taken(0.97) & ~right)[rows])
            found = next((float(t) for t in GRID if np.sum(
                (taken(t) & ~right)[rows]) <= floor + WRONG_SHARE * np.sum(rows)), 0.97)
            under = conf[rows & ~right & ~taken(found)]  # wrong answers it leaves out
            if len(under):
                found = max(found, float(under.max()) + MARGIN)
            return round(min(0.97, found), 2)

        safe, safe_clear = lowest(~clear), lowest(clear)
        if not own:  # too few inputs to go below the rule before issue 23
            safe, safe_clear = max(safe, 0.9), max(safe_clear, 0.9)
        safe_clear = max(safe_clear, CLEAR_FLOOR)
        take[expect], sure[expect] = safe, round(min(0.97, safe + 0.1), 2)
        take_clear[expect] = min(safe, safe_clear)
        chosen = np.where(clear, taken(take_clear[expect]), taken(safe))
        cells = " / ".join(str(int(np.sum(taken(t) & ~right))) for t in (0.5, 0.7, 0.9))
        print(f"| {expect} | {len(mine)} | {'yes' if own else 'no'} | {cells} | "
              f"{take_clear[expect]} / {safe} | {int(np.sum(chosen & ~right))} | "
              f"{pct(chosen[right])} | {pct(chosen[right & quiet])} |")
    lines = ["# The answer-taking policy: when the coach takes what it heard, per question",
             "# kind. Written by scripts/bench_dialogue.py --fit "
             f"({'quick' if quick else 'full'}, {time.strftime('%Y-%m-%d %H:%M')}) on the",
             "# fit split (docs/notes/dialogue-policy.md): realdev speakers not held apart,",
             "# espeak-ng voices 1-4, Piper -400/-200/+200/+400 cents, quiet and real noise.",
             "# weights: logistic confidence over whisper_engine.FEATURES, bias last.",
             f"# take: the lowest confidence taking at most {100 * WRONG_SHARE:.1f}% more of the",
             "# kind's fit inputs wrongly than 0.97 does. sure: under it, the second look",
             "# must agree.",
             "[whisper.weights]",
             *(f"{k} = [" + ", ".join(f"{w:.4f}" for w in v) + "]" for k, v in weights.items()),
             "", "[whisper.take]", *(f"{k} = {v}" for k, v in take.items()), "",
             f"# take_clear: the same for an answer at least {CLEAR_DB} dB over its noise",
             "[whisper.take_clear]", *(f"{k} = {v}" for k, v in take_clear.items()), "",
             "[whisper.sure]", *(f"{k} = {v}" for k, v in sure.items())]
    POLICY_PATH.write_text("\n".join(lines) + "\n")
    print(f"\nwritten to {POLICY_PATH}")
    return 0


#: The share of a kind's fit inputs the threshold may take wrongly (target: 0.5% logged
#: wrong in the whole exchange).
WRONG_SHARE = 0.003
#: No clear answer is taken under this: the confidence model's even odds (under it, a
#: guess is more likely wrong than right, so it is only checked aloud). It was 0.85, a
#: caution set after a voiced session heard "felt it" as "no" at 0.63 and 0.82, which
#: turned out to be the test's own distorted WAVs (int16 samples written as float); on
#: the fit split, clear answers taken between 0.5 and 0.85 were 48 right against 1 wrong
#: (docs/notes/dialogue-policy.md, "The floor").
CLEAR_FLOOR = 0.5
#: A threshold stays at least this far above the most confident wrong answer of the fit
#: that it leaves out: the lowest threshold that takes no more wrong answers on the fit
#: split lies right over one (0.498 for the felt-or-where question), so on new voices a
#: word like "banana" heard as "no" at 0.52 would be taken.
MARGIN = 0.1
#: Answers measured at least this many dB over their noise have their own thresholds.
CLEAR_DB = 20.0


def measure_fit(quick: bool) -> list:
    """Rows (expect, right, features + bias, second look agrees, condition, measured
    signal-to-noise dB) of the fit
    split; wrong answers the question would not take (a reps answer to the felt
    question) are left out: asked again, they can never be logged."""
    from coach.hearing.vad import speech_span
    from coach.hearing.whisper_engine import WhisperRecognizer, WhisperSettings, features

    recognizer = WhisperRecognizer(whisper_model_dir(),
                                   settings=WhisperSettings(min_confidence=None))
    rows = []
    chosen = [i for i in items(quick, fitting=True) if i.split == "fit"]
    for number, item in enumerate(chosen):
        for label, snr in CONDITIONS:
            seed = zlib.crc32(repr((item.voice, item.kind, number, label)).encode())
            audio = condition(item.take(0), snr, "fit", seed)
            speech = speech_span(audio, recognizer.gate)
            if speech is None:
                continue
            answer, details = recognizer.measure(audio, item.expect, (), speech)
            if not answer.understood:
                continue
            again, _ = recognizer.measure(audio, item.expect, (), speech, second=True)
            right = item.truth is not None and (answer.kind, answer.value) == item.truth
            if not right and answer.kind != "command" and \
                    not accepts(item.kind, item.expect)(answer):
                continue  # the question would not take it: asked again, never logged
            rows.append((item.expect, bool(right), features(details) + [1.0],
                         (again.kind, again.value) == (answer.kind, answer.value), label,
                         float(details["snr"])))
        if number % 50 == 0:
            log(f"fit: {number}/{len(chosen)}")
    return rows


# -- anyone's recordings ---------------------------------------------------------------------
def manifest_items(path: Path) -> list[Item]:
    """Rows ``file expect kind value`` (tab-separated, a header line): one item each,
    answered once (said again: the same file); a check is answered by espeak-ng."""
    from coach.audio.wavio import read_wav
    from coach.hearing import to_int16_16k

    reply = espeak_voice("en-us", "held")
    out = []
    for number, line in enumerate(path.read_text().splitlines()):
        cells = line.split("\t")
        if number == 0 and cells[0] == "file" or not line.strip():
            continue
        if len(cells) != 4:
            raise SystemExit(f"{path}:{number + 1}: expected 4 tab-separated columns "
                             "(file expect kind value), got {len(cells)}")
        file, expect, kind, value = cells
        wav = Path(file) if Path(file).is_absolute() else path.parent / file
        samples, rate = read_wav(wav)
        audio = to_int16_16k(samples, rate)
        truth = None if kind in ("none", "") else (kind, _value(kind, value))
        out.append(Item(kind if truth else "non-answer", expect, truth, wav.name, "held",
                        lambda n, a=audio: a, lambda w: reply.speak(w, 0)))
    return out


def _value(kind: str, text: str):
    if kind == "reps":
        return int(text)
    if kind == "felt":
        return text.lower() in ("true", "yes", "1")
    return None if text in ("none", "None", "") else text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller set (a few minutes)")
    parser.add_argument("--engines", default="old,new,pocketsphinx")
    parser.add_argument("--fit", action="store_true", help="fit and write the policy")
    parser.add_argument("--reuse", action="store_true",
                        help="--fit from the measurements of the last fit")
    parser.add_argument("--manifest", type=Path, default=None,
                        help="your own recordings: a TSV of file expect kind value")
    args = parser.parse_args()
    if args.fit:
        return fit(args.quick, args.reuse)
    if args.manifest:
        chosen = manifest_items(args.manifest)
        global CONDITIONS
        CONDITIONS = (("as recorded", None),)
    else:
        chosen = [i for i in items(args.quick) if i.split == "held"]
    print(f"# coach dialogue benchmark ({'quick' if args.quick else 'full'}), "
          f"{time.strftime('%Y-%m-%d %H:%M')}, held-apart voices and speakers, "
          f"{len(chosen)} answers x {len(CONDITIONS)} conditions")
    for name in args.engines.split(","):
        log(f"running {name} ...")
        # "new-reask": the repair of an unsure yes / no compared, on the felt question only
        mine = [i for i in chosen if i.kind == "felt"] if name.startswith("new-") else chosen
        table(name, run(name, mine))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
