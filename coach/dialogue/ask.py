"""Asking one question: say it, listen, ask again when the answer is unclear.

``ask(question, say, listen, on_command)`` is the one loop the workout (how many reps?
did you feel it?) and the scan's check-in (how do you feel? anything sore?) use:

- an accepted answer is returned;
- an unclear one is asked again with ``question.again``, at most ``question.retries``
  times, then None (the caller keeps the plan's values, or stores nothing);
- a command goes to ``on_command``; True: the question is asked again, False: give up
  (None); it may also raise (skip, stop);
- ``listen`` returning None means nobody can answer (a script that ran out): None;
- an answer marked ``details["device"]`` means the microphone was away and is back:
  the same question again, not counted as unclear;
- ``question.turns`` caps how many times it is said in all (None: no cap).

``listen(question)`` waits ``question.timeout`` seconds for speech to begin.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from coach.core.answers import Answer

#: The answer a listener returns when the microphone went away and came back meanwhile.
DEVICE = "device"


def device_answer(problem: str) -> Answer:
    return Answer("unknown", None, "", 0.0, {DEVICE: problem})


def _understood(answer: Answer) -> bool:
    return answer.understood


@dataclass(frozen=True)
class Question:
    text: str
    expect: str
    """What the answer is about (the ``listen`` event, the stored answer)."""
    again: str
    """Said instead of ``text`` after an unclear answer."""
    timeout: float
    """Seconds to wait for speech to begin."""
    accept: Callable[[Answer], bool] = _understood
    retries: int = 2
    """Unclear answers asked again before giving up."""
    turns: int | None = None
    """At most this many times said in all, commands included (None: no cap)."""
    listen_expect: str | None = None
    """The grammar the recognizer listens with, when not ``expect`` (e.g. "any")."""


def ask(question: Question, say: Callable[[str], None],
        listen: Callable[[Question], Answer | None],
        on_command: Callable[[Answer], bool]) -> Answer | None:
    """The accepted answer to ``question``, or None (unclear, given up, nobody there)."""
    unclear = turns = 0
    text = question.text
    while question.turns is None or turns < question.turns:
        turns += 1
        say(text)
        answer = listen(question)
        if answer is None:
            return None
        if answer.details.get(DEVICE):
            turns -= 1
            text = question.text
            continue
        if answer.kind == "command":
            if not on_command(answer):
                return None
            text = question.text
            continue
        if question.accept(answer):
            return answer
        unclear += 1
        if unclear > question.retries:
            return None
        text = question.again
    return None
