"""`coach hear FILE... --expect KIND`: decode answers from WAV files, one JSON line each.

An answer the coach would not take outright but would check aloud ("12 reps, right?")
is "unknown" with ``"maybe": {"kind", "value", "confidence"}``: the guess the dialogue
names (``coach.dialogue.ask.checked_guess``), so a folder of recordings can be scored
as the coach would log it in one exchange (taken, or checked and confirmed)."""

from __future__ import annotations

import json
import time

from coach.settings import ENGINE_HELP, ENGINES, MODEL_HELP, Settings

NAME = "hear"
HELP = "decode spoken answers from WAV files (any rate, any channels), one JSON line per file"


def add_arguments(parser) -> None:
    from coach.core.answers import EXPECTS

    parser.add_argument("files", nargs="+", metavar="FILE", help="WAV files")
    parser.add_argument("--expect", choices=EXPECTS, default="any",
                        help="what the question expects (default: any)")
    parser.add_argument("--engine", choices=ENGINES, default="auto", help=ENGINE_HELP)
    parser.add_argument("--model", default=None, help=MODEL_HELP)
    parser.add_argument("--plan", action="append", default=[], metavar="NAME",
                        help="a plan name the 'start' question may hear (repeatable)")


def run(args, settings: Settings) -> int:
    return hear(args.files, args.expect, settings.hearing.engine, settings.hearing.model,
                tuple(args.plan), settings)


def hear(files: list[str], expect: str, engine: str, model: str | None,
         plans: tuple[str, ...], settings: Settings) -> int:
    from coach.dialogue.ask import checked_guess
    from coach.hearing import open_recognizer
    from coach.remote.hearing import with_server

    recognizer = with_server(open_recognizer(engine, settings.paths, model), settings.remote)
    for path in files:
        started = time.perf_counter()
        answer = recognizer.decode_wav(path, expect, plans)
        ms = (time.perf_counter() - started) * 1000
        line = {"file": path, **answer.to_json()}
        guess = checked_guess(answer)
        if guess is not None:  # the coach would say "12 reps, right?" and wait for a yes
            line["maybe"] = {"kind": guess.kind, "value": guess.value,
                             "confidence": round(float(guess.confidence), 3)}
        if "heard_by" in answer.details:
            line["heard_by"] = answer.details["heard_by"]
        print(json.dumps({**line, "engine": recognizer.name, "ms": round(ms, 1)}),
              flush=True)
    return 0
