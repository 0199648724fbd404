"""The lifting metronome: a tempo's click track placed on the speaker's sample clock.

Every click and spoken word of a set is scheduled with ``speaker.play(samples,
at=sample)`` at the exact sample its beat falls on; nothing is paced with sleeps.
The metronome plans one rep at a time, about ``ahead`` seconds before the rep
starts, and then waits on the sample clock (``speaker.wait_until``), waking at
least every ``poll`` seconds to ask ``interrupt()`` whether to stop. So a set is
exact to the sample live (``Speaker``) and offline (``OfflineSpeaker``, for
``--out``), and a change of tempo or a stop takes effect within a rep.

Interface for the coaching session::

    metronome = Metronome(speaker, voice=voice, events=events, words=True, numbers=True)
    result = metronome.play_set(tempo, reps=8, interrupt=lambda: heard_command_or_none())
    # result.reps_done, result.reason ("completed" or what interrupt() returned)
    metronome.set_tempo(tempo.slower())   # from any thread: applies from the next rep
                                          # not yet planned (normally the next rep)
    metronome.wait_tail()                 # let the last click or word finish

``interrupt`` is called on the ``play_set`` thread at least every ``poll`` seconds
(0.05 s by default); calling ``set_tempo`` from inside it is fine. A non-None
return ends the set: every sound planned for the future is cancelled before it
starts (a sound already playing is left to finish, so nothing is cut mid-way),
and ``play_set`` returns with that value as the reason.

Events: one ``coach.events.Click`` per click, emitted when the click has been
handed to the sound device. With ``track_time=True`` (``coach tempo``) ``t`` is
seconds from the start of the track (the moment ``play_set`` began: the first
click comes ``lead_in`` seconds later); with ``track_time=False`` (a session) it
is the event writer's own clock.

A speaker that dies during a set (unplugged) raises ``SpeakerStopped`` (a
``DeviceError``) carrying the reps finished before it died.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from coach.audio.engine import Playback
from coach.core.tempo import ACCENT, CLICK, EXPLOSIVE, PHASES, Beat, Tempo, number_word, rep_beats
from coach.errors import DeviceError
from coach.events import COMPLETED, Click, EventWriter
from coach.sounds import load_sound

log = logging.getLogger(__name__)


#: The sound file (in ``audio/``) for each beat kind.
BEAT_SOUNDS = {CLICK: "click", ACCENT: "accent", EXPLOSIVE: "explosive"}


class SpeakerStopped(DeviceError):
    """The speaker stopped in the middle of a set (unplugged)."""

    def __init__(self, reps_done: int) -> None:
        super().__init__("the speaker stopped in the middle of a set",
                         "check it is plugged in (see `coach devices`)")
        self.reps_done = reps_done
        """Reps whose last phase had finished (counted from ``first_rep``)."""


@dataclass(frozen=True)
class SetResult:
    """How a set ended."""

    reps_done: int
    """Reps whose last phase finished (counted in this call, from ``first_rep``)."""
    reason: str
    """``"completed"``, or the value ``interrupt()`` returned ("done", "stop", ...)."""
    tempo: Tempo
    """The tempo of the last rep that was planned."""
    clicks: int
    """Clicks that were played."""
    start: int
    """Speaker sample of the track's start (t = 0)."""
    end: int
    """Speaker sample at which the set ended (completed or interrupted)."""


@dataclass
class _Planned:
    beat: Beat
    sample: int
    sounds: list


