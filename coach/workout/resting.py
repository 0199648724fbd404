"""The rest between two sets, timed on the speaker clock.

"Rest N seconds." opens it, the seconds left are said ``countdown_seconds`` before its
end (not in a rest too short for it), and commands are heard throughout and carried out
by ``Session._obey``: "next" ends the rest, a skip skips the set that follows it, a
pause stops the rest's clock until "resume", "slower"/"faster" change the next set.
"pause" or "stop" said over the rest's own lines cuts them (``barge_in``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from coach.events import Rest
from coach.workout import lines
from coach.workout.barge_in import Shared
from coach.workout.control import DeviceLost, Leave
from coach.workout.state import State

if TYPE_CHECKING:
    from coach.workout.parts import SessionView

#: How often (seconds of the speaker clock) a rest looks for a command and its devices.
POLL_SECONDS = 0.05


def rest(session: SessionView, seconds: float) -> None:
    session._enter(State.RESTING)
    session.events.emit(Rest(seconds=round(seconds, 3)))
    speaker = session.speaker
    end = speaker.now() + speaker.samples(seconds) - session.paused  # + the time paused
    countdown = session.settings.countdown_seconds
    counted = seconds < countdown + 3  # a short rest gets no countdown
    poll = speaker.samples(POLL_SECONDS)
    # one watch for the whole rest, its lines too: "pause" or "stop" said over them cuts
    # them (barge_in.play_line), any other command waits here
    session.watching = watch = Shared(session.source.watch)
    try:
        session.say(lines.rest_line(seconds) if seconds >= 3 else "")
        while (now := speaker.now()) < end + session.paused:
            left = (end + session.paused - now) / speaker.rate
            problem = session.lost.problem()
            if problem is not None:
                raise DeviceLost(problem)
            if not counted and left <= countdown:
                counted = True
                session.say(lines.countdown_line(left))
                continue
            answer = watch.poll()
            if answer is None or answer.kind != "command":
                speaker.wait_until(min(end + session.paused, now + poll))
                continue
            session._record(answer, "command", loose=True)
            try:
                session._obey(session._action(answer))
            except Leave:  # next: the rest is over
                break
    finally:
        session.watching = None
        watch.close()
