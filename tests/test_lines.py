"""Every sentence of the workout has one home (``coach.workout.lines``): what a session
says is what the lists rendered ahead of time and ``coach device --prepare`` hold."""

from __future__ import annotations

from coach.audio.engine import OfflineSpeaker
from coach.core.library import builtin_library
from coach.core.plans import parse_plan
from coach.dialogue.sources import ScriptSource
from coach.events import COMPLETED, EventWriter, read_events
from coach.settings import OUTPUT_RATE
from coach.store import Store
from coach.workout import lines
from coach.workout.loop import Session
from coach.workout.state import SessionSettings

from .test_session import PLAN as QUICK_PLAN
from .test_session import voice  # noqa: F401  (the fixture)

#: Three sets of the curl, then the plank.
PLAN = QUICK_PLAN.replace("sets = 2", "sets = 3")

#: Rests of 4 s with a countdown from 1 s: the rest line and the countdown are said.
SETTINGS = SessionSettings(rest_scale=0.2, countdown_seconds=1.0, seed=3, summary=False)


def test_every_line_a_scripted_session_says_is_in_the_plans_lines(tmp_path, voice):  # noqa: F811
    """A session whose loads stay at the plan's (2 reps, the bottom of the range, felt:
    the load is kept) says pause, resume, an unclear answer asked again, a skipped set,
    rests with their countdown and a hold: every line said comes from the plan's list."""
    answers = ["pause", "repeat", "resume",        # at "Ready?" of set 1
               "banana", "2", "yes",               # set 1: asked again, then kept
               "next",                             # the rest ends early
               "skip",                             # set 2 at "Ready?"
               "", "2", "yes",                     # set 3 (silence at "Ready?": it starts)
               "", "4", "yes"]                     # the plank
    script = tmp_path / "answers.txt"
    script.write_text("\n".join(answers) + "\n")
    library = builtin_library()
    plan = parse_plan(PLAN, "lines.toml", library)
    with Store(tmp_path / "coach.sqlite3") as store:
        expected = lines.plan_lines(plan, library, SETTINGS, {}, store.recent_sets)
        events = EventWriter(tmp_path / "events.jsonl")
        session = Session(plan=plan, library=library, store=store,
                          speaker=OfflineSpeaker(OUTPUT_RATE), voice=voice,
                          source=ScriptSource(script), events=events, settings=SETTINGS)
        assert session.lines_of_plan() == expected  # no fake session needed for the list
        assert session.run().status == COMPLETED
        events.close()
    said = [r["text"] for r in read_events(tmp_path / "events.jsonl") if r["type"] == "say"]
    for line in (lines.PAUSED, lines.RESUMING, lines.skipping_set(2), lines.WHOLE_SESSION,
                 lines.rest_line(4), lines.countdown_line(1), lines.READY):
        assert line in said
    assert said.count(lines.PAUSED) == 2  # "repeat" while paused says it again
    assert [line for line in said if line not in expected] == []
