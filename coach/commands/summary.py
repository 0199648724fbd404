"""`coach summary`: the spoken summary of the last (or one) session, or of everything."""

from __future__ import annotations

from coach.settings import Settings
from coach.store import Store
from coach.summary import overall_summary, session_summary

NAME = "summary"
HELP = "a short summary of the last session (--session ID, --all), printed and --speak'able"


def add_arguments(parser) -> None:
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--session", type=int, metavar="ID",
                       help="this session (ids are in coach history); default: the last one")
    which.add_argument("--all", action="store_true", help="everything so far instead")
    parser.add_argument("--speak", action="store_true", help="also say it through the speaker")


def run(args, settings: Settings) -> int:
    with Store(settings.paths.database) as store:
        if args.all:
            text = overall_summary(store)
        else:
            text = session_summary(store, args.session)
    print(text, flush=True)
    if args.speak:
        speak(text, settings)
    return 0


def speak(text: str, settings: Settings) -> None:
    from coach.audio.engine import Speaker
    from coach.audio.speech import Voice

    voice = Voice(settings.speech, settings.audio.output_rate, settings.paths.speech_cache)
    samples = voice.render(text)
    with Speaker(settings.audio) as speaker:
        speaker.wait(speaker.play(samples, label="summary"))
        # let the device's own buffer drain before the stream closes
        speaker.wait_until(speaker.now() + speaker.samples(speaker.output_latency + 0.05))
