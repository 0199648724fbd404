"""A `coach` process on a private virtual card, followed through its events file, and the
card's sinks removed and restored under it (an unplugged speaker or microphone)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from coach.audio.virtual_card import VirtualCard

from .conftest import ROOT

#: A short plan: two sets of curls, one-second tempo.
QUICK_PLAN = """
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


class CoachRun:
    """``python -m coach ARGS`` with ``--events`` written to ``folder/events.jsonl``."""

    def __init__(self, card: VirtualCard, folder: Path, *args: str) -> None:
        self.events_path = folder / "events.jsonl"
        self.stderr_path = folder / "stderr.txt"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "coach", *args, "--events", str(self.events_path)],
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


def remove_sink(card: VirtualCard, name: str) -> None:
    """Unload the null sink ``name`` (its monitor source goes with it)."""
    env = card.client_env()
    modules = subprocess.run(["pactl", "list", "short", "modules"], env=env,
                             capture_output=True, text=True, check=True).stdout
    module = next(line.split("\t")[0] for line in modules.splitlines()
                  if f"sink_name={name}" in line)
    subprocess.run(["pactl", "unload-module", module], env=env, check=True)


def restore_sink(card: VirtualCard, name: str) -> None:
    subprocess.run(["pactl", "load-module", "module-null-sink", f"sink_name={name}",
                    "rate=44100", "channels=1"], env=card.client_env(), check=True,
                   capture_output=True)


def state(name):
    return lambda e: e["type"] == "state" and e["state"] == name
