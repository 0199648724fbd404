"""Shared fixtures: the private virtual sound card and a throw-away data folder."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from coach.audio.virtual_card import VirtualCard, default_dir

ROOT = Path(__file__).resolve().parents[1]
#: The data shared by the project's checkouts (not in the repository); ``COACH_SHARED_DIR``
#: points elsewhere (a folder that does not exist shows what a bare clone does).
SHARED = Path(os.environ.get("COACH_SHARED_DIR") or ROOT.parent / "shared")
FSDD = SHARED / "data" / "fsdd" / "recordings"


@pytest.fixture(scope="session")
def fsdd() -> Path:
    """The FSDD recordings folder; the test is skipped, with the reason, when it is absent."""
    if not FSDD.is_dir():
        pytest.skip(f"the FSDD recordings are not here ({FSDD}): put the shared data next "
                    "to the repository, or set COACH_SHARED_DIR")
    return FSDD


#: One speech cache for every `coach` the tests start, kept between runs: a line is
#: rendered once (Piper takes ~0.1 s per second of speech here). Tests of the cache
#: itself give their own folder.
os.environ.setdefault("COACH_CACHE_DIR", str(ROOT / ".pytest_cache" / "coach-cache"))


@pytest.fixture(scope="session")
def card() -> Iterator[VirtualCard]:
    """The virtual sound card started by scripts/test.sh (or one started here, and stopped
    when the tests end)."""
    if shutil.which("pulseaudio") is None:
        pytest.fail("PulseAudio is missing: run the tests with ./scripts/test.sh")
    server = os.environ.get("PULSE_SERVER", "")
    if server.startswith("unix:") and server.endswith("/pulse/native"):
        runtime = Path(server[len("unix:"):]).parent.parent
    else:
        runtime = Path(str(default_dir()) + "-pytest")
    with VirtualCard(runtime).use() as virtual, _echo_on(virtual):
        virtual.activate()
        yield virtual


#: ``COACH_TEST_ECHO_DB=0 ./scripts/test.sh ...``: every test on a virtual card runs with
#: the coach's speaker looped back into its microphone, that many dB louder (issue 24).
ECHO_DB = os.environ.get("COACH_TEST_ECHO_DB")


def _echo_on(card: VirtualCard):
    """The card's echo path when ``COACH_TEST_ECHO_DB`` asks for it (else nothing)."""
    from contextlib import nullcontext

    return card.echo_path(30, float(ECHO_DB)) if ECHO_DB else nullcontext()


@pytest.fixture
def own_card(tmp_path: Path) -> VirtualCard:
    """A virtual card of the test's own, for tests that unplug its sinks."""
    with VirtualCard(tmp_path / "card").use() as virtual, _echo_on(virtual):
        yield virtual


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    return folder


def run_coach(*args: str, env: dict[str, str] | None = None, timeout: float = 120,
              input: str | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m coach ARGS`` as a user would, capturing stdout and stderr."""
    return subprocess.run([sys.executable, "-m", "coach", *args], capture_output=True,
                          text=True, timeout=timeout, env=env or dict(os.environ),
                          input=input, cwd=ROOT)


class ReplayMic:
    """Hands out a prepared int16 clip in 20 ms blocks, then quiet noise: the
    Microphone.read contract without a sound card."""

    def __init__(self, audio: np.ndarray, tail: float = 10.0) -> None:
        rng = np.random.default_rng(5)
        quiet = (rng.normal(0, 30, int(tail * 16000))).astype(np.int16)
        self.data = np.concatenate([audio, quiet])
        self.position = 0
        self.frames_read = 0

    def read(self, timeout: float = 0.5):
        if self.position >= len(self.data):
            return None
        block = self.data[self.position:self.position + 320]
        self.position += 320
        self.frames_read += len(block)
        return block
