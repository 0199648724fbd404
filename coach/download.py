"""One download: a temporary file beside the target, its size and SHA-256 checked, then
renamed into place, with a progress bar on stderr.

Speech models (``coach.hearing.models``: the Vosk zip, the Whisper files) and Piper voices
(``coach.audio.voices``) are fetched with ``download``. An interrupted, truncated or
corrupt download raises ``CoachError`` with the fix and leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from coach.errors import CoachError

#: ``progress(done, total)``: bytes received so far, and the size when the server said it.
Progress = Callable[[int, "int | None"], None]


def progress_bar(done: int, total: int | None) -> None:
    """A one-line progress bar on stderr (stdout is for output)."""
    if total:
        width = 30
        filled = int(width * done / total)
        sys.stderr.write(f"\r  [{'#' * filled}{'.' * (width - filled)}] "
                         f"{done / 1e6:6.1f} / {total / 1e6:.1f} MB")
    else:
        sys.stderr.write(f"\r  {done / 1e6:6.1f} MB")
    sys.stderr.flush()


def download(url: str, target: Path, sha256: str | None = None, what: str | None = None,
             progress: Progress | None = progress_bar, timeout: float = 30.0) -> str:
    """Fetch ``url`` into ``target``; returns the file's SHA-256 (hex).

    The bytes go to a temporary file beside ``target``, which is renamed into place only
    when the whole file came (the server's Content-Length) and, when ``sha256`` is given,
    its checksum matches. ``what`` names the download in the corrupt-checksum message.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, part_name = tempfile.mkstemp(prefix=f".{target.name}-", suffix=".part",
                                         dir=target.parent)
    part = Path(part_name)
    try:
        with os.fdopen(handle, "wb") as out:
            digest = _stream(url, out, progress, timeout)
        if sha256 and digest != sha256.lower():
            raise CoachError(f"the download of {what or target.name} is corrupt (checksum "
                             f"{digest[:12]}... is not {sha256[:12]}...)",
                             "run the fetch again")
        os.replace(part, target)
        return digest
    finally:
        part.unlink(missing_ok=True)


def _stream(url: str, out, progress: Progress | None, timeout: float) -> str:
    """Copy ``url`` into the open file ``out``; its SHA-256."""
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
