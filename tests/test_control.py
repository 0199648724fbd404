"""How a command reaches the workout (``coach.workout.control``): each session state is
one dialogue moment (an explicit mapping, not a string match), and every action the
workout's moments can give is either carried out in place by ``Session._obey`` or leaves
the moment by an exception that a loop catches. Pure: no audio."""

from __future__ import annotations

from coach.dialogue import commands
from coach.dialogue.commands import Action, Moment
from coach.workout import control
from coach.workout.state import State

#: What ``Session._obey`` carries out where it is heard.
IN_PLACE = {Action.IGNORE, Action.PAUSE, Action.REPEAT, Action.SLOWER, Action.FASTER}


def test_every_state_but_adapting_and_done_hears_commands_at_a_moment():
    assert set(control.MOMENTS) == set(State) - {State.ADAPTING, State.DONE}
    assert control.action(State.ANNOUNCING, "skip") is Action.SKIP_SET  # as at "Ready?"
    assert control.action(State.PAUSED, "resume") is Action.RESUME
    assert control.action(State.ADAPTING, "stop") is Action.IGNORE


def test_every_workout_action_is_carried_out_or_leaves_its_moment():
    moments = set(control.MOMENTS.values())
    assert moments == {Moment.READY, Moment.COUNTING, Moment.ASKING, Moment.RESTING,
                       Moment.PAUSED}
    for moment in moments:
        for word, act in commands.TABLE[moment].items():
            assert act in IN_PLACE or act in control.LEAVING, (moment, word, act)
    assert control.WHILE_COUNTING <= IN_PLACE
