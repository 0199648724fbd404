"""`coach models list | fetch NAME | path`: the Vosk models the coach can use."""

from __future__ import annotations

from pathlib import Path

from coach.errors import CoachError
from coach.settings import Settings

NAME = "models"
HELP = "list, fetch or locate Vosk speech models"


def add_arguments(parser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION")
    sub.add_parser("list", help="known and installed models")
    fetch = sub.add_parser("fetch", help="download and install a model")
    fetch.add_argument("name", nargs="?", default=None, help="model name (default: small "
                       "English)")
    fetch.add_argument("--url", default=None, help="download from this URL instead")
    fetch.add_argument("--sha256", default=None, help="expected archive checksum")
    sub.add_parser("path", help="print the English model the coach would use")


def run(args, settings: Settings) -> int:
    from coach.hearing import models

    action = getattr(args, "action", None) or "list"
    if action == "list":
        installed = models.installed(settings.paths)
        chosen = models.find_english_model(settings.paths)
        print(f"models folder: {settings.paths.models}")
        for name, info in models.KNOWN.items():
            here = next((p for p in installed if p.name == name), None)
            state = "installed" if here else "not installed"
            print(f"  {name:34s} {state:14s} {info.about}")
        for path in installed:
            if path.name not in models.KNOWN:
                print(f"  {path.name:34s} {'installed':14s} {path}")
        print(f"in use: {chosen or 'none (PocketSphinx is used)'}")
        return 0
    if action == "fetch":
        name = args.name or models.DEFAULT_MODEL
        target = models.fetch(name, settings.paths.models, url=args.url, sha256=args.sha256)
        print(target)
        return 0
    if action == "path":
        found = models.find_english_model(settings.paths)
        if found is None:
            raise CoachError("no English Vosk model is installed",
                             f"run `coach models fetch {models.DEFAULT_MODEL}`")
        print(Path(found))
        return 0
    raise CoachError(f"unknown action {action}", "use list, fetch or path", exit_code=2)
