"""Body-scan timelines, pure: a scan planned to the sample, and moving through it.

The *planner* turns the steps of a script (``coach.core.scan.script``) into a
``Timeline``: every sound (start chime, spoken line, breath tone, end chime) at a sample
position, so that the scan lasts exactly the minutes asked. It is given the length of
every line once rendered, tries each (length, rounds) combination the script allows,
keeps the one whose pauses need the least stretching, and sets every pause at the same
fraction of its range. A breathing pace adds its tones between the lines. No audio
library is imported here: the loop that plays a timeline lives in ``coach.scan``.

Helpers at the bottom move through a timeline while it plays: where to resume after a
pause, where "repeat" rewinds to, and how "slower" stretches what is left.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from coach.core.scan.script import LENGTHS, REGION, STANDARD, Script, Step, steps
from coach.errors import CoachError

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
