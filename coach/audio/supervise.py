"""Watching the speaker and the microphone during a workout or a scan, and waiting for them.

A speaker that is unplugged stops its PortAudio stream (its sample clock stops); a
microphone that is unplugged (or a PulseAudio source that disappears) stops delivering
blocks. ``Supervisor.problem()`` notices either within about a second, cheaply enough
to be asked every poll of a set or a rest (it asks ``pactl`` at most every
``check_seconds``). ``Supervisor.recover(problem)`` then:

1. emits one ``device_lost`` event and logs one line on stderr, then calls ``tell`` if
   given (the workout says a lost microphone on the speaker that still works);
2. closes the dead stream and tries to open it again every ``retry_seconds``, in place,
   so every holder of the speaker (the metronome, the hold timer, the scan player) and
   of the microphone (the answer source) keeps working with the same object;
3. emits ``device_back`` when both work again, and returns.

The caller decides where to carry on: the workout at the same line or the same set, the
scan at the start of the line it was on. An ``OfflineSpeaker`` is never supervised.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from coach.audio import presence
from coach.errors import DeviceError
from coach.events import DeviceBack, DeviceLost, EventWriter
from coach.settings import AudioSettings

log = logging.getLogger(__name__)

#: Seconds between two attempts to reopen a missing device.
RETRY_SECONDS = 3.0
#: Seconds between two asks to PulseAudio whether the pinned devices are still listed.
CHECK_SECONDS = 1.0
#: A microphone that delivered no block for this long (seconds) is gone.
SILENT_SECONDS = 2.0


class Supervisor:
    def __init__(self, settings: AudioSettings, speaker=None, microphone=None,
                 events: EventWriter | None = None, retry_seconds: float = RETRY_SECONDS,
                 stop: threading.Event | None = None) -> None:
        self.settings = settings
        self.speaker = speaker if hasattr(speaker, "reopen") else None
        self.microphone = microphone if hasattr(microphone, "reopen") else None
        self.events = events or EventWriter(None)
        self.retry_seconds = retry_seconds
        self.stop = stop or threading.Event()
        self.outages = 0
        self._checked = 0.0
        self._mic_blocks = -1
        self._mic_seen = time.monotonic()

    def problem(self) -> str | None:
        """What is wrong with the speaker or the microphone, in a few words; None: all well."""
        if self.speaker is not None and not self.speaker.active:
            return "the speaker stopped"
        now = time.monotonic()
        if self.microphone is not None:
            blocks = self.microphone.blocks
            if blocks != self._mic_blocks:
                self._mic_blocks, self._mic_seen = blocks, now
            elif now - self._mic_seen > SILENT_SECONDS or not self.microphone.active:
                return "the microphone stopped delivering sound"
        if now - self._checked >= CHECK_SECONDS and (self.speaker or self.microphone):
            self._checked = now
            return presence.missing(self.settings, check_output=self.speaker is not None,
                                    check_input=self.microphone is not None, portaudio=False)
        return None

    def recover(self, problem: str, tell: Callable[[str], None] | None = None) -> bool:
        """Wait until the devices work again (True), or until ``stop`` is set (False).
        ``tell(device)`` is called after the ``device_lost`` event, before the streams are
        closed: the workout says a lost microphone on the speaker that still works."""
        self.outages += 1
        started = time.monotonic()
        device = "microphone" if "microphone" in problem else "speaker"
        self.events.emit(DeviceLost(device=device, problem=problem))
        log.warning("coach: %s; paused, trying again every %g s", problem, self.retry_seconds)
        if tell is not None:
            tell(device)
        if self.speaker is not None:
            self.speaker.close()
        if self.microphone is not None:
            self.microphone.close()
        while not self.stop.wait(self.retry_seconds):
            gone = presence.missing(self.settings, check_output=self.speaker is not None,
                                    check_input=self.microphone is not None, portaudio=False)
            if gone:
                log.debug("still missing: %s", gone)
                continue
            try:
                if self.speaker is not None:
                    self.speaker.reopen()
                if self.microphone is not None:
                    self.microphone.reopen()
            except DeviceError as error:
                log.debug("not yet: %s", error.message)
                continue
            self._mic_blocks, self._mic_seen = -1, time.monotonic()
            self._checked = 0.0
            away = time.monotonic() - started
            log.warning("coach: the %s is back after %.0f s; carrying on", device, away)
            self.events.emit(DeviceBack(device=device, seconds=round(away, 1)))
            return True
        return False
