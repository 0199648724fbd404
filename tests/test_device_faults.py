"""A speaker or a microphone that goes away in the middle of a set or a scan line, on the
virtual card: the null sink is unloaded, then loaded again. The workout and the scan pause,
emit one ``device_lost`` event, try again every few seconds, and carry on at the same set
or line when it is back: no traceback, no stall, nothing lost. A set cut in the middle
carries on from the rep it was at (``carry_on``, tested directly first)."""

from __future__ import annotations

import re
import time

import pytest

from coach.audio.virtual_card import ATHLETE_SINK, SPEAKER_SINK
from coach.events import read_events
from coach.store import Store
from coach.workout.lines import MICROPHONE_GONE, carry_on

from .conftest import run_coach
from .live import QUICK_PLAN, CoachRun, remove_sink, restore_sink, state


def kinds(run: CoachRun, kind: str) -> list[dict]:
    return [e for e in run.events() if e["type"] == kind]


def unplug(run: CoachRun, card, sink: str, device: str) -> dict:
    """Remove ``sink`` under the running coach, check it pauses (one ``device_lost`` for
    ``device``, still running through a few retries, no set saved meanwhile), restore it
    and wait for ``device_back``; returns the ``device_lost`` event."""
    saved = len(kinds(run, "set"))
    remove_sink(card, sink)
    lost = run.wait_for(lambda e: e["type"] == "device_lost", 20)
    assert lost["device"] == device
    time.sleep(4)  # a few retries while the device is away: nothing else happens
    assert run.process.poll() is None
    assert len(kinds(run, "set")) == saved
    restore_sink(card, sink)
    run.wait_for(lambda e: e["type"] == "device_back", 30)
    return lost


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


# -- where a cut set carries on: the rule ------------------------------------------------

def test_a_set_cut_after_some_reps_carries_on_from_the_next_rep():
    cut = carry_on(5, 10, 2, "biceps curl")
    assert cut.line == ("We're back. Set 2 of the biceps curl: you had done 5 of 10 reps. "
                        "Carry on from rep 6.")
    assert (cut.first, cut.left, cut.from_start) == (6, 5, False)


def test_a_hold_cut_carries_on_for_the_seconds_left():
    cut = carry_on(20, 45, 1, "plank", isometric=True)
    assert cut.line == ("We're back. Set 1 of the plank: you had held 20 of 45 seconds. "
                        "Hold for the last 25.")
    assert (cut.first, cut.left) == (21, 25)


@pytest.mark.parametrize(("done", "left", "line"), [
    (0, 4, "We're back. Set 1 of the row."),                     # before the first rep: again
    (-1, 4, "We're back. Set 1 of the row."),
    (4, 0, "We're back. Set 1 of the row: you had finished it."),  # straight to the questions
    (9, 0, "We're back. Set 1 of the row: you had finished it."),
])
def test_a_set_cut_at_its_ends(done, left, line):
    cut = carry_on(done, 4, 1, "row")
    assert (cut.left, cut.line, cut.from_start) == (left, line, left == 4)


# -- on the virtual card ----------------------------------------------------------------

def test_a_speaker_that_stops_mid_set_tells_the_reps_it_had_finished(card):
    """The metronome's own report when the stream dies in its wait: the reps whose last
    click had played (rep 1 of 1-0-1-0 ends 2.2 s in; the stream stops at 3.1 s of
    played samples - by the sample clock, since a new stream on the null sink sometimes
    stalls for over a second before its first callback)."""
    import threading

    from coach.audio.engine import Speaker
    from coach.core.tempo import parse_tempo
    from coach.settings import AudioSettings
    from coach.workout.metronome import Metronome, SpeakerStopped

    speaker = Speaker(AudioSettings()).start()
    at = speaker.now() + speaker.samples(3.1)

    def close_at() -> None:
        deadline = time.monotonic() + 20
        while speaker.now() < at and time.monotonic() < deadline:
            time.sleep(0.01)
        speaker.close()

    stop = threading.Thread(target=close_at)
    stop.start()
    try:
        with pytest.raises(SpeakerStopped) as stopped:
            Metronome(speaker, lead_in=0.2).play_set(parse_tempo("1-0-1-0"), 4)
    finally:
        stop.join()
        speaker.close()
    assert stopped.value.reps_done == 1


def clicks_between(run: CoachRun, after: dict, before_type: str) -> list[int]:
    """The rep numbers of the clicks after the event ``after`` up to the next event of type
    ``before_type`` (or the state ``before_type``)."""
    events = run.events()
    start = events.index(after)
    reps = []
    for event in events[start + 1:]:
        if event["type"] == before_type or event.get("state") == before_type:
            break
        if event["type"] == "click":
            reps.append(event["rep"])
    return reps


def check_carried_on(run: CoachRun, back: dict, lost: dict, target: int) -> int:
    """The coach said how far the set had got, and the count went on from the next rep to
    the end, every rep once; returns the reps done before the cut."""
    found = re.search(rf"you had done (\d+) of {target} reps", back["text"])
    assert found, back["text"]
    done = int(found.group(1))
    assert 1 <= done < target
    assert back["text"] == carry_on(done, target, 1, "biceps curl").line
    events = run.events()
    before = [e["rep"] for e in events[:events.index(lost)] if e["type"] == "click"]
    assert done <= max(before) <= done + 1  # the rep cut short is counted again
    after = clicks_between(run, back, "ASKING")
    assert sorted(set(after)) == list(range(done + 1, target + 1))
    return done


