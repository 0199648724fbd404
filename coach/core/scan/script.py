"""Body-scan scripts, pure: the lines of each style from TOML, and the steps of one scan.

A *script* (``coach/data/scans/<style>.toml``, or the user's copy in
``<data folder>/scans/``) holds the lines of one style, region by region from the
head to the toes, each with the quiet that follows it as (shortest, usual, longest)
seconds, and which scan lengths include it ("brief", "standard", "long"). ``steps``
lists the lines of one scan (a length, a number of rounds, the muscles of a
pre-workout scan) in order; ``coach.core.scan.timeline`` plans them to the sample. The
body regions and their order come from ``coach.core.regions`` (one vocabulary).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from coach.core import answers
from coach.core.regions import Body, load_body, read_toml
from coach.errors import CoachError

#: The folder holding the scripts that ship with the coach.
SCRIPT_DIR = Path(__file__).resolve().parents[2] / "data" / "scans"

FULL = "full"
PRE_WORKOUT = "pre-workout"
TENSE_RELAX = "tense-relax"
STYLES = (FULL, PRE_WORKOUT, TENSE_RELAX)

BRIEF = "brief"
STANDARD = "standard"
LONG = "long"
LENGTHS = (BRIEF, STANDARD, LONG)

#: [breath] line of its own.
DEFAULT_BREATH_LINE = ("Follow the soft tones with your breath: in with the rising tone, "
                       "out with the falling one.")

#: Words the coach listens for while it talks: a script line must not contain them.
#: Taken from the answer grammar's commands, so the two cannot drift apart.
COMMAND_WORDS = tuple(answers.phrases("command"))

def fix_for(path: Path) -> str:
    return f"edit {path} (see the notes at the top of coach/data/scans/full.toml)"


# -- reading the files ---------------------------------------------------------------
def _words(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9']+", text.lower().replace("-", " ")))


def read_script_toml(path: Path) -> dict:
    return read_toml(path, fix_for(path))


def pick(name: str, user_dir: Path | None) -> Path:
    """The user's copy of a script file when there is one, else the shipped one."""
    if user_dir is not None and (Path(user_dir) / name).is_file():
        return Path(user_dir) / name
    return SCRIPT_DIR / name


# -- scripts ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Pause:
    """The quiet after a line, in seconds."""

    shortest: float
    usual: float
    longest: float


@dataclass(frozen=True)
class Line:
    variants: tuple[str, ...]
    """What is said; several variants for [[each]] lines (muscle n uses variant n)."""
    pause: Pause
    lengths: frozenset[str] = frozenset(LENGTHS)

    def text(self, index: int = 0) -> str:
        return self.variants[index % len(self.variants)]


@dataclass(frozen=True)
class RegionBlock:
    name: str
    lines: tuple[Line, ...]
    lengths: frozenset[str] = frozenset(LENGTHS)


@dataclass(frozen=True)
class Script:
    style: str
    title: str
    default_minutes: float
    rounds: tuple[int, ...]
    intro: tuple[Line, ...]
    regions: tuple[RegionBlock, ...]
    """Fixed regions (full, tense-relax)."""
    each: tuple[Line, ...]
    """Lines said for every chosen muscle (pre-workout), with {say}, {place}, {them}."""
    between_rounds: tuple[Line, ...]
    outro: tuple[Line, ...]
    breath: Line | None
    default_regions: tuple[str, ...]
    body: Body
    source: Path


def _pause(value, defaults: Mapping[str, float], where: str, path: Path) -> Pause:
    usual = float(defaults.get("usual", 3.0))
    shrink = float(defaults.get("shrink", 0.4))
    stretch = float(defaults.get("stretch", 4.0))
    try:
        if value is None:
            pause = Pause(usual * shrink, usual, usual * stretch)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            pause = Pause(float(value) * shrink, float(value), float(value) * stretch)
        elif isinstance(value, list) and len(value) == 3:
            pause = Pause(*(float(v) for v in value))
        else:
            raise ValueError
    except (TypeError, ValueError):
        raise CoachError(f"{path}: {where}: pause must be seconds or [shortest, usual, longest]",
                         fix_for(path), 2) from None
    if not 0 <= pause.shortest <= pause.usual <= pause.longest:
        raise CoachError(f"{path}: {where}: pause {list(value)} is not in order "
                         "shortest <= usual <= longest", fix_for(path), 2)
    return pause


def _lengths(value, where: str, path: Path) -> frozenset[str]:
    if value is None:
        return frozenset(LENGTHS)
    values = [value] if isinstance(value, str) else list(value)
    bad = [v for v in values if v not in LENGTHS]
    if bad or not values:
        raise CoachError(f"{path}: {where}: lengths {values} must be some of "
                         f"{', '.join(LENGTHS)}", fix_for(path), 2)
    return frozenset(values)


def _line(entry, defaults, where: str, path: Path, templates: bool = False) -> Line:
    if not isinstance(entry, dict) or "text" not in entry:
        raise CoachError(f"{path}: {where} has no text", fix_for(path), 2)
    raw = entry["text"]
    variants = tuple(str(t).strip() for t in (raw if isinstance(raw, list) else [raw]))
    if not variants or not all(variants):
        raise CoachError(f"{path}: {where} has an empty text", fix_for(path), 2)
    for text in variants:
        fields = set(re.findall(r"{(\w*)}", text))
        if fields and (not templates or fields - {"say", "place", "them"}):
            raise CoachError(f"{path}: {where}: {{...}} fields are only for [[each]] lines "
                             "and must be {say}, {place} or {them}", fix_for(path), 2)
        lowered = f" {_words(text)} "
        for word in COMMAND_WORDS:
            if f" {word} " in lowered:
                raise CoachError(f"{path}: {where}: the line uses {word!r}, a word the coach "
                                 "listens for as a command", "reword the line", 2)
    return Line(variants, _pause(entry.get("pause"), defaults, where, path),
                _lengths(entry.get("lengths"), where, path))


