"""What a Wyoming server offers and how long it takes to answer (``doctor``, ``servers``)."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

from coach.remote import wire


@dataclass(frozen=True)
class ServerStatus:
    address: wire.Address
    offers: str
    """"asr: coach (coach-whisper)", "tts: piper (en_US-joe-medium, ...)"; "" when down."""
    round_trip_ms: float | None
    """Median of a few describe exchanges, connect included; None: it did not answer."""
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.round_trip_ms is not None


def offers(info) -> str:
    """One line of what a ``wyoming.info.Info`` says the server offers."""
    parts = []
    for kind, programs in (("asr", info.asr), ("tts", info.tts), ("wake", info.wake),
                           ("intent", info.intent), ("handle", info.handle)):
        for program in programs or []:
            models = getattr(program, "models", None) or getattr(program, "voices", None) or []
            names = [m.name for m in models if getattr(m, "installed", True)]
            shown = ", ".join(names[:3]) + (f", +{len(names) - 3}" if len(names) > 3 else "")
            parts.append(f"{kind}: {program.name}" + (f" ({shown})" if shown else ""))
    return "; ".join(parts) or "nothing it describes"


def probe(address: wire.Address, tries: int = 3, deadline: float = 2.0) -> ServerStatus:
    """Describe the server ``tries`` times: what it offers, its median round trip."""
    times: list[float] = []
    info = None
    for _ in range(tries):
        started = time.perf_counter()
        try:
            info = wire.describe(address, deadline)
        except wire.ServerError as error:
            return ServerStatus(address, "", None, error.message)
        times.append((time.perf_counter() - started) * 1000)
    return ServerStatus(address, offers(info), statistics.median(times))
