"""`coach servers`: the Wyoming servers on the network, and what each offers."""

from __future__ import annotations

from coach.settings import Settings

NAME = "servers"
HELP = "list the Wyoming voice servers on the network (zeroconf) with what each offers"


def add_arguments(parser) -> None:
    parser.add_argument("--seconds", type=float, default=3.0,
                        help="how long to listen for announcements (default 3)")
    parser.add_argument("--interface", default=None, metavar="ADDRESS",
                        help="listen on this interface address only (default: all)")
    parser.add_argument("--uri", action="append", default=[], metavar="wyoming://HOST:PORT",
                        help="also describe this server (repeatable); with --uri only, "
                             "nothing is searched")


def run(args, settings: Settings) -> int:
    from coach.remote import status, wire
    from coach.remote.discover import browse

    found = [("(given)", wire.parse_address(uri)) for uri in args.uri]
    if not args.uri or args.interface:
        found += browse(args.seconds, args.interface)
    if not found:
        print("coach: no Wyoming server answered on the network", flush=True)
        return 1
    for name, address in found:
        state = status.probe(address, tries=1)
        what = state.offers if state.ok else f"not answering: {state.problem}"
        trip = f"{state.round_trip_ms:.1f} ms" if state.ok else "-"
        print(f"{name}\t{address.uri}\t{trip}\t{what}", flush=True)
    return 0
