"""Files the user names on the command line: one way to read them, one way to write them.

Every ``--out``, ``--events`` and ``export`` goes through ``output_file`` (and is
checked first with ``check_output``, before a long render or a session starts), and
every plan or answers file through ``read_text``. Whatever goes wrong (a folder that
does not exist, a read-only disk, a full disk, a binary file) becomes one
``CoachError`` with a fix, never a traceback.

A regular file appears whole or not at all: it is written beside the target and
renamed over it. A special file (``/dev/stdout``, a pipe, ``/dev/full``) is written
in place: renaming over it would replace the device itself.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from coach.errors import CoachError

WRITE_FIX = "pick a writable folder with free space"


def output_error(path: str | Path, error: OSError, what: str = "") -> CoachError:
    """The one message for a file that cannot be written."""
    reason = error.strerror or str(error)
    if error.errno == errno.ENOSPC:
        fix = "free some disk space, or write to another disk"
    elif error.errno in (errno.ENOENT, errno.ENOTDIR):
        fix = "create the folder first, or pick an existing one"
    elif error.errno == errno.EISDIR:
        fix = "give a file name, not a folder"
    else:
        fix = WRITE_FIX
    label = f"{what} " if what else ""
    return CoachError(f"cannot write {label}{path} ({reason})", fix, exit_code=2)


def _special(path: Path) -> bool:
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def check_output(path: str | Path, what: str = "") -> Path:
    """Fail now, with a fix, if ``path`` cannot be written (before any work is done)."""
    target = Path(path)
    if target.is_dir():
        raise output_error(target, IsADirectoryError(errno.EISDIR, "Is a directory"), what)
    if _special(target):
        if not os.access(target, os.W_OK):
            raise output_error(target, PermissionError(errno.EACCES, "Permission denied"), what)
        return target
    folder = target.parent
    if not folder.exists():
        raise output_error(target, FileNotFoundError(errno.ENOENT, "No such folder"), what)
    if not folder.is_dir():
        raise output_error(target, NotADirectoryError(errno.ENOTDIR, "Not a directory"), what)
    try:  # access() says yes to root on a read-only mount: try for real
        handle, probe = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".probe", dir=folder)
        os.close(handle)
        os.unlink(probe)
    except OSError as error:
        raise output_error(target, error, what) from None
    return target


@contextmanager
def output_file(path: str | Path, what: str = "") -> Iterator[BinaryIO]:
    """An open binary file whose content becomes ``path`` when the block ends without error.

    Errors while opening, writing or renaming become a ``CoachError`` (exit code 2) that
    names ``path``; a half-written temporary file is removed.
    """
    target = Path(path)
    if _special(target):
        try:
            with open(target, "wb") as handle:
                yield handle
        except OSError as error:
            raise output_error(target, error, what) from None
        return
    temp: str | None = None
    try:
        descriptor, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part",
                                            dir=target.parent)
        with os.fdopen(descriptor, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, 0o644)
        os.replace(temp, target)
        temp = None
    except OSError as error:
        raise output_error(target, error, what) from None
    finally:
        if temp is not None and os.path.exists(temp):
            os.unlink(temp)


def read_text(path: str | Path, what: str, fix: str) -> str:
    """The UTF-8 text of a file the user gave; unreadable or binary files are a CoachError
    (exit code 2) that names the file and says ``fix``."""
    try:
        return Path(path).read_bytes().decode("utf-8")
    except OSError as error:
        raise CoachError(f"cannot read the {what} {path} ({error.strerror or error})", fix,
                         exit_code=2) from None
    except UnicodeDecodeError as error:
        raise CoachError(f"the {what} {path} is not text (byte {error.start} is not UTF-8)",
                         fix, exit_code=2) from None
