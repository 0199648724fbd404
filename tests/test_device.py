"""`coach device` on the virtual card: started by voice, one set answered by voice, "stop";
and a microphone that disappears and comes back while the device waits."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from coach.audio.speech import Voice
from coach.audio.virtual_card import ATHLETE_SINK, VirtualCard
from coach.audio.wavio import write_wav
from coach.settings import SpeechSettings

from .conftest import ROOT

PLAN = """
name = "Device test"
unit = "kg"

[[exercise]]
id = "biceps_curl"
sets = 2
reps = [8, 12]
load = 10
tempo = "1-0-1-0"
rest = 20
"""


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


class DeviceRun:
    """A `coach device` process and its events file, followed as it runs."""

    def __init__(self, card: VirtualCard, folder: Path, *extra: str) -> None:
        self.events_path = folder / "events.jsonl"
        self.stderr_path = folder / "stderr.txt"
        plans = folder / "data" / "plans"
        plans.mkdir(parents=True)
        (plans / "quick.toml").write_text(PLAN)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "coach", "--data-dir", str(folder / "data"), "device",
             "--events", str(self.events_path), "--plan", "quick", "--rest-scale", "0.1",
             "--max-reps", "1", "--retry-seconds", "1", *extra],
            cwd=ROOT, env=card.client_env(), stdout=subprocess.PIPE,
            stderr=open(self.stderr_path, "w"), text=True)  # noqa: SIM115
        self.seen = 0

    def events(self) -> list[dict]:
        if not self.events_path.exists():
            return []
        lines = self.events_path.read_text().splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    def wait_for(self, test, timeout: float = 60.0) -> dict:
        """The next event (after those already waited for) that passes ``test``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            events = self.events()
            for index in range(self.seen, len(events)):
                if test(events[index]):
                    self.seen = index + 1
                    return events[index]
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        pytest.fail(f"no such event; stderr: {self.stderr_path.read_text()[-1500:]}")

    def stderr(self) -> str:
        return self.stderr_path.read_text()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


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


def state(name):
    return lambda e: e["type"] == "state" and e["state"] == name


def listen(expect):
    return lambda e: e["type"] == "listen" and e["expect"] == expect


@pytest.fixture
def own_card(tmp_path):
    card = VirtualCard(tmp_path / "card").start()
    yield card
    card.stop()


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
    env = own_card.client_env()
    try:
        device.wait_for(state("WAITING"))
        modules = subprocess.run(["pactl", "list", "short", "modules"], env=env,
                                 capture_output=True, text=True, check=True).stdout
        module = next(line.split("\t")[0] for line in modules.splitlines()
                      if f"sink_name={ATHLETE_SINK}" in line)
        subprocess.run(["pactl", "unload-module", module], env=env, check=True)
        device.wait_for(state("RECOVERING"), 30)
        time.sleep(2)  # the device keeps retrying while the microphone is away
        assert device.process.poll() is None
        subprocess.run(["pactl", "load-module", "module-null-sink",
                        f"sink_name={ATHLETE_SINK}", "rate=44100", "channels=1"],
                       env=env, check=True, capture_output=True)
        device.wait_for(state("WAITING"), 30)
        assert answer(device, athlete, "start", "what's my plan")["kind"] == "start"
        told = device.wait_for(lambda e: e["type"] == "say" and "plan" in e["text"], 30)
        assert "Device test" in told["text"]
    finally:
        device.close()
    errors = device.stderr()
    assert "is gone" in errors and "back" in errors
    assert "Traceback" not in errors
