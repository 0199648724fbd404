"""The check-in after a body scan: what the coach asks and says (``checkin.toml``, or
the user's copy), and every fixed line of it for rendering ahead."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from coach.core.scan.script import PRE_WORKOUT, fix_for, pick, read_script_toml
from coach.errors import CoachError

CHECKIN_FILE = "checkin.toml"


@dataclass(frozen=True)
class CheckinLines:
    """What the coach says to check in after a scan (``checkin.toml``)."""

    feeling: str
    feeling_again: str
    sore: str
    sore_again: str
    sore_noted: str
    """With {region}."""
    thanks: str
    thanks_pre_workout: str

    def thanks_for(self, style: str) -> str:
        """The closing line of a check-in after a scan of ``style``."""
        return self.thanks_pre_workout if style == PRE_WORKOUT else self.thanks

    def lines(self, style: str) -> list[str]:
        """Every fixed line of a check-in after a scan of ``style`` (rendered ahead):
        the questions, asked again, and the closing line (``sore_noted`` names a region)."""
        asked = [self.feeling, self.feeling_again]
        if style == PRE_WORKOUT:
            asked += [self.sore, self.sore_again]
        return [*asked, self.thanks_for(style)]


def load_checkin(user_dir: Path | None = None) -> CheckinLines:
    path = pick(CHECKIN_FILE, user_dir)
    data = read_script_toml(path)
    values = {}
    for name in CheckinLines.__dataclass_fields__:
        text = data.get(name)
        if not isinstance(text, str) or not text.strip():
            raise CoachError(f"{path}: {name} = \"...\" is missing", fix_for(path), 2)
        values[name] = text.strip()
    if "{region}" not in values["sore_noted"]:
        raise CoachError(f"{path}: sore_noted must name the {{region}}", fix_for(path), 2)
    return CheckinLines(**values)