def test_a_speaker_unplugged_mid_set_pauses_the_workout_and_it_carries_on(own_card, tmp_path):
    data = tmp_path / "data"
    (data / "plans").mkdir(parents=True)
    (data / "plans" / "unplug.toml").write_text(QUICK_PLAN)
    answers = tmp_path / "answers.txt"
    answers.write_text("10\nyes\n9\nyes\n")
    run = CoachRun(own_card, tmp_path, "--data-dir", str(data), "--rate", "350", "session",
                   "--plan", "unplug", "--answers", str(answers), "--rest-scale", "0.1",
                   "--max-reps", "5", "--no-warmup", "--no-summary", "--ready-seconds", "0.5")
    try:
        run.wait_for(state("COUNTING"), 60)
        run.wait_for(lambda e: e["type"] == "click" and e["rep"] == 2, 30)  # rep 2 begins
        lost = unplug(run, own_card, SPEAKER_SINK, "speaker")
        back = run.wait_for(lambda e: e["type"] == "say", 30)
        end = run.wait_for(lambda e: e["type"] == "end", 120)
        assert end["status"] == "completed"
        assert run.process.wait(timeout=30) == 0
    finally:
        run.close()
    assert len(kinds(run, "device_lost")) == 1  # one event for one outage
    check_carried_on(run, back, lost, 5)
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
        unplug(run, own_card, SPEAKER_SINK, "speaker")
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
        unplug(run, own_card, ATHLETE_SINK, "microphone")
        again = run.wait_for(lambda e: e["type"] == "say", 30)
        run.wait_for(lambda e: e["type"] == "end", 150)
        assert run.process.wait(timeout=30) == 0
    finally:
        run.close()
    assert len(kinds(run, "device_lost")) == 1
    check_resumed(run, scan_lines(tmp_path, "--minutes", "1"), line, again)
    assert "Traceback" not in run.stderr()


def test_a_microphone_unplugged_mid_set_pauses_the_workout_and_it_carries_on(own_card,
                                                                             tmp_path):
    """A spoken workout: the athlete's side of the card goes away while a set is counted.
    The coach says so (the speaker still works), waits, and when the microphone is back
    counts on from the rep it was at; the athlete answers by voice and the set is saved."""
    from coach.audio.speech import Voice
    from coach.audio.wavio import write_wav
    from coach.settings import SpeechSettings

    athlete = Voice(SpeechSettings(voice="espeak:en-us", rate=160), 22_050)
    said = {}
    for expect, text in (("reps", "five"), ("felt", "yes"), ("no", "no")):
        said[expect] = tmp_path / f"{text}.wav"
        write_wav(said[expect], athlete.render(text), 22_050)
    data = tmp_path / "data"
    (data / "plans").mkdir(parents=True)
    (data / "plans" / "unplug.toml").write_text(QUICK_PLAN.replace("sets = 2", "sets = 1"))
    run = CoachRun(own_card, tmp_path, "--data-dir", str(data), "--rate", "350", "session",
                   "--plan", "unplug", "--max-reps", "5", "--no-warmup", "--no-summary",
                   "--ready-seconds", "0.5",
                   "--answer-seconds", "6")
    try:
        run.wait_for(state("COUNTING"), 90)
        run.wait_for(lambda e: e["type"] == "click" and e["rep"] == 2, 30)  # rep 2 begins
        lost = unplug(run, own_card, ATHLETE_SINK, "microphone")
        back = run.wait_for(lambda e: e["type"] == "say" and e["text"] != "Ready?", 30)
        answered = 0
        while answered < 6:  # answer each question (again, if it was not understood)
            asked = run.wait_for(lambda e: e["type"] in ("listen", "end")
                                 and e.get("expect") != "command", 90)
            if asked["type"] == "end":
                break
            expect = asked["expect"]
            if expect == "confirm":  # "5 reps, right?": yes only to the count said
                expect = "felt" if kinds(run, "say")[-1]["text"].startswith("5 ") else "no"
            time.sleep(0.2)
            own_card.play_into(said[expect])
            answered += 1
        assert run.process.wait(timeout=60) == 0
    finally:
        run.close()
    assert [e["text"] for e in kinds(run, "say")].count(MICROPHONE_GONE) == 1
    assert len(kinds(run, "device_lost")) == 1
    check_carried_on(run, back, lost, 5)
    with Store(data / "coach.sqlite3") as store:
        rows = store.query("SELECT set_number, reps, felt, skipped FROM sets ORDER BY id")
    assert [(r["set_number"], r["skipped"]) for r in rows] == [(1, 0)]  # saved once
    assert (rows[0]["reps"], rows[0]["felt"]) == (5, 1)  # the whole set, as answered
    assert kinds(run, "end")[-1]["status"] == "completed"
    assert "Traceback" not in run.stderr()
