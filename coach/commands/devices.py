"""`coach devices`: list sound devices (`<` default input, `>` default output)."""

from __future__ import annotations

from coach.audio import devices
from coach.settings import Settings

NAME = "devices"
HELP = "list sound devices; with --check, exit 1 when there is no speaker"


def add_arguments(parser) -> None:
    parser.add_argument("--check", action="store_true",
                        help="print nothing; exit 0 if a speaker exists (and the chosen "
                             "devices resolve), else 1")


def run(args, settings: Settings) -> int:
    if args.check and not devices.sound_hardware_present():
        return 1
    found = devices.list_devices()
    if args.check:
        if not any(d.outputs for d in found):
            return 1
        devices.resolve(settings.audio.output_device, "output")
        return 0
    print(devices.describe(found))
    # a wrong --output-device/--input-device prints the list above and exits 2
    devices.resolve(settings.audio.output_device, "output")
    if settings.audio.input_device is not None:
        devices.resolve(settings.audio.input_device, "input")
    return 0
