"""`coach demo` end to end: a real session, a simulated athlete speaking into the virtual
microphone, the real recognizer, and a recording of everything the coach said."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from coach.audio import analysis
from coach.audio.wavio import read_wav
from coach.events import read_events

from .conftest import ROOT, run_coach


def _demo_env(folder: Path) -> dict[str, str]:
    """The demo starts its own virtual card, here under ``folder`` (its TMPDIR)."""
    env = dict(os.environ)
    for name in ("PULSE_SERVER", "PULSE_SINK", "PULSE_SOURCE"):
        env.pop(name, None)
    env["TMPDIR"] = str(folder)
    return env


def _servers_in(folder: Path) -> list[str]:
    """Running processes whose command line names ``folder``: a sound server started
    there (its log file is in its runtime folder)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            line = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if str(folder) in line and "pulseaudio" in line and state != "Z":
            found.append(f"{proc.name}: {line}")
    return found


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    env = _demo_env(folder)  # the demo must start its own virtual card
    result = run_coach("--data-dir", str(folder / "data"), "demo", "--out",
                       str(folder / "demo.wav"), "--events", str(folder / "events.jsonl"),
                       env=env, timeout=420)
    return result, folder


def test_the_demo_completes_with_a_transcript(demo):
    result, folder = demo
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    transcript = result.stdout
    assert "completed: 4 sets saved" in transcript
    for who in ("coach", "athlete", "heard", "logged", "adapt"):
        assert f"] {who}" in transcript
    # the athlete's pause and resume were heard and obeyed
    assert "command = pause" in transcript and "command = resume" in transcript
    assert "Paused." in transcript


def test_the_demo_adapts_from_what_it_heard(demo):
    _, folder = demo
    events = read_events(folder / "events.jsonl")
    sets = [e for e in events if e["type"] == "set"]
    adapts = [e for e in events if e["type"] == "adapt"]
    assert [(s["exercise"], s["set"]) for s in sets] == [
        ("biceps_curl", 1), ("biceps_curl", 2), ("squat", 1), ("squat", 2)]
    heard = [e for e in events if e["type"] == "heard"]
    # "purple elephant" is not an answer: never logged as reps
    assert all(not (h["kind"] == "reps" and "purple" in h["text"]) for h in heard)
    # "in my shoulders" on a curl: felt elsewhere -> lighter, slower, another cue
    curl_two = sets[1]
    assert curl_two["where"] == "shoulders" and curl_two["felt"] is False
    assert adapts[1]["next_load"] == 7.0 and adapts[1]["next_tempo"].startswith("3-")
    assert adapts[1]["next_cue"] != curl_two["cue"]
    # each set is done at the load the previous decision chose
    assert sets[1]["load"] == adapts[0]["next_load"]
    assert sets[3]["load"] == adapts[2]["next_load"]
    if sets[2]["felt"] is False:  # "no, not really" heard: -10 % on the squat
        assert sets[3]["load"] == 35.0


def test_the_recording_holds_speech_and_clicks(demo):
    _, folder = demo
    audio, rate = read_wav(folder / "demo.wav")
    assert len(audio) / rate > 60
    span = analysis.active_span(audio, rate)
    assert span is not None and span[1] - span[0] > 60
    # metronome clicks (1 kHz) and accents (1.6 kHz) are tonal frames speech never makes
    assert analysis.tonal_frames(audio, rate, 1000) >= 5
    assert analysis.tonal_frames(audio, rate, 1600) >= 5
    # a control tone nothing plays: Piper's low harmonics (under 800 Hz) can be tonal for
    # a dozen frames in a demo, so the controls sit between and above the click tones
    assert analysis.tonal_frames(audio, rate, 1300) < 5
    assert analysis.tonal_frames(audio, rate, 2200) < 5


def test_the_demo_stops_its_virtual_card_when_it_ends(demo):
    _, folder = demo
    assert (folder / f"coach-pulse-{os.getuid()}-demo" / "log").exists()  # it started one
    assert _servers_in(folder) == []


def test_a_demo_that_fails_stops_its_virtual_card(tmp_path):
    result = run_coach("--data-dir", str(tmp_path / "data"), "demo", "--plan", "no-such-plan",
                       "--out", str(tmp_path / "demo.wav"), env=_demo_env(tmp_path))
    assert result.returncode == 2, result.stderr
    assert (tmp_path / f"coach-pulse-{os.getuid()}-demo" / "log").exists()
    assert _servers_in(tmp_path) == []


def test_a_demo_stopped_with_ctrl_c_stops_its_virtual_card(tmp_path):
    # SIGINT as from a terminal, also when the tests run in the background (where it is
    # ignored and the child would inherit that)
    process = subprocess.Popen(
        [sys.executable, "-m", "coach", "--data-dir", str(tmp_path / "data"), "demo", "--out",
         str(tmp_path / "demo.wav")], env=_demo_env(tmp_path), cwd=ROOT, text=True,
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 60
        while not _servers_in(tmp_path) and time.monotonic() < deadline \
                and process.poll() is None:
            time.sleep(0.1)
        assert _servers_in(tmp_path), "the demo never started its card"
        time.sleep(1.0)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, err
    assert "Traceback" not in err
    assert _servers_in(tmp_path) == []
