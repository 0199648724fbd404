"""`coach scan`: a guided body scan, timed to the second, with a check-in at the end."""

from __future__ import annotations

import logging
import re
from pathlib import Path

from coach import events as ev
from coach.core import scan as core
from coach.errors import CoachError
from coach.files import check_output
from coach.settings import ENGINE_HELP, ENGINES, MODEL_HELP, Settings

NAME = "scan"
HELP = "a guided body scan (full, pre-workout or tense-relax), then a check-in"

log = logging.getLogger(__name__)


def add_arguments(parser) -> None:
    parser.add_argument("--minutes", type=float, default=None,
                        help="how long, 1 to 30 (default: 10 full, 3 pre-workout, "
                             "8 tense-relax)")
    parser.add_argument("--style", choices=core.STYLES, default=None,
                        help="full: lying down, head to toes; pre-workout: the muscles you are "
                             "about to train; tense-relax: tense 5 s, release 10 s "
                             "(default: pre-workout with --focus/--plan, else full)")
    parser.add_argument("--focus", default=None,
                        help="muscles for a pre-workout scan, comma-separated "
                             "(e.g. glutes,hamstrings)")
    parser.add_argument("--plan", default=None,
                        help="scan the target muscles of this plan (a name or a .toml file)")
    parser.add_argument("--breath", default=None, metavar="IN-OUT",
                        help="breathing pace marked with soft tones, seconds in and out "
                             "(e.g. 4-6)")
    parser.add_argument("--events", default=None, metavar="FILE",
                        help="write say/listen/heard/end events as JSON lines ('-': stdout)")
    parser.add_argument("--out", type=Path, default=None, metavar="FILE.wav",
                        help="render the whole scan to a WAV instead of playing it "
                             "(no sound card; check-in only with --answers)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--typed", action="store_true",
                        help="type commands and answers on the keyboard instead of speaking")
    source.add_argument("--answers", type=Path, default=None, metavar="FILE",
                        help="scripted answers, one per line (words or a WAV path); "
                             "'@SECONDS WORDS' gives a command at that time, e.g. '@20 pause'")
    parser.add_argument("--engine", default="auto", choices=ENGINES, help=ENGINE_HELP)
    parser.add_argument("--model", default=None, help=MODEL_HELP)


def _focus(text: str | None) -> tuple[str, ...]:
    if not text:
        return ()
    return tuple(part.strip() for part in re.split(r"[,;]", text) if part.strip())


def run(args, settings: Settings) -> int:
    from coach.scan import loop as scan

    style = args.style or (core.PRE_WORKOUT if (args.focus or args.plan) else core.FULL)
    if args.minutes is not None:
        core.check_minutes(args.minutes)
    request = scan.ScanRequest(
        style=style,
        minutes=args.minutes,
        focus=_focus(args.focus),
        plan=args.plan,
        breath=core.parse_breath(args.breath) if args.breath else None,
    )
    if args.out is not None and args.out.suffix.lower() != ".wav":
        raise CoachError(f"--out {args.out} is not a .wav file", "e.g. --out scan.wav", 2)
    for path in (args.out, args.events):
        if path is not None and str(path) != "-":
            check_output(path)
    with ev.EventWriter(args.events) as events:
        if args.out is not None:
            answers = None
            if args.answers is not None:
                from coach.dialogue.sources import ScriptSource, recognizer_factory

                answers = ScriptSource(args.answers,
                                       recognizer_factory(settings))
            outcome = scan.render_scan(settings, request, args.out, answers, events)
            print(scan.summary_line(outcome, args.out))
            return 0
        outcome = scan.run_live(settings, request, events, typed=args.typed,
                                answers_file=args.answers)
        print(scan.summary_line(outcome))
    return 0 if outcome.status in (scan.COMPLETED, scan.STOPPED) else 1
