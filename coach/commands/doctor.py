"""`coach doctor`: check every part a session needs, one line each, with a fix."""

from __future__ import annotations

import importlib
import importlib.util
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Callable
from dataclasses import dataclass

from coach.errors import CoachError, missing_library
from coach.settings import Settings

NAME = "doctor"
HELP = "check speech, sound devices, recognizers, models and the data folder"


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True


def add_arguments(parser) -> None:
    pass


def _speech(settings: Settings) -> Check:
    from coach.audio import voices
    from coach.audio.speech import Voice

    try:
        voice = Voice(settings.speech, settings.audio.output_rate)
        seconds = voice.duration("Ready.")
        asked = None if voice.remote is not None else settings.speech.voice
        fallback = voice.choice.engine != voices.parse(asked,
                                                       settings.speech.voices_dir).engine
        detail = f"voice {voice.voice_id}, 'Ready.' = {seconds:.2f} s"
        if fallback:
            return Check("speech", False, detail + " (the Piper voice did not load: see above)",
                         "coach voices list; coach voices fetch NAME", required=False)
        return Check("speech", seconds > 0.1, detail)
    except CoachError as error:
        return Check("speech", False, error.message, error.fix)


def _device(settings: Settings, kind: str) -> Check:
    from coach.audio import devices

    spec = settings.audio.output_device if kind == "output" else settings.audio.input_device
    try:
        index = devices.resolve(spec, kind)
        found = devices.list_devices()
        name = next((d.name for d in found if d.index == index), None) or (
            next((d.name for d in found if (d.is_default_output if kind == "output"
                                            else d.is_default_input)), "default"))
        return Check(f"{kind} device", True, name)
    except CoachError as error:
        hint = error.fix if kind == "output" else error.fix + "; or answer with --typed"
        return Check(f"{kind} device", False, error.message.splitlines()[0], hint,
                     required=(kind == "output"))


def _load(name: str, module: str, required: bool = True) -> Check | None:
    """``None`` when ``module`` imports; else why not: not installed, or a system library
    its compiled code needs is missing (named, with the package that has it)."""
    try:
        importlib.import_module(module)
    except (ImportError, OSError) as error:
        missing = missing_library(name, error)
        if missing is not None:
            return Check(name, False, missing.message, missing.fix, required)
        if isinstance(error, OSError) or getattr(error, "name", module) != module:
            return Check(name, False, f"{module} cannot load ({error})",
                         f"pip install --force-reinstall {module}", required)
        return Check(name, False, "not installed", "run ./scripts/run.sh", required)
    return None


def _native(settings: Settings) -> Check:
    """The compiled engines behind Whisper and the voice gate load (their libraries)."""
    for name, module in (("whisper", "ctranslate2"), ("voice gate", "onnxruntime")):
        if importlib.util.find_spec(module) is None:
            continue  # not installed: the whisper and engine checks say what that means
        failed = _load(name, module)
        if failed is not None:
            return failed
    return Check("libraries", True, "ctranslate2 and onnxruntime load")


def _pocketsphinx(settings: Settings) -> Check:
    failed = _load("pocketsphinx", "pocketsphinx")
    if failed is not None:
        return failed
    import pocketsphinx

    model = pocketsphinx.get_model_path()
    ok = os.path.isdir(os.path.join(model, "en-us", "en-us"))
    return Check("pocketsphinx", ok, f"en-us model in {model}" if ok else "en-us model missing",
                 "pip install --force-reinstall pocketsphinx")


def _whisper(settings: Settings) -> Check:
    from coach.hearing import models, whisper_available

    if not whisper_available():
        return Check("whisper", False, "faster-whisper is not installed (a weaker "
                     "recognizer will be used)", "run ./scripts/run.sh", required=False)
    try:
        found = models.whisper_model(settings.paths)
    except CoachError as error:
        return Check("whisper model", False, error.message, error.fix)
    return Check("whisper model", True, found.describe())


def _engine(settings: Settings) -> Check:
    """Which engine `--engine auto` takes, as a session would choose it (without loading)."""
    from coach.hearing import models, whisper_available

    if whisper_available():
        try:
            found = models.whisper_model(settings.paths)
            return Check("engine", True, f"whisper ({found.name or found.path})")
        except CoachError:
            pass
    english = models.find_english_model(settings.paths)
    if english is not None:
        return Check("engine", True, f"vosk ({english}): Whisper is unavailable", required=False)
    return Check("engine", False, "pocketsphinx, the last resort: Whisper is unavailable",
                 "run ./scripts/run.sh (installs faster-whisper and its model)",
                 required=False)


def _vosk(settings: Settings) -> Check:
    failed = _load("vosk", "vosk", required=False)
    if failed is not None:
        return failed
    try:
        from coach.hearing import models
    except ImportError:
        return Check("vosk", True, "installed", required=False)
    found = models.find_english_model(settings.paths)
    if found is None:
        return Check("vosk model", False, "no English Vosk model (optional)",
                     "coach models fetch vosk-model-small-en-us-0.15", required=False)
    return Check("vosk model", True, str(found), required=False)


def _data_dir(settings: Settings) -> Check:
    folder = settings.paths.data_dir
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder):
            pass
        sqlite3.connect(":memory:").close()
        free = shutil.disk_usage(folder).free / 1e6
        ok = free > 20
        return Check("data folder", ok, f"{folder} ({free:.0f} MB free)",
                     "free some disk space or choose --data-dir elsewhere")
    except OSError as error:
        return Check("data folder", False, f"{folder}: {error.strerror}",
                     "choose a writable folder with --data-dir or COACH_DATA_DIR")


def _server(name: str, spec: str | None) -> Check:
    """A Wyoming server in use (``--hearing``, ``--voice wyoming://``): what it offers
    and its round trip. Not required: the coach hears and speaks locally without it."""
    if not spec or not spec.startswith(("wyoming://", "tcp://")):
        return Check(name, True, "none: local", required=False)
    from coach.remote import status, wire

    try:
        found = status.probe(wire.parse_address(spec))
    except CoachError as error:
        return Check(name, False, error.message, error.fix, required=False)
    if not found.ok:
        return Check(name, False, f"{spec}: {found.problem} (local stands in)",
                     "start the server, or check the address", required=False)
    return Check(name, True, f"{spec}: {found.offers}, round trip "
                             f"{found.round_trip_ms:.1f} ms", required=False)


CHECKS: list[Callable[[Settings], Check]] = [
    _speech,
    lambda s: _device(s, "output"),
    lambda s: _device(s, "input"),
    _engine,
    _whisper,
    _native,
    _pocketsphinx,
    _vosk,
    _data_dir,
    lambda s: _server("hearing server", s.remote.hearing),
    lambda s: _server("voice server", s.speech.voice),
]


def run(args, settings: Settings) -> int:
    failed = False
    for check in CHECKS:
        result = check(settings)
        mark = "ok  " if result.ok else ("FAIL" if result.required else "warn")
        line = f"{mark}  {result.name:14s} {result.detail}"
        if not result.ok and result.fix:
            line += f"  -> {result.fix}"
        print(line)
        failed |= (not result.ok) and result.required
    return 1 if failed else 0
