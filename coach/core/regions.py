"""Body regions: the coach's one vocabulary for them, read from ``coach/data/regions.toml``.

The answer grammar (what the recognizer listens for after "Anything sore?" or "Where did
you feel it?"), the exercise library (targets, the regions an exercise works, the regions
a cue corrects) and the body-scan scripts all use these names, so a region the scan
talks about can also be answered, and a sore region named after a scan lightens the
exercises that work it. Pure: no audio, no engines.

- ``body()``: the shipped vocabulary (loaded once); ``load_body(user_dir)``: a user's copy
  of ``regions.toml`` for the scans (their words for ``say``/``place``), else the shipped one.
- ``normalise(words)``: any way of naming a region ("my Lower-back", "pecs",
  "brachioradialis") -> its one name, or None.
- ``covers(named, tag)``: does naming ``named`` count for the region ``tag`` ("arms"
  covers "biceps", and the other way round)?
- ``spoken_names()``: every phrase the recognizer listens for, with its region.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from coach.errors import CoachError

#: The vocabulary that ships with the coach.
REGIONS_PATH = Path(__file__).resolve().parents[1] / "data" / "regions.toml"
REGIONS_FILE = REGIONS_PATH.name

#: Words dropped before a name is looked up ("in my lower back" -> "lower back").
FILLER = frozenset({"my", "the", "in", "both", "mostly", "your"})


@dataclass(frozen=True)
class Region:
    name: str
    """The region's one name, also used in answers and the history ("lower back")."""
    say: str
    """How it is said in a sentence: "your {say}"."""
    place: str = ""
    """A short description of where to find it."""
    them: str = "them"
    """"them" or "it"."""
    heard: tuple[str, ...] = ()
    """Other spoken names the recognizer listens for ("delts")."""
    written: tuple[str, ...] = ()
    """Names accepted in files and options only ("brachioradialis")."""
    covers: tuple[str, ...] = ()
    """Narrower regions inside this one ("arms" covers "biceps")."""

    @property
    def aliases(self) -> tuple[str, ...]:
        return self.heard + self.written


def _words(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9']+", text.lower().replace("’", "'").replace("-", " ")))


def _key(text: str) -> str:
    return " ".join(w for w in _words(text).split() if w not in FILLER)


@dataclass(frozen=True)
class Body:
    """Every region, from head to toes."""

    regions: tuple[Region, ...]
    source: Path | None = None

    def order(self, name: str) -> int:
        """The region's place from the head (0) downwards."""
        for index, region in enumerate(self.regions):
            if region.name == name:
                return index
        raise KeyError(name)

    def get(self, name: str) -> Region:
        return self.regions[self.order(name)]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.regions)

    def find(self, words: str) -> str | None:
        """A region name from any of its names ("Quadriceps" -> "quads", "my jaw" -> "jaw")."""
        key = _key(words)
        if not key:
            return None
        for region in self.regions:
            if key in (_key(region.name), _key(region.say), *(_key(a) for a in region.aliases)):
                return region.name
        if len(key) > 1 and key.endswith("s"):  # "hamstringss", "calfs"... one plural too many
            return self.find(key[:-1])
        return None

    def covers(self, named: str, tag: str) -> bool:
        """True when naming ``named`` means the region ``tag``, one inside it, or one
        around it (both are region names)."""
        if named == tag:
            return True
        inside = {r.name: r.covers for r in self.regions}
        return tag in inside.get(named, ()) or named in inside.get(tag, ())

    def resolve(self, names: Iterable[str], strict: bool = True) -> list[str]:
        """Region names (any alias, any order) -> unique names sorted head to toes.

        With ``strict`` an unknown name is a CoachError (exit 2) listing the known
        ones; without it unknown names are dropped (a plan's muscles the scan has no
        words for).
        """
        found: list[str] = []
        for raw in names:
            if not raw.strip():
                continue
            name = self.find(raw)
            if name is None:
                if strict:
                    raise CoachError(
                        f"no body region called {raw.strip()!r}",
                        "use regions such as " + ", ".join(self.names[:-1]) + " or "
                        + self.names[-1] + " (comma-separated)", exit_code=2)
                continue
            if name not in found:
                found.append(name)
        return sorted(found, key=self.order)


def _fix_for(path: Path) -> str:
    return f"edit {path} (see the notes at its top)"


def _strings(entry: dict, key: str, path: Path) -> tuple[str, ...]:
    value = entry.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise CoachError(f"{path}: {key} of the region {entry.get('name')!r} must be a list "
                         "of words", _fix_for(path), 2)
    return tuple(v.strip().lower() for v in value)


def read_toml(path: Path, fix: str) -> dict:
    """A data file's TOML; a syntax error or an unreadable file is a CoachError with ``fix``."""
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise CoachError(f"{path} is not valid TOML ({error})", fix, exit_code=2) from None
    except OSError as error:
        raise CoachError(f"cannot read {path} ({error.strerror})",
                         "check the file exists and is readable", exit_code=2) from None


def read_body(path: Path) -> Body:
    data = read_toml(path, _fix_for(path))
    regions = []
    for entry in data.get("region", []):
        if not isinstance(entry, dict) or not entry.get("name"):
            raise CoachError(f"{path}: a [[region]] has no name", _fix_for(path), 2)
        name = str(entry["name"]).strip().lower()
        regions.append(Region(name=name, say=str(entry.get("say", name)),
                              place=str(entry.get("place", "")),
                              them=str(entry.get("them", "them")),
                              heard=_strings(entry, "heard", path),
                              written=_strings(entry, "written", path),
                              covers=_strings(entry, "covers", path)))
    if not regions:
        raise CoachError(f"{path} lists no regions", _fix_for(path), 2)
    names = [r.name for r in regions]
    if len(set(names)) != len(names):
        raise CoachError(f"{path} lists a region twice", _fix_for(path), 2)
    for region in regions:
        for inner in region.covers:
            if inner not in names:
                raise CoachError(f"{path}: {region.name} covers {inner!r}, which is not a "
                                 "region listed there", _fix_for(path), 2)
    return Body(tuple(regions), path)


@lru_cache(maxsize=1)
def body() -> Body:
    """The shipped vocabulary (read once)."""
    return read_body(REGIONS_PATH)


def load_body(user_dir: Path | None = None) -> Body:
    """The user's ``regions.toml`` in ``user_dir`` if there is one, else the shipped one."""
    if user_dir is not None and (Path(user_dir) / REGIONS_FILE).is_file():
        return read_body(Path(user_dir) / REGIONS_FILE)
    return body()


def normalise(words: str) -> str | None:
    """A region named in any way -> its one name, or None if it is not a region.

    >>> normalise("my Lower-back")
    'lower back'
    """
    return body().find(words)


def covers(named: str, tag: str) -> bool:
    """Does naming ``named`` count for ``tag``? Both in any spelling ``normalise`` knows."""
    a, b = normalise(named) or _words(named), normalise(tag) or _words(tag)
    return body().covers(a, b)


def spoken_names() -> dict[str, str]:
    """Every phrase the recognizer listens for a region -> the region ("delts" ->
    "shoulders"): each region's name and its ``heard`` names."""
    return {phrase: region.name for region in body().regions
            for phrase in (region.name, *region.heard)}
