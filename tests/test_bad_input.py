"""The bad-input corpus: every `coach` command, run as a user runs it, against inputs a
new user (or a bad day) produces. The promise it checks: exit 1 or 2, one line that says
what is wrong and a fix, no traceback, no "internal error", and no file already saved
changes (the history database, an earlier output, the inputs).

One row per case in ``CASES``: a name, the arguments (with ``{work}`` for the case's
folder, ``{full}`` for a device that is always full, ``{data}`` for the data folder),
the exit code, the data folder's state and the sound card's. Add a row to add a case.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from coach.audio.virtual_card import VirtualCard
from coach.audio.wavio import write_wav

PLAN = """\
name = "Quick"
unit = "kg"

[[exercise]]
id = "biceps_curl"
sets = 2
reps = [2, 3]
load = 10
tempo = "1-0-1-0"
rest = 5
"""

#: How a session is sped up wherever the corpus runs one.
QUICK = ("--rest-scale", "0", "--no-warmup", "--no-summary", "--max-reps", "1",
         "--ready-seconds", "0")


@dataclass(frozen=True)
class Case:
    name: str
    argv: tuple[str, ...]
    exit: int = 2
    """1: a part is missing (device, database); 2: the input is wrong."""
    data: str = "saved"
    """The data folder: saved (a history with an interrupted session), corrupt (not a
    database), damaged (a database with garbage pages), under_file (a path below a
    file), read_only (a read-only mount holding the saved history)."""
    sound: str = "nocard"
    """nocard (no sound server at all), card (the test card), sinkless (a card whose
    speakers and microphones were all removed)."""
    stream: str = "stderr"
    """Where the message goes (plans check reports on stdout)."""
    stdout: str = ""
    """Where standard output goes instead of the test ("{full}": a full disk)."""
    works: bool = False
    """The work is done before the bad output shows (a full device takes no write until
    the first one): the history may grow and the other outputs appear, but every set
    already saved must stay as it was."""


def case(name: str, *argv: str, exit: int = 2, **options) -> Case:
    return Case(name, argv, exit, **options)


S = ("session", "--answers", "{work}/answers.txt", "--out", "{work}/out.wav", *QUICK)

CASES = [
    # -- empty text, out-of-range numbers ------------------------------------------------
    case("say empty text", "say", "", "--out", "{work}/out.wav"),
    case("say blank text", "say", "   ", "--out", "{work}/kept.wav"),
    case("rate negative", "--rate", "-50", "say", "hello", "--out", "{work}/out.wav"),
    case("rate zero", "say", "hello", "--rate", "0", "--out", "{work}/out.wav"),
    case("rate huge", "say", "hello", "--rate", "100000", "--out", "{work}/out.wav"),
    case("rate not a number", "say", "hello", "--rate", "fast", "--out", "{work}/out.wav"),
    case("latency too long", "--latency", "5", "tempo", "3-1-2-1"),
    case("latency negative", "--latency", "-1", "say", "hi"),
    case("latency word", "--latency", "medium", "say", "hi"),
    case("rate with no command", "--rate", "5"),
    case("tempo reps zero", "tempo", "3-1-2-1", "--reps", "0", "--out", "{work}/out.wav"),
    case("tempo reps huge", "tempo", "3-1-2-1", "--reps", "5000", "--out", "{work}/out.wav"),
    case("tempo pattern", "tempo", "3-1-2", "--out", "{work}/out.wav"),
    case("scan minutes zero", "scan", "--minutes", "0", "--out", "{work}/out.wav"),
    case("scan minutes huge", "scan", "--minutes", "1000", "--out", "{work}/out.wav"),
    case("scan breath", "scan", "--breath", "0-0", "--out", "{work}/out.wav"),
    case("session max reps", *S[:5], "--max-reps", "0"),
    case("session rest scale", *S[:5], "--rest-scale", "-1"),
    case("session answer seconds", *S[:5], "--answer-seconds", "0"),
    case("device retry seconds", "device", "--retry-seconds", "-1"),
    case("summary session", "summary", "--session", "-1"),
    case("history since", "history", "--since", "2099-99-99"),
    # -- unknown names -------------------------------------------------------------------
    case("unknown plan", *S, "--plan", "nosuch"),
    case("unknown plan to show", "plans", "show", "nosuch"),
    case("unknown plan for a scan", "scan", "--plan", "nosuch", "--out", "{work}/out.wav"),
    case("unknown plan for the device", "device", "--plan", "nosuch"),
    case("unknown region", "scan", "--focus", "elbowz", "--out", "{work}/out.wav"),
    case("unknown style", "scan", "--style", "fast", "--out", "{work}/out.wav"),
    case("unknown exercise", "history", "--exercise", "nosuch"),
    case("unknown voice", "say", "hello", "--voice", "nosuch", "--out", "{work}/out.wav",
         exit=1),
    case("unknown engine", *S, "--engine", "nosuch"),
    case("unknown engine to hear", "hear", "{work}/speech.wav", "--engine", "nosuch"),
    case("unknown model", "models", "fetch", "nosuch"),
    case("model folder missing", "hear", "{work}/speech.wav", "--engine", "vosk", "--model",
         "{work}/no-model"),
    case("unknown models action", "models", "nosuch"),
    case("unknown espeak voice", "say", "hello", "--voice", "espeak:nosuch", "--out",
         "{work}/out.wav", exit=1),
    case("not a Piper voice name", "voices", "fetch", "nosuch"),
    case("unknown voices action", "voices", "nosuch"),
    case("Whisper model folder missing", "hear", "{work}/speech.wav", "--engine", "whisper",
         "--model", "{work}/no-model", exit=1),
    case("unknown command", "nosuch"),
    # -- malformed, empty and binary files -----------------------------------------------
    case("plan empty", *S, "--plan", "{work}/empty.toml"),
    case("plan binary", *S, "--plan", "{work}/binary.toml"),
    case("plan malformed", *S, "--plan", "{work}/malformed.toml"),
    case("plan out of range", *S, "--plan", "{work}/range.toml"),
    case("plan missing", *S, "--plan", "{work}/missing.toml"),
    case("plans check binary", "plans", "check", "{work}/binary.toml", stream="stdout"),
    case("plans check malformed", "plans", "check", "{work}/malformed.toml", stream="stdout"),
    case("answers binary", "session", "--answers", "{work}/binary.txt", "--out",
         "{work}/out.wav"),
    case("answers missing", "session", "--answers", "{work}/missing.txt", "--out",
         "{work}/out.wav"),
    case("answers is a folder", "session", "--answers", "{work}", "--out", "{work}/out.wav"),
    case("answers name a missing WAV", "session", "--answers", "{work}/missing-wav.txt",
         "--out", "{work}/out.wav"),
    case("answers name a binary WAV", "session", "--answers", "{work}/binary-wav.txt",
         "--out", "{work}/out.wav"),
    case("scan answers binary", "scan", "--minutes", "1", "--answers", "{work}/binary.txt",
         "--out", "{work}/out.wav"),
    case("import empty", "import", "{work}/empty.json"),
    case("import binary", "import", "{work}/binary.json"),
    case("import cut short", "import", "{work}/cut.json"),
    case("import not a backup", "import", "{work}/list.json"),
    case("import a newer version", "import", "{work}/future.json"),
    case("import missing", "import", "{work}/missing.json"),
    case("hear empty WAV", "hear", "{work}/empty.wav"),
    case("hear binary WAV", "hear", "{work}/binary.wav"),
    case("hear cut WAV", "hear", "{work}/cut.wav"),
    case("hear a folder", "hear", "{work}"),
    case("hear missing", "hear", "{work}/missing.wav"),
    # -- paths that cannot be written ----------------------------------------------------
    case("say to a missing folder", "say", "hello", "--out", "{work}/no/such/out.wav"),
    case("say to a full disk", "say", "hello", "--out", "{full}"),
    case("say to a folder", "say", "hello", "--out", "{work}"),
    case("tempo to a missing folder", "tempo", "3-1-2-1", "--reps", "1", "--out",
         "{work}/no/out.wav"),
    case("tempo to a full disk", "tempo", "3-1-2-1", "--reps", "1", "--out", "{full}"),
    case("tempo events to a full disk", "tempo", "3-1-2-1", "--reps", "1", "--out",
         "{work}/out.wav", "--events", "{full}", works=True),
    case("session to a missing folder", "session", "--answers", "{work}/answers.txt",
         "--out", "{work}/no/out.wav", *QUICK),
    case("session to a full disk", "session", "--answers", "{work}/answers.txt",
         "--out", "{full}", *QUICK, works=True),
    case("session events to a missing folder", *S, "--events", "{work}/no/e.jsonl"),
    case("scan to a full disk", "scan", "--minutes", "1", "--out", "{full}"),
    case("demo to a missing folder", "demo", "--out", "{work}/no/demo.wav"),
    case("export to a missing folder", "export", "{work}/no/backup.json"),
    case("export to a full disk", "export", "{full}"),
    case("report to a missing folder", "report", "--out", "{work}/no/p.png"),
    case("history to a full disk", "history", stdout="{full}", exit=1),
    case("export to a full standard output", "export", "-", stdout="{full}", exit=1),
    case("hear to a full disk", "hear", "{work}/speech.wav", stdout="{full}", exit=1),
    case("data folder below a file", *S, data="under_file", exit=1),
    case("history below a file", "history", data="under_file", exit=1),
    case("session in a read-only folder", *S, data="read_only", exit=1),
    case("import into a read-only folder", "import", "{work}/backup.json", data="read_only",
         exit=1),
    case("say to a read-only folder", "say", "hello", "--out", "{data}/out.wav",
         data="read_only"),
    # -- a corrupt database --------------------------------------------------------------
    case("corrupt database: session", *S, data="corrupt", exit=1),
    case("corrupt database: history", "history", data="corrupt", exit=1),
    case("corrupt database: export", "export", "{work}/backup.json", data="corrupt", exit=1),
    case("damaged database: history", "history", "--json", data="damaged", exit=1),
    case("damaged database: summary", "summary", "--all", data="damaged", exit=1),
    # -- the sound card ------------------------------------------------------------------
    case("no sound server: say", "say", "hello", exit=1),
    case("no sound server: tempo", "tempo", "3-1-2-1", "--reps", "1", exit=1),
    case("no sound server: session", "session", "--answers", "{work}/answers.txt", *QUICK,
         exit=1),
    case("no sound server: spoken session", "session", *QUICK, exit=1),
    case("no sound server: devices", "devices", exit=1),
    case("no sound server: scan", "scan", "--minutes", "1", exit=1),
    case("no sound server: spoken summary", "summary", "--speak", exit=1),
    case("unknown output device", "say", "hello", "--output-device", "nosuch", sound="card"),
    case("unknown input device", "session", "--input-device", "nosuch", *QUICK,
         sound="card"),
    case("unknown output device for tempo", "tempo", "3-1-2-1", "--output-device", "99",
         sound="card"),
    case("no speakers: say", "say", "hello", sound="sinkless", exit=1),
    case("no speakers: tempo", "tempo", "3-1-2-1", "--reps", "1", sound="sinkless", exit=1),
    case("no microphone: session", "session", *QUICK, sound="sinkless", exit=1),
    case("no microphone: scan", "scan", "--minutes", "1", sound="sinkless", exit=1),
]


# -- the folder every case starts from -----------------------------------------------------

def _coach(args, env, cwd, timeout=120, stdout: str = "") -> subprocess.CompletedProcess:
    if not stdout:
        return subprocess.run([sys.executable, "-m", "coach", *args], capture_output=True,
                              text=True, timeout=timeout, env=env, cwd=cwd,
                              stdin=subprocess.DEVNULL)
    with open(stdout, "w") as out:
        done = subprocess.run([sys.executable, "-m", "coach", *args], stdout=out,
                              stderr=subprocess.PIPE, text=True, timeout=timeout, env=env,
                              cwd=cwd, stdin=subprocess.DEVNULL)
    return subprocess.CompletedProcess(done.args, done.returncode, "", done.stderr)


def _no_card_env(folder: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PULSE_SERVER"] = f"unix:{folder}/no-sound-server/native"
    env.pop("COACH_DATA_DIR", None)
    env.pop("PYTHONUNBUFFERED", None)  # as a user runs it: output flushed at the end
    return env


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """A work folder with the inputs of every case and a data folder holding a history:
    one finished session and one interrupted one (so a bad option must not close it)."""
    work = tmp_path_factory.mktemp("corpus-template")
    data = work / "data"
    env = _no_card_env(work)
    (work / "quick.toml").write_text(PLAN)
    (work / "answers.txt").write_text("3\nyes\n2\nno\n")
    done = _coach(["--data-dir", str(data), "session", "--plan", str(work / "quick.toml"),
                   "--answers", str(work / "answers.txt"), "--out", str(work / "s.wav"),
                   *QUICK], env, work)
    assert done.returncode == 0, done.stderr
    (work / "one.txt").write_text("3\nyes\n")
    done = _coach(["--data-dir", str(data), "session", "--plan", str(work / "quick.toml"),
                   "--answers", str(work / "one.txt"), "--out", str(work / "s.wav"), *QUICK],
                  env, work)
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(data / "coach.sqlite3") as db:  # the second one "was killed"
        db.execute("UPDATE sessions SET status = 'running', ended = NULL "
                   "WHERE id = (SELECT max(id) FROM sessions)")
    db.close()
    done = _coach(["--data-dir", str(data), "export", str(work / "backup.json")], env, work)
    assert done.returncode == 0, done.stderr
    for name in ("s.wav", "one.txt"):
        (work / name).unlink()

    noise = random.Random(16)
    binary = bytes(noise.randrange(256) for _ in range(3000))
    for name in ("binary.toml", "binary.txt", "binary.json", "binary.wav"):
        (work / name).write_bytes(binary)
    for name in ("empty.toml", "empty.json", "empty.wav"):
        (work / name).write_bytes(b"")
    (work / "malformed.toml").write_text('name = "x"\n[[exercise]\nid = \n')
    (work / "range.toml").write_text(PLAN.replace("sets = 2", "sets = -1"))
    backup = (work / "backup.json").read_text()
    (work / "cut.json").write_text(backup[: len(backup) // 2])
    (work / "list.json").write_text("[1, 2, 3]\n")
    future = json.loads(backup)
    future["version"] = 99
    (work / "future.json").write_text(json.dumps(future))
    speech = np.sin(np.arange(8000) * 0.05).astype(np.float32) * 0.3
    write_wav(work / "speech.wav", speech, 16000)
    (work / "cut.wav").write_bytes((work / "speech.wav").read_bytes()[:30])
    write_wav(work / "kept.wav", speech, 16000)  # an earlier output that must survive
    (work / "missing-wav.txt").write_text("3\nyes\nnot-there.wav\n")
    (work / "binary-wav.txt").write_text("3\nbinary.wav\n")
    (work / "a-file").write_text("not a folder\n")
    return work


@pytest.fixture(scope="module")
def sinkless(tmp_path_factory) -> VirtualCard:
    """A private sound server whose speakers and microphones were all removed."""
    if shutil.which("pulseaudio") is None:
        pytest.skip("PulseAudio is not installed")
    folder = tmp_path_factory.mktemp("sinkless")
    with VirtualCard(folder).use() as card:
        for module in ("module-always-sink", "module-null-sink"):
            subprocess.run(["pactl", "unload-module", module], env=card.client_env(),
                           capture_output=True, timeout=10)
        yield card


def _mount_read_only(source: Path, target: Path, request) -> None:
    target.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", str(target)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        target.rmdir()
        pytest.skip(f"a read-only data folder needs a tmpfs mount (root): "
                    f"{mounted.stderr.strip()}")
    request.addfinalizer(lambda: subprocess.run(["umount", "-l", str(target)]))
    shutil.copytree(source, target, dirs_exist_ok=True,  # the history, not the speech cache
                    ignore=shutil.ignore_patterns("cache"))
    subprocess.run(["mount", "-o", "remount,ro", str(target)], check=True)


def _full_device(work: Path) -> Path:
    """A private /dev/full: writes fail with 'No space left on device'."""
    node = work / "full"
    try:
        os.mknod(node, 0o666 | 0o020000, os.makedev(1, 7))
        return node
    except OSError:
        return Path("/dev/full")  # not root: nobody can replace the real one either


def _snapshot(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folder`` (SQLite's -shm/-wal companions aside)."""
    out = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.name.endswith(("-shm", "-wal")):
            out[str(path.relative_to(folder))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def _rows(database: Path, scratch: Path) -> list[str] | None:
    """Every row of the history (read from a copy, so reading changes nothing)."""
    if not database.exists():
        return None
    scratch.mkdir(exist_ok=True)
    for suffix in ("", "-wal"):
        if Path(f"{database}{suffix}").exists():
            shutil.copy(f"{database}{suffix}", scratch / f"copy.sqlite3{suffix}")
    try:
        with sqlite3.connect(scratch / "copy.sqlite3") as db:
            return list(db.iterdump())
    except sqlite3.DatabaseError:
        return ["(not a database)"]
    finally:
        shutil.rmtree(scratch)


def assert_one_line_error(result: subprocess.CompletedProcess, stream: str = "stderr") -> None:
    """One message line and one fix line; nothing that looks like a crash."""
    text = getattr(result, stream)
    both = result.stdout + result.stderr
    for sign in ("Traceback", "internal error", "Exception ignored", "Expression '"):
        assert sign not in both, both
    lines = [line for line in text.splitlines() if line.strip()]
    fixes = [i for i, line in enumerate(lines) if line.startswith("  fix: ")]
    assert len(fixes) == 1, text
    assert len(lines[fixes[0]]) > len("  fix: ") + 5, text
    message = lines[fixes[0] - 1] if fixes[0] else ""
    if message.startswith(" "):  # a list (of devices) between the message and the fix
        message = next(line for line in reversed(lines[:fixes[0]])
                       if not line.startswith(" "))
    assert message and not message.startswith(" "), text


@pytest.mark.parametrize("row", CASES, ids=[row.name for row in CASES])
def test_bad_input_is_one_line_with_a_fix_and_changes_nothing(row: Case, template: Path,
                                                              tmp_path: Path, request):
    work = tmp_path / "work"
    shutil.copytree(template, work)
    data = work / "data"
    if row.data == "corrupt":
        (data / "coach.sqlite3").write_bytes(random.Random(1).randbytes(16384))
    elif row.data == "damaged":
        database = data / "coach.sqlite3"
        raw = bytearray(database.read_bytes())
        raw[4096:] = random.Random(2).randbytes(len(raw) - 4096)  # keep page 1: the schema
        database.write_bytes(bytes(raw))
    elif row.data == "under_file":
        data = work / "a-file" / "data"
    elif row.data == "read_only":
        data = tmp_path / "read-only"
        _mount_read_only(work / "data", data, request)

    env = _no_card_env(work)
    if row.sound == "card":
        card = request.getfixturevalue("card")
        env.update(card.env())
        env["XDG_RUNTIME_DIR"] = str(card.runtime_dir)
    elif row.sound == "sinkless":
        card = request.getfixturevalue("sinkless")
        env.update(card.env())
        env["XDG_RUNTIME_DIR"] = str(card.runtime_dir)

    names = {"work": str(work), "data": str(data), "full": str(_full_device(work))}
    argv = ["--data-dir", str(data), *(arg.format(**names) for arg in row.argv)]
    before = _snapshot(work)
    rows_before = _rows(data / "coach.sqlite3", tmp_path / "scratch")

    result = _coach(argv, env, work, timeout=60, stdout=row.stdout.format(**names))

    assert result.returncode == row.exit, (result.returncode, result.stdout, result.stderr)
    assert_one_line_error(result, row.stream)
    after = _snapshot(work)
    history = "data/coach.sqlite3"
    changed = [name for name, digest in before.items() if after.get(name) != digest
               and not (row.works and name == history)]
    assert not changed, f"changed or removed: {changed}"
    added = [name for name in after if name not in before
             and not name.startswith(("data/cache/", "full"))]
    assert not added or row.works, f"left behind: {added}"
    assert not [name for name in added if name.endswith((".part", ".probe"))], added
    rows_after = _rows(data / "coach.sqlite3", tmp_path / "scratch")
    if row.works:
        saved = [line for line in rows_before if line.startswith('INSERT INTO "sets"')]
        assert set(saved) <= set(rows_after)
    else:
        assert rows_after == rows_before


# -- a speaker that goes away while it plays ---------------------------------------------

LONG_LINE = ("This line is long and said slowly, so that the speaker can be taken away "
             "while the coach is still speaking it, half way through.")


@pytest.mark.audio
@pytest.mark.parametrize("argv", [("say", LONG_LINE, "--rate", "80"),
                                  ("tempo", "3-1-2-1", "--reps", "8")], ids=["say", "tempo"])
def test_a_speaker_removed_mid_run_ends_with_one_line(argv, tmp_path):
    """The sound server goes away while `coach say` or `coach tempo` plays (these two have
    no retry): exit 1 with one line and a fix, without PortAudio's or ALSA's own lines."""
    if shutil.which("pulseaudio") is None:
        pytest.skip("PulseAudio is not installed")
    card = VirtualCard(tmp_path / "pulse").start()
    env = card.client_env()
    env.pop("COACH_DATA_DIR", None)
    process = subprocess.Popen([sys.executable, "-m", "coach", "--data-dir",
                                str(tmp_path / "data"), *argv], env=env, text=True,
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            playing = subprocess.run(["pactl", "list", "short", "sink-inputs"], env=env,
                                     capture_output=True, text=True, timeout=10).stdout
            if playing.strip():
                break
            time.sleep(0.1)
        assert process.poll() is None, process.communicate()
        time.sleep(1.0)
    finally:
        card.stop()
    try:
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    result = subprocess.CompletedProcess(argv, process.returncode, out, err)
    assert result.returncode == 1, (out, err)
    assert_one_line_error(result)
    assert "stopped" in err


def test_the_device_waits_for_a_missing_microphone_and_says_so_once(tmp_path):
    """`coach device` with no sound server: one line, then it keeps trying (README: "a
    speaker or microphone that disappears is reported once and tried again"); Ctrl-C ends
    it cleanly."""
    env = _no_card_env(tmp_path)
    # A person's Ctrl-C comes from a terminal, where SIGINT is not ignored. A test run
    # started in the background (nohup, &) ignores it, and the device would inherit that
    # and never stop: catching it here lets the device start with Python's own handler.
    ignored = signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    if ignored:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        process = subprocess.Popen([sys.executable, "-m", "coach", "--data-dir",
                                    str(tmp_path / "data"), "device", "--retry-seconds",
                                    "0.3"], env=env, text=True, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    finally:
        if ignored:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
    lines: list[str] = []

    def read() -> None:
        for line in process.stderr:
            lines.append(line)
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        # start-up (a cold machine takes its time), then about ten retries: Ctrl-C comes
        # once the device is waiting, as a person's would
        deadline = time.monotonic() + 60
        while not any("trying again" in line for line in lines) and \
                time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.1)
        time.sleep(3)
        assert process.poll() is None, "".join(lines)
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    reader.join(10)  # every holder of its standard error (a render child too) is gone
    err = "".join(lines)
    assert not reader.is_alive(), err
    assert process.returncode in (0, 130), err
    assert err.count("trying again") == 1, err
    assert "trying again every 0.3 s" in err, err
    assert "Traceback" not in err and "internal error" not in err
