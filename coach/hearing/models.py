"""Vosk models: where they are looked up, and ``fetch`` (download, verify, unpack atomically).

Lookup order for an English model (``find_english_model``):

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
import logging
import os
import re
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from coach.errors import CoachError
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
def _progress_bar(done: int, total: int | None) -> None:
    if total:
        width = 30
        filled = int(width * done / total)
        sys.stderr.write(f"\r  [{'#' * filled}{'.' * (width - filled)}] "
                         f"{done / 1e6:6.1f} / {total / 1e6:.1f} MB")
    else:
        sys.stderr.write(f"\r  {done / 1e6:6.1f} MB")
    sys.stderr.flush()


def fetch(name: str, dest: Path, url: str | None = None, sha256: str | None = None,
          progress: Callable[[int, int | None], None] | None = _progress_bar,
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
    handle, archive_name = tempfile.mkstemp(prefix=f".{name}-", suffix=".zip.part", dir=dest)
    archive = Path(archive_name)
    unpack = Path(tempfile.mkdtemp(prefix=f".{name}-", suffix=".unpack", dir=dest))
    try:
        with os.fdopen(handle, "wb") as out:
            digest = _download(url, out, progress, timeout)
        if sha256 and digest != sha256.lower():
            raise CoachError(f"the download of {name} is corrupt (checksum {digest[:12]}... "
                             f"is not {sha256[:12]}...)", "run the fetch again")
        _extract(archive, unpack, name)
        root = _model_root(unpack)
        if root is None:
            raise CoachError(f"the archive for {name} holds no Vosk model",
                             "check the name or --url")
        os.replace(root, target)
        log.info("installed %s in %s", name, target)
        return target
    finally:
        archive.unlink(missing_ok=True)
        shutil.rmtree(unpack, ignore_errors=True)


def _download(url: str, out, progress, timeout: float) -> str:
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            total = response.headers.get("Content-Length")
            total = int(total) if total and total.isdigit() else None
            done = 0
            while True:
                try:
                    chunk = response.read(1 << 16)
                except (urllib.error.URLError, OSError, ValueError) as error:
                    raise CoachError(f"the download stopped after {done} bytes ({error})",
                                     "check the connection and run the fetch again") from None
                if not chunk:
                    break
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                if progress:
                    progress(done, total)
            if progress:
                sys.stderr.write("\n")
            if total is not None and done != total:
                raise CoachError(f"the download is truncated ({done} of {total} bytes)",
                                 "check the connection and run the fetch again")
    except urllib.error.HTTPError as error:
        raise CoachError(f"the model server said {error.code} {error.reason} for {url}",
                         "check the model name") from None
    except (urllib.error.URLError, OSError) as error:
        if isinstance(error, CoachError):
            raise
        reason = getattr(error, "reason", error)
        raise CoachError(f"cannot download {url} ({reason})",
                         "check the internet connection, or copy an unpacked model into "
                         "the data folder's models/ and use --model") from None
    return digest.hexdigest()


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
