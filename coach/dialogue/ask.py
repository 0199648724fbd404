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
- ``question.turns`` caps how many times it is said in all (None: no cap);
- an unclear answer with a likely guess (``answer.maybe``: the recognizer found an
  allowed answer but is not sure enough to take it) is checked aloud when
  ``question.confirm`` has a line for it ("Twelve reps, right?"): "yes" takes the guess
  (``details["confirmed"]``), "no" or no clear reply asks the question again (counted as
  unclear). A yes/no is the easiest answer to hear, so one short check beats asking
  for the number again, and a guess is never logged without the athlete's yes; an
  unsure command is checked the same way ("Skip this exercise, right?") and done on
  the yes;
- a guess the athlete denied ("no") is not taken or checked again within the same
  question: the same mishearing of the next answer would otherwise log what they just
  said was wrong. Heard again, it counts as unclear.

``listen(question)`` waits ``question.timeout`` seconds for speech to begin.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from coach.core.answers import Answer

#: The answer a listener returns when the microphone went away and came back meanwhile.
DEVICE = "device"
#: What a confirmation's reply is stored as, and the grammar it is heard with (yes / no).
CONFIRM, CONFIRM_GRAMMAR = "confirm", "felt"
#: Said after the athlete says the guess was wrong.
CORRECTED = "My mistake. {text}"


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
    confirm: Callable[[Answer], str | None] | None = None
    """The line that checks a likely guess ("Twelve reps, right?"), None: not checked."""


def ask(question: Question, say: Callable[[str], None],
        listen: Callable[[Question], Answer | None],
        on_command: Callable[[Answer], bool]) -> Answer | None:
    """The accepted answer to ``question``, or None (unclear, given up, nobody there)."""
    unclear = turns = 0
    text = question.text
    denied: set[tuple[str, object]] = set()  # guesses the athlete said "no" to
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
        if question.accept(answer) and _meaning(answer) not in denied:
            return answer
        text = question.again
        check = _check_line(question, answer, denied)
        if check is not None and (question.turns is None or turns < question.turns):
            turns += 1
            reply = _check(check, question.timeout, say, listen, question.again)
            if reply is None:
                return None
            if reply.kind == "felt" and reply.value is True:
                confirmed = _confirmed(answer.maybe)
                if confirmed.kind != "command":
                    return confirmed
                if not on_command(confirmed):
                    return None
                text = question.text  # the command was done: the question again
                continue
            if reply.details.get(DEVICE) or reply.kind == "command":
                if reply.kind == "command" and not on_command(reply):
                    return None
                text = question.text  # the microphone came back, or a command was done
                continue
            if reply.kind == "felt":  # "no": the guess was wrong
                denied.add(_meaning(answer.maybe))
                text = CORRECTED.format(text=question.text)
        unclear += 1
        if unclear > question.retries:
            return None
    return None


def _check(line: str, timeout: float, say: Callable[[str], None],
           listen: Callable[[Question], Answer | None], again: str | None = None
           ) -> Answer | None:
    """Say the check ``line`` and hear the reply with the yes / no grammar."""
    say(line)
    return listen(Question(line, CONFIRM, again or line, timeout,
                           listen_expect=CONFIRM_GRAMMAR))


#: The least confidence of a command guess checked aloud while the coach only waits.
WAITING_CHECK = 0.5


def command_heard(answer: Answer, say: Callable[[str], None],
                  listen: Callable[[Question], Answer | None], timeout: float) -> Answer:
    """What a moment that waits only for a command (paused, "Ready?") acts on: the
    command in ``answer``; an unsure command guess checked aloud first ("Carry on,
    right?") and, on the yes, the guess; else ``answer`` (or a command said instead of
    the yes). Only a guess at even odds or better is checked: while the coach waits,
    the other choice is silence, and chatter nearby should not be answered with checks."""
    maybe = answer.maybe
    if answer.understood or maybe is None or maybe.kind != "command" or \
            maybe.confidence < WAITING_CHECK:
        return answer
    line = check_line(maybe)
    reply = None if line is None else _check(line, timeout, say, listen)
    if reply is not None and reply.kind == "felt" and reply.value is True:
        return _confirmed(maybe)
    return reply if reply is not None and reply.kind == "command" else answer


def _confirmed(guess: Answer) -> Answer:
    """A guess the athlete said yes to, marked so (``details["confirmed"]``)."""
    return replace(guess, details={**guess.details, "confirmed": True})


def _meaning(answer: Answer) -> tuple[str, object]:
    return answer.kind, repr(answer.value)


#: How an unsure yes / no is checked ("felt it" heard, not sure enough): said back.
FELT_CHECKS = {True: "You felt it, right?", False: "You didn't feel it, right?"}
#: How an unsure command is checked: what it would do, said back ("skip exercise" and
#: "skip" sound alike, so the check names what each skips).
COMMAND_CHECKS = {"pause": "Pause, right?", "resume": "Carry on, right?",
                  "repeat": "Say that again, right?", "skip": "Skip this set, right?",
                  "skip exercise": "Skip this exercise, right?", "stop": "Stop, right?",
                  "slower": "Slower, right?", "faster": "Faster, right?",
                  "next": "Next, right?", "done": "Done, right?"}


def check_line(guess: Answer, seconds: bool = False, yes_no: bool = True,
               commands: bool = True) -> str | None:
    """What the coach says to check a guess ("12 reps, right?", "In your shoulders,
    right?", "You feel tense, right?", "You felt it, right?", "Pause, right?";
    ``seconds``: a count of seconds held). ``yes_no`` False: a
    yes / no guess is not checked (asked again, the rule before issue 23; the
    benchmark's "old" policy); ``commands`` False: nor is a command guess."""
    if guess.kind == "felt" and yes_no and isinstance(guess.value, bool):
        return FELT_CHECKS[guess.value]
    if guess.kind == "reps":
        unit = ("second", "seconds") if seconds else ("rep", "reps")
        return f"{guess.value} {unit[guess.value != 1]}, right?"
    if guess.kind == "where":
        return "Nothing sore, right?" if guess.value is None else \
            f"In your {guess.value}, right?"
    if guess.kind == "feeling":
        return f"You feel {guess.value}, right?"
    if guess.kind == "command" and commands:
        return COMMAND_CHECKS.get(guess.value)
    return None


def checked_guess(answer: Answer, seconds: bool = False) -> Answer | None:
    """The guess the workout's dialogue would check aloud for this answer (None: it is
    taken, or asked again): what ``coach hear`` shows as "maybe"."""
    maybe = answer.maybe
    if answer.understood or maybe is None:
        return None
    return maybe if check_line(maybe, seconds) is not None else None


def _check_line(question: Question, answer: Answer,
                denied: set[tuple[str, object]]) -> str | None:
    """The confirmation line for an unclear answer's guess, None: nothing to check (no
    guess, no line for it, or a guess the athlete already denied)."""
    maybe = answer.maybe
    if maybe is None or question.confirm is None or _meaning(maybe) in denied:
        return None
    if maybe.kind != "command" and not question.accept(maybe):
        return None
    return question.confirm(maybe)
