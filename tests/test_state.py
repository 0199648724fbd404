"""The resume state's JSON (``Progress``): a set cut by a lost device is saved with it
and read back; a state saved before cuts were saved reads as before; a cut that is
malformed or of another set is ignored with a line on stderr, never a crash."""

from __future__ import annotations

import json
import logging

import pytest

from coach.workout.state import Cut, ExerciseProgress, Progress

STARTED = "2026-12-01T09:30:05.123+00:00"


def progress_at_set_2() -> Progress:
    return Progress("quick", "quick.toml", "name = \"Quick\"\n").with_exercise(
        "biceps_curl", ExerciseProgress(load=11.0, tempo="2-0-1-0", cue="elbows_pinned",
                                        adjusted=True)).at(0, 2)


def through_json(progress: Progress) -> dict:
    return json.loads(json.dumps(progress.to_json()))  # as sessions.state stores it


def test_a_cut_set_is_saved_and_read_back():
    cut = progress_at_set_2().with_cut(3, STARTED)
    data = through_json(cut)
    assert data["cut"] == {"exercise": 0, "set": 2, "done": 3, "started": STARTED}
    assert data["next"] == {"exercise": 0, "set": 2}
    assert Progress.from_json(data) == cut
    assert Progress.from_json(data).cut == Cut(0, 2, 3, STARTED)


def test_moving_on_drops_the_cut_and_a_cut_before_any_rep_is_none():
    cut = progress_at_set_2().with_cut(3, STARTED)
    assert cut.at(0, 3).cut is None  # logged or skipped: the next set is not carried on
    assert "cut" not in cut.at(1, 1).to_json()
    assert progress_at_set_2().with_cut(0, STARTED).cut is None  # the set starts again


def test_a_state_saved_before_cuts_reads_as_before():
    old = {"version": 1,
           "plan": {"key": "quick", "source": "quick.toml", "text": "name = \"Quick\"\n"},
           "next": {"exercise": 0, "set": 2},
           "exercises": {"biceps_curl": {"load": 11.0, "tempo": "2-0-1-0",
                                         "cue": "elbows_pinned", "failed_cue": None,
                                         "where": None, "adjusted": True}}}
    progress = Progress.from_json(old)
    assert progress == progress_at_set_2() and progress.cut is None
    assert progress.to_json() == old  # no "cut" key when there is no cut


@pytest.mark.parametrize("cut", [
    "set 2, rep 4",
    [0, 2, 3],
    {},
    {"exercise": 0, "set": 2, "done": "3", "started": STARTED},
    {"exercise": 0, "set": 2, "done": 3.5, "started": STARTED},
    {"exercise": 0, "set": 2, "done": True, "started": STARTED},
    {"exercise": 0, "set": 2, "done": 0, "started": STARTED},
    {"exercise": -1, "set": 2, "done": 3, "started": STARTED},
    {"exercise": 0, "set": 2, "done": 3},
    {"exercise": 0, "set": 2, "done": 3, "started": "this morning"},
    {"exercise": 0, "set": 1, "done": 3, "started": STARTED},  # stale: set 1 was logged
    {"exercise": 1, "set": 2, "done": 3, "started": STARTED},  # another exercise's
], ids=["text", "list", "empty", "done-text", "done-fraction", "done-bool", "done-zero",
        "exercise-negative", "no-start", "start-not-iso", "stale-set", "other-exercise"])
def test_a_malformed_or_stale_cut_is_ignored_with_a_line(cut, caplog):
    data = through_json(progress_at_set_2())
    data["cut"] = cut
    with caplog.at_level(logging.WARNING, logger="coach.workout.state"):
        progress = Progress.from_json(data)
    assert progress == progress_at_set_2()  # everything else as saved; the set starts again
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "cut set" in warnings[0] and "ignored" in warnings[0]
