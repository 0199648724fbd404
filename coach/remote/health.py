"""Whether a Wyoming server is worth trying now: the one backoff for hearing and voice.

``ServerHealth(uri, retry_first, retry_max)``: ``due()`` says whether to try the server
(a failed one rests ``retry_first`` seconds, doubled at each failure up to
``retry_max``); ``failed(error)`` and ``answered(ms)`` report each try. The first failure
of an outage leaves ``notice`` to be said once (``take_notice``); a success ends the
outage, so the next one is said again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque

log = logging.getLogger(__name__)


class ServerHealth:
    def __init__(self, uri: str, what: str, notice: str, retry_first: float,
                 retry_max: float, clock=time.monotonic) -> None:
        self.uri = uri
        self.what = what
        """"hearing" or "voice": how the log lines start."""
        self.notice = notice
        self.retry_first = retry_first
        self.retry_max = retry_max
        self._clock = clock
        self._lock = threading.Lock()
        self._retry_at = 0.0
        self._delay = retry_first
        self._down = False
        self._pending: str | None = None
        self.round_trips: deque[float] = deque(maxlen=100)
        """Milliseconds of the latest exchanges that answered."""
        self.failures = 0

    def due(self) -> bool:
        with self._lock:
            return self._clock() >= self._retry_at

    def failed(self, message: str) -> None:
        with self._lock:
            self.failures += 1
            self._retry_at = self._clock() + self._delay
            if not self._down:
                self._down = True
                self._pending = self.notice
                log.warning("%s: %s; on my own meanwhile, trying the server again in %.0f s",
                            self.what, message, self._delay)
            else:
                log.info("%s: %s; next try in %.0f s", self.what, message, self._delay)
            self._delay = min(self._delay * 2, self.retry_max)

    def answered(self, ms: float) -> None:
        with self._lock:
            self.round_trips.append(ms)
            self._delay = self.retry_first
            if self._down:
                self._down = False
                log.warning("%s: the server %s answers again", self.what, self.uri)

    def take_notice(self) -> str | None:
        with self._lock:
            notice, self._pending = self._pending, None
            return notice
