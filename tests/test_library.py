"""The exercise and cue library: what the session relies on being in the data files."""

from __future__ import annotations

import pytest

from coach.core.library import (
    CUE_KINDS,
    EXERCISE_TYPES,
    builtin_library,
    load_library,
    normalise_region,
    region_covers,
)
from coach.core.tomlfile import DataFileError

REQUIRED = ["squat", "row", "chest_press", "biceps_curl", "plank", "push_up", "lat_pulldown",
            "romanian_deadlift", "jump_squat"]


@pytest.fixture(scope="module")
def library():
    return builtin_library()


def test_the_nine_exercises_of_the_issue_are_there_with_every_field(library):
    for ident in REQUIRED:
        exercise = library.exercise(ident)
        assert exercise.type in EXERCISE_TYPES
        assert exercise.targets and exercise.feel_in and exercise.works
        assert exercise.reps[0] <= exercise.reps[1]
        assert exercise.increment >= 0 and exercise.increment_lb >= 0
        assert set(exercise.targets) & set(exercise.works) or exercise.targets
    assert library.exercise("squat").targets[:2] == ("glutes", "quads")
    assert library.exercise("jump_squat").explosive
    assert library.exercise("plank").isometric
    assert library.exercise("biceps_curl").type == "isolation"


def test_every_exercise_has_five_cues_of_at_least_four_kinds(library):
    for exercise in library.exercises.values():
        cues = library.cues_for(exercise.id)
        assert len(cues) >= 5, exercise.id
        assert len({c.kind for c in cues}) >= 4, exercise.id
        assert all(c.kind in CUE_KINDS for c in cues)


def test_explosive_exercises_have_several_external_cues(library):
    cues = library.cues_for("jump_squat")
    assert len([c for c in cues if c.kind == "external"]) >= 3


def test_every_cue_corrects_a_region_that_is_not_the_target(library):
    """A cue is picked when the lifter felt it somewhere else: its tags must not be
    the target itself, or naming the target would pick a 'correcting' cue."""
    for cue in library.cues.values():
        exercise = library.exercise(cue.exercise)
        assert cue.corrects, cue.id
        for region in cue.corrects:
            assert not exercise.is_target(region), (cue.id, region)


def test_cue_sentences_are_short_and_unique(library):
    texts = [c.text for c in library.cues.values()]
    assert len(texts) == len(set(texts))
    assert all(len(t.split()) <= 20 for t in texts)
    assert all(t.endswith(".") for t in texts)


def test_shoulders_on_a_curl_have_a_correcting_cue(library):
    correcting = [c for c in library.cues_for("biceps_curl") if c.corrects_region("shoulders")]
    assert correcting
    assert "shoulders take over" in correcting[0].corrects_text


def test_regions_are_normalised_to_one_name():
    assert normalise_region("Shoulder") == "shoulders"
    assert normalise_region("my lower back") == "lower back"
    assert normalise_region("pecs") == "chest"
    assert region_covers("arms", "biceps")
    assert region_covers("lats", "back")
    assert not region_covers("shoulders", "biceps")


def test_targets_count_narrow_and_broad_names(library):
    row = library.exercise("row")
    assert row.is_target("lats") and row.is_target("back")
    assert not row.is_target("biceps")
    curl = library.exercise("biceps_curl")
    assert curl.is_target("Bicep") and not curl.is_target("shoulders")
    assert library.exercise("squat").works_region("lower back")


def test_a_broken_library_file_names_its_line(tmp_path):
    exercises = tmp_path / "exercises.toml"
    exercises.write_text(
        '[[exercise]]\nid = "a"\nname = "a"\ntype = "compound"\ntargets = ["chest"]\n'
        'feel_in = "chest"\nworks = ["chest"]\ntempo = "3-1-2-0"\nreps = [8, 12]\n'
        'increment = 2.5\n\n[[exercise]]\nid = "b"\nname = "b"\ntype = "wobbly"\n'
        'targets = ["chest"]\nfeel_in = "chest"\nworks = ["chest"]\ntempo = "3-1-2-0"\n'
        'reps = [8, 12]\nincrement = 2.5\n')
    with pytest.raises(DataFileError) as error:
        load_library(exercises, None)
    assert error.value.line == 15
    assert "wobbly" in error.value.message and error.value.fix


def test_a_syntax_error_gives_the_tomllib_line(tmp_path):
    exercises = tmp_path / "exercises.toml"
    exercises.write_text('[[exercise]]\nid = "a\n')
    with pytest.raises(DataFileError) as error:
        load_library(exercises, None)
    assert error.value.line == 2


def test_every_region_in_the_data_is_one_the_recognizer_returns(library):
    from coach.core.answers import REGIONS

    for exercise in library.exercises.values():
        for region in exercise.targets + exercise.works:
            assert region in REGIONS, (exercise.id, region)
    for cue in library.cues.values():
        for region in cue.corrects:
            assert region in REGIONS, (cue.id, region)