class Metronome:
    """Plays sets of reps at a tempo on a ``Speaker`` or ``OfflineSpeaker``."""

    def __init__(self, speaker: Playback, voice=None, events: EventWriter | None = None,
                 words: bool = True, numbers: bool = True, ahead: float = 0.5,
                 poll: float = 0.05, lead_in: float = 0.2, track_time: bool = True,
                 click_gain: float = 1.0, voice_gain: float = 0.9,
                 word_delay: float = 0.06) -> None:
        """``voice``: a ``coach.audio.speech.Voice`` or None (clicks only). ``words``: say
        down/hold/up/squeeze at the start of each phase; ``numbers``: say the rep number
        at the start of each rep. ``ahead``, ``poll``, ``lead_in`` and ``word_delay`` are
        seconds: how early a rep is planned, how often ``interrupt`` is asked, the silence
        before the first click, and the gap between a click and its word."""
        self.speaker = speaker
        self.voice = voice
        self.events = events or EventWriter(None)
        self.words = words and voice is not None
        self.numbers = numbers and voice is not None
        self.rate = int(speaker.rate)
        self.ahead = max(1, speaker.samples(ahead))
        self.poll = max(1, speaker.samples(poll))
        self.lead_in = max(0, speaker.samples(lead_in))
        self.track_time = track_time
        self.click_gain = click_gain
        self.voice_gain = voice_gain
        self.word_delay = speaker.samples(word_delay)
        self._sounds = {kind: load_sound(name, self.rate) for kind, name in BEAT_SOUNDS.items()}
        self._speech: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()
        self._tempo: Tempo | None = None
        self._pending: list = []  # sounds of the last set, for wait_tail
        # cancel only sounds at least this far in the future: one never gets cut once the
        # audio callback may have started mixing it
        self._guard = 2 * speaker.block_frames

    # -- control, from any thread ------------------------------------------------------
    @property
    def tempo(self) -> Tempo | None:
        with self._lock:
            return self._tempo

    def set_tempo(self, tempo: Tempo) -> None:
        """Use ``tempo`` from the next rep that is not planned yet (the rep now playing,
        and the next one if it starts within ``ahead`` seconds, keep theirs)."""
        with self._lock:
            self._tempo = tempo

    # -- speech -------------------------------------------------------------------------
    def prepare(self, reps: int, first_rep: int = 1) -> None:
        """Render every word a set may say, so nothing is synthesised while it plays."""
        if self.voice is None:
            return
        texts = [phase.word for phase in PHASES] if self.words else []
        if self.numbers:
            texts += [number_word(n) for n in range(first_rep, first_rep + reps)]
        for text in texts:
            if text not in self._speech:
                self._speech[text] = _trim(self.voice.render(text), self.rate)

    # -- the set ------------------------------------------------------------------------
    def play_set(self, tempo: Tempo, reps: int,
                 interrupt: Callable[[], str | None] = lambda: None,
                 first_rep: int = 1) -> SetResult:
        """Play ``reps`` reps at ``tempo`` (numbered from ``first_rep``); block until they are
        done or ``interrupt()`` returns something other than None."""
        if reps < 1:
            return SetResult(0, COMPLETED, tempo, 0, self.speaker.now(), self.speaker.now())
        self.set_tempo(tempo)
        self.prepare(reps, first_rep)
        self._pending = []
        speaker = self.speaker
        track0 = speaker.now()
        next_start = track0 + self.lead_in
        next_rep = first_rep
        last_rep = first_rep + reps - 1
        planned: deque[_Planned] = deque()
        rep_ends: deque[int] = deque()
        speech_until = 0
        reps_done = clicks = 0
        used = tempo
        reason = COMPLETED
        while True:
            now = speaker.now()
            # plan every rep that starts within `ahead`, with the tempo current at that moment
            while next_rep <= last_rep and next_start - now <= self.ahead:
                used = self.tempo or used
                for beat in rep_beats(used, next_rep, 0.0, self.words, self.numbers):
                    sample = next_start + speaker.samples(beat.t)
                    if sample < speaker.now():  # this thread stalled for `ahead` seconds:
                        log.warning("metronome late: click of rep %d dropped", beat.rep)
                        continue  # skip the click rather than play it cut or off the beat
                    sounds = [speaker.play(self._sounds[beat.kind], at=sample,
                                           gain=self.click_gain, label=beat.kind)]
                    speech = self._speech.get(beat.word) if beat.word else None
                    if speech is not None and sample + self.word_delay >= speech_until:
                        at = sample + self.word_delay
                        sounds.append(speaker.play(speech, at=at, gain=self.voice_gain,
                                                   label=f"say:{beat.word}"))
                        speech_until = at + len(speech)
                    self._pending.extend(sounds)
                    planned.append(_Planned(beat, sample, sounds))
                next_start += speaker.samples(used.rep_seconds)
                rep_ends.append(next_start)
                next_rep += 1
            # report what the device has been given
            while planned and planned[0].sample < now:
                self._emit(planned.popleft(), track0, now)
                clicks += 1
            while rep_ends and rep_ends[0] <= now:
                rep_ends.popleft()
                reps_done += 1
            if next_rep > last_rep and not rep_ends:
                break
            answer = interrupt()
            if answer is not None:
                reason = str(answer)
                clicks += self._cancel(planned, speaker.now(), track0)
                break
            # sleep on the sample clock until the next thing to do, or the next poll
            targets = [now + self.poll]
            if planned:
                targets.append(planned[0].sample + 1)
            if rep_ends:
                targets.append(rep_ends[0])
            if next_rep <= last_rep:
                targets.append(next_start - self.ahead)
            target = max(now + 1, min(targets))
            if not speaker.wait_until(target, timeout=self.poll / self.rate + 1.0):
                if not speaker.active:
                    stopped = speaker.now()
                    raise SpeakerStopped(reps_done + sum(1 for end in rep_ends if end <= stopped))
                log.debug("speaker clock late at sample %d", speaker.now())
        return SetResult(reps_done, reason, used, clicks, track0, speaker.now())

    def _cancel(self, planned: deque[_Planned], now: int, track0: int) -> int:
        """Cancel every planned sound that has not started (keep those about to play);
        returns how many clicks are still played."""
        limit = now + self._guard
        for item in planned:
            for sound in item.sounds:
                if sound.start is not None and sound.start >= limit:
                    self.speaker.cancel(sound)
        # the clicks left to play still get their events
        kept = 0
        while planned and planned[0].sample < limit:
            self._emit(planned.popleft(), track0, now)
            kept += 1
        planned.clear()
        return kept

    def _emit(self, item: _Planned, track0: int, now: int) -> None:
        beat = item.beat
        event = Click(accent=beat.accent, rep=beat.rep, phase=beat.phase.value)
        if self.track_time:
            t = (item.sample - track0) / self.rate
        else:
            t = self.events.elapsed() + (item.sample - now) / self.rate
        self.events.emit(event, t=t)

    def wait_tail(self) -> None:
        """Block until the last planned click or word has been handed to the device."""
        ends = [s.end for s in self._pending if not s.cancelled and s.end is not None]
        if ends:
            self.speaker.wait_until(max(ends))


def _trim(speech: np.ndarray, rate: int, threshold: float = 0.005,
          keep: float = 0.03) -> np.ndarray:
    """Speech without its trailing silence (so the next word is not skipped for it)."""
    loud = np.nonzero(np.abs(speech) > threshold)[0]
    if len(loud) == 0:
        return speech[:0]
    end = min(len(speech), int(loud[-1]) + int(keep * rate))
    out = np.array(speech[:end], dtype=np.float32)
    fade = min(len(out), int(0.01 * rate))
    if fade:
        out[-fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    return out
