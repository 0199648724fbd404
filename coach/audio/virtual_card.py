"""A private PulseAudio daemon with two null sinks: a sound card made of software.

- ``coach_out``: the coach's speaker. Record ``coach_out.monitor`` to hear it.
- ``athlete_out``: play into it to speak; the coach's microphone is
  ``athlete_out.monitor``.

Used by ``scripts/test.sh`` (tests on machines with no sound card) and by
``coach demo``. The daemon is private: its socket lives in its own runtime folder
and it never touches the user's own sound server.

Command line: ``python -m coach.audio.virtual_card start|stop|status|env [DIR]``; ``start``
prints shell ``export`` lines for the variables a client needs.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from coach.errors import MissingPart

SPEAKER_SINK = "coach_out"
ATHLETE_SINK = "athlete_out"
SPEAKER_MONITOR = f"{SPEAKER_SINK}.monitor"
MICROPHONE_SOURCE = f"{ATHLETE_SINK}.monitor"
INSTALL = "sudo apt-get install pulseaudio pulseaudio-utils libasound2-plugins libportaudio2"


def default_dir() -> Path:
    return Path(os.environ.get("TMPDIR", "/tmp")) / f"coach-pulse-{os.getuid()}"


@dataclass(frozen=True)
class VirtualCard:
    runtime_dir: Path
    """Folder holding the daemon's socket, pid file and log."""

    @property
    def socket(self) -> Path:
        return self.runtime_dir / "pulse" / "native"

    @property
    def server(self) -> str:
        return f"unix:{self.socket}"

    def env(self) -> dict[str, str]:
        """Variables that point a PulseAudio client (and PortAudio via ALSA) at this card."""
        return {
            "PULSE_SERVER": self.server,
            "PULSE_SINK": SPEAKER_SINK,
            "PULSE_SOURCE": MICROPHONE_SOURCE,
        }

    def client_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(self.env())
        env["XDG_RUNTIME_DIR"] = str(self.runtime_dir)
        return env

    def running(self) -> bool:
        if not self.socket.exists() or shutil.which("pactl") is None:
            return False
        result = subprocess.run(["pactl", "list", "short", "sinks"], env=self.client_env(),
                                capture_output=True, text=True, timeout=10)
        return result.returncode == 0 and SPEAKER_SINK in result.stdout

    def start(self, timeout: float = 10.0) -> VirtualCard:
        if self.running():
            return self
        if shutil.which("pulseaudio") is None:
            raise MissingPart("PulseAudio is not installed, so there is no virtual sound card",
                              INSTALL)
        self.runtime_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        command = [
            "pulseaudio", "--daemonize=yes", "--use-pid-file=yes", "--exit-idle-time=-1",
            "--disallow-exit=no", "-n", "--log-target=file:" + str(self.runtime_dir / "log"),
            "--load=module-native-protocol-unix auth-anonymous=1",
            f"--load=module-null-sink sink_name={SPEAKER_SINK} rate=44100 channels=1 "
            "sink_properties=device.description=coach_speaker",
            f"--load=module-null-sink sink_name={ATHLETE_SINK} rate=44100 channels=1 "
            "sink_properties=device.description=athlete_voice",
            "--load=module-always-sink",
        ]
        env = self.client_env()
        env.pop("PULSE_SERVER", None)
        subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.running():
                subprocess.run(["pactl", "set-default-sink", SPEAKER_SINK],
                               env=self.client_env(), capture_output=True, timeout=10)
                subprocess.run(["pactl", "set-default-source", MICROPHONE_SOURCE],
                               env=self.client_env(), capture_output=True, timeout=10)
                return self
            time.sleep(0.1)
        log = (self.runtime_dir / "log")
        tail = log.read_text(errors="replace").strip().splitlines()[-1:] if log.exists() else []
        raise MissingPart(f"the virtual sound card did not start ({' '.join(tail) or 'no log'})",
                          INSTALL)

    def stop(self, timeout: float = 5.0) -> None:
        """End the daemon and wait until its process is gone (SIGKILL after ``timeout``)."""
        pid = self.pid()
        if pid is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _alive(pid):
            if time.monotonic() > deadline:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
                break
            time.sleep(0.05)

    def pid(self) -> int | None:
        """The daemon's process id from its pid file, if it has one."""
        try:
            return int((self.runtime_dir / "pulse" / "pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    @contextlib.contextmanager
    def use(self) -> Iterator[VirtualCard]:
        """The card for a ``with`` block: started if needed, and stopped at the end of the
        block (normally, on Ctrl-C, on an error) when this block started it."""
        owned = not self.running()
        self.start()
        try:
            yield self
        finally:
            if owned:
                self.stop()

    def play_into(self, path: str | Path, sink: str = ATHLETE_SINK,
                  wait: bool = True, gain_db: float = 0.0) -> subprocess.Popen:
        """Play a WAV into ``sink`` (by default: speak into the coach's microphone),
        ``gain_db`` louder (negative: softer, e.g. an athlete under the echo)."""
        volume = [f"--volume={round(65536 * 10 ** (gain_db / 20))}"] if gain_db else []
        process = subprocess.Popen(["paplay", "--latency-msec=20", *volume, "-d", sink,
                                    str(path)],
                                   env=self.client_env(), stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE)
        if wait:
            process.wait(timeout=120)
        return process

    def record(self, path: str | Path, source: str = SPEAKER_MONITOR,
               rate: int = 44_100) -> Recording:
        """Start recording ``source`` (by default: what the coach says) to a WAV file."""
        return Recording(self, Path(path), source, rate)

    def echo_path(self, latency_msec: int = 30, gain_db: float = 0.0) -> EchoPath:
        """The coach heard through its own microphone: a loopback from ``coach_out``
        into ``athlete_out``, ``latency_msec`` late and ``gain_db`` louder. Use it as a
        context manager (it is removed on exit)."""
        return EchoPath(self, latency_msec, gain_db)

    def activate(self) -> None:
        """Point this process's PortAudio (and children) at the card."""
        os.environ.update(self.env())
        os.environ.setdefault("XDG_RUNTIME_DIR", str(self.runtime_dir))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError):  # a zombie is gone for our purposes
        if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
            return False
    return True


class EchoPath:
    """A ``module-loopback`` from the coach's speaker into its microphone (see
    ``VirtualCard.echo_path``). PulseAudio's loopback has a set delay and gain but no
    reverberation: a room's is added on the benchmark's offline path."""

    def __init__(self, card: VirtualCard, latency_msec: int, gain_db: float) -> None:
        self.card = card
        env = card.client_env()
        result = subprocess.run(
            ["pactl", "load-module", "module-loopback", f"source={SPEAKER_MONITOR}",
             f"sink={ATHLETE_SINK}", f"latency_msec={latency_msec}",
             "source_dont_move=true", "sink_dont_move=true"],
            env=env, capture_output=True, text=True, timeout=10)
        if result.returncode != 0:
            raise MissingPart(f"the echo path did not load ({result.stderr.strip()})",
                              INSTALL)
        self.module = result.stdout.strip()
        inputs = subprocess.run(["pactl", "list", "short", "sink-inputs"], env=env,
                                capture_output=True, text=True, timeout=10).stdout
        for line in inputs.splitlines():
            fields = line.split("\t")
            if len(fields) > 2 and fields[2] == self.module:
                subprocess.run(["pactl", "set-sink-input-volume", fields[0], f"{gain_db}dB"],
                               env=env, capture_output=True, timeout=10)

    def close(self) -> None:
        if self.module:
            subprocess.run(["pactl", "unload-module", self.module],
                           env=self.card.client_env(), capture_output=True, timeout=10)
            self.module = ""

    def __enter__(self) -> EchoPath:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Recording:
    """A running ``parec`` capture; use as a context manager or call ``stop``."""

    def __init__(self, card: VirtualCard, path: Path, source: str, rate: int) -> None:
        self.path = path
        self.rate = rate
        self._process = subprocess.Popen(
            ["parec", "-d", source, f"--rate={rate}", "--channels=1", "--format=s16le",
             "--latency-msec=10", "--file-format=wav", str(path)],
            env=card.client_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not (path.exists() and path.stat().st_size > 44):
            time.sleep(0.02)  # wait until the capture really runs

    def stop(self) -> Path:
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGINT)
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        return self.path

    def __enter__(self) -> Recording:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str]) -> int:
    action = argv[0] if argv else "start"
    card = VirtualCard(Path(argv[1]) if len(argv) > 1 else default_dir())
    try:
        if action == "status":
            return 0 if card.running() else 1
        if action == "start":
            card.start()
        elif action == "stop":
            card.stop()
            return 0
        elif action != "env":
            print("usage: python -m coach.audio.virtual_card start|stop|env [DIR]",
                  file=sys.stderr)
            return 2
    except MissingPart as error:
        print(f"virtual card: {error.message} (fix: {error.fix})", file=sys.stderr)
        return 1
    for key, value in card.env().items():
        print(f"export {key}={value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
