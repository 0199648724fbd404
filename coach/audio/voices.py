"""Which voice speaks: the ``--voice`` setting, the installed Piper voices, and fetch.

``--voice`` forms:

- none: Piper with the bundled ``en_US-joe-medium`` when it loads, else espeak-ng;
- ``piper:NAME``: an installed Piper voice (``<data>/voices/NAME.onnx`` or the bundled one);
- ``espeak:NAME``: an espeak-ng voice (``en-us``, ``en-gb+f3``...);
- a path to a Piper ``.onnx`` file (its ``.onnx.json`` beside it);
- anything else: an espeak-ng voice, as before Piper came (``--voice en-gb``).

``fetch(name, folder)`` installs a Piper voice from the voice hub: NAME.onnx and
NAME.onnx.json downloaded beside the destination (progress bar, SHA-256 checked when
known), then renamed into place, the model last: a voice is there whole or not at all.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from coach.download import download, progress_bar
from coach.errors import CoachError

log = logging.getLogger(__name__)

PIPER = "piper"
ESPEAK = "espeak"
DEFAULT_PIPER = "en_US-joe-medium"
DEFAULT_ESPEAK = "en-us"
#: The voice hub: rhasspy/piper-voices on the model hub, ``<lang>/<locale>/<speaker>/<quality>/``.
HUB_URL = "https://huggingface.co/rhasspy/piper-voices/resolve/v1.0.0"
#: SHA-256 of voices whose model file is known (the bundled joe voice is the hub's v1.0.0 file).
KNOWN_SHA256 = {
    DEFAULT_PIPER: "58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06",
}
_NAME = re.compile(r"^(?P<locale>(?P<lang>[a-z]{2,3})_[A-Z]{2})-(?P<speaker>[A-Za-z0-9_]+)-"
                   r"(?P<quality>x_low|low|medium|high)$")


@dataclass(frozen=True)
class VoiceChoice:
    engine: str
    """``piper`` or ``espeak``."""
    name: str
    """Piper voice name (``en_US-joe-medium``) or espeak-ng voice (``en-gb+f3``)."""
    model: Path | None = None
    """The Piper ``.onnx`` file; None for espeak-ng."""
    default: bool = False
    """True when nothing was asked for (a failing default falls back quietly but once)."""

    @property
    def label(self) -> str:
        return f"{self.engine}:{self.name}"


def parse(spec: str | None, voices_dir: Path | None) -> VoiceChoice:
    """The voice ``spec`` asks for (the model file is not opened here)."""
    if not spec:
        model = find_piper(DEFAULT_PIPER, voices_dir)
        return VoiceChoice(PIPER, DEFAULT_PIPER, model, default=True)
    engine, colon, name = spec.partition(":")
    if colon and engine.lower() == ESPEAK:
        return VoiceChoice(ESPEAK, name or DEFAULT_ESPEAK)
    if colon and engine.lower() == PIPER:
        name = name or DEFAULT_PIPER
        return VoiceChoice(PIPER, name, find_piper(name, voices_dir))
    if spec.endswith(".onnx") or Path(spec).expanduser().is_file():  # not "gmw/en-gb"
        path = Path(spec).expanduser()
        return VoiceChoice(PIPER, path.name.removesuffix(".onnx"), path)
    return VoiceChoice(ESPEAK, spec)


def find_piper(name: str, voices_dir: Path | None) -> Path:
    """Where the Piper voice ``name`` is (the data folder first, then the bundled one); a
    path that does not exist when it is nowhere (the load then says so)."""
    if voices_dir is not None:
        candidate = voices_dir / f"{name}.onnx"
        if candidate.exists():
            return candidate
    from coach.audio.piper_voice import bundled_model

    bundled = bundled_model()
    if bundled is not None and bundled.name == f"{name}.onnx":
        return bundled
    return (voices_dir or Path(".")) / f"{name}.onnx"


def installed(voices_dir: Path | None) -> list[tuple[str, Path]]:
    """Every Piper voice this machine has: (name, model), the bundled one first."""
    from coach.audio.piper_voice import bundled_model

    found: list[tuple[str, Path]] = []
    bundled = bundled_model()
    if bundled is not None:
        found.append((bundled.name.removesuffix(".onnx"), bundled))
    if voices_dir is not None and voices_dir.is_dir():
        for model in sorted(voices_dir.glob("*.onnx")):
            if Path(f"{model}.json").exists():
                found.append((model.name.removesuffix(".onnx"), model))
    return found


def hub_urls(name: str, base: str = HUB_URL) -> tuple[str, str]:
    """The model and config URLs of a voice on the hub, from its name."""
    match = _NAME.match(name)
    if match is None:
        raise CoachError(f"{name!r} is not a Piper voice name",
                         "names look like en_US-joe-medium (locale-speaker-quality)",
                         exit_code=2)
    folder = f"{match['lang']}/{match['locale']}/{match['speaker']}/{match['quality']}"
    return f"{base}/{folder}/{name}.onnx", f"{base}/{folder}/{name}.onnx.json"


def fetch(name: str, folder: Path, base: str = HUB_URL, sha256: str | None = None,
          timeout: float = 30.0, progress=None) -> Path:
    """Install the Piper voice ``name`` into ``folder``; returns its ``.onnx``.

    Raises CoachError, with nothing left behind, on a network error, a truncated file, a
    checksum mismatch or a config that is not a Piper voice's.
    """
    import json

    model_url, config_url = hub_urls(name, base)
    sha256 = sha256 or KNOWN_SHA256.get(name)
    target = folder / f"{name}.onnx"
    config_target = Path(f"{target}.json")
    if target.exists() and config_target.exists():
        log.info("%s is already installed in %s", name, target)
        return target
    folder.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{name}-", suffix=".part", dir=folder))
    config_part, model_part = work / config_target.name, work / target.name
    try:
        log.info("downloading %s", config_url)
        download(config_url, config_part, None, name, progress or progress_bar, timeout)
        log.info("downloading %s", model_url)
        model_digest = download(model_url, model_part, sha256, name, progress or progress_bar,
                                timeout)
        try:
            config = json.loads(config_part.read_text(encoding="utf-8"))
            rate = int(config["audio"]["sample_rate"])
        except (ValueError, KeyError, TypeError) as error:
            raise CoachError(f"the config of {name} is not a Piper voice's ({error})",
                             "check the name") from None
        if model_part.stat().st_size < 1_000_000:
            raise CoachError(f"the model of {name} is too small to be a voice",
                             "check the name, and run the fetch again")
        os.replace(config_part, config_target)
        os.replace(model_part, target)  # last: a voice with no model is not listed
        log.info("installed %s (%d Hz, sha256 %s) in %s", name, rate, model_digest, target)
        return target
    finally:
        shutil.rmtree(work, ignore_errors=True)
