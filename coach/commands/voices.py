"""`coach voices list | fetch NAME`: the Piper voices the coach can speak with."""

from __future__ import annotations

from coach.errors import CoachError
from coach.settings import Settings

NAME = "voices"
HELP = "list the installed voices, or fetch a Piper voice from the voice hub"


def add_arguments(parser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION")
    sub.add_parser("list", help="installed voices; * marks the one in use")
    fetch = sub.add_parser("fetch", help="download and install a Piper voice")
    fetch.add_argument("name", help="a Piper voice name, e.g. en_GB-alan-medium")
    fetch.add_argument("--base-url", default=None,
                       help="the voice hub's address (default: rhasspy/piper-voices)")
    fetch.add_argument("--sha256", default=None, help="expected checksum of the .onnx file")


def run(args, settings: Settings) -> int:
    from coach.audio import voices

    action = getattr(args, "action", None) or "list"
    if action == "list":
        chosen = voices.parse(settings.speech.voice, settings.speech.voices_dir)
        print(f"voices folder: {settings.speech.voices_dir}")
        found = voices.installed(settings.speech.voices_dir)
        for name, model in found:
            mark = "*" if chosen.engine == voices.PIPER and chosen.model is not None \
                and chosen.model.resolve() == model.resolve() else " "
            default = " (default)" if name == voices.DEFAULT_PIPER else ""
            print(f"{mark} piper:{name:28s} {model}{default}")
        if chosen.engine == voices.PIPER and not any(
                chosen.model is not None and chosen.model.resolve() == m.resolve()
                for _, m in found):
            print(f"* piper:{chosen.name:28s} {chosen.model} (not installed: espeak-ng "
                  "speaks instead)")
        espeak_mark = "*" if chosen.engine == voices.ESPEAK else " "
        name = chosen.name if chosen.engine == voices.ESPEAK else voices.DEFAULT_ESPEAK
        print(f"{espeak_mark} espeak:{name:27s} espeak-ng (the fallback; any espeak-ng voice, "
              "e.g. espeak:en-gb+f3)")
        return 0
    if action == "fetch":
        kwargs = {"base": args.base_url} if args.base_url else {}
        target = voices.fetch(args.name, settings.speech.voices_dir, sha256=args.sha256,
                              **kwargs)
        print(target)
        return 0
    raise CoachError(f"unknown action {action}", "use list or fetch", exit_code=2)
