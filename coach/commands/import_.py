"""`coach import FILE.json`: add a backup's rows to the history (checked first, idempotent).

The module is ``import_`` because ``import`` is a Python keyword; the command is ``import``.
"""

from __future__ import annotations

from coach.backup import import_file
from coach.settings import Settings
from coach.store import Store

NAME = "import"
HELP = "add the rows of a backup made by coach export (rows already present are skipped)"


def add_arguments(parser) -> None:
    parser.add_argument("file", metavar="FILE.json", help="a file written by coach export")


def run(args, settings: Settings) -> int:
    with Store(settings.paths.database) as store:
        result = import_file(store, args.file)
    added = ", ".join(f"{n} {name}" for name, n in result.added.items() if n) or "nothing new"
    present = sum(result.present.values())
    print(f"imported {added}" + (f"; {present} rows were already there" if present else ""))
    return 0
