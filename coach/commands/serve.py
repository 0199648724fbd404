"""`coach serve --uri tcp://HOST:PORT`: the coach's recognizer as a Wyoming ASR server."""

from __future__ import annotations

from coach.errors import CoachError
from coach.settings import ENGINE_HELP, ENGINES, MODEL_HELP, Settings

NAME = "serve"
HELP = ("serve the coach's closed-set recognizer over Wyoming (for several coach "
        "speakers, or Home Assistant)")


def add_arguments(parser) -> None:
    parser.add_argument("--uri", default="tcp://127.0.0.1:10300",
                        help="where to listen: tcp://HOST:PORT (tcp://0.0.0.0:10300 for the "
                             "whole network) or unix://PATH (default: tcp://127.0.0.1:10300)")
    parser.add_argument("--engine", default="auto", choices=ENGINES, help=ENGINE_HELP)
    parser.add_argument("--model", default=None, help=MODEL_HELP)
    parser.add_argument("--threads", type=int, default=2,
                        help="CPU threads of one decode (default 2)")
    parser.add_argument("--workers", type=int, default=1,
                        help="decodes at once (default 1: the others queue)")
    parser.add_argument("--max-clients", type=int, default=64,
                        help="connections held at once; more are refused (default 64)")
    parser.add_argument("--zeroconf", nargs="?", const="coach", default=None, metavar="NAME",
                        help="announce the service on the network (_wyoming._tcp) under "
                             "NAME (default: coach)")


def run(args, settings: Settings) -> int:
    import asyncio

    from coach.hearing import open_recognizer
    from coach.remote.serve import ServeSettings, Service, serve

    if args.workers < 1 or args.threads < 1 or args.max_clients < 1:
        raise CoachError("--workers, --threads and --max-clients must be 1 or more",
                         "e.g. --workers 1 --threads 2", exit_code=2)
    if not args.uri.startswith(("tcp://", "unix://")):
        raise CoachError(f"{args.uri!r} is not a place to listen",
                         "use tcp://HOST:PORT, e.g. tcp://0.0.0.0:10300", exit_code=2)
    options = ServeSettings(uri=args.uri, workers=args.workers, max_clients=args.max_clients,
                            zeroconf=args.zeroconf)
    recognizer = open_recognizer(args.engine, settings.paths, args.model,
                                 threads=args.threads)
    try:
        asyncio.run(serve(Service(recognizer, options),
                          ready=lambda _server: print(f"serving {args.uri}", flush=True)))
    except OSError as error:
        raise CoachError(f"cannot listen on {args.uri} ({error.strerror or error})",
                         "pick a free port, or stop the other server") from None
    return 0
