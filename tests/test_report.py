"""`coach report`: the numbers behind the plots, the PNG itself, and life without matplotlib."""

from __future__ import annotations

import importlib.util
import os

import pytest

from coach.history import load_history
from coach.report import report_data
from coach.store import Store
from coach.summary import library_names, plain_names

from .conftest import run_coach
from .history_fixtures import fill_synthetic, real_history

HAS_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    """Two real `coach session` runs and two `coach scan` check-ins."""
    return real_history(tmp_path_factory)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    fill_synthetic(folder / "coach.sqlite3")
    return folder


def test_report_data_has_top_loads_reps_cue_rates_and_checkins(synthetic):
    with Store(synthetic / "coach.sqlite3") as store:
        data = report_data(load_history(store), plain_names())
    curls = data.exercises["biceps_curl"]
    assert [(p.session, p.top_load, p.total_reps) for p in curls] == [
        (1, 10, 29), (2, 12.5, 27), (3, 12.5, 20)]
    rows = data.exercises["row"]
    assert [(p.session, p.top_load, p.sets) for p in rows] == [(2, 20, 3), (3, 17.5, 2)]
    rates = {(c.exercise, c.cue): (c.felt, c.answered) for c in data.cues}
    assert rates[("squat", "squat-knees-out")] == (5, 6)
    assert rates[("biceps_curl", "curl-elbows-pinned")] == (4, 5)
    # sorted so that the best-supported best cue is drawn on top (last)
    assert (data.cues[-1].exercise, data.cues[-1].cue) == ("row", "row-blades-together")
    assert [c.feeling for c in data.checkins] == ["tense", "okay", "calm"]
    assert data.checkins[0].sore == "lower back"


@pytest.mark.skipif(not HAS_MATPLOTLIB, reason="matplotlib is not installed (pip install "
                    "'coach[plots]')")
def test_report_writes_a_readable_png(real, tmp_path):
    """The PNG of a real run exists, has the expected size, and is a picture rather than
    a blank page."""
    import numpy as np
    from matplotlib import image

    out = tmp_path / "progress.png"
    result = run_coach("--data-dir", str(real), "report", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pixels = image.imread(out)
    height, width = pixels.shape[:2]
    assert width == 1100 and height > 900  # 3 exercises in 2 rows, cues, check-ins
    assert "3 exercise(s)" in result.stderr and "2 check-in(s)" in result.stderr
    rgb = pixels[..., :3]
    assert (rgb.std(axis=2) > 0.1).mean() > 0.01  # coloured ink: lines, bars, dots
    # the load line's blue is there, and so are the felt-it bars' green
    blue = np.abs(rgb - np.array([0x1F, 0x5F, 0xA8]) / 255).max(axis=2) < 0.05
    green = np.abs(rgb - np.array([0x2E, 0x8B, 0x57]) / 255).max(axis=2) < 0.05
    assert blue.sum() > 500 and green.sum() > 5000


def test_report_data_of_a_real_run(real):
    """Per exercise one point per session; push-ups (no load) are drawn as reps."""
    with Store(real / "coach.sqlite3") as store:
        data = report_data(load_history(store), library_names())
        sets = store.query("SELECT * FROM sets WHERE skipped = 0")
    assert list(data.exercises) == ["biceps_curl", "triceps_pushdown", "push_up"]
    for exercise, points in data.exercises.items():
        assert [p.session for p in points] == [1, 2]
        for point in points:
            mine = [r for r in sets if r["exercise"] == exercise and r["session_id"] ==
                    point.session]
            assert point.top_load == max(r["load"] for r in mine)
            assert point.total_reps == sum(r["reps"] or 0 for r in mine)
    assert all(p.top_load == 0 for p in data.exercises["push_up"])
    assert [(c.feeling, c.sore) for c in data.checkins] == [("tense", "lower back"),
                                                           ("calm", None)]
    assert data.cue_count >= len(data.cues) > 0


@pytest.mark.skipif(not HAS_MATPLOTLIB, reason="matplotlib is not installed")
def test_report_of_one_exercise_and_an_empty_history(synthetic, data_dir, tmp_path):
    from matplotlib import image

    out = tmp_path / "curls.png"
    one = run_coach("--data-dir", str(synthetic), "report", "--exercise", "biceps_curl",
                    "--out", str(out))
    assert one.returncode == 0, one.stderr
    assert image.imread(out).shape[0] < 900  # one panel row, no check-ins
    empty = run_coach("--data-dir", str(data_dir), "report", "--out", str(tmp_path / "e.png"))
    assert empty.returncode == 1 and "nothing to plot" in empty.stderr
    assert not (tmp_path / "e.png").exists()


def test_without_matplotlib_the_report_says_how_to_install_it(synthetic, tmp_path):
    """A matplotlib that cannot be imported (as on a fresh install without the extra)."""
    blocker = tmp_path / "blocked" / "matplotlib"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('not installed in this test')\n")
    env = {**os.environ, "PYTHONPATH": str(blocker.parent)}
    out = run_coach("--data-dir", str(synthetic), "report", "--out", str(tmp_path / "p.png"),
                    env=env)
    assert out.returncode == 1
    lines = out.stderr.splitlines()
    assert lines[0] == "coach: coach report needs matplotlib, which is not installed"
    assert "pip install 'coach[plots]'" in lines[1]
    assert "Traceback" not in out.stderr
    # everything else still works without it
    assert run_coach("--data-dir", str(synthetic), "history", "--csv", env=env).returncode == 0


def test_cue_labels_use_the_library_text(synthetic):
    with Store(synthetic / "coach.sqlite3") as store:
        data = report_data(load_history(store), library_names())
    labels = {c.cue: c.label for c in data.cues}
    assert labels["squat-knees-out"].startswith("Drive your knees out")
    assert data.exercise_names["biceps_curl"] == "biceps curl"
