"""A body scan through the virtual sound card: pause, silence, resume where it stopped.

``coach scan`` plays on ``coach_out`` while the test records ``coach_out.monitor``;
the test "athlete" speaks into ``athlete_out`` (the coach's microphone) with WAVs
synthesised by espeak-ng: "pause" while the scan plays, "resume" five seconds later,
and "calm" at the check-in. The real recognizer (PocketSphinx) hears them.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from coach.audio import analysis
from coach.audio.speech import Voice
from coach.audio.wavio import read_wav, write_wav
from coach.events import read_events
from coach.scan.player import LOOKAHEAD_SECONDS, RESUME_LEAD_SECONDS
from coach.settings import SpeechSettings
from coach.store import Store

from .conftest import ROOT, run_coach

pytestmark = pytest.mark.audio

#: Seconds the athlete stays paused.
PAUSE_SECONDS = 5.0


def wait_for(path: Path, found, timeout: float = 60.0, process=None):
    """Poll the events file until ``found(records)`` gives something (a test harness wait)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        records = read_events(path) if path.exists() else []
        value = found(records)
        if value:
            return value
        if process is not None and process.poll() is not None:
            raise AssertionError(f"coach ended early: {process.stderr.read()}")
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting in {path}: {read_events(path)[-3:]}")


def says(records) -> list[dict]:
    return [r for r in records if r["type"] == "say"]


