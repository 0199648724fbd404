"""How a command reaches the workout: the session's state as a dialogue moment, and the
exceptions that carry an action out of the moment it was heard in.

``coach.dialogue.commands`` says what a command word does at a moment (its table);
``MOMENTS`` says which moment each session state is (an explicit mapping, not a string
match). ``Session._obey`` is the one place an action becomes its effect: pause, repeat,
slower and faster are carried out where they are heard; the actions that leave the
moment raise one of the exceptions below, and the loop that owns the moment catches it.
So whatever hears a command, whenever (a prompt, the count, the rest, a pause, or a
line being said), hands it on with ``session._obey(session._action(answer))``.
"""

from __future__ import annotations

from coach.dialogue import commands
from coach.dialogue.commands import Action, Moment
from coach.workout.state import State

#: The dialogue moment of each session state. A command said while the exercise is
#: announced acts as at "Ready?" (the set has not begun). ADAPTING (the set is being
#: saved and its decision said) and DONE hear nothing: ``action`` gives IGNORE there.
MOMENTS: dict[State, Moment] = {
    State.ANNOUNCING: Moment.READY,
    State.READY: Moment.READY,
    State.COUNTING: Moment.COUNTING,
    State.ASKING: Moment.ASKING,
    State.RESTING: Moment.RESTING,
    State.PAUSED: Moment.PAUSED,
}

#: The states whose lines are watched for a command while they play (barge-in), and the
#: moment such a command acts at: the announcement as at "Ready?", the decision said after
#: a set and the questions as at a question, the rest's lines (its opening and its
#: countdown) as in the rest. The rest's own watch listens through its lines
#: (``barge_in.Shared``); a question's watch gives the microphone back its last moment,
#: so an answer begun over the question is still heard by ``listen``.
OVER_A_LINE: dict[State, Moment] = {
    State.ANNOUNCING: Moment.READY,
    State.ADAPTING: Moment.ASKING,
    State.ASKING: Moment.ASKING,
    State.RESTING: Moment.RESTING,
}

#: What a command heard over a line may do: cut it, then pause or stop.
CUTS = frozenset({Action.PAUSE, Action.STOP})


def over_a_line(state: State, command: str) -> Action:
    """What ``command`` heard over a line said in ``state`` does: PAUSE, STOP or IGNORE."""
    moment = OVER_A_LINE.get(state)
    act = Action.IGNORE if moment is None else commands.action(moment, command)
    return act if act in CUTS else Action.IGNORE


#: Actions carried out while a set is counted, without stopping the count.
WHILE_COUNTING = frozenset({Action.SLOWER, Action.FASTER})


def action(state: State, command: str) -> Action:
    """What ``command`` does in ``state`` (``commands.TABLE`` at ``MOMENTS[state]``)."""
    moment = MOMENTS.get(state)
    return Action.IGNORE if moment is None else commands.action(moment, command)


class Control(Exception):
    """An action that leaves the moment it was heard in."""

    def __init__(self, action: Action | None = None) -> None:
        super().__init__(action)
        self.action = action


class Leave(Control):
    """The moment is over (go at "Ready?", done with the set or the rest, resume): the
    loop that owns it carries on with what comes next."""


class SkipSet(Control):
    """Skip the set (heard in the rest: the set that follows it)."""


class SkipExercise(Control):
    """Skip what is left of the exercise."""


class Stop(Control):
    """End the session and save it."""


#: The exception each leaving action raises.
LEAVING: dict[Action, type[Control]] = {
    Action.GO: Leave,
    Action.END_SET: Leave,
    Action.END_REST: Leave,
    Action.RESUME: Leave,
    Action.SKIP_SET: SkipSet,
    Action.SKIP_EXERCISE: SkipExercise,
    Action.STOP: Stop,
}


class DeviceLost(Exception):
    """The speaker or the microphone went away during a set or a rest."""

    def __init__(self, problem: str, done: int | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.done = done
        """Reps (seconds) counted in the set that was cut; None: lost during a rest."""
