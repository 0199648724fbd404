"""The questions after a set: "How many reps?" (seconds held, for a hold) and "Did you
feel it in your biceps?" (a place named instead is a "where" answer).

Each is asked through ``coach.dialogue.ask``: an unclear answer is asked again at most
``retries`` times, a likely guess is checked aloud (``check_line``), and a command heard
instead is carried out by ``Session._obey`` (skip and stop leave), then the question is
asked again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from coach.core import adapt
from coach.core.answers import Answer
from coach.core.library import Exercise
from coach.dialogue.ask import Question, check_line
from coach.dialogue.ask import ask as dialogue_ask
from coach.workout import lines
from coach.workout.state import State

if TYPE_CHECKING:
    from coach.workout.parts import SessionView


def answers(session: SessionView, exercise: Exercise) -> tuple[int | None, bool | None, str | None]:
    """Ask both questions; (reps, felt, where) as ``adapt.read_answers`` reads them."""
    session._enter(State.ASKING)
    reps = ask(session, lines.reps_question(exercise), "reps", "reps",
               lambda a: a.kind == "reps", exercise)

    def felt_or_where(answer: Answer) -> bool:
        return answer.kind == "felt" or (answer.kind == "where" and answer.value is not None)

    felt = ask(session, lines.felt_question(exercise), "felt", "any", felt_or_where, exercise)
    return adapt.read_answers(exercise, reps, felt)


def ask(session: SessionView, question: str, expect: str, recognizer_expect: str,
        accept: Callable[[Answer], bool], exercise: Exercise) -> Answer | None:
    """Ask until an accepted answer, at most 1 + retries unclear ones; None: unclear."""
    settings = session.settings
    asked = Question(question, expect, lines.asked_again(question), settings.answer_seconds,
                     accept, settings.retries, listen_expect=recognizer_expect,
                     confirm=lambda guess: check_line(guess, exercise.isometric))

    def on_command(answer: Answer) -> bool:
        session._obey(session._action(answer))
        return True

    return dialogue_ask(asked, session.say,
                        lambda q: session.listen(q.expect, q.listen_expect, q.timeout),
                        on_command)
