"""Errors a user can act on: each carries a one-line message and the fix."""

from __future__ import annotations


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