def silent_runs(samples: np.ndarray, rate: int, threshold: float = 0.002) -> list[tuple]:
    """(start, end) seconds of every stretch quieter than ``threshold`` (10 ms frames)."""
    levels = analysis.frame_levels(samples, rate, 0.01)
    quiet = np.concatenate([[False], levels < threshold, [False]])
    edges = np.flatnonzero(np.diff(quiet.astype(np.int8)))
    return [(a * 0.01, b * 0.01) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def athlete_says(folder: Path, text: str) -> Path:
    """A WAV of the athlete saying ``text`` (espeak-ng, another voice than the coach's)."""
    path = folder / f"{text}.wav"
    voice = Voice(SpeechSettings(voice="gmw/en-gb-x-rp", rate=150), 22_050)
    write_wav(path, np.concatenate([voice.render(text), np.zeros(11_025, np.float32)]), 22_050)
    return path


class Athlete:
    """The athlete speaks: espeak-ng WAVs played into the coach's microphone path."""

    args = ("--engine", "pocketsphinx")
    stdin = subprocess.DEVNULL

    def __init__(self, card, folder: Path) -> None:
        self.card = card
        self.words = {text: athlete_says(folder, text) for text in ("pause", "resume", "calm")}
        self.tries: dict[str, int] = {}

    def say(self, text: str) -> None:
        self.card.play_into(self.words[text])

    def until(self, events: Path, text: str, found, process, tries: int = 3) -> dict:
        """Say ``text`` until ``found(records)`` shows it was heard (at most ``tries`` times)."""
        for attempt in range(tries):
            self.say(text)
            self.tries[text] = attempt + 1
            try:
                return wait_for(events, found, timeout=4.0 if attempt < tries - 1 else 10.0,
                                process=process)[0]
            except AssertionError:
                if process.poll() is not None or attempt == tries - 1:
                    raise
        raise AssertionError(f"{text!r} was never heard")


def paused_scan(card, data_dir: Path, tmp_path: Path, athlete) -> None:
    """A 1-minute scan, paused during its fourth line for PAUSE_SECONDS, then resumed."""
    # the order the scan says its lines in, from the same scan rendered offline
    plain = tmp_path / "plain.jsonl"
    rendered = run_coach("--data-dir", str(data_dir), "scan", "--minutes", "1", "--out",
                         str(tmp_path / "plain.wav"), "--events", str(plain))
    assert rendered.returncode == 0, rendered.stderr
    expected = [r["text"] for r in says(read_events(plain))]

    events = tmp_path / "events.jsonl"
    command = [sys.executable, "-m", "coach", "--data-dir", str(data_dir), "scan",
               "--minutes", "1", *athlete.args, "--events", str(events)]
    with card.record(tmp_path / "heard.wav") as recording:
        process = subprocess.Popen(command, stdin=athlete.stdin, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, env=card.client_env(),
                                   cwd=ROOT)
        try:
            # pause during the fourth line; like a person, say it again if not heard
            wait_for(events, lambda r: says(r)[3:4], process=process)
            paused = athlete.until(events, "pause", lambda r: [
                e for e in r if e.get("state") == "PAUSED"], process)
            time.sleep(PAUSE_SECONDS)
            athlete.until(events, "resume", lambda r: [
                e for e in r if e.get("state") == "PLAYING" and e["t"] > paused["t"]], process)
            for question in (1, 2):  # an answer not understood is asked once more
                wait_for(events, lambda r, n=question: [
                    e for e in r if e["type"] == "listen"][n - 1:], timeout=90, process=process)
                athlete.say("calm")
                athlete.tries["calm"] = question
                outcome = wait_for(events, lambda r, n=question: (
                    ["checkin"] if [e for e in r if e["type"] == "checkin"] else
                    ["again"] if len([e for e in r if e["type"] == "listen"]) > n else []),
                    process=process, timeout=20)
                if outcome == ["checkin"]:
                    break
            out, err = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == 0, err
    records = read_events(events)
    resumed = next(r for r in records if r.get("state") == "PLAYING" and r["t"] > paused["t"])
    assert resumed["t"] - paused["t"] >= PAUSE_SECONDS
    heard = [(r["kind"], r["value"]) for r in records
             if r["type"] == "heard" and r["kind"] != "unknown"]
    heard = [h for i, h in enumerate(heard) if i == 0 or heard[i - 1] != h]
    assert heard == [("command", "pause"), ("command", "resume"), ("feeling", "calm")]
    if max(athlete.tries.values()) > 1:
        print(f"the athlete had to repeat: {athlete.tries}", file=sys.stderr)

    # the paused time is silent on the speaker
    samples, rate = read_wav(recording.path)
    start = analysis.first_sample_above(samples, 0.005) / rate  # the start chime
    # event time -> recording time: the chime starts LOOKAHEAD after the first event
    to_recording = start - records[0]["t"] - LOOKAHEAD_SECONDS
    margin = 0.25
    quiet_from = paused["t"] + to_recording + margin
    quiet_to = resumed["t"] + to_recording + RESUME_LEAD_SECONDS - margin
    quiet = samples[int(quiet_from * rate):int(quiet_to * rate)]
    assert analysis.rms(quiet) < 0.002, (quiet_from, quiet_to)
    longest = max(b - a for a, b in silent_runs(samples, rate))
    assert longest >= PAUSE_SECONDS - 0.3
    # ... and the scan goes on where it stopped, in order
    checkin = next(r for r in records if r.get("state") == "CHECKIN")
    said = [r["text"] for r in says(records) if r["t"] < checkin["t"]]
    before = [r["text"] for r in says(records) if r["t"] < paused["t"]]
    after = [r["text"] for r in says(records) if r["t"] > resumed["t"]]
    assert before == expected[:len(before)] and len(before) >= 4
    assert after[0] in (before[-1], expected[len(before)])
    assert [t for i, t in enumerate(said) if i == 0 or said[i - 1] != t] == expected
    # sound came out again after the resume, up to the end chime
    assert analysis.rms(samples[int((quiet_to + 0.5) * rate):int((quiet_to + 3) * rate)]) > 0.005

    with Store(data_dir / "coach.sqlite3") as store:
        (scan,) = store.query("SELECT style, status, feeling FROM scans")
    assert scan == {"style": "full", "status": "completed", "feeling": "calm"}


def test_spoken_pause_is_silent_and_the_scan_resumes_where_it_stopped(card, data_dir, tmp_path):
    paused_scan(card, data_dir, tmp_path, Athlete(card, tmp_path))
