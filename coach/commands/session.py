"""`coach session`: a workout by voice, set by set, adapting load, tempo and cue."""

from __future__ import annotations

import sys
from pathlib import Path

from coach.errors import CoachError
from coach.events import INTERRUPTED, EventWriter
from coach.files import check_output
from coach.settings import ENGINE_HELP, ENGINES, MODEL_HELP, Settings
from coach.workout.run import DEFAULT_PLAN
from coach.workout.state import SessionSettings

NAME = "session"
HELP = "run a workout by voice: announce, count, ask, adapt, rest (the default command)"


def add_arguments(parser) -> None:
    parser.add_argument("--plan", default=None,
                        help=f"a plan name (see `coach plans list`) or a .toml file "
                             f"(default: {DEFAULT_PLAN})")
    parser.add_argument("--resume", action="store_true",
                        help="carry on with the interrupted session at its next set")
    answers = parser.add_mutually_exclusive_group()
    answers.add_argument("--typed", action="store_true",
                         help="answer on the keyboard instead of the microphone")
    answers.add_argument("--answers", metavar="FILE",
                         help="scripted answers: one text or one WAV path per line")
    parser.add_argument("--engine", default="auto", choices=ENGINES, help=ENGINE_HELP)
    parser.add_argument("--model", default=None, help=MODEL_HELP)
    parser.add_argument("--events", metavar="FILE.jsonl",
                        help="write say/listen/heard/set/adapt/rest/end events as JSON lines "
                             "('-' for stdout)")
    parser.add_argument("--out", metavar="FILE.wav",
                        help="render everything the coach says to a WAV instead of playing it "
                             "(with --answers or --typed)")
    parser.add_argument("--rest-scale", type=float, default=1.0,
                        help="multiply every rest by this (e.g. 0.1 for a quick try)")
    parser.add_argument("--max-reps", type=int, default=None,
                        help="count at most this many reps per set")
    parser.add_argument("--ready-seconds", type=float, default=3.0,
                        help="how long 'Ready?' waits for a command before counting")
    parser.add_argument("--answer-seconds", type=float, default=8.0,
                        help="how long a question waits for an answer to begin")
    parser.add_argument("--no-warmup", action="store_true", help="skip the warm-up lines")
    parser.add_argument("--no-words", action="store_true",
                        help="the metronome only clicks (no down/up words, no rep numbers)")
    parser.add_argument("--no-summary", action="store_true",
                        help="no spoken summary at the end")
    parser.add_argument("--seed", type=int, default=None, help="seed of the cue choice")
    parser.add_argument("--prepare", action="store_true",
                        help="render every line of the plan before it starts (kept on disk "
                             "for later runs)")


def session_settings(args) -> SessionSettings:
    if args.rest_scale < 0 or args.ready_seconds < 0 or args.answer_seconds <= 0:
        raise CoachError("--rest-scale, --ready-seconds and --answer-seconds must be positive",
                         "e.g. --rest-scale 0.1", exit_code=2)
    if args.max_reps is not None and args.max_reps < 1:
        raise CoachError("--max-reps must be 1 or more", "e.g. --max-reps 2", exit_code=2)
    return SessionSettings(
        rest_scale=args.rest_scale, max_reps=args.max_reps, ready_seconds=args.ready_seconds,
        answer_seconds=args.answer_seconds, warmup=not args.no_warmup,
        phase_words=not args.no_words, rep_numbers=not args.no_words, seed=args.seed,
        summary=not args.no_summary,
        prepare=args.prepare)


def run(args, settings: Settings) -> int:
    from coach.workout.run import run_session

    options = session_settings(args)
    for path in (args.out, args.events):
        if path and path != "-":
            check_output(path)
    with EventWriter(args.events) as events:
        result = run_session(
            settings, options, plan=args.plan, resume=args.resume,
            answers=Path(args.answers) if args.answers else None, typed=args.typed,
            events=events, out=Path(args.out) if args.out else None,
            transcript=sys.stderr if args.typed else None)
    if result.rendered_seconds is not None:
        print(f"{args.out}\t{result.rendered_seconds:.1f} s")
    if result.status == INTERRUPTED:
        print("coach: interrupted; `coach session --resume` carries on at the next set",
              file=sys.stderr)
        return 130
    return 1 if result.unsaved else 0
