"""Listening for commands in a thread while something else plays (a metronome, a scan)."""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections import deque
from collections.abc import Sequence

import numpy as np

from coach.core.answers import Answer, check_expect
from coach.errors import CoachError
from coach.hearing.recognizer import Recognizer
from coach.settings import INPUT_RATE

log = logging.getLogger(__name__)

LEAD_SECONDS = 0.5
"""Audio a listen hands to the next when it timed out: the gate's pre-roll (0.3 s) and
the windows it scores before it counts a start."""
LISTEN_SECONDS = 2.0


class BackgroundListener:
    """Listens for commands in a thread while something else plays.

    ``poll()`` returns the next understood Answer (or None); ``stop()`` ends the thread.
    Answers that are not understood are dropped. ``expect`` defaults to "command".
    Each listen lasts 2 s when nothing is said; the next one starts with the last
    ``LEAD_SECONDS`` of it (``Recognizer.listen``'s ``lead``), so a command begun just
    before a listen's limit is heard whole (without it, words begun in the last 0.3 s
    of a listen lost their start and about half of them were not heard).
    Any error while listening (a device gone, a bug in a decoder) is logged in one line,
    kept in ``error`` and counted in ``failures``; the listener starts again after
    ``retry_seconds``, so commands are heard again once the cause is gone.
    """

    def __init__(self, recognizer: Recognizer, mic, expect: str = "command",
                 plans: Sequence[str] = (), retry_seconds: float = 1.0) -> None:
        self.recognizer = recognizer
        self.mic = mic
        self.expect = check_expect(expect)
        self.plans = tuple(plans)
        self.retry_seconds = retry_seconds
        self._answers: queue.Queue[Answer] = queue.Queue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: Exception | None = None
        self.failures = 0

    def start(self) -> BackgroundListener:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="coach-listener", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        _background_priority()
        mic = RecentReads(self.mic, int(LEAD_SECONDS * INPUT_RATE))
        lead = None
        while not self._stop.is_set():
            try:
                mic.clear()
                answer = self.recognizer.listen(mic, self.expect, timeout=LISTEN_SECONDS,
                                                plans=self.plans, stop=self._stop,
                                                lead=lead)
                lead = mic.last() if answer.details.get("reason") == "timeout" else None
            except Exception as error:  # any failure: report it, wait, listen again
                self.error = error
                self.failures += 1
                what = error.message if isinstance(error, CoachError) \
                    else f"{type(error).__name__}: {error}"
                log.warning("listener: %s; listening again in %.0f s", what,
                            self.retry_seconds)
                log.debug("listener failure", exc_info=error)
                self._stop.wait(self.retry_seconds)
                continue
            if answer.understood:
                self._answers.put(answer)

    def poll(self) -> Answer | None:
        try:
            return self._answers.get_nowait()
        except queue.Empty:
            return None

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def __enter__(self) -> BackgroundListener:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _background_priority(niceness: int = 10) -> None:
    """Lower this thread's CPU priority (Linux: a thread is a task with its own nice
    value): a decode that competes for a core with the speaker's audio callback must
    lose, or a click comes late. Quietly does nothing where it is not supported."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)
    except (AttributeError, OSError) as error:
        log.debug("listener: cannot lower its priority (%s)", error)


class RecentReads:
    """A microphone as a listener reads it, keeping the last ``samples`` it gave (thread
    safe: another thread may ask for them)."""

    def __init__(self, microphone, samples: int) -> None:
        self.microphone = microphone
        self.samples = samples
        self._recent: deque = deque()
        self._held = 0
        self._lock = threading.Lock()
        self.total = 0
        """Samples read so far."""

    def read(self, timeout: float = 0.5):
        block = self.microphone.read(timeout)
        if block is not None:
            self.total += len(block)
            with self._lock:
                self._recent.append(block)
                self._held += len(block)
                while self._held - len(self._recent[0]) >= self.samples:
                    self._held -= len(self._recent.popleft())
        return block

    def recent(self) -> list:
        with self._lock:
            return list(self._recent)

    def last(self) -> np.ndarray:
        """The last ``samples`` read, as one array."""
        blocks = self.recent()
        return np.concatenate(blocks)[-self.samples:] if blocks else np.zeros(0, np.int16)

    def clear(self) -> None:
        with self._lock:
            self._recent.clear()
            self._held = 0

    def __getattr__(self, name: str):
        return getattr(self.microphone, name)
