"""Rendering lines ahead of time, on a worker thread, and the rule that due lines go first.

``Voice.prepare(texts)`` hands lines to a ``Renderer`` (a worker thread, never the audio
callback) so they are ready before they are due. A line that is due (a ``say`` that must
render it now) goes before the lines rendered ahead: ``due_first``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import weakref
from collections import deque
from typing import Protocol

from coach.errors import MissingPart

log = logging.getLogger(__name__)


class _DueFirst:
    """Lines that are due go before lines rendered ahead. A ``say`` that must render its
    line marks itself due; every background renderer waits before starting its next line
    while one is (the line it is rendering is finished first). Without it the renderer,
    taking the engine's lock again straight after each line, kept a due line waiting for
    its whole queue (locks are not fair): turns of 1-2.7 s with espeak-ng on a device."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._due = 0

    @contextlib.contextmanager
    def due(self):
        with self._condition:
            self._due += 1
        try:
            yield
        finally:
            with self._condition:
                self._due -= 1
                self._condition.notify_all()

    def wait_clear(self) -> None:
        with self._condition:
            self._condition.wait_for(lambda: self._due == 0)


#: One for the process: every voice's due lines go before every voice's lines ahead.
due_first = _DueFirst()


class Rendering(Protocol):
    """What the renderer needs of a voice."""

    def key(self, text: str) -> str: ...
    def is_cached(self, text: str) -> bool: ...
    def render_ahead(self, text: str) -> object: ...


class Renderer:
    """A worker thread that renders queued lines into the caches, oldest request first."""

    def __init__(self, voice: Rendering) -> None:
        self.voice = voice
        self._queue: deque[str] = deque()
        self._busy: dict[str, threading.Event] = {}
        self._condition = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._loop, name="coach-speech-ahead",
                                        daemon=True)
        self._thread.start()
        _renderers.add(self)

    def add(self, texts: list[str]) -> None:
        with self._condition:
            queued = set(self._queue)
            self._queue.extend(t for t in texts if t not in queued)
            self._condition.notify_all()

    def wait_for(self, key: str) -> None:
        with self._condition:
            event = self._busy.get(key)
        if event is not None:
            event.wait()

    def wait_idle(self, timeout: float | None) -> bool:
        with self._condition:
            return self._condition.wait_for(lambda: not self._queue and not self._busy,
                                            timeout)

    def stop(self, wait: float = 0.0) -> None:
        with self._condition:
            self._stopped = True
            self._queue.clear()
            self._condition.notify_all()
        if wait:
            self._thread.join(wait)

    def _loop(self) -> None:
        with contextlib.suppress(OSError, AttributeError):  # Linux: this thread only
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 5)
        while True:
            due_first.wait_clear()  # a line that is due renders first
            with self._condition:
                self._condition.wait_for(lambda: self._queue or self._stopped)
                if self._stopped:
                    return
                text = self._queue.popleft()
                key = self.voice.key(text)
                done = threading.Event()
                self._busy[key] = done
            try:
                if not self.voice.is_cached(text):
                    self.voice.render_ahead(text)
            except MissingPart as error:  # the line is rendered (or fails) when it is due
                log.debug("could not render %r ahead: %s", text[:40], error.message)
            finally:
                with self._condition:
                    self._busy.pop(key, None)
                    self._condition.notify_all()
                done.set()


_renderers: weakref.WeakSet[Renderer] = weakref.WeakSet()


def stop_renderers(wait: float = 5.0) -> None:
    """Stop every renderer, letting a line being rendered finish (at exit: before the
    interpreter, and onnxruntime's session under it, goes away)."""
    for renderer in list(_renderers):
        renderer.stop(wait=wait)
