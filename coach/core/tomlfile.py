"""Reading TOML data files with errors that name the file and the line.

``tomllib`` reports a line and column for syntax errors but forgets positions once
the text is parsed. A value that parses but is wrong (an unknown exercise id, a bad
tempo) is located again in the text: the n-th ``[[table]]`` header, then the line of
``key =`` inside that table.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from coach.errors import CoachError


class DataFileError(CoachError):
    """A data file (plan, library) is malformed; the message names the file and line."""

    def __init__(self, path: str | Path, line: int | None, problem: str, fix: str) -> None:
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {problem}", fix, exit_code=2)
        self.path = str(path)
        self.line = line
        self.problem = problem


def parse(text: str, path: str | Path) -> dict[str, Any]:
    """Parse TOML ``text``; a syntax error becomes a DataFileError with its line."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        match = re.search(r"\(at line (\d+), column (\d+)\)", message)
        line = int(match.group(1)) if match else None
        problem = re.sub(r"\s*\(at line \d+, column \d+\)", "", message) or "invalid TOML"
        if match:
            problem += f" (column {match.group(2)})"
        raise DataFileError(path, line, f"not valid TOML: {problem}",
                            "check quotes, brackets and commas on that line") from None


def _header_pattern(table: str) -> re.Pattern[str]:
    return re.compile(r"^\s*\[\[\s*" + re.escape(table) + r"\s*\]\]\s*(#.*)?$")


def table_line(text: str, table: str, index: int) -> int | None:
    """The 1-based line of the ``index``-th (0-based) ``[[table]]`` header, if found."""
    pattern = _header_pattern(table)
    seen = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if pattern.match(line):
            if seen == index:
                return number
            seen += 1
    return None


def key_line(text: str, key: str, table: str | None = None, index: int = 0) -> int | None:
    """The line of ``key = ...`` inside the ``index``-th ``[[table]]`` (or at top level).

    Falls back to the table's header line when the key is not written out.
    """
    lines = text.splitlines()
    key_pattern = re.compile(r"^\s*" + re.escape(key) + r"\s*=")
    if table is None:
        start = 0
    else:
        header = table_line(text, table, index)
        if header is None:
            return None
        start = header
    for offset, line in enumerate(lines[start:], start=start + 1):
        stripped = line.strip()
        if stripped.startswith("[") and not key_pattern.match(line):
            break
        if key_pattern.match(line):
            return offset
    return table_line(text, table, index) if table is not None else None
