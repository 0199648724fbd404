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
        return item if item is None or isinstance(item, Answer) else parse(item,
                                                                           question.expect)


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
