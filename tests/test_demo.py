"""`coach demo` end to end: a real session, a simulated athlete speaking into the virtual
microphone, the real recognizer, and a recording of everything the coach said."""

from __future__ import annotations

import os

import pytest

from coach.audio import analysis
from coach.audio.wavio import read_wav
from coach.events import read_events

from .conftest import run_coach


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    env = dict(os.environ)
    for name in ("PULSE_SERVER", "PULSE_SINK", "PULSE_SOURCE"):
        env.pop(name, None)  # the demo must start its own virtual card
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
    # (Piper's sustained vowels can be tonal for a frame or two; clicks are many more)
    assert analysis.tonal_frames(audio, rate, 700) < 5
