"""Tempo notation and the click schedule (pure: no audio)."""

from __future__ import annotations

import pytest

from coach.core.tempo import (
    ACCENT,
    CLICK,
    EXPLOSIVE,
    EXPLOSIVE_SECONDS,
    Phase,
    Tempo,
    TempoError,
    beats,
    parse_tempo,
    rep_beats,
)
from coach.errors import CoachError
from tests.conftest import run_coach


@pytest.mark.parametrize("text, fields, seconds", [
    ("3-1-2-1", (3, 1, 2, 1), 7),
    ("4-0-1-0", (4, 0, 1, 0), 5),
    ("2-2-X-1", (2, 2, None, 1), 6),
    ("2-2-x-1", (2, 2, None, 1), 6),
    ("31X0", (3, 1, None, 0), 5),
    (" 3 / 1 / 2 / 1 ", (3, 1, 2, 1), 7),
    ("2.5-0-1-0", (2.5, 0, 1, 0), 3.5),
    ("X-0-X-0", (None, 0, None, 0), 2 * EXPLOSIVE_SECONDS),
])
def test_lifters_notation_is_read(text, fields, seconds):
    tempo = parse_tempo(text)
    assert tempo.fields == fields
    assert tempo.rep_seconds == seconds
    assert parse_tempo(str(tempo)) == tempo


def test_tempo_prints_as_lifters_write_it():
    assert str(parse_tempo("31x0")) == "3-1-X-0"
    assert str(Tempo(2.5, 0, 1, 0)) == "2.5-0-1-0"


@pytest.mark.parametrize("text, says", [
    ("", "no tempo"),
    ("3-1-2", "has 3 fields"),
    ("3-1-2-1-0", "has 5 fields"),
    ("3--1-2-1", "empty field"),
    ("-3-1-2-1", "empty field"),
    ("a-1-2-1", "'a' is not a number"),
    ("3s-1-2-1", "'3s' is not a number"),
    ("3-X-2-1", "not a pause"),
    ("0-1-2-1", "lowering phase cannot take 0 s"),
    ("3-1-0-1", "lifting phase cannot take 0 s"),
    ("30-1-2-1", "too long"),
])
def test_a_bad_pattern_is_a_usage_error_with_a_fix(text, says):
    with pytest.raises(TempoError) as caught:
        parse_tempo(text)
    assert says in caught.value.message
    assert caught.value.exit_code == 2 and caught.value.fix
    assert isinstance(caught.value, CoachError)


def test_a_bad_tempo_built_in_code_is_refused_too():
    with pytest.raises(TempoError):
        Tempo(3, None, 2, 1)
    with pytest.raises(TempoError):
        Tempo(-1, 0, 1, 0)


def test_slower_and_faster_move_the_lowering_within_one_to_five_seconds():
    assert str(parse_tempo("3-1-2-1").slower()) == "4-1-2-1"
    assert str(parse_tempo("3-1-2-1").faster()) == "2-1-2-1"
    assert str(parse_tempo("5-1-2-1").slower()) == "5-1-2-1"
    assert str(parse_tempo("1-1-2-1").faster()) == "1-1-2-1"
    assert str(parse_tempo("4.5-0-1-0").slower()) == "5-0-1-0"
    assert str(parse_tempo("X-0-1-0").slower()) == "2-0-1-0"
    assert str(parse_tempo("X-0-1-0").faster()) == "X-0-1-0"
    # a lifter's own slower tempo is never made faster by "slower"
    assert str(parse_tempo("8-0-1-0").slower()) == "8-0-1-0"


def _summary(schedule):
    return [(b.t, b.kind, b.rep, b.phase.value) for b in schedule]


def test_a_click_every_second_from_each_phase_start_and_the_first_accented():
    assert _summary(rep_beats(parse_tempo("3-1-2-1"), rep=1)) == [
        (0, ACCENT, 1, "down"), (1, CLICK, 1, "down"), (2, CLICK, 1, "down"),
        (3, ACCENT, 1, "hold"),
        (4, ACCENT, 1, "up"), (5, CLICK, 1, "up"),
        (6, ACCENT, 1, "squeeze"),
    ]


def test_an_explosive_phase_gets_one_accent_and_zero_pauses_are_skipped():
    schedule = beats(parse_tempo("2-0-X-0"), reps=2)
    assert _summary(schedule) == [
        (0, ACCENT, 1, "down"), (1, CLICK, 1, "down"), (2, EXPLOSIVE, 1, "up"),
        (3, ACCENT, 2, "down"), (4, CLICK, 2, "down"), (5, EXPLOSIVE, 2, "up"),
    ]
    assert all(b.accent for b in schedule if b.kind != CLICK)


def test_a_fractional_phase_clicks_on_its_whole_seconds():
    schedule = rep_beats(parse_tempo("2.5-0-1-0"), rep=1)
    assert [(b.t, b.phase) for b in schedule] == [
        (0, Phase.DOWN), (1, Phase.DOWN), (2, Phase.DOWN), (2.5, Phase.UP)]


def test_words_go_on_phase_starts_and_numbers_replace_down():
    schedule = beats(parse_tempo("2-1-1-1"), reps=2, words=True, numbers=True)
    assert [(b.t, b.word) for b in schedule if b.word] == [
        (0, "one"), (2, "hold"), (3, "up"), (4, "squeeze"),
        (5, "two"), (7, "hold"), (8, "up"), (9, "squeeze")]
    words_only = beats(parse_tempo("2-0-1-0"), reps=1, words=True)
    assert [b.word for b in words_only] == ["down", None, "up"]
    silent = beats(parse_tempo("2-0-1-0"), reps=3)
    assert all(b.word is None for b in silent)


def test_a_set_is_back_to_back_reps():
    schedule = beats(parse_tempo("4-0-1-0"), reps=3, t0=0.5)
    starts = [b.t for b in schedule if b.phase is Phase.DOWN and b.accent]
    assert starts == [0.5, 5.5, 10.5]
    assert [b.rep for b in schedule].count(3) == 5
    with pytest.raises(TempoError):
        beats(parse_tempo("4-0-1-0"), reps=0)


def test_the_command_refuses_a_bad_pattern_with_exit_2(tmp_path):
    result = run_coach("--data-dir", str(tmp_path), "tempo", "3-1-Y-1", "--reps", "2",
                       "--out", str(tmp_path / "t.wav"))
    assert result.returncode == 2
    assert "'Y' is not a number" in result.stderr and "fix:" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "t.wav").exists()
