"""Barge-in: a line the coach says (the announcement, a question, the decision after a
set, the rest's opening and countdown) is watched while it plays, and "pause" or "stop"
heard over it cuts it at the sample the command was understood (``Speaker.cut``). What
the command does is ``control``'s rule (``over_a_line``); carrying it out is
``Session._obey``'s. The coach's own voice reaches the watch only through the echo
canceller (``coach.audio.echo``).

Where the coach is loud, the canceller also damps the athlete's words (AEC3's
suppressor), so a command said over a line is often not understood; but the canceller
still finds that somebody talks (``echo.TalkOver``). The line then stops at once, as a
person stops when talked over, and the words that follow are heard in the quiet: a
command then is carried out; none, and the line is said again (a question's answer is
simply listened for).

A part that already listens for commands while the line plays (the rest) lends its
watch as ``session.watching`` (a ``Shared`` watch): only one listener reads the
microphone, and a command the line does not act on stays for that part."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from coach.audio.engine import Sound
from coach.core.answers import Answer
from coach.dialogue.commands import Action
from coach.events import TalkedOver
from coach.settings import INPUT_RATE
from coach.workout import control
from coach.workout.state import State

if TYPE_CHECKING:
    from coach.dialogue.sources import CommandWatch
    from coach.workout.parts import SessionView

log = logging.getLogger(__name__)

#: How often (seconds of the speaker clock) a playing line looks for a command.
POLL_SECONDS = 0.02
#: After a line stopped for the athlete's voice: how long the coach listens for a
#: command before it goes on (seconds of the speaker clock). A word said again after
#: the line stopped ends about 1.5 s later, and is understood some 0.5 s after its end.
YIELD_SECONDS = 3.0
#: ... and, on a busy machine, until the watch has taken in that much audio after the stop
#: (it understands a word as it reads on), but never this much longer.
YIELD_LATE_SECONDS = 5.0


class Again:
    """``play_line``'s answer for a line stopped for the athlete, no command heard: say
    it again (once: the second time it does not stop for talk)."""


AGAIN = Again()


class Shared:
    """A command watch a part keeps open across the lines it says: what a line polls
    and does not act on is kept (``keep``) and given to the part's next ``poll``."""

    def __init__(self, open_watch: Callable[[], CommandWatch]) -> None:
        self._open = open_watch
        self._watch: CommandWatch | None = open_watch()
        self._kept: deque[Answer] = deque()

    def poll(self) -> Answer | None:
        """The part's poll: what a line kept first, then what is heard."""
        return self._kept.popleft() if self._kept else self.fresh()

    def fresh(self) -> Answer | None:
        """A line's poll: only what is heard (not what it kept)."""
        if self._watch is None:  # after a pause: listening again
            self._watch = self._open()
        return self._watch.poll()

    def keep(self, answer: Answer) -> None:
        self._kept.append(answer)

    def suspend(self) -> None:
        """Stop listening until the next ``poll`` (a pause listens on the microphone
        itself meanwhile: one listener at a time)."""
        if self._watch is not None:
            self._watch.close()
            self._watch = None

    close = suspend


def play_line(session: SessionView, sound: Sound, yielding: bool = True,
              text: str = "") -> bool | Action | Again:
    """Wait for ``sound`` to play: True when it did, False when it did not finish (a
    device gone), or the Action (PAUSE, STOP) of a command that cut it.

    ``yielding``: when the athlete talks over the line (``echo.TalkOver``, through the
    source's ``talked_over``), the line stops at once, so the words that follow are heard
    without the coach's voice over them. At a question the answer is then listened for
    (True). Elsewhere the coach listens ``YIELD_SECONDS`` for a command; when none comes
    the rest's line counts as said (True) and any other line is said again (``AGAIN``).
    ``text``: the line's words, for the ``talked_over`` event."""
    speaker = session.speaker
    if session.state not in control.OVER_A_LINE or speaker.offline:
        return speaker.wait(sound)
    shared: Shared | None = session.watching
    watch = shared if shared is not None else session.source.watch()
    poll = shared.fresh if shared is not None else watch.poll
    talked = getattr(session.source, "talked_over", None) if yielding else None
    seen = talked() if talked is not None else 0
    step = speaker.samples(POLL_SECONDS)
    late = speaker.samples(YIELD_LATE_SECONDS)
    heard = getattr(watch, "heard", None) if shared is None else None
    until: int | None = None
    """After the line stopped for the athlete: the sample the wait for a command ends."""
    mark = 0
    try:
        while True:
            end, now = sound.end, speaker.now()
            if until is not None:
                behind = heard is not None and heard() - mark < YIELD_SECONDS * INPUT_RATE
                if now >= until and (not behind or now >= until + late):
                    return True if session.state is State.RESTING else AGAIN
                if not speaker.wait_until(now + step):
                    return False
            else:
                if end is not None and now >= end:
                    return True
                if not speaker.wait_until(now + step if end is None else min(end, now + step)):
                    return speaker.wait(sound, timeout=0.0)
                if talked is not None and talked() > seen:
                    at = speaker.cut(sound)
                    seconds = (at - (sound.start or at)) / speaker.rate
                    log.info("coach: the athlete talked over the line; stopped at %.2f s of it",
                             seconds)
                    session.events.emit(TalkedOver(text=text, seconds=round(seconds, 2)))
                    if session.state is State.ASKING:
                        return True  # the answer is being given: listen for it
                    until = speaker.now() + speaker.samples(YIELD_SECONDS)
                    mark = heard() if heard is not None else 0
            answer = poll()
            if answer is None or answer.kind != "command":
                continue
            act = control.over_a_line(session.state, str(answer.value))
            if act is Action.IGNORE and shared is not None:
                shared.keep(answer)  # the part that lent the watch carries it out
                continue
            session._record(answer, "command", loose=True)
            if act is Action.IGNORE:
                continue
            at = speaker.cut(sound)
            log.info("coach: %s heard over the line; cut at %.2f s of it", act,
                     (at - (sound.start or at)) / speaker.rate)
            return act
    finally:
        if shared is None:
            watch.close()
