"""What a spoken command does, in one table: (moment, command) -> action.

The workout, the body scan and device mode each hear the same command words (the answer
grammar's ``command`` rule: pause, resume, repeat, skip, "skip exercise", stop, slower,
faster, next, done). What a word does depends only on the moment it is heard, and this
table is the one place that says so; the loops look the action up and carry it out.
A pair that is not in the table does nothing (``IGNORE``).

Moments (``Moment``): the workout's READY ("Ready?"), COUNTING (a set plays), ASKING (a
question after the set), RESTING, PAUSED; the scan's PLAYING, SCAN_PAUSED and CHECKIN;
device mode's WAITING (nothing running). Pure: no audio, no engines.
"""

from __future__ import annotations

from enum import StrEnum


class Moment(StrEnum):
    READY = "READY"
    COUNTING = "COUNTING"
    ASKING = "ASKING"
    RESTING = "RESTING"
    PAUSED = "PAUSED"
    PLAYING = "PLAYING"
    SCAN_PAUSED = "SCAN_PAUSED"
    CHECKIN = "CHECKIN"
    WAITING = "WAITING"


class Action(StrEnum):
    IGNORE = "ignore"
    """Nothing happens (at a question: the question is asked again)."""
    PAUSE = "pause"
    """Stop the sound, keep the place, wait for resume."""
    RESUME = "resume"
    """Leave the pause and carry on where it stopped."""
    GO = "go"
    """Start the set now (at "Ready?")."""
    REPEAT = "repeat"
    """Say the last instruction again (the scan: go back to the start of the line)."""
    END_SET = "end_set"
    """The set is over: ask about it."""
    END_REST = "end_rest"
    """The rest is over: the next set."""
    SKIP_SET = "skip_set"
    SKIP_EXERCISE = "skip_exercise"
    STOP = "stop"
    """End and save (the scan: end it; the check-in: no more questions)."""
    SLOWER = "slower"
    FASTER = "faster"
    NOTHING_RUNNING = "nothing_running"
    """Device mode, waiting: say that nothing is running."""


_EVERY_SET_MOMENT = {
    "pause": Action.PAUSE, "stop": Action.STOP, "skip": Action.SKIP_SET,
    "skip exercise": Action.SKIP_EXERCISE, "slower": Action.SLOWER, "faster": Action.FASTER,
}

TABLE: dict[Moment, dict[str, Action]] = {
    Moment.READY: {**_EVERY_SET_MOMENT, "resume": Action.GO, "next": Action.GO,
                   "done": Action.GO, "repeat": Action.REPEAT},
    Moment.COUNTING: {**_EVERY_SET_MOMENT, "done": Action.END_SET, "next": Action.END_SET},
    Moment.ASKING: dict(_EVERY_SET_MOMENT),
    Moment.RESTING: {**_EVERY_SET_MOMENT, "next": Action.END_REST, "done": Action.END_REST,
                     "repeat": Action.REPEAT},
    Moment.PAUSED: {"resume": Action.RESUME, "next": Action.RESUME, "done": Action.RESUME,
                    "stop": Action.STOP, "repeat": Action.REPEAT},
    Moment.PLAYING: {"pause": Action.PAUSE, "stop": Action.STOP, "done": Action.STOP,
                     "repeat": Action.REPEAT, "slower": Action.SLOWER,
                     "faster": Action.FASTER},
    Moment.SCAN_PAUSED: {"resume": Action.RESUME, "repeat": Action.RESUME,
                         "stop": Action.STOP, "done": Action.STOP},
    Moment.CHECKIN: {"stop": Action.STOP, "done": Action.STOP, "skip": Action.STOP},
    Moment.WAITING: {"stop": Action.NOTHING_RUNNING},
}


def action(moment: Moment, command: str) -> Action:
    """What ``command`` (a command word of the grammar) does at ``moment``."""
    return TABLE[moment].get(command, Action.IGNORE)
