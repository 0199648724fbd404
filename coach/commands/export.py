"""`coach export FILE.json`: back up the whole history as versioned JSON."""

from __future__ import annotations

import logging

from coach.backup import export_file
from coach.files import check_output
from coach.settings import Settings
from coach.store import Store

NAME = "export"
HELP = "back up the whole history to FILE.json ('-' for stdout); coach import reads it back"

log = logging.getLogger(__name__)


def add_arguments(parser) -> None:
    parser.add_argument("file", metavar="FILE.json", help="where to write the backup")


def run(args, settings: Settings) -> int:
    if args.file != "-":
        check_output(args.file)
    with Store(settings.paths.database) as store:
        counts = export_file(store, args.file)
    log.info("exported %s to %s", _counts(counts), args.file)
    return 0


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {name}" for name, n in counts.items())
