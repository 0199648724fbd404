"""Speaking with a Wyoming TTS server (``--voice wyoming://HOST:PORT[#VOICE]``).

``remote_voice(spec)`` is None for any other ``--voice``. Otherwise ``RemoteVoice``
renders a line on the server (``wyoming-piper``, say), with the local default voice
standing by in ``coach.audio.speech.Voice``: a line the server does not render within
``DEADLINE`` seconds (``AHEAD_DEADLINE`` for lines rendered ahead, which nobody waits
for), or refuses, is rendered locally, and the first such line of an outage starts with
``NOTICE``. The server is tried again with the backoff of ``ServerHealth``.
"""

from __future__ import annotations

import numpy as np

from coach.remote import wire
from coach.remote.health import ServerHealth

NOTICE = "The voice server is not answering; I'll speak on my own."
#: Seconds a line that is about to be said waits for the server.
DEADLINE = 1.0
#: Seconds a line rendered ahead of time waits for the server.
AHEAD_DEADLINE = 5.0
SCHEME = "wyoming://"


class RemoteVoice:
    def __init__(self, address: wire.Address, retry_first: float = 2.0,
                 retry_max: float = 60.0) -> None:
        self.address = address
        self.health = ServerHealth(address.uri, "voice", NOTICE, retry_first, retry_max)

    @property
    def label(self) -> str:
        return self.address.uri

    def synthesize(self, text: str, ahead: bool) -> tuple[np.ndarray, int] | None:
        """(int16 samples, rate) from the server; None: render it locally."""
        if not self.health.due():
            return None
        try:
            samples, rate = wire.synthesize(self.address, text,
                                            AHEAD_DEADLINE if ahead else DEADLINE)
        except wire.ServerError as error:
            self.health.failed(error.message)
            return None
        self.health.answered(0.0)
        return samples, rate


def remote_voice(spec: str | None) -> RemoteVoice | None:
    if not spec or not spec.startswith(SCHEME):
        return None
    return RemoteVoice(wire.parse_address(spec))
