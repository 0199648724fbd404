"""Wyoming servers on the network: zeroconf ``_wyoming._tcp`` (``coach servers``)."""

from __future__ import annotations

import socket
import time

from coach.errors import MissingPart
from coach.remote import wire
from coach.remote.serve import SERVICE


def browse(seconds: float, interface: str | None = None) -> list[tuple[str, wire.Address]]:
    """(name, address) of every ``_wyoming._tcp`` service heard within ``seconds``;
    ``interface``: listen on that address only (all interfaces when None)."""
    try:
        from zeroconf import InterfaceChoice, ServiceBrowser, Zeroconf
    except ImportError:
        raise MissingPart("finding servers needs the zeroconf package",
                          "pip install 'coach[lan]' (or pip install zeroconf), or give "
                          "the server's address: coach servers --uri wyoming://HOST:PORT"
                          ) from None
    zeroconf = Zeroconf(interfaces=[interface] if interface else InterfaceChoice.All)
    names: list[str] = []

    class Listener:
        def add_service(self, zc, kind, name):
            names.append(name)

        def update_service(self, zc, kind, name):
            pass

        def remove_service(self, zc, kind, name):
            pass

    try:
        ServiceBrowser(zeroconf, SERVICE, Listener())
        time.sleep(seconds)
        found = []
        for name in dict.fromkeys(names):
            info = zeroconf.get_service_info(SERVICE, name, timeout=1000)
            if info is None or not info.addresses or info.port is None:
                continue
            host = socket.inet_ntoa(info.addresses[0])
            found.append((name.removesuffix("." + SERVICE), wire.Address(host, info.port)))
        return found
    finally:
        zeroconf.close()
