"""The adaptation rules, tested directly on the pure core: load, tempo, cue and reason."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from coach.core.adapt import (
    KEEP,
    NOT_FELT,
    SHORT,
    UNANSWERED,
    UP,
    SetOutcome,
    adapt_load,
    best_one_rep_max,
    choose_cue,
    connection_limit,
    decide,
    epley_one_rep_max,
    lighten_for_sore,
    read_answers,
    reduce_load,
    round_to,
    start_of_day,
    usable_cues,
)
from coach.core.library import builtin_library


@pytest.fixture(scope="module")
def library():
    return builtin_library()


def outcome(library, exercise="biceps_curl", load=10.0, reps=12, felt=True, where=None,
            tempo="3-0-1-1", rep_range=(10, 12), cue=None, unit="kg"):
    return SetOutcome(library.exercise(exercise), load, unit, tempo, rep_range, reps, felt,
                      where, cue)


# -- load -------------------------------------------------------------------------------

def test_felt_it_at_the_top_of_the_range_adds_one_increment(library):
    load, tempo, reason, rule, _ = adapt_load(outcome(library, load=10, reps=12), 2.5)
    assert (load, tempo, rule) == (12.5, "3-0-1-1", UP)
    assert reason == "12 reps and you felt it: up 2.5 kilos."


def test_above_the_top_also_goes_up_and_pounds_are_spoken(library):
    load, _, reason, rule, _ = adapt_load(outcome(library, load=45, reps=14, unit="lb"), 5)
    assert (load, rule) == (50, UP)
    assert reason == "14 reps and you felt it: up 5 pounds."


def test_within_the_range_keeps_the_load(library):
    load, tempo, reason, rule, _ = adapt_load(outcome(library, load=10, reps=11), 2.5)
    assert (load, tempo, rule) == (10, "3-0-1-1", KEEP)
    assert reason == "11 reps and you felt it: stay at 10 kilos."


def test_below_the_bottom_drops_ten_percent_rounded_to_the_increment(library):
    load, _, reason, rule, _ = adapt_load(outcome(library, load=20, reps=7, rep_range=(8, 12)),
                                          2.5)
    assert (load, rule) == (17.5, SHORT)  # 18 rounds to 17.5
    assert reason == "7 reps, short of 8: down to 17.5 kilos."


def test_top_reps_without_feeling_it_is_not_progress(library):
    load, tempo, reason, rule, _ = adapt_load(outcome(library, load=10, reps=12, felt=False),
                                              1)
    assert rule == NOT_FELT
    assert load == 9 and tempo == "4-0-1-1"
    assert reason == "You didn't feel it: down to 9 kilos, lower in 4 seconds and a new cue."


def test_the_eccentric_stops_at_five_seconds(library):
    load, tempo, reason, _, _ = adapt_load(outcome(library, load=10, felt=False,
                                                   tempo="5-0-1-1"), 1)
    assert tempo == "5-0-1-1"
    assert "keep lowering in 5 seconds" in reason
    _, tempo, _, _, _ = adapt_load(outcome(library, load=10, felt=False, tempo="2-0-X-1"), 1)
    assert tempo == "3-0-X-1"


def test_a_named_place_is_said_back(library):
    _, _, reason, rule, _ = adapt_load(outcome(library, load=10, felt=False,
                                               where="shoulders"), 1)
    assert rule == NOT_FELT
    assert reason.startswith("You felt it in your shoulders, not your biceps: down to 9 kilos")


def test_unanswered_questions_keep_the_plan_and_say_so(library):
    load, tempo, reason, rule, _ = adapt_load(outcome(library, load=10, reps=None, felt=None),
                                              1)
    assert (load, tempo, rule) == (10, "3-0-1-1", UNANSWERED)
    assert reason == "I didn't get your answers, so we keep the plan: 10 kilos."
    # only the reps missing: felt it keeps the load (no progression without a count)
    load, _, reason, rule, _ = adapt_load(outcome(library, load=10, reps=None, felt=True), 1)
    assert (load, rule) == (10, KEEP) and reason == "You felt it: stay at 10 kilos."
    # only the felt answer missing: a count at the top is not enough to go up
    load, _, _, rule, _ = adapt_load(outcome(library, load=10, reps=12, felt=None), 1)
    assert (load, rule) == (10, KEEP)


def test_body_weight_exercises_never_change_load(library):
    push_up = dict(exercise="push_up", load=0, tempo="3-1-1-0", rep_range=(8, 15))
    load, _, reason, rule, _ = adapt_load(outcome(library, reps=15, **push_up), 0)
    assert (load, rule) == (0, UP) and "same again" in reason
    load, tempo, reason, _, _ = adapt_load(outcome(library, reps=10, felt=False, **push_up), 0)
    assert load == 0 and tempo == "4-1-1-0"
    assert reason == "You didn't feel it: lower in 4 seconds and a new cue."


def test_an_isometric_hold_counts_seconds_and_keeps_its_tempo(library):
    plank = dict(exercise="plank", load=0, tempo="1-0-1-0", rep_range=(20, 40))
    _, _, reason, _, _ = adapt_load(outcome(library, reps=40, **plank), 0)
    assert reason.startswith("40 seconds and you felt it")
    _, tempo, _, _, _ = adapt_load(outcome(library, reps=30, felt=False, **plank), 0)
    assert tempo == "1-0-1-0"


def test_reducing_always_goes_down_by_at_least_one_increment():
    assert reduce_load(10, 2.5) == 7.5  # 9 would round back to 10
    assert reduce_load(2.5, 2.5) == 0
    assert reduce_load(0, 2.5) == 0
    assert reduce_load(21, 0) == 18.9
    assert round_to(18, 2.5) == 17.5 and round_to(18.8, 2.5) == 20
    assert lighten_for_sore(20, 2.5) == 15  # 16 rounds to 15


def test_epley_and_the_connection_limit():
    assert epley_one_rep_max(100, 10) == pytest.approx(133.333, rel=1e-4)
    assert epley_one_rep_max(100, 0) == 0
    assert best_one_rep_max([(10, 12), (12, 8), (20, None)]) == pytest.approx(15.2)
    assert connection_limit(20, 1) == 12
    assert connection_limit(21, 2.5) == 12.5  # 12.6 floors to 12.5


def test_a_connection_plan_caps_the_load_at_sixty_percent(library):
    # 10 kg x 15 reps -> 1RM 15 kg -> the limit is 9 kg: going up is refused, and the
    # current load, already over it, comes down to it
    load, _, reason, rule, capped = adapt_load(
        outcome(library, load=10, reps=15, rep_range=(12, 15)), 1, connection=True,
        one_rep_max=epley_one_rep_max(10, 15))
    assert (load, rule, capped) == (9, UP, True)
    assert reason == "15 reps and you felt it: 9 kilos, the connection limit of 60% of your best."
    # under the limit nothing changes
    load, _, _, _, capped = adapt_load(outcome(library, load=5, reps=15, rep_range=(12, 15)), 1,
                                       connection=True, one_rep_max=20)
    assert (load, capped) == (6, False)


def test_the_decision_takes_the_recent_sets_and_this_one_for_the_cap(library):
    """decide() computes the one-rep max itself, once, from the recent sets and this set."""
    cues = library.cues_for("biceps_curl")
    capped = decide(outcome(library, load=10, reps=15, rep_range=(12, 15)), 1, cues, {},
                    random.Random(1), connection=True, recent=[(8, 10)])
    assert (capped.next_load, capped.capped) == (9, True)  # 1RM of this set: 15 kg
    free = decide(outcome(library, load=10, reps=15, rep_range=(12, 15)), 1, cues, {},
                  random.Random(1), connection=False, recent=[(8, 10)])
    assert (free.next_load, free.capped) == (11, False)


def test_start_of_day_lightens_a_sore_region_then_caps_a_connection_plan(library):
    curl = library.exercise("biceps_curl")
    today = start_of_day(curl, 20, "kg", 2.5, sore="arms")
    assert today.load == 15 and today.notes == (
        "Your arms are sore today, so 15 kilos instead of 20.",)
    assert start_of_day(curl, 20, "kg", 2.5, sore="jaw") == start_of_day(curl, 20, "kg", 2.5)
    capped = start_of_day(curl, 20, "kg", 2.5, connection=True, recent=[(15, 15)])
    assert capped.load == 12.5 and "60% of your best: 12.5 kilos" in capped.notes[0]
    assert start_of_day(curl, 20, "kg", 2.5, connection=True).load == 20  # no history


def test_a_place_named_instead_of_yes_counts_when_it_is_the_target(library):
    from coach.core.answers import parse

    curl = library.exercise("biceps_curl")
    reps = parse("twelve", "reps")
    assert read_answers(curl, reps, parse("in my biceps", "any")) == (12, True, "biceps")
    assert read_answers(curl, reps, parse("my shoulders", "any")) == (12, False, "shoulders")
    assert read_answers(curl, None, parse("yes", "felt")) == (None, True, None)
    assert read_answers(curl, None, None) == (None, None, None)


# -- cues -------------------------------------------------------------------------------

def test_thompson_sampling_prefers_the_cue_that_works(library):
    curl = library.exercise("biceps_curl")
    cues = library.cues_for("biceps_curl")
    stats = {"curl-squeeze-peak": (9, 1), "curl-rope": (1, 9)}
    picks = Counter(choose_cue(curl, cues, stats, random.Random(seed)).cue.id
                    for seed in range(300))
    assert picks.most_common(1)[0][0] == "curl-squeeze-peak"
    assert picks["curl-rope"] < picks["curl-squeeze-peak"] / 5
    # every cue without history still gets tried now and then
    assert len(picks) >= 4


def test_the_same_seed_gives_the_same_cue(library):
    curl = library.exercise("biceps_curl")
    cues = library.cues_for("biceps_curl")
    a = choose_cue(curl, cues, {}, random.Random(7)).cue.id
    assert all(choose_cue(curl, cues, {}, random.Random(7)).cue.id == a for _ in range(5))


def test_a_cue_that_just_failed_is_never_repeated(library):
    curl = library.exercise("biceps_curl")
    cues = library.cues_for("biceps_curl")
    stats = {"curl-squeeze-peak": (50, 1)}  # the favourite, but it just failed
    for seed in range(200):
        choice = choose_cue(curl, cues, stats, random.Random(seed), failed="curl-squeeze-peak")
        assert choice.cue.id != "curl-squeeze-peak"


def test_a_named_region_picks_a_cue_correcting_it(library):
    curl = library.exercise("biceps_curl")
    cues = library.cues_for("biceps_curl")
    for seed in range(100):
        choice = choose_cue(curl, cues, {}, random.Random(seed), where="shoulders")
        assert choice.cue.corrects_region("shoulders"), choice.cue.id
        assert choice.why == "corrects shoulders"
    row = library.exercise("row")
    for seed in range(50):
        choice = choose_cue(row, library.cues_for("row"), {}, random.Random(seed),
                            where="biceps", failed="row-elbow-leads")
        assert choice.cue.corrects_region("biceps") and choice.cue.id != "row-elbow-leads"


def test_naming_the_target_itself_is_an_ordinary_draw(library):
    curl = library.exercise("biceps_curl")
    choice = choose_cue(curl, library.cues_for("biceps_curl"), {}, random.Random(1),
                        where="biceps")
    assert choice.why == "sampled"


def test_explosive_exercises_use_external_focus_cues(library):
    jump = library.exercise("jump_squat")
    cues = library.cues_for("jump_squat")
    assert {c.kind for c in usable_cues(jump, cues)} == {"external"}
    for seed in range(100):
        assert choose_cue(jump, cues, {}, random.Random(seed), where="knees").cue.kind == \
            "external"


def test_decide_joins_the_load_rule_and_the_cue(library):
    result = decide(outcome(library, load=10, reps=12, felt=False, where="shoulders",
                            cue="curl-elbows-pinned"), 1, library.cues_for("biceps_curl"), {},
                    random.Random(3))
    assert result.next_load == 9 and result.next_tempo == "4-0-1-1"
    assert result.next_cue != "curl-elbows-pinned"
    assert library.cue(result.next_cue).corrects_region("shoulders")
    assert result.rule == NOT_FELT
