"""The answer language: parsing typed/transcribed words into typed answers (pure, no audio)."""

from __future__ import annotations

import pytest

from coach.core.answers import (
    COMMANDS,
    EXPECTS,
    REGIONS,
    is_complete,
    jsgf,
    normalise_region,
    number_words,
    parse,
    phrases,
)


@pytest.mark.parametrize("text,value", [
    ("twelve", 12), ("12", 12), ("I did twelve", 12), ("twelve reps", 12), ("got eight", 8),
    ("twenty one", 21), ("twenty-one", 21), ("I did 21 reps", 21), ("zero", 0),
    ("a hundred", 100), ("one hundred", 100), ("100", 100), ("um, ten", 10),
])
def test_rep_counts_in_words_and_digits(text, value):
    answer = parse(text, "reps")
    assert (answer.kind, answer.value) == ("reps", value)


@pytest.mark.parametrize("text", ["101", "twelve thirteen", "twenty twenty", "i did", "reps",
                                  "the weather is nice", ""])
def test_non_counts_are_unknown(text):
    assert parse(text, "reps").kind == "unknown"


def test_every_number_round_trips():
    for n in range(101):
        assert parse(number_words(n), "reps").value == n


@pytest.mark.parametrize("text,value", [
    ("yes, felt it", True), ("yeah", True), ("yep", True), ("I felt it", True),
    ("no", False), ("nope", False), ("not really", False), ("I didn't feel it", False),
    ("didnt feel it", False), ("nah", False), ("no, not really", False), ("no not at all", False),
    ("yes, a bit", True), ("yeah definitely", True), ("yes I did", True),
])
def test_felt_variants(text, value):
    assert (parse(text, "felt").kind, parse(text, "felt").value) == ("felt", value)


@pytest.mark.parametrize("text,region", [
    ("lower back", "lower back"), ("my lower back", "lower back"), ("Lower-back", "lower back"),
    ("pecs", "chest"), ("abs", "core"), ("quads", "quads"), ("in my shoulders", "shoulders"),
    ("delts", "shoulders"), ("glutes", "glutes"), ("forearms", "forearms"),
    ("hamstrings", "hamstrings"), ("calves", "calves"), ("triceps", "triceps"),
    ("upper back", "upper back"), ("neck", "neck"), ("lats", "lats"), ("biceps", "biceps"),
])
def test_regions_normalise_to_one_name(text, region):
    answer = parse(text, "where")
    assert (answer.kind, answer.value) == ("where", region)
    assert region in REGIONS


def test_normalise_region_directly():
    assert normalise_region("My Pecs") == "chest"
    assert normalise_region("elbow") == "elbows"
    assert normalise_region("keyboard") is None


def test_where_and_sore_negatives():
    assert (parse("nowhere", "where").kind, parse("nowhere", "where").value) == ("felt", False)
    assert (parse("nothing", "sore").kind, parse("nothing", "sore").value) == ("where", None)
    assert (parse("no", "sore").kind, parse("no", "sore").value) == ("where", None)
    assert parse("my knees are sore", "sore").value == "knees"


@pytest.mark.parametrize("expect", EXPECTS)
def test_commands_at_every_question(expect):
    for command in COMMANDS:
        answer = parse(command, expect)
        assert (answer.kind, answer.value) == ("command", command)
    assert parse("slow down", expect).value == "slower"
    assert parse("hold on", expect).value == "pause"


def test_feelings():
    assert parse("calm", "feeling").value == "calm"
    assert parse("I feel relaxed", "feeling").value == "calm"
    assert parse("fine", "feeling").value == "okay"
    assert parse("stressed", "feeling").value == "tense"
    assert parse("twelve", "feeling").kind == "unknown"


def test_start_phrases():
    plans = ["Push day 2", "legs"]
    assert parse("start workout", "start", plans).value == {"action": "workout", "plan": None}
    assert parse("start push day two", "start", plans).value == {"action": "workout",
                                                                   "plan": "Push day 2"}
    assert parse("start legs", "start", plans).value == {"action": "workout", "plan": "legs"}
    assert parse("body scan", "start").value == {"action": "scan", "minutes": None}
    assert parse("body scan 5 minutes", "start").value == {"action": "scan", "minutes": 5}
    assert parse("a ten minute body scan", "start").value == {"action": "scan", "minutes": 10}
    assert parse("what's my plan", "start").value == {"action": "plan"}
    assert parse("start arms", "start", plans).kind == "unknown"


def test_any_accepts_every_kind_and_expect_limits():
    assert parse("twelve", "any").kind == "reps"
    assert parse("nope", "any").kind == "felt"
    assert parse("shoulders", "any").kind == "where"
    assert parse("twelve", "felt").kind == "unknown"
    assert parse("shoulders", "reps").kind == "unknown"
    with pytest.raises(ValueError):
        parse("twelve", "weight")


def test_phrases_match_the_parser_and_jsgf_names_every_rule():
    for expect in EXPECTS:
        listed = phrases(expect, ["legs"])
        assert "pause" in listed
        for phrase in listed[::37]:
            assert parse(phrase, expect, ["legs"]).understood, phrase
    grammar = jsgf("reps")
    assert grammar.startswith("#JSGF") and "<number>" in grammar and "public <answer>" in grammar


def test_completeness_decides_the_short_endpoint():
    assert is_complete("twelve reps", "reps")
    assert is_complete("pause", "felt")
    assert is_complete("nope", "felt")
    assert not is_complete("twelve", "reps")      # could become "twelve reps"
    assert not is_complete("twenty", "reps")      # could become "twenty one"
    assert not is_complete("hello", "reps")
