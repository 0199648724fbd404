"""The dialogue layer, pure: the (moment, command) -> action table that the workout, the
scan and device mode all dispatch on, and the ask-again loop they share."""

from __future__ import annotations

import pytest

from coach.core.answers import Answer, parse, phrases
from coach.dialogue.ask import Question, ask, device_answer
from coach.dialogue.commands import TABLE, Action, Moment, action

#: The command values the grammar gives (parse of every command phrase).
COMMANDS = sorted({parse(p, "command").value for p in phrases("command")})

A = Action
#: The whole table as the product behaves, one row per moment, in COMMANDS' order:
#: done, faster, next, pause, repeat, resume, skip, skip exercise, slower, stop.
EXPECTED = {
    Moment.READY: [A.GO, A.FASTER, A.GO, A.PAUSE, A.REPEAT, A.GO, A.SKIP_SET,
                   A.SKIP_EXERCISE, A.SLOWER, A.STOP],
    Moment.COUNTING: [A.END_SET, A.FASTER, A.END_SET, A.PAUSE, A.IGNORE, A.IGNORE,
                      A.SKIP_SET, A.SKIP_EXERCISE, A.SLOWER, A.STOP],
    Moment.ASKING: [A.IGNORE, A.FASTER, A.IGNORE, A.PAUSE, A.IGNORE, A.IGNORE, A.SKIP_SET,
                    A.SKIP_EXERCISE, A.SLOWER, A.STOP],
    Moment.RESTING: [A.END_REST, A.FASTER, A.END_REST, A.PAUSE, A.REPEAT, A.IGNORE,
                     A.SKIP_SET, A.SKIP_EXERCISE, A.SLOWER, A.STOP],
    Moment.PAUSED: [A.RESUME, A.IGNORE, A.RESUME, A.IGNORE, A.REPEAT, A.RESUME, A.IGNORE,
                    A.IGNORE, A.IGNORE, A.STOP],
    Moment.PLAYING: [A.STOP, A.FASTER, A.IGNORE, A.PAUSE, A.REPEAT, A.IGNORE, A.IGNORE,
                     A.IGNORE, A.SLOWER, A.STOP],
    Moment.SCAN_PAUSED: [A.STOP, A.IGNORE, A.IGNORE, A.IGNORE, A.RESUME, A.RESUME, A.IGNORE,
                         A.IGNORE, A.IGNORE, A.STOP],
    Moment.CHECKIN: [A.STOP, A.IGNORE, A.IGNORE, A.IGNORE, A.IGNORE, A.IGNORE, A.STOP,
                     A.IGNORE, A.IGNORE, A.STOP],
    Moment.WAITING: [A.IGNORE] * 9 + [A.NOTHING_RUNNING],
}


def test_the_commands_are_the_grammars():
    assert COMMANDS == ["done", "faster", "next", "pause", "repeat", "resume", "skip",
                        "skip exercise", "slower", "stop"]
    for moment, row in TABLE.items():
        assert set(row) <= set(COMMANDS), moment


@pytest.mark.parametrize("moment", list(Moment))
def test_the_table_row_by_row(moment):
    assert [action(moment, c) for c in COMMANDS] == EXPECTED[moment]


def test_pause_and_stop_mean_the_same_wherever_something_plays_or_is_asked():
    for moment in (Moment.READY, Moment.COUNTING, Moment.ASKING, Moment.RESTING,
                   Moment.PLAYING):
        assert action(moment, "pause") is Action.PAUSE
    for moment in set(Moment) - {Moment.WAITING}:
        assert action(moment, "stop") is Action.STOP
    assert action(Moment.COUNTING, "no such word") is Action.IGNORE


class Script:
    """Answers in order; records what was said."""

    def __init__(self, *answers) -> None:
        self.answers = list(answers)
        self.said: list[str] = []

    def say(self, text: str) -> None:
        self.said.append(text)

    def listen(self, question: Question):
        item = self.answers.pop(0)
        grammar = question.listen_expect or question.expect
        return item if item is None or isinstance(item, Answer) else parse(item, grammar)


def question(**kw) -> Question:
    return Question("How many reps?", "reps", "Sorry? How many reps?", 8.0, **kw)


def test_ask_re_asks_an_unclear_answer_then_gives_up():
    script = Script("banana", "twelve")
    assert ask(question(), script.say, script.listen, lambda a: True).value == 12
    assert script.said == ["How many reps?", "Sorry? How many reps?"]
    script = Script("banana", "apple", "pear")
    assert ask(question(), script.say, script.listen, lambda a: True) is None
    assert len(script.said) == 3  # once, then retries=2 times again


