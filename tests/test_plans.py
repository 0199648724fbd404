"""Plans: the built-ins load, the minimal schema works, and every error names its line."""

from __future__ import annotations

import pytest

from coach.core.library import builtin_library
from coach.core.plans import builtin_names, load_plan, parse_plan
from coach.core.tomlfile import DataFileError
from coach.errors import CoachError

from .conftest import run_coach

MINIMAL = """\
name = "Mine"
unit = "lb"

[[exercise]]
id = "squat"
sets = 3
reps = [8, 12]
load = 95
tempo = "3-1-2-0"
rest = 90

[[exercise]]
id = "biceps_curl"
sets = 2
reps = [10, 15]
load = 20
tempo = "2-0-1-1"
rest = 60
"""


@pytest.fixture(scope="module")
def library():
    return builtin_library()


def test_the_builtin_plans_load(library):
    names = builtin_names()
    assert {"starter", "arms", "connection"} <= set(names)
    for name in names:
        plan = load_plan(name, library)
        assert plan.exercises and plan.source == "built-in"
    assert load_plan("connection", library).connection
    starter = load_plan("starter", library)
    assert [e.id for e in starter.exercises] == ["squat", "row", "chest_press", "biceps_curl",
                                                  "plank"]


def test_the_minimal_schema_works(library, tmp_path):
    file = tmp_path / "mine.toml"
    file.write_text(MINIMAL)
    plan = load_plan(str(file), library)
    assert plan.name == "Mine" and plan.unit == "lb" and plan.key == "mine"
    assert plan.exercises[0].load == 95.0 and plan.exercises[0].reps == (8, 12)
    assert plan.exercises[1].tempo == "2-0-1-1" and plan.exercises[1].rest == 60
    assert plan.total_sets == 5


def test_optional_fields_default_to_the_library(library):
    plan = parse_plan('name = "x"\n[[exercise]]\nid = "row"\nsets = 2\nload = 10\n', "x.toml",
                      library)
    row = plan.exercises[0]
    assert row.tempo == library.exercise("row").tempo
    assert row.reps == library.exercise("row").reps
    assert plan.unit == "kg"


def _error(text: str, library) -> DataFileError:
    with pytest.raises(DataFileError) as caught:
        parse_plan(text, "p.toml", library)
    return caught.value


def test_an_unknown_exercise_names_its_line_and_the_closest_id(library):
    error = _error(MINIMAL.replace('id = "biceps_curl"', 'id = "bicep_curl"'), library)
    assert error.line == 13
    assert "bicep_curl" in error.message and error.fix.startswith("use one of: biceps_curl")
    assert error.message.startswith("p.toml:13:")


def test_a_bad_tempo_names_its_line(library):
    error = _error(MINIMAL.replace('"2-0-1-1"', '"2-0-1"'), library)
    assert error.line == 17 and "tempo" in error.message


def test_a_negative_load_names_its_line(library):
    error = _error(MINIMAL.replace("load = 95", "load = -5"), library)
    assert error.line == 8 and "negative load" in error.message


def test_a_syntax_error_gives_the_line(library):
    error = _error(MINIMAL.replace("sets = 2", "sets = = 2"), library)
    assert error.line == 14 and "TOML" in error.message


def test_other_mistakes_are_caught(library):
    assert _error(MINIMAL.replace('unit = "lb"', 'unit = "stone"'), library).line == 2
    assert _error(MINIMAL.replace("reps = [8, 12]", "reps = [12, 8]"), library).line == 7
    assert _error(MINIMAL.replace("rest = 60", "rest_seconds = 60"), library).line == 18
    assert _error(MINIMAL.replace("sets = 3", "sets = 0"), library).line == 6
    assert _error('unit = "kg"\n[[exercise]]\nid = "row"\n', library).line == 1
    assert "no exercises" in _error('name = "empty"\n', library).message


def test_an_unknown_plan_name_suggests_one(library):
    with pytest.raises(CoachError) as caught:
        load_plan("armz", library)
    assert "arms" in caught.value.fix and caught.value.exit_code == 2


def test_user_plans_are_found_by_name(library, tmp_path):
    (tmp_path / "mine.toml").write_text(MINIMAL)
    assert load_plan("mine", library, tmp_path).name == "Mine"


def test_the_plans_command(tmp_path, data_dir):
    listed = run_coach("--data-dir", str(data_dir), "plans", "list")
    assert listed.returncode == 0 and "connection" in listed.stdout
    shown = run_coach("--data-dir", str(data_dir), "plans", "show", "arms")
    assert shown.returncode == 0 and "biceps_curl" in shown.stdout
    good = tmp_path / "good.toml"
    good.write_text(MINIMAL)
    bad = tmp_path / "bad.toml"
    bad.write_text(MINIMAL.replace("load = 20", "load = -20"))
    checked = run_coach("plans", "check", str(good), str(bad))
    assert checked.returncode == 2
    assert "good.toml: ok" in checked.stdout
    assert "bad.toml:16: biceps_curl: negative load -20" in checked.stdout
    assert "Traceback" not in checked.stderr
