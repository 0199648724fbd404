"""`coach history`: sessions, sets and body scans as a table, JSON or CSV."""

from __future__ import annotations

import sys

from coach.history import load_history, parse_since, to_csv, to_json, to_table
from coach.settings import Settings
from coach.store import Store

NAME = "history"
HELP = "show past sessions, sets and body scans (a table, or --json / --csv for other tools)"


def add_arguments(parser) -> None:
    form = parser.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="sessions with their sets, as JSON")
    form.add_argument("--csv", action="store_true",
                      help="one row per set: date, exercise, set, load, unit, reps, felt, "
                      "where, cue, tempo, session, skipped")
    add_filters(parser)


def add_filters(parser) -> None:
    parser.add_argument("--exercise", metavar="ID", help="only this exercise (e.g. biceps_curl)")
    parser.add_argument("--since", metavar="DATE",
                        help="only from this day on: 2025-03-01, today, yesterday, 14d, 2w")


def run(args, settings: Settings) -> int:
    since = parse_since(args.since) if args.since else None
    with Store(settings.paths.database) as store:
        history = load_history(store, args.exercise, since, check_exercise=True)
    if args.json:
        sys.stdout.write(to_json(history))
    elif args.csv:
        sys.stdout.write(to_csv(history))
    else:
        sys.stdout.write(to_table(history))
    return 0
