"""A speaker or a microphone that goes away in the middle of a set or a scan line, on the
virtual card: the null sink is unloaded, then loaded again. The workout and the scan pause,
emit one ``device_lost`` event, try again every few seconds, and carry on at the same set
or line when it is back: no traceback, no stall, nothing lost."""

from __future__ import annotations

import time

from coach.audio.virtual_card import ATHLETE_SINK, SPEAKER_SINK
from coach.events import read_events
from coach.store import Store

from .conftest import run_coach
from .live import QUICK_PLAN, CoachRun, remove_sink, restore_sink, state


def kinds(run: CoachRun, kind: str) -> list[dict]:
    return [e for e in run.events() if e["type"] == kind]


def scan_lines(folder, *args: str) -> list[str]:
    """The lines of the same scan rendered offline, in order (no check-in)."""
    events = folder / "offline.jsonl"
    result = run_coach("--data-dir", str(folder / "offline"), "scan", *args, "--out",
                       str(folder / "offline.wav"), "--events", str(events))
    assert result.returncode == 0, result.stderr
    return [e["text"] for e in read_events(events) if e["type"] == "say"]


def check_resumed(run: CoachRun, lines: list[str], cut: dict, again: dict) -> None:
    """The scan carried on at the line that was cut (or, when the loss was noticed in the
    quiet after it, at the next one), and no line of the scan was lost."""
    assert again["text"] in lines[lines.index(cut["text"]):lines.index(cut["text"]) + 2]
    said = [e["text"] for e in kinds(run, "say") if e["text"] in lines]
    assert list(dict.fromkeys(said)) == lines
    assert len(said) - len(lines) <= 1  # at most the cut line twice


def test_a_speaker_unplugged_mid_set_pauses_the_workout_and_it_carries_on(own_card, tmp_path):
    data = tmp_path / "data"
    (data / "plans").mkdir(parents=True)
    (data / "plans" / "unplug.toml").write_text(QUICK_PLAN)
    answers = tmp_path / "answers.txt"
    answers.write_text("10\nyes\n9\nyes\n")
    run = CoachRun(own_card, tmp_path, "--data-dir", str(data), "session", "--plan", "unplug",
                   "--answers", str(answers), "--rest-scale", "0.1", "--max-reps", "4",
                   "--no-warmup", "--no-summary", "--ready-seconds", "0.5")
    try:
        run.wait_for(state("COUNTING"), 60)
        run.wait_for(lambda e: e["type"] == "click", 30)
        remove_sink(own_card, SPEAKER_SINK)
        lost = run.wait_for(lambda e: e["type"] == "device_lost", 20)
        assert lost["device"] == "speaker"
        time.sleep(4)  # a few retries while the speaker is away: nothing else happens
        assert run.process.poll() is None
        assert not kinds(run, "set")
        restore_sink(own_card, SPEAKER_SINK)
        run.wait_for(lambda e: e["type"] == "device_back", 30)
        back = run.wait_for(lambda e: e["type"] == "say", 30)
        assert back["text"] == "We're back. Set 1 of the biceps curl."
        end = run.wait_for(lambda e: e["type"] == "end", 120)
        assert end["status"] == "completed"
        assert run.process.wait(timeout=30) == 0
    finally:
        run.close()
    assert len(kinds(run, "device_lost")) == 1  # one event for one outage
    with Store(data / "coach.sqlite3") as store:
        rows = store.query("SELECT set_number, reps, felt FROM sets ORDER BY id")
    assert [(r["set_number"], r["reps"], r["felt"]) for r in rows] == [(1, 10, 1), (2, 9, 1)]
    errors = run.stderr()
    assert "Traceback" not in errors and "speaker" in errors and "back" in errors


def test_a_speaker_unplugged_mid_line_pauses_the_scan_at_that_line(own_card, tmp_path):
    answers = tmp_path / "answers.txt"
    answers.write_text("calm\n")
    run = CoachRun(own_card, tmp_path, "--data-dir", str(tmp_path / "data"), "scan",
                   "--minutes", "1", "--answers", str(answers))
    try:
        run.wait_for(lambda e: e["type"] == "say", 60)
        line = run.wait_for(lambda e: e["type"] == "say", 60)  # the second line starts
        remove_sink(own_card, SPEAKER_SINK)
        lost = run.wait_for(lambda e: e["type"] == "device_lost", 20)
        assert lost["device"] == "speaker"
        time.sleep(4)
        assert run.process.poll() is None
        restore_sink(own_card, SPEAKER_SINK)
        run.wait_for(lambda e: e["type"] == "device_back", 30)
        again = run.wait_for(lambda e: e["type"] == "say", 30)
        checkin = run.wait_for(lambda e: e["type"] == "checkin", 120)
        assert checkin["feeling"] == "calm"
        assert run.process.wait(timeout=30) == 0
    finally:
        run.close()
    assert len(kinds(run, "device_lost")) == 1
    check_resumed(run, scan_lines(tmp_path, "--minutes", "1"), line, again)
    assert "Traceback" not in run.stderr()


def test_device_mode_survives_a_speaker_missing_for_the_done_chime(card, tmp_path):
    """The chime after an activity opens the speaker; a speaker still missing then is
    reported and waited for by the device loop, not the end of ``Device.run``."""
    from coach.core.answers import Answer
    from coach.device import Device, DeviceSettings
    from coach.events import EventWriter
    from coach.settings import Paths, Settings

    settings = Settings(paths=Paths(tmp_path / "data"))
    device = Device(settings, DeviceSettings(), EventWriter(None))
    remove_sink(card, SPEAKER_SINK)
    try:
        device._run_activity(Answer("start", {"action": "plan"}, "what's my plan", 1.0))
    finally:
        restore_sink(card, SPEAKER_SINK)
    assert device.state == "RUNNING"


def test_a_microphone_unplugged_mid_line_pauses_the_scan_at_that_line(own_card, tmp_path):
    """A spoken scan (commands heard on the microphone): the athlete's side of the card
    goes away while a line plays; the scan pauses, and carries on with that line."""
    run = CoachRun(own_card, tmp_path, "--data-dir", str(tmp_path / "data"), "scan",
                   "--minutes", "1", "--engine", "pocketsphinx")
    try:
        run.wait_for(lambda e: e["type"] == "say", 60)
        line = run.wait_for(lambda e: e["type"] == "say", 60)
        remove_sink(own_card, ATHLETE_SINK)
        lost = run.wait_for(lambda e: e["type"] == "device_lost", 20)
        assert lost["device"] == "microphone"
        time.sleep(4)
        assert run.process.poll() is None
        restore_sink(own_card, ATHLETE_SINK)
        run.wait_for(lambda e: e["type"] == "device_back", 30)
        again = run.wait_for(lambda e: e["type"] == "say", 30)
        run.wait_for(lambda e: e["type"] == "end", 150)
        assert run.process.wait(timeout=30) == 0
    finally:
        run.close()
    assert len(kinds(run, "device_lost")) == 1
    check_resumed(run, scan_lines(tmp_path, "--minutes", "1"), line, again)
    assert "Traceback" not in run.stderr()
