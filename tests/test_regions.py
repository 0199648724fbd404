"""One vocabulary of body regions (coach/data/regions.toml) for the answer grammar, the
library and the body-scan scripts: every region a scan names can be answered, and the
commands a scan line must avoid are the grammar's own."""

from __future__ import annotations

import pytest

from coach.core import regions
from coach.core import scan as core
from coach.core.answers import REGIONS, parse, phrases
from coach.core.library import builtin_library, region_covers

SORE_ANSWERS = [("my jaw", "jaw"), ("my hands", "hands"), ("my feet", "feet"),
                ("my head", "head"), ("my jaw is sore", "jaw"), ("my back hurts", "back")]


@pytest.mark.parametrize("text,region", SORE_ANSWERS)
def test_regions_the_scan_names_are_heard_as_sore(text, region):
    answer = parse(text, "sore")
    assert (answer.kind, answer.value) == ("where", region)
    assert (parse(text.split(" is ")[0].split(" hurts")[0], "where").value) == region


def test_every_region_a_scan_script_names_can_be_answered():
    named = set()
    for style in core.STYLES:
        script = core.load_script(style)
        named.update(block.name for block in script.regions)
        named.update(script.default_regions)
    named.update(core.load_body().names)
    for name in sorted(named):
        assert parse(f"my {name}", "sore").value == name, name
        assert name in REGIONS


def test_the_library_uses_the_same_names():
    library = builtin_library()
    body = regions.body()
    for exercise in library.exercises.values():
        for region in (*exercise.targets, *exercise.works):
            assert region in body.names, (exercise.id, region)
    assert region_covers("arms", "biceps") and region_covers("biceps", "arms")
    assert region_covers("back", "lats") and not region_covers("shoulders", "biceps")
    assert regions.normalise("brachioradialis") == "forearms"  # written, not listened for
    assert "brachioradialis" not in " ".join(phrases("sore"))


def test_scan_command_words_are_the_grammars_commands():
    assert set(core.COMMAND_WORDS) == set(phrases("command"))
    for dropped in ("again", "wait", "go on"):  # no longer in the grammar
        assert dropped not in core.COMMAND_WORDS


def test_a_bad_vocabulary_file_is_one_line_with_a_fix(tmp_path):
    from coach.errors import CoachError

    path = tmp_path / "regions.toml"
    path.write_text('[[region]]\nname = "arms"\ncovers = ["tentacles"]\n')
    with pytest.raises(CoachError) as raised:
        regions.read_body(path)
    assert "tentacles" in raised.value.message and raised.value.fix


@pytest.mark.parametrize("text,region", SORE_ANSWERS[:4])
def test_sore_regions_spoken_by_espeak_are_recognised(text, region):
    """espeak-ng (en-us, not the coach's voice settings) through PocketSphinx."""
    from coach.hearing import open_recognizer, synth

    recognizer = _sphinx(open_recognizer)
    answer = recognizer.decode(synth.pad(synth.speak(text, "en-us", 150)), "sore")
    assert (answer.kind, answer.value) == ("where", region), answer


_opened: list = []


def _sphinx(open_recognizer):
    if not _opened:
        _opened.append(open_recognizer("pocketsphinx"))
    return _opened[0]
