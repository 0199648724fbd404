"""`coach device` on the virtual card: started by voice, one set answered by voice, "stop";
and a microphone that disappears and comes back while the device waits."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from coach.audio.speech import Voice
from coach.audio.virtual_card import ATHLETE_SINK, VirtualCard
from coach.audio.wavio import write_wav
from coach.settings import SpeechSettings

from .live import QUICK_PLAN, CoachRun, remove_sink, restore_sink, state

#: Asked again, a person says it again, a little differently: another voice each time.
VOICES = (("en-us", 150), ("en-us+m3", 170), ("en-gb", 150), ("en-us", 130))


class Athlete:
    """Speaks synthesised answers into the coach's microphone."""

    def __init__(self, card: VirtualCard, folder: Path) -> None:
        self.card = card
        self.folder = folder
        self.voices = [Voice(SpeechSettings(voice=v, rate=r), 16_000) for v, r in VOICES]

    def say(self, text: str, attempt: int = 0) -> None:
        voice = self.voices[attempt % len(self.voices)]
        name = text.replace(" ", "_").replace("'", "")
        path = self.folder / f"{name}-{attempt % len(self.voices)}.wav"
        if not path.exists():
            write_wav(path, voice.render(text), 16_000)
        self.card.play_into(path)


class DeviceRun(CoachRun):
    """A `coach device` process and its events file, followed as it runs."""

    def __init__(self, card: VirtualCard, folder: Path, *extra: str) -> None:
        plans = folder / "data" / "plans"
        plans.mkdir(parents=True)
        (plans / "quick.toml").write_text(QUICK_PLAN)
        super().__init__(card, folder, "--data-dir", str(folder / "data"), "device",
                         "--plan", "quick", "--rest-scale", "0.1", "--max-reps", "1",
                         "--retry-seconds", "1", *extra)


def answer(device: DeviceRun, athlete: Athlete, expect: str, text: str,
           tries: int = 3) -> dict:
    """Wait for a question of ``expect``, speak ``text``; asked again, say it again (as a
    person would). Returns the understood ``heard`` event."""
    for attempt in range(tries):
        device.wait_for(listen(expect), 90)
        athlete.say(text, attempt)
        heard = device.wait_for(lambda e: e["type"] == "heard", 30)
        if heard["kind"] != "unknown":
            return heard
    pytest.fail(f"{text!r} was never understood: {device.events()[-6:]}")


def listen(expect):
    return lambda e: e["type"] == "listen" and e["expect"] == expect


def test_start_workout_by_voice_answer_a_set_then_stop(own_card, tmp_path):
    athlete = Athlete(own_card, tmp_path)
    device = DeviceRun(own_card, tmp_path, "--once")
    try:
        device.wait_for(state("WAITING"))
        assert answer(device, athlete, "start", "start workout")["kind"] == "start"
        device.wait_for(state("RUNNING"), 30)
        assert answer(device, athlete, "reps", "twelve")["value"] == 12
        assert answer(device, athlete, "felt", "yes")["value"] is True
        logged = device.wait_for(lambda e: e["type"] == "set", 30)
        assert (logged["exercise"], logged["reps"], logged["felt"], logged["load"]) == \
            ("biceps_curl", 12, True, 10.0)
        # set 2: "stop" instead of a count, said again at each question until it is heard
        for attempt in range(8):
            device.wait_for(lambda e: e["type"] == "listen", 90)
            athlete.say("stop", attempt)
            heard = device.wait_for(lambda e: e["type"] == "heard", 30)
            if heard["kind"] != "unknown":
                break
        assert (heard["kind"], heard["value"]) == ("command", "stop"), device.events()[-8:]
        end = device.wait_for(lambda e: e["type"] == "end", 30)
        assert end["status"] == "stopped"
        assert device.process.wait(timeout=30) == 0
    finally:
        device.close()
    says = [e["text"] for e in device.events() if e["type"] == "say"]
    assert says[0].startswith("Coach ready")
    assert any("How many reps" in text for text in says)
    assert "Traceback" not in device.stderr()


def test_a_microphone_that_disappears_is_picked_up_again(own_card, tmp_path):
    athlete = Athlete(own_card, tmp_path)
    device = DeviceRun(own_card, tmp_path)
    try:
        device.wait_for(state("WAITING"))
        remove_sink(own_card, ATHLETE_SINK)
        device.wait_for(state("RECOVERING"), 30)
        time.sleep(2)  # the device keeps retrying while the microphone is away
        assert device.process.poll() is None
        restore_sink(own_card, ATHLETE_SINK)
        device.wait_for(state("WAITING"), 30)
        assert answer(device, athlete, "start", "what's my plan")["kind"] == "start"
        told = device.wait_for(lambda e: e["type"] == "say" and "plan" in e["text"], 30)
        assert "Device test" in told["text"]
    finally:
        device.close()
    errors = device.stderr()
    assert "is gone" in errors and "back" in errors
    assert "Traceback" not in errors
