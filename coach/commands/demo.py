"""`coach demo`: a whole short session with a simulated athlete on a virtual sound card."""

from __future__ import annotations

from pathlib import Path

from coach.files import check_output
from coach.settings import Settings

NAME = "demo"
HELP = "hear a 3-minute session with a simulated athlete answering by voice (no set-up needed)"


def add_arguments(parser) -> None:
    parser.add_argument("--out", default="demo.wav",
                        help="record everything the coach says here (default: demo.wav)")
    parser.add_argument("--plan", default=None,
                        help="use the first two exercises of this plan (default: the demo plan)")
    parser.add_argument("--events", metavar="FILE.jsonl", help="also write the events")


def run(args, settings: Settings) -> int:
    from coach.demo import run_demo

    for path in (args.out, args.events):
        if path and path != "-":
            check_output(path)
    result = run_demo(settings, Path(args.out), plan=args.plan, events_path=args.events)
    return 0 if result.status == "completed" else 1
