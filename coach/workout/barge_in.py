"""Barge-in: a line the coach says in the announcement or the decision after a set is
watched while it plays, and "pause" or "stop" heard over it cuts it at the sample the
command was understood (``Speaker.cut``). What the command does is ``control``'s rule
(``over_a_line``); carrying it out is ``Session._obey``'s. The coach's own voice reaches
the watch only through the echo canceller (``coach.audio.echo``)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from coach.audio.engine import Sound
from coach.dialogue.commands import Action
from coach.workout import control

if TYPE_CHECKING:
    from coach.workout.parts import SessionView

log = logging.getLogger(__name__)

#: How often (seconds of the speaker clock) a playing line looks for a command.
POLL_SECONDS = 0.02


def play_line(session: SessionView, sound: Sound) -> bool | Action:
    """Wait for ``sound`` to play: True when it did, False when it did not finish (a
    device gone), or the Action (PAUSE, STOP) of a command that cut it."""
    speaker = session.speaker
    if session.state not in control.OVER_A_LINE or speaker.offline:
        return speaker.wait(sound)
    watch = session.source.watch()
    step = speaker.samples(POLL_SECONDS)
    try:
        while True:
            end, now = sound.end, speaker.now()
            if end is not None and now >= end:
                return True
            if not speaker.wait_until(now + step if end is None else min(end, now + step)):
                return speaker.wait(sound, timeout=0.0)
            answer = watch.poll()
            if answer is None or answer.kind != "command":
                continue
            session._record(answer, "command", loose=True)
            act = control.over_a_line(session.state, str(answer.value))
            if act is Action.IGNORE:
                continue
            at = speaker.cut(sound)
            log.info("coach: %s heard over the line; cut at %.2f s of it", act,
                     (at - (sound.start or at)) / speaker.rate)
            return act
    finally:
        watch.close()