def test_ask_hands_commands_over_and_asks_the_question_again():
    script = Script("pause", "ten")
    heard = []
    answer = ask(question(), script.say, script.listen, lambda a: heard.append(a.value) or True)
    assert (answer.value, heard) == (10, ["pause"])
    assert script.said == ["How many reps?", "How many reps?"]
    script = Script("stop")
    assert ask(question(), script.say, script.listen, lambda a: False) is None


def test_ask_does_not_count_a_device_outage_and_stops_when_nobody_is_there():
    script = Script(device_answer("the microphone stopped"), "banana", "banana", "eight")
    assert ask(question(), script.say, script.listen, lambda a: True).value == 8
    assert script.said[:2] == ["How many reps?", "How many reps?"]
    assert ask(question(), *_says(Script(None))) is None
    capped = Script("banana", "banana", "banana")
    assert ask(question(turns=2), capped.say, capped.listen, lambda a: True) is None
    assert len(capped.said) == 2


def _says(script: Script):
    return script.say, script.listen, lambda a: True


def _guess(value, confidence: float = 0.7) -> Answer:
    """What a recognizer returns when it found an allowed answer but is not sure of it."""
    return Answer("unknown", None, str(value), confidence,
                  maybe=Answer("reps", value, str(value), confidence, {"score": -3.0}))


def _checked(**kw) -> Question:
    return question(confirm=lambda guess: f"{guess.value} reps, right?", **kw)


def test_a_likely_guess_is_checked_aloud_and_a_yes_takes_it():
    script = Script(_guess(12), "yeah")
    answer = ask(_checked(), *_says(script))
    assert (answer.kind, answer.value, answer.details["confirmed"]) == ("reps", 12, True)
    assert script.said == ["How many reps?", "12 reps, right?"]


def test_a_no_or_an_unclear_reply_asks_again_and_a_guess_is_never_taken_without_a_yes():
    script = Script(_guess(15), "no", "fourteen")
    assert ask(_checked(), *_says(script)).value == 14
    assert script.said == ["How many reps?", "15 reps, right?", "My mistake. How many reps?"]
    script = Script(_guess(15), "banana", _guess(15), "banana", _guess(15), "banana")
    assert ask(_checked(), *_says(script)) is None  # three unclear checks: given up
    assert script.said[2] == "Sorry? How many reps?"
    script = Script(_guess(15), None)
    assert ask(_checked(), *_says(script)) is None  # nobody there


def test_a_check_is_skipped_without_a_line_for_it_and_a_command_in_its_reply_is_done():
    script = Script(_guess(12), "twelve")
    assert ask(question(), *_says(script)).value == 12  # no confirm: asked again
    assert script.said == ["How many reps?", "Sorry? How many reps?"]
    script = Script(_guess(12), "pause", "twelve")
    heard = []
    answer = ask(_checked(), script.say, script.listen, lambda a: heard.append(a.value) or True)
    assert (answer.value, heard) == (12, ["pause"])
    assert script.said == ["How many reps?", "12 reps, right?", "How many reps?"]
    capped = Script(_guess(12), "yes")
    assert ask(_checked(turns=1), capped.say, capped.listen, lambda a: True) is None
    assert capped.said == ["How many reps?"]  # no turn left for the check


def test_a_guess_the_athlete_denied_is_not_taken_or_checked_again():
    """After "no" to "15 reps, right?", a next answer heard as 15 (the same mishearing)
    is unclear, however sure the recognizer is; a guess of 15 is not checked twice."""
    script = Script(_guess(15), "no", "fifteen", "fourteen")
    assert ask(_checked(), *_says(script)).value == 14
    assert script.said == ["How many reps?", "15 reps, right?", "My mistake. How many reps?",
                           "Sorry? How many reps?"]
    script = Script(_guess(15), "no", _guess(15), _guess(14), "yes")
    answer = ask(_checked(), *_says(script))
    assert (answer.value, answer.details["confirmed"]) == (14, True)
    assert script.said == ["How many reps?", "15 reps, right?", "My mistake. How many reps?",
                           "Sorry? How many reps?", "14 reps, right?"]
    script = Script(_guess(15), "no", "fifteen", "fifteen")
    assert ask(_checked(), *_says(script)) is None  # three unclear: the plan's values
