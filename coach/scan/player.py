"""The body-scan player: a planned timeline on the speaker's sample clock, and the
commands heard while it plays.

``ScanPlayer`` schedules each sound at its sample, a fraction of a second ahead, and
between sounds looks for a command (the PLAYING and SCAN_PAUSED rows of the dialogue
table): pause (cancel what is scheduled, stay silent, resume where it stopped: a line
cut short starts over), resume, repeat (back to the start of the last line), slower /
faster (the quiet that is left, stretched or shrunk), stop. A speaker or microphone that
goes away pauses it the same way until the ``Supervisor`` has it back. The same player
drives a live ``Speaker`` and an ``OfflineSpeaker`` (``--out``).
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from coach import events as ev
from coach.audio.engine import Playback, Sound
from coach.core import scan as core
from coach.core.answers import Answer
from coach.dialogue import commands
from coach.dialogue.commands import Action, Moment
from coach.dialogue.sources import AnswerSource
from coach.errors import DeviceError
from coach.events import COMPLETED, STOPPED

log = logging.getLogger(__name__)

#: Sounds are handed to the speaker this far (seconds) ahead of their sample.
LOOKAHEAD_SECONDS = 0.3
#: How often (seconds of the speaker clock) the loop looks for a command.
POLL_SECONDS = 0.05
#: Quiet (seconds) before the scan goes on after "resume" or "repeat".
RESUME_LEAD_SECONDS = 0.4
#: "slower" multiplies the quiet that is left by this; "faster" divides it.
SLOWER = 1.25
#: Limits of the overall speed change (quiet times this, from "slower"/"faster").
MAX_STRETCH = 2.0
MIN_STRETCH = 0.5
#: A supervised (live) scan looks at its devices at least this often, in seconds.
SUPERVISE_SECONDS = 0.25
#: A pause longer than this (seconds) ends the scan as stopped.
MAX_PAUSE_SECONDS = 30 * 60

class State(enum.Enum):
    PLAYING = "PLAYING"
    PAUSED = "PAUSED"
    CHECKIN = "CHECKIN"
    DONE = "DONE"
    STOPPED = "STOPPED"


#: The dialogue moment of each player state (DONE and STOPPED hear nothing).
MOMENTS: dict[State, Moment] = {
    State.PLAYING: Moment.PLAYING,
    State.PAUSED: Moment.SCAN_PAUSED,
    State.CHECKIN: Moment.CHECKIN,
}


class _End(Exception):
    """The scan ends (stop, or a pause nobody can end)."""


class _Resumed(Exception):
    """The pause is over: the scan carries on."""


# -- playing a timeline ------------------------------------------------------------------
@dataclass(eq=False)
class _Playing:
    at: int
    """Speaker sample where it starts."""
    item: core.Item
    sound: Sound
    said: bool = False


@dataclass
class PlayResult:
    status: str
    """completed | stopped"""
    paused_seconds: float = 0.0
    commands: list[str] = field(default_factory=list)
    timeline: core.Timeline | None = None
    """The timeline as finally played (after any "slower")."""


class ScanPlayer:
    """Plays a timeline on a Speaker or OfflineSpeaker and obeys commands between sounds."""

    def __init__(self, speaker: Playback, timeline: core.Timeline,
                 render: Callable[[core.Item], np.ndarray],
                 answers: AnswerSource, events: ev.EventWriter,
                 tone_lengths: tuple[int, int] = (0, 0), supervisor=None) -> None:
        self.speaker = speaker
        self.supervisor = supervisor
        """A ``coach.audio.supervise.Supervisor`` (live speaker), or None (offline)."""
        self.timeline = timeline
        self.render = render
        self.answers = answers
        self.events = events
        self.tone_lengths = tone_lengths
        self.offline = speaker.offline
        self.rate = speaker.rate
        self.state = State.PLAYING
        self.origin = 0
        self.offset = 0
        self.stretch = 1.0
        self._pending: list[_Playing] = []
        self._next = 0
        self._watch = None
        """Commands heard while the timeline plays (``answers.watch()``)."""

    # time stamps: the virtual clock offline (the events follow the rendered WAV)
    def _t(self) -> float | None:
        return (self.speaker.now() - self.origin) / self.rate if self.offline else None

    def emit(self, event: ev.Event) -> None:
        self.events.emit(event, self._t())

    def set_state(self, state: State) -> None:
        self.state = state
        self.emit(ev.StateChanged(state.value))

    def _elapsed(self) -> float:
        return (self.speaker.now() - self.origin) / self.rate

    def _wait_until(self, sample: int) -> None:
        ok = self.speaker.wait_until(sample)
        if not ok and self.supervisor is None and not self.speaker.active:
            raise DeviceError("the speaker stopped during the scan",
                              "check it is plugged in, then start the scan again")

    def _device_problem(self) -> str | None:
        return self.supervisor.problem() if self.supervisor is not None else None

    def _command(self, result: PlayResult):
        """A command heard since the last look (written as a ``heard`` event), or None."""
        answer = self._watch.poll(self._elapsed())
        if answer is None:
            return None
        self.emit(ev.Heard(answer.kind, answer.value, answer.text, answer.confidence))
        if answer.kind != "command":
            log.info("not a command: %r", answer.text)
            return None
        result.commands.append(str(answer.value))
        return answer

    def _wait_for_device(self, problem: str) -> bool:
        """Stop listening, wait for the device (``Supervisor.recover``), listen again."""
        self._watch.close()
        back = self.supervisor.recover(problem)
        self._watch = self.answers.watch()
        return back

    def _lost(self, problem: str) -> bool:
        """A device went away: silence, wait for it, then carry on from the start of the
        line that was playing. False when the wait was given up (the device is stopping)."""
        now = self.speaker.now()
        position = now - self.offset
        self._cut_all(now)
        if not self._wait_for_device(problem):
            return False
        self._go_to(core.resume_point(self.timeline, position), self.speaker.now())
        return True

    def _cut(self, playing: _Playing, now: int) -> None:
        """Silence a sound from ``now`` on (live: cancel it; offline: keep what was heard)."""
        if self.offline and playing.at < now:
            playing.sound.samples = playing.sound.samples[: now - playing.at]
        else:
            self.speaker.cancel(playing.sound)

    def _cut_all(self, now: int, only_future: bool = False) -> None:
        kept = []
        for playing in self._pending:
            if only_future and playing.at <= now:
                kept.append(playing)
            else:
                self._cut(playing, now)
        self._pending = kept

    def _go_to(self, position: int, now: int) -> None:
        """Carry on from timeline ``position`` after a short quiet."""
        self.offset = now + int(RESUME_LEAD_SECONDS * self.rate) - position
        self._next = self.timeline.index_at(position)

    def play(self) -> PlayResult:
        speaker = self.speaker
        entries = self.timeline.entries
        lookahead = int(LOOKAHEAD_SECONDS * self.rate)
        poll = max(1, int(POLL_SECONDS * self.rate))
        self.origin = speaker.now() + (0 if self.offline else lookahead)
        self.offset = self.origin
        result = PlayResult(COMPLETED, timeline=self.timeline)
        self._watch = self.answers.watch()
        self.set_state(State.PLAYING)
        try:
            while True:
                entries = self.timeline.entries
                now = speaker.now()
                while self._next < len(entries) and \
                        self.offset + entries[self._next][0] <= now + lookahead:
                    start, item = entries[self._next]
                    at = max(self.offset + start, now)
                    sound = speaker.play(self.render(item), at=at, label=item.kind)
                    self._pending.append(_Playing(at, item, sound))
                    self._next += 1
                for playing in self._pending:
                    if not playing.said and playing.at <= now:
                        playing.said = True
                        if playing.item.kind == core.LINE:
                            self.emit(ev.Say(playing.item.text))
                self._pending = [p for p in self._pending
                                 if not p.said or p.at + p.item.length > now]
                if self._next >= len(entries) and not self._pending:
                    break
                wake = now + (poll if not self.answers.exhausted else 10 * self.rate)
                if self.supervisor is not None:  # a dead stream does not wake the clock
                    wake = min(wake, now + int(SUPERVISE_SECONDS * self.rate))
                if self._next < len(entries):
                    wake = min(wake, self.offset + entries[self._next][0] - lookahead)
                for playing in self._pending:
                    if not playing.said:
                        wake = min(wake, playing.at)
                    else:
                        wake = min(wake, playing.at + playing.item.length)
                self._wait_until(max(wake, now + 1))
                problem = self._device_problem()
                if problem is not None:
                    if not self._lost(problem):
                        result.status = STOPPED
                        break
                    continue
                answer = self._command(result)
                if answer is None:
                    continue
                try:
                    self._obey(self.action(answer), result)
                except _End:
                    result.status = STOPPED
                    break
        finally:
            self._watch.close()
        result.timeline = self.timeline
        return result

    def action(self, answer: Answer) -> Action:
        """What a command does now: the dialogue table at the player's moment."""
        moment = MOMENTS.get(self.state)
        return Action.IGNORE if moment is None else commands.action(moment, str(answer.value))

    def _obey(self, act: Action, result: PlayResult) -> None:
        """Carry out ``act`` now, the one place an action becomes its effect. Raises
        ``_End`` when the scan ends, ``_Resumed`` when a pause is over."""
        now = self.speaker.now()
        position = now - self.offset
        if act is Action.STOP:
            self._cut_all(now)
            raise _End
        if act is Action.RESUME:
            raise _Resumed
        if act is Action.PAUSE:
            self._pause(position, result)
        elif act is Action.REPEAT:
            self._cut_all(now)
            self._go_to(core.rewind_point(self.timeline, position), now)
        elif act in (Action.SLOWER, Action.FASTER):
            self._stretch(act, position, now)
        else:
            log.info("that command does nothing %s", "now" if self.state is State.PAUSED
                     else "during a scan")

    def _stretch(self, act: Action, position: int, now: int) -> None:
        """Slower / faster: the quiet that is left, stretched or shrunk."""
        factor = SLOWER if act is Action.SLOWER else 1 / SLOWER
        stretch = self.stretch * factor
        if not MIN_STRETCH - 1e-9 <= stretch <= MAX_STRETCH + 1e-9:
            log.info("already as %s as it goes", "slow" if factor > 1 else "fast")
            return
        self.stretch = stretch
        self._cut_all(now, only_future=True)
        self.timeline = core.stretch_after(self.timeline, position, factor, self.tone_lengths)
        self._next = self.timeline.index_at(position + 1)
        log.info("%s: the quiet that is left x%.2f", act.value, factor)

    def _pause(self, position: int, result: PlayResult) -> None:
        """Silence until "resume" (then on from the start of the line that was cut);
        raises ``_End`` on "stop", when no command can come, or after MAX_PAUSE_SECONDS."""
        speaker = self.speaker
        now = speaker.now()
        self._cut_all(now)
        self.set_state(State.PAUSED)
        try:
            self._paused(result)
        except _Resumed:
            pass
        finally:
            result.paused_seconds += (speaker.now() - now) / self.rate
        self._go_to(core.resume_point(self.timeline, position), speaker.now())
        self.set_state(State.PLAYING)

    def _paused(self, result: PlayResult) -> None:
        speaker = self.speaker
        poll = max(1, int(POLL_SECONDS * self.rate))
        limit = speaker.now() + int(MAX_PAUSE_SECONDS * self.rate)
        while speaker.now() < limit:
            if self.answers.exhausted:
                log.info("no more commands can come: the paused scan ends")
                break
            self._wait_until(speaker.now() + poll)
            problem = self._device_problem()
            if problem is not None:  # stay paused until the device is back
                if not self._wait_for_device(problem):
                    break
                limit = speaker.now() + int(MAX_PAUSE_SECONDS * self.rate)
                continue
            answer = self._command(result)
            if answer is not None:
                self._obey(self.action(answer), result)
        raise _End
