"""Errors a user can act on: each carries a one-line message and the fix."""

from __future__ import annotations

import re


class CoachError(Exception):
    """A problem the user can fix. The CLI prints ``message`` and ``fix`` on one line each.

    ``exit_code`` is what the process returns (2 for usage errors such as a wrong
    device name or a malformed plan, 1 for missing parts).
    """

    def __init__(self, message: str, fix: str = "", exit_code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix
        self.exit_code = exit_code

    def __str__(self) -> str:
        return f"{self.message} ({self.fix})" if self.fix else self.message


class DeviceError(CoachError):
    """A sound device is missing, busy, or was unplugged."""


class MissingPart(CoachError):
    """A program, library or model the coach needs is not installed."""


#: The Debian package of each system library an engine's compiled code loads (everything
#: else comes inside the wheels); scripts/setup.sh installs them.
LIBRARY_PACKAGES = {
    "libatomic.so.1": "libatomic1",  # vosk's libvosk.so on arm64
    "libportaudio.so.2": "libportaudio2",
    "libespeak-ng.so.1": "libespeak-ng1",
    "libgomp.so.1": "libgomp1",
    "libstdc++.so.6": "libstdc++6",
}
_NOT_FOUND = re.compile(r"([\w.+-]+\.so[\w.]*): cannot open shared object file")


def missing_library(part: str, error: BaseException) -> MissingPart | None:
    """What a failed load of ``part`` means when the dynamic loader could not find a shared
    library (its message, through ctypes, cffi or an extension module's ImportError, names
    it): the library and the package to install. ``None`` for any other failure."""
    found = _NOT_FOUND.search(str(error))
    if found is None:
        return None
    library = found.group(1)
    package = LIBRARY_PACKAGES.get(library)
    fix = (f"install {package}: sudo apt-get install {package}" if package else
           f"install the package that has {library} (apt-file search {library}), "
           "or run ./scripts/run.sh")
    return MissingPart(f"{part} cannot load: {library} is missing", fix)
