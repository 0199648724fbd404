"""`coach report`: progress plots (load and reps, felt-it per cue, check-ins) in a PNG."""

from __future__ import annotations

import logging

from coach.commands.history import add_filters
from coach.files import check_output
from coach.history import load_history, parse_since
from coach.report import write_report
from coach.settings import Settings
from coach.store import Store
from coach.summary import library_names

NAME = "report"
HELP = "draw progress plots into a PNG (needs the plots extra: pip install 'coach[plots]')"

log = logging.getLogger(__name__)


def add_arguments(parser) -> None:
    parser.add_argument("--out", default="progress.png", metavar="FILE",
                        help="where to write the picture (default: progress.png)")
    add_filters(parser)


def run(args, settings: Settings) -> int:
    since = parse_since(args.since) if args.since else None
    check_output(args.out)
    with Store(settings.paths.database) as store:
        history = load_history(store, args.exercise, since, check_exercise=True)
    data = write_report(history, library_names(), args.out)
    log.info("%d exercise(s), %d cue(s), %d check-in(s)", len(data.exercises), len(data.cues),
             len(data.checkins))
    print(args.out)
    return 0
