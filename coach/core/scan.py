"""Body scans, pure: scripts from TOML, and a timeline planned to the sample.

A *script* (``coach/data/scans/<style>.toml``, or the user's copy in
``<data folder>/scans/``) holds the lines of one style, region by region from the
head to the toes, each with the quiet that follows it as (shortest, usual, longest)
seconds, and which scan lengths include it ("brief", "standard", "long").

The *planner* turns a script into a ``Timeline``: every sound (start chime, spoken
line, breath tone, end chime) at a sample position, so that the scan lasts exactly
the minutes asked. It is given the length of every line once rendered, tries each
(length, rounds) combination the script allows, keeps the one whose pauses need the
least stretching, and sets every pause at the same fraction of its range. No audio
library is imported here: the loop that plays a timeline lives in ``coach.scan``. The
body regions and their order come from ``coach.core.regions`` (one vocabulary).

Helpers at the bottom move through a timeline while it plays: where to resume after a
pause, where "repeat" rewinds to, and how "slower" stretches what is left.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from coach.core import answers
from coach.core.regions import Body, Region, load_body, read_toml  # noqa: F401
from coach.errors import CoachError

#: The folder holding the scripts that ship with the coach.
SCRIPT_DIR = Path(__file__).resolve().parents[1] / "data" / "scans"

FULL = "full"
PRE_WORKOUT = "pre-workout"
TENSE_RELAX = "tense-relax"
STYLES = (FULL, PRE_WORKOUT, TENSE_RELAX)

BRIEF = "brief"
STANDARD = "standard"
LONG = "long"
LENGTHS = (BRIEF, STANDARD, LONG)

MIN_MINUTES = 1.0
MAX_MINUTES = 30.0
#: The scan must last the requested time within this fraction.
TOLERANCE = 0.02

# Timeline item kinds.
CHIME_START = "chime_start"
CHIME_END = "chime_end"
LINE = "line"
BREATH_IN = "breath_in"
BREATH_OUT = "breath_out"
TONES = (BREATH_IN, BREATH_OUT)

#: Quiet between the start chime's end and the first line, in seconds.
LEAD_SECONDS = 1.0
#: Breath tones keep this far (seconds) from any spoken line.
BREATH_MARGIN = 0.6
#: Going through the body once more costs as much as pauses this far (log ratio) from
#: their usual length: a longer round of pauses is preferred to repeating the regions.
ROUND_COST = 0.4
#: No pause is squeezed below this many seconds, whatever the script says.
FLOOR_SECONDS = 0.3

#: Said before the first region when a breathing pace is asked and the script has no
#: [breath] line of its own.
DEFAULT_BREATH_LINE = ("Follow the soft tones with your breath: in with the rising tone, "
                       "out with the falling one.")

#: Words the coach listens for while it talks: a script line must not contain them.
#: Taken from the answer grammar's commands, so the two cannot drift apart.
COMMAND_WORDS = tuple(answers.phrases("command"))


def _fix_for(path: Path) -> str:
    return f"edit {path} (see the notes at the top of coach/data/scans/full.toml)"


# -- reading the files ---------------------------------------------------------------
def _words(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9']+", text.lower().replace("-", " ")))


def _read_toml(path: Path) -> dict:
    return read_toml(path, _fix_for(path))


def _pick(name: str, user_dir: Path | None) -> Path:
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
                         _fix_for(path), 2) from None
    if not 0 <= pause.shortest <= pause.usual <= pause.longest:
        raise CoachError(f"{path}: {where}: pause {list(value)} is not in order "
                         "shortest <= usual <= longest", _fix_for(path), 2)
    return pause


def _lengths(value, where: str, path: Path) -> frozenset[str]:
    if value is None:
        return frozenset(LENGTHS)
    values = [value] if isinstance(value, str) else list(value)
    bad = [v for v in values if v not in LENGTHS]
    if bad or not values:
        raise CoachError(f"{path}: {where}: lengths {values} must be some of "
                         f"{', '.join(LENGTHS)}", _fix_for(path), 2)
    return frozenset(values)


def _line(entry, defaults, where: str, path: Path, templates: bool = False) -> Line:
    if not isinstance(entry, dict) or "text" not in entry:
        raise CoachError(f"{path}: {where} has no text", _fix_for(path), 2)
    raw = entry["text"]
    variants = tuple(str(t).strip() for t in (raw if isinstance(raw, list) else [raw]))
    if not variants or not all(variants):
        raise CoachError(f"{path}: {where} has an empty text", _fix_for(path), 2)
    for text in variants:
        fields = set(re.findall(r"{(\w*)}", text))
        if fields and (not templates or fields - {"say", "place", "them"}):
            raise CoachError(f"{path}: {where}: {{...}} fields are only for [[each]] lines "
                             "and must be {say}, {place} or {them}", _fix_for(path), 2)
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
    path = _pick(f"{style}.toml", user_dir)
    data = _read_toml(path)
    body = load_body(user_dir)
    defaults = data.get("pause", {})
    if not isinstance(defaults, dict):
        raise CoachError(f"{path}: [pause] must be a table", _fix_for(path), 2)

    def lines(key: str, templates: bool = False) -> tuple[Line, ...]:
        entries = data.get(key, [])
        if not isinstance(entries, list):
            raise CoachError(f"{path}: {key} must be written [[{key}]]", _fix_for(path), 2)
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
            raise CoachError(f"{path}: {where} has no [[region.line]]", _fix_for(path), 2)
        blocks.append(RegionBlock(name, block_lines, _lengths(entry.get("lengths"), where, path)))
    breath = data.get("breath")
    rounds = data.get("rounds", [1])
    if (not isinstance(rounds, list) or not rounds
            or not all(isinstance(r, int) and 1 <= r <= 10 for r in rounds)):
        raise CoachError(f"{path}: rounds must be a list of whole numbers 1..10",
                         _fix_for(path), 2)
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
        raise CoachError(f"{path} has neither [[region]] nor [[each]] lines", _fix_for(path), 2)
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


# -- the timeline ---------------------------------------------------------------------
@dataclass(frozen=True)
class Item:
    """Something the speaker plays: a line, a chime or a breath tone."""

    kind: str
    """line | chime_start | chime_end | breath_in | breath_out"""
    length: int
    """Samples."""
    text: str = ""
    region: str | None = None
    part: str = ""
    step: int = -1
    """The line's position among the scan's lines (0, 1, ...), -1 for sounds."""


@dataclass(frozen=True)
class Timeline:
    entries: tuple[tuple[int, Item], ...]
    """(start sample, item), sorted by start."""
    total: int
    """Samples from the first sample of the start chime to the last of the end chime."""
    rate: int
    """Hertz."""
    length: str = STANDARD
    rounds: int = 1
    fit: str = "exact"
    """exact (every pause within its bounds) | stretched | squeezed (beyond them)."""
    fraction: float = 0.0
    """Where in their ranges the pauses sit: -1 shortest, 0 usual, 1 longest."""
    breath: Breath | None = field(default=None, compare=False)

    @property
    def seconds(self) -> float:
        return self.total / self.rate

    def lines(self) -> list[tuple[int, Item]]:
        return [(s, i) for s, i in self.entries if i.kind == LINE]

    def sounds(self) -> list[tuple[int, Item]]:
        """Everything but breath tones (what pacing and pauses are planned around)."""
        return [(s, i) for s, i in self.entries if i.kind not in TONES]

    def starts(self) -> list[int]:
        return [s for s, _ in self.entries]

    def index_at(self, position: int) -> int:
        """Index of the first entry starting at or after ``position``."""
        return bisect_left(self.starts(), position)

    def regions(self) -> list[str]:
        """The regions in the order they are spoken (each once per run of lines)."""
        out: list[str] = []
        for _, item in self.lines():
            if item.region and (not out or out[-1] != item.region):
                out.append(item.region)
        return out


def check_minutes(minutes: float) -> float:
    if not isinstance(minutes, (int, float)) or math.isnan(minutes) \
            or not MIN_MINUTES <= minutes <= MAX_MINUTES:
        raise CoachError(f"a scan lasts {MIN_MINUTES:g} to {MAX_MINUTES:g} minutes, not "
                         f"{minutes:g}", "pass --minutes between 1 and 30", exit_code=2)
    return float(minutes)


@dataclass(frozen=True)
class Candidate:
    """One way to fill the time: a length and a number of rounds, and its sums in samples."""

    length: str
    rounds: int
    steps: tuple[Step, ...]
    fixed: int
    shortest: float
    usual: float
    longest: float


def plan(candidates: Sequence[tuple[str, int, Sequence[Step]]], durations: Mapping[str, int],
         total: int, rate: int, start_chime: int, end_chime: int) -> Timeline:
    """Lay out the best-fitting candidate so the timeline lasts exactly ``total`` samples.

    ``candidates`` are (length, rounds, steps); ``durations`` maps each step's text to
    its rendered length in samples. Raises CoachError when even the shortest candidate's
    lines (with no pauses) are longer than ``total``.
    """
    lead = int(round(LEAD_SECONDS * rate))
    options: list[Candidate] = []
    for length, rounds, chosen in candidates:
        if not any(s.part == REGION for s in chosen):
            continue
        fixed = start_chime + lead + end_chime + sum(durations[s.text] for s in chosen)
        options.append(Candidate(length, rounds, tuple(chosen), fixed,
                                 rate * sum(s.pause.shortest for s in chosen),
                                 rate * sum(s.pause.usual for s in chosen),
                                 rate * sum(s.pause.longest for s in chosen)))
    if not options:
        raise CoachError("the scan script has no region lines for this length",
                         "check the lengths = [...] of its regions", exit_code=2)
    fitting = [c for c in options if c.shortest <= total - c.fixed <= c.longest]
    if fitting:
        best = min(fitting, key=lambda c: _strain(c, total) + ROUND_COST * (c.rounds - 1))
        fit = "exact"
    elif all(total - c.fixed < c.shortest for c in options):
        best = min(options, key=lambda c: c.fixed + c.shortest)
        fit = "squeezed"
    else:
        best = max(options, key=lambda c: c.fixed + c.longest)
        fit = "stretched"
    room = total - best.fixed
    floor = FLOOR_SECONDS * rate
    if room < floor * len(best.steps):
        need = (best.fixed + floor * len(best.steps)) / rate / 60
        raise CoachError(f"the lines of this scan alone take longer than {total / rate / 60:g} "
                         "minutes", f"ask for at least {math.ceil(need)} minutes, or scan fewer "
                         "regions (--focus)", exit_code=2)
    pauses, fraction = _spread(best, room, rate)
    entries: list[tuple[int, Item]] = [(0, Item(CHIME_START, start_chime))]
    cursor = start_chime + lead
    for number, (step, pause) in enumerate(zip(best.steps, pauses, strict=True)):
        length = durations[step.text]
        entries.append((cursor, Item(LINE, length, step.text, step.region, step.part, number)))
        cursor += length + pause
    entries.append((cursor, Item(CHIME_END, end_chime)))
    assert cursor + end_chime == total, (cursor, end_chime, total)
    return Timeline(tuple(entries), total, rate, best.length, best.rounds, fit, fraction)


def _strain(candidate: Candidate, total: int) -> float:
    """How far the pauses must move from their usual lengths (0: not at all)."""
    room = max(total - candidate.fixed, 1)
    return abs(math.log(room / max(candidate.usual, 1.0)))


def _spread(candidate: Candidate, room: int, rate: int) -> tuple[list[int], float]:
    """Pause lengths in samples adding up to exactly ``room``; all at one fraction of range."""
    steps_ = candidate.steps
    shortest = [s.pause.shortest * rate for s in steps_]
    usual = [s.pause.usual * rate for s in steps_]
    longest = [s.pause.longest * rate for s in steps_]
    if room >= candidate.usual:
        span = candidate.longest - candidate.usual
        if room <= candidate.longest and span > 0:
            f = (room - candidate.usual) / span
            values = [u + (m - u) * f for u, m in zip(usual, longest, strict=True)]
        else:  # beyond every longest: scale them all up
            f = 1.0 + (room - candidate.longest) / max(candidate.longest, 1.0)
            values = [m * room / max(candidate.longest, 1.0) for m in longest] \
                if candidate.longest > 0 else [room / len(steps_)] * len(steps_)
    else:
        span = candidate.usual - candidate.shortest
        if room >= candidate.shortest and span > 0:
            f = -(candidate.usual - room) / span
            values = [u - (u - s) * -f for u, s in zip(usual, shortest, strict=True)]
        else:  # below every shortest: scale them down, never under the floor
            floor = FLOOR_SECONDS * rate
            f = -1.0 - (candidate.shortest - room) / max(candidate.shortest, 1.0)
            base = [max(s, floor) for s in shortest]
            extra = sum(base) - floor * len(base)
            want = room - floor * len(base)
            values = [floor + (b - floor) * (want / extra if extra > 0 else 0.0) for b in base]
    pauses = [int(v) for v in values]
    pauses[-1] += room - sum(pauses)
    return pauses, f


def build(script: Script, minutes: float, rate: int, durations: Mapping[str, int]
          | Callable[[str], int], start_chime: int, end_chime: int,
          focus: Sequence[str] = (), breath: Breath | None = None,
          tone_lengths: tuple[int, int] = (0, 0)) -> Timeline:
    """The timeline of a scan of ``minutes`` (all the candidates the script allows).

    ``durations`` maps a line's text to its length in samples (or is a function doing
    so, e.g. one that renders the line).
    """
    minutes = check_minutes(minutes)
    if script.each and not (focus or script.default_regions):
        raise CoachError("a pre-workout scan needs muscles to scan",
                         "pass --focus glutes,hamstrings or --plan NAME", exit_code=2)
    candidates = [(length, rounds, steps(script, length, rounds, focus, breath is not None))
                  for length in LENGTHS for rounds in script.rounds]
    if callable(durations):
        measure = durations
        texts = {s.text for _, _, chosen in candidates for s in chosen}
        durations = {text: int(measure(text)) for text in texts}
    timeline = plan(candidates, durations, int(round(minutes * 60 * rate)), rate,
                    start_chime, end_chime)
    if breath is not None:
        timeline = with_breath(timeline, breath, *tone_lengths)
    return timeline


# -- breathing pace ---------------------------------------------------------------------
@dataclass(frozen=True)
class Breath:
    inhale: float
    """Seconds breathing in."""
    exhale: float
    """Seconds breathing out."""

    @property
    def cycle(self) -> float:
        return self.inhale + self.exhale


def parse_breath(text: str) -> Breath:
    """ "4-6" -> in 4 s, out 6 s (also "4:6", "4/6"; one number means in = out)."""
    parts = re.split(r"\s*[-:/,]\s*", text.strip())
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) == 1:
        values = values * 2
    if len(values) != 2 or not all(1.0 <= v <= 15.0 for v in values):
        raise CoachError(f"--breath {text!r} is not a breathing pace",
                         "give seconds in and out, each 1 to 15, e.g. --breath 4-6", exit_code=2)
    return Breath(*values)


def with_breath(timeline: Timeline, breath: Breath, inhale_tone: int, exhale_tone: int,
                after: int = 0) -> Timeline:
    """Breath tones in every quiet stretch long enough for whole breaths (from ``after``).

    A tone marks the start of each breath in and each breath out; tones keep
    ``BREATH_MARGIN`` away from any line and never cut a breath short.
    """
    rate = timeline.rate
    kept = [(s, i) for s, i in timeline.entries if i.kind not in TONES or s < after]
    sounds = [(s, i) for s, i in kept if i.kind not in TONES]
    margin = int(BREATH_MARGIN * rate)
    inhale, exhale = int(breath.inhale * rate), int(breath.exhale * rate)
    cycle = inhale + exhale
    kept_in = [s for s, i in kept if i.kind == BREATH_IN]
    free = kept_in[-1] + cycle if kept_in else 0  # a breath under way is not cut short
    tones: list[tuple[int, Item]] = []
    for (start, item), (following, _) in zip(sounds, sounds[1:], strict=False):
        cursor = max(start + item.length + margin, after, free)
        limit = following - margin
        while cursor + cycle <= limit:
            tones.append((cursor, Item(BREATH_IN, inhale_tone)))
            tones.append((cursor + inhale, Item(BREATH_OUT, exhale_tone)))
            cursor += cycle
    entries = tuple(sorted(kept + tones, key=lambda e: (e[0], e[1].kind != LINE)))
    return replace(timeline, entries=entries, breath=breath)


# -- moving through a timeline while it plays -------------------------------------------
def _covering(timeline: Timeline, position: int) -> tuple[int, Item] | None:
    """The line or chime sounding at ``position``, if any."""
    for start, item in timeline.sounds():
        if start <= position < start + item.length:
            return start, item
    return None


def resume_point(timeline: Timeline, position: int) -> int:
    """Where to go on after a pause at ``position``: a line cut short starts over."""
    covering = _covering(timeline, position)
    return covering[0] if covering is not None else position


def rewind_point(timeline: Timeline, position: int) -> int:
    """Where "repeat" goes back to: the start of the line sounding or last heard."""
    last = None
    for start, _ in timeline.lines():
        if start <= position:
            last = start
    return last if last is not None else resume_point(timeline, position)


def stretch_after(timeline: Timeline, position: int, factor: float,
                  tone_lengths: tuple[int, int] = (0, 0)) -> Timeline:
    """The quiet between sounds after ``position`` times ``factor`` ("slower")."""
    out: list[tuple[int, Item]] = []
    shift = 0
    previous_end: int | None = None  # where the previous sound ended, before stretching
    for start, item in timeline.sounds():
        if previous_end is not None and start > position:
            quiet_from = max(previous_end, position)
            new_start = quiet_from + shift + int(round((start - quiet_from) * factor))
            shift = new_start - start
        out.append((start + shift, item))
        previous_end = start + item.length
    total = timeline.total + shift
    stretched = replace(timeline, entries=tuple(out), total=total)
    if timeline.breath is not None:
        stretched = with_breath(stretched, timeline.breath, *tone_lengths)
    return stretched


# -- the check-in after a scan ------------------------------------------------------------
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
    path = _pick(CHECKIN_FILE, user_dir)
    data = _read_toml(path)
    values = {}
    for name in CheckinLines.__dataclass_fields__:
        text = data.get(name)
        if not isinstance(text, str) or not text.strip():
            raise CoachError(f"{path}: {name} = \"...\" is missing", _fix_for(path), 2)
        values[name] = text.strip()
    if "{region}" not in values["sore_noted"]:
        raise CoachError(f"{path}: sore_noted must name the {{region}}", _fix_for(path), 2)
    return CheckinLines(**values)
