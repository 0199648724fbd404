"""Entry point: arguments -> frozen settings -> one command's ``run``.

Each command lives in ``coach/commands/<name>.py`` and defines ``NAME``, ``HELP``,
``add_arguments(parser)`` and ``run(args, settings) -> int``. They are found by
scanning that package, so adding a command touches no other file. ``args`` stops
at the command module: below it, code gets settings and plain values.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import pkgutil
import sqlite3
import sys
from pathlib import Path

from coach import __version__
from coach.errors import CoachError
from coach.settings import (
    AudioSettings,
    HearingSettings,
    Paths,
    RemoteSettings,
    Settings,
    SpeechSettings,
    default_data_dir,
)

log = logging.getLogger("coach")

DEFAULT_COMMAND = "session"


def _command_modules():
    import coach.commands as package

    modules = []
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"coach.commands.{info.name}")
        if hasattr(module, "NAME") and hasattr(module, "run"):
            modules.append(module)
    return modules


#: Speaking rates espeak-ng renders, in words per minute.
RATES = (80, 450)


class _Parser(argparse.ArgumentParser):
    """argparse with errors in the coach's form: one line, then the fix (no usage dump)."""

    def error(self, message: str):
        print(f"coach: {message}", file=sys.stderr)
        print(f"  fix: see `{self.prog} --help`", file=sys.stderr)
        raise SystemExit(2)


def _rate(text: str) -> int:
    try:
        rate = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of words per "
                                         "minute") from None
    if not RATES[0] <= rate <= RATES[1]:
        raise argparse.ArgumentTypeError(f"{rate} is out of range: use {RATES[0]} to "
                                         f"{RATES[1]} words per minute")
    return rate


def _latency(text: str) -> str | float:
    if text in ("low", "high"):
        return text
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("use low, high or a number of seconds") from None
    if not 0 < seconds <= 1:
        raise argparse.ArgumentTypeError("seconds must be between 0 and 1")
    return seconds


