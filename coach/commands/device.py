"""`coach device`: headless mode for a speaker with a microphone (a Raspberry Pi)."""

from __future__ import annotations

from coach.errors import CoachError
from coach.events import EventWriter
from coach.files import check_output
from coach.settings import ENGINE_HELP, ENGINES, MODEL_HELP, Settings

NAME = "device"
HELP = "headless: wait for 'start workout' or 'body scan', run it, wait again"


def add_arguments(parser) -> None:
    parser.add_argument("--engine", default="auto", choices=ENGINES, help=ENGINE_HELP)
    parser.add_argument("--model", default=None, help=MODEL_HELP)
    parser.add_argument("--events", metavar="FILE.jsonl",
                        help="write events (a say event per spoken line) as JSON lines")
    parser.add_argument("--plan", default="starter", help="the plan of 'start workout'")
    parser.add_argument("--retry-seconds", type=float, default=3.0,
                        help="how often a missing speaker or microphone is tried again")
    parser.add_argument("--rest-scale", type=float, default=1.0,
                        help="multiply every rest by this")
    parser.add_argument("--max-reps", type=int, default=None,
                        help="count at most this many reps per set")
    parser.add_argument("--once", action="store_true",
                        help="return after one workout or scan (for tests and scripts)")
    parser.add_argument("--prepare", action="store_true",
                        help="render every line the device is likely to say (the plan's "
                        "workout, the body scan) into the speech cache, then exit: run once "
                        "at set-up, so the device never loads the voice model while it runs")


def run(args, settings: Settings) -> int:
    from coach.core.library import builtin_library
    from coach.core.plans import load_plan
    from coach.device import Device, DeviceSettings
    from coach.workout.state import SessionSettings

    if args.retry_seconds <= 0 or args.rest_scale < 0:
        raise CoachError("--retry-seconds and --rest-scale must be positive",
                         "e.g. --retry-seconds 3 --rest-scale 0.5", exit_code=2)
    if args.max_reps is not None and args.max_reps < 1:
        raise CoachError("--max-reps must be 1 or more", "e.g. --max-reps 2", exit_code=2)
    load_plan(args.plan, builtin_library(), settings.paths.data_dir / "plans")  # fail now
    if args.events and args.events != "-":
        check_output(args.events)
    options = DeviceSettings(
        retry_seconds=args.retry_seconds,
        default_plan=args.plan, max_activities=1 if args.once else None,
        session=SessionSettings(rest_scale=args.rest_scale, max_reps=args.max_reps))
    with EventWriter(args.events) as events:
        device = Device(settings, options, events)
        if args.prepare:
            device.prepare()
            return 0
        return device.run()