def load_script(style: str, user_dir: Path | None = None) -> Script:
    """The script of ``style``: the user's copy in ``user_dir`` if any, else the shipped one."""
    if style not in STYLES:
        raise CoachError(f"no scan style {style!r}", f"use one of: {', '.join(STYLES)}", 2)
    path = pick(f"{style}.toml", user_dir)
    data = read_script_toml(path)
    body = load_body(user_dir)
    defaults = data.get("pause", {})
    if not isinstance(defaults, dict):
        raise CoachError(f"{path}: [pause] must be a table", fix_for(path), 2)

    def lines(key: str, templates: bool = False) -> tuple[Line, ...]:
        entries = data.get(key, [])
        if not isinstance(entries, list):
            raise CoachError(f"{path}: {key} must be written [[{key}]]", fix_for(path), 2)
        return tuple(_line(e, defaults, f"[[{key}]] {i + 1}", path, templates)
                     for i, e in enumerate(entries))

    blocks = []
    previous: str | None = None
    for number, entry in enumerate(data.get("region", []), start=1):
        name = body.find(str(entry.get("name", "")))
        if name is None:
            raise CoachError(f"{path}: region {number} {entry.get('name')!r} is not in "
                             f"{body.source}", "use a name listed there, or add it there", 2)
        if previous is not None and body.order(name) < body.order(previous):
            raise CoachError(f"{path}: region {name!r} comes after {previous!r}, but scans go "
                             "from head to toes", f"move it above {previous!r}", 2)
        previous = name
        where = f"region {name!r}"
        block_lines = tuple(_line(e, defaults, f"{where} line {i + 1}", path)
                            for i, e in enumerate(entry.get("line", [])))
        if not block_lines:
            raise CoachError(f"{path}: {where} has no [[region.line]]", fix_for(path), 2)
        blocks.append(RegionBlock(name, block_lines, _lengths(entry.get("lengths"), where, path)))
    breath = data.get("breath")
    rounds = data.get("rounds", [1])
    if (not isinstance(rounds, list) or not rounds
            or not all(isinstance(r, int) and 1 <= r <= 10 for r in rounds)):
        raise CoachError(f"{path}: rounds must be a list of whole numbers 1..10",
                         fix_for(path), 2)
    script = Script(
        style=style,
        title=str(data.get("title", style)),
        default_minutes=float(data.get("default_minutes", 10)),
        rounds=tuple(sorted(set(rounds))),
        intro=lines("intro"),
        regions=tuple(blocks),
        each=lines("each", templates=True),
        between_rounds=lines("between_rounds"),
        outro=lines("outro"),
        breath=_line(breath, defaults, "[breath]", path) if breath else None,
        default_regions=tuple(body.resolve(data.get("default_regions", []))),
        body=body,
        source=path,
    )
    if not script.regions and not script.each:
        raise CoachError(f"{path} has neither [[region]] nor [[each]] lines", fix_for(path), 2)
    return script


# -- steps: the lines of one scan, in order --------------------------------------------
INTRO = "intro"
REGION = "region"
BETWEEN = "between"
OUTRO = "outro"
BREATH = "breath"


@dataclass(frozen=True)
class Step:
    """One spoken line of a chosen scan and the quiet after it."""

    text: str
    pause: Pause
    part: str
    """intro | breath | region | between | outro"""
    region: str | None = None
    round: int = 1


def steps(script: Script, length: str, rounds: int = 1, focus: Sequence[str] = (),
          breath: bool = False) -> list[Step]:
    """The lines of a scan of ``length`` with ``rounds`` passes over the regions.

    ``focus`` (region names, head to toes) picks the muscles of an [[each]] script.
    """
    out: list[Step] = [Step(line.text(), line.pause, INTRO) for line in script.intro
                       if length in line.lengths]
    if breath:
        line = script.breath or Line((DEFAULT_BREATH_LINE,), Pause(1.0, 2.0, 6.0))
        out.append(Step(line.text(), line.pause, BREATH))
    for number in range(1, rounds + 1):
        if number > 1:
            out += [Step(line.text(), line.pause, BETWEEN, None, number)
                    for line in script.between_rounds if length in line.lengths]
        for block in script.regions:
            if length in block.lengths:
                out += [Step(line.text(), line.pause, REGION, block.name, number)
                        for line in block.lines if length in line.lengths]
        if script.each:
            for index, name in enumerate(focus or script.default_regions):
                region = script.body.get(name)
                for line in script.each:
                    if length in line.lengths:
                        text = line.text(index).format(say=region.say, place=region.place,
                                                       them=region.them)
                        out.append(Step(_capitalise(text), line.pause, REGION, name, number))
    out += [Step(line.text(), line.pause, OUTRO) for line in script.outro
            if length in line.lengths]
    return out


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def all_texts(script: Script, focus: Sequence[str] = (), breath: bool = False) -> list[str]:
    """Every line any length of this scan could say (to render them all before planning)."""
    seen: dict[str, None] = {}
    rounds = 2 if len(script.rounds) > 1 or script.rounds[0] > 1 else 1
    for length in LENGTHS:
        for step in steps(script, length, rounds, focus, breath):
            seen.setdefault(step.text)
    return list(seen)