def _deadline(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < seconds <= 30:
        raise argparse.ArgumentTypeError("use 0.1 to 30 seconds, e.g. 0.8")
    return seconds


def _server(text: str) -> str:
    from coach.remote.wire import parse_address

    try:
        return parse_address(text).uri
    except CoachError as error:
        raise argparse.ArgumentTypeError(f"{error.message}: {error.fix}") from None


def _add_global_options(parser: argparse.ArgumentParser, defaults: bool) -> None:
    """Global options work before or after the command name (``coach devices --rate 150``)."""

    def default(value):
        return value if defaults else argparse.SUPPRESS

    parser.add_argument("--output-device", default=default(None),
                        help="speaker: device index or name substring")
    parser.add_argument("--input-device", default=default(None),
                        help="microphone: device index or name substring")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=default(None),
        help="where the database, caches and models live "
        "(default: $COACH_DATA_DIR or the user data folder)",
    )
    parser.add_argument("--voice", default=default(None),
                        help="piper:NAME (default piper:en_US-joe-medium), espeak:NAME, "
                             "a Piper .onnx file, or an espeak-ng voice (en-gb)")
    parser.add_argument("--hearing", default=default(None), metavar="wyoming://HOST:PORT",
                        type=_server,
                        help="hear on this Wyoming ASR server (coach serve, "
                             "wyoming-faster-whisper), local hearing standing by")
    parser.add_argument("--hearing-deadline", type=_deadline, default=default(0.8),
                        metavar="SECONDS",
                        help="how long a turn waits for the hearing server before local "
                             "hearing takes it (default 0.8)")
    parser.add_argument("--hearing-wait", type=_deadline, default=default(None),
                        metavar="SECONDS",
                        help="how long a turn may wait in a busy coach serve's queue before "
                             "it is heard here instead (default: as long as hearing it here "
                             "takes, timed once)")
    parser.add_argument("--rate", type=_rate, default=default(170),
                        help="speaking rate, words per minute")
    parser.add_argument("--latency", default=default("low"), type=_latency,
                        help="speaker buffer: low (default), high (steadier on a busy "
                             "Raspberry Pi), or seconds")
    parser.add_argument("-v", "--verbose", action="store_true", default=default(False),
                        help="log details to stderr")


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, object]]:
    parser = _Parser(
        prog="coach",
        description="Offline, voice-guided audio coach for strength training and body scans.",
    )
    parser.add_argument("--version", action="version", version=f"coach {__version__}")
    _add_global_options(parser, defaults=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands: dict[str, object] = {}
    for module in _command_modules():
        cmd = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        _add_global_options(cmd, defaults=False)
        if hasattr(module, "add_arguments"):
            module.add_arguments(cmd)
        commands[module.NAME] = module
    return parser, commands


def settings_from_args(args: argparse.Namespace) -> Settings:
    data_dir = args.data_dir or (
        Path(os.environ["COACH_DATA_DIR"]) if os.environ.get("COACH_DATA_DIR") else None
    )
    cache_dir = os.environ.get("COACH_CACHE_DIR")
    paths = Paths(data_dir=(data_dir or default_data_dir()).expanduser(),
                  cache_dir=Path(cache_dir).expanduser() if cache_dir else None)
    return Settings(
        audio=AudioSettings(output_device=args.output_device, input_device=args.input_device,
                            latency=args.latency),
        speech=SpeechSettings(voice=args.voice, rate=args.rate, voices_dir=paths.voices),
        # --engine and --model belong to the commands that hear
        hearing=HearingSettings(engine=getattr(args, "engine", "auto"),
                                model=getattr(args, "model", None)),
        paths=paths,
        remote=RemoteSettings(hearing=args.hearing, deadline=args.hearing_deadline,
                              max_wait=args.hearing_wait),
    )


def main(argv: list[str] | None = None) -> int:
    # before numpy loads: Whisper's numpy decoder multiplies a few rows at a time, where
    # more BLAS threads only spin on the cores the audio and the encoder need
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    parser, commands = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(message)s",
        stream=sys.stderr,
    )
    name = args.command or DEFAULT_COMMAND
    if name not in commands:
        parser.print_help(sys.stderr)
        return 2
    if args.command is None:  # defaults of the default command's own options
        args = parser.parse_args([*(argv or sys.argv[1:]), name])
    settings = settings_from_args(args)
    from coach.audio.devices import filter_native_noise

    filter_native_noise()
    try:
        code = int(commands[name].run(args, settings) or 0)
        sys.stdout.flush()  # a full disk or a closed pipe shows here, not at exit
        return code
    except CoachError as error:
        print(f"coach: {error.message}", file=sys.stderr)
        if error.fix:
            print(f"  fix: {error.fix}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("coach: stopped.", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader (head, less) has what it wanted
        _drop_stdout()
        return 0
    except sqlite3.DatabaseError as error:  # damaged after it opened (a bad page, a full disk)
        return _one_line(f"the history database {settings.paths.database} cannot be used "
                         f"({error})", "move it aside and restore a backup with coach import, "
                         "or pass another --data-dir", 1, error)
    except OSError as error:  # the disk or a device, not a bug in the coach
        if error.filename is None:  # standard output (redirected to a full disk)
            _drop_stdout()
            return _one_line(f"cannot write the output ({error.strerror or error})",
                             "free some disk space, or send the output elsewhere", 1, error)
        return _one_line(f"cannot use {error.filename} ({error.strerror or error})",
                         "check the path, its permissions and the free space", 1, error)
    except Exception as error:  # a bug: one line for the user, the details in a file
        return _report_crash(error, settings)


def _drop_stdout() -> None:
    """Point standard output at /dev/null, so the flush at exit has nowhere to fail."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except (OSError, ValueError):
        pass


def _one_line(message: str, fix: str, code: int, error: BaseException) -> int:
    print(f"coach: {message}", file=sys.stderr)
    print(f"  fix: {fix}", file=sys.stderr)
    log.debug("", exc_info=error)
    return code


def _report_crash(error: Exception, settings: Settings) -> int:
    import traceback

    folder = settings.paths.data_dir
    try:
        folder.mkdir(parents=True, exist_ok=True)
        crash = folder / "crash.log"
        with open(crash, "a", encoding="utf-8") as handle:
            handle.write("".join(traceback.format_exception(error)) + "\n")
        where = f"details in {crash}"
    except OSError:
        where = "run with -v for details"
    print(f"coach: internal error: {type(error).__name__}: {error} ({where}; "
          "anything already saved is kept)", file=sys.stderr)
    log.debug("", exc_info=error)
    return 70


if __name__ == "__main__":
    raise SystemExit(main())
