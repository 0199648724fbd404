"""`coach report`: progress plots in one PNG (matplotlib, an optional extra).

``report_data(history, names)`` is pure: per exercise the top load and the total reps
of every session, the felt-it rate per cue, and the body-scan check-ins. ``draw`` turns
it into a figure with matplotlib's object API (no pyplot, no global state, no display),
imported only there so that everything else works without the ``plots`` extra.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from coach.errors import CoachError, MissingPart
from coach.files import output_file
from coach.history import History, local
from coach.summary import MIN_CUE_ANSWERS, Names

INSTALL_PLOTS = "pip install 'coach[plots]' (or pip install matplotlib) in the coach's venv"

#: Check-in feelings from worst to best: their height on the scan plot.
FEELINGS = ("tense", "okay", "calm")
#: At most this many cue bars.
MAX_CUES = 12


@dataclass(frozen=True)
class SessionPoint:
    session: int
    """Position of the session in the history, from 1."""
    started: dt.datetime
    top_load: float
    unit: str
    total_reps: int
    sets: int


@dataclass(frozen=True)
class CueRate:
    exercise: str
    cue: str
    label: str
    felt: int
    answered: int

    @property
    def rate(self) -> float:
        return self.felt / self.answered


@dataclass(frozen=True)
class CheckInPoint:
    started: dt.datetime
    feeling: str
    sore: str | None
    style: str


@dataclass(frozen=True)
class ReportData:
    exercises: dict[str, list[SessionPoint]]
    exercise_names: dict[str, str]
    cues: list[CueRate]
    checkins: list[CheckInPoint]
    session_dates: list[dt.datetime]
    cue_count: int = 0
    """How many cues have answers (``cues`` holds those worth drawing)."""

    @property
    def empty(self) -> bool:
        return not self.exercises and not self.checkins


def report_data(history: History, names: Names) -> ReportData:
    exercises: dict[str, list[SessionPoint]] = {}
    for index, session in enumerate(history.sessions, start=1):
        for exercise in dict.fromkeys(s.exercise for s in session.sets):
            done = [s for s in session.sets if s.exercise == exercise and not s.skipped]
            if not done:
                continue
            top = max(done, key=lambda s: s.load)
            exercises.setdefault(exercise, []).append(SessionPoint(
                index, session.started, top.load, top.unit, sum(s.reps or 0 for s in done),
                len(done)))
    tally: dict[tuple[str, str], list[int]] = {}
    for s in history.sets:
        if s.cue and s.felt is not None:
            counts = tally.setdefault((s.exercise, s.cue), [0, 0])
            counts[0] += int(s.felt)
            counts[1] += 1
    cues = [CueRate(exercise, cue, names.cue(cue), felt, answered)
            for (exercise, cue), (felt, answered) in tally.items()]
    checkins = [CheckInPoint(scan.started, scan.feeling, scan.sore, scan.style)
                for scan in history.scans if scan.feeling in FEELINGS]
    return ReportData(exercises, {e: names.exercise(e) for e in exercises},
                      cues_to_show(cues), checkins, [s.started for s in history.sessions],
                      len(cues))


def cues_to_show(cues: list[CueRate], limit: int = MAX_CUES) -> list[CueRate]:
    """The cues worth a bar, best last (drawn on top).

    Once three cues have MIN_CUE_ANSWERS answers, cues tried only once are left out; past
    ``limit`` only the most tried stay.
    """
    tried = [c for c in cues if c.answered >= MIN_CUE_ANSWERS]
    pool = tried if len(tried) >= 3 else list(cues)
    pool = sorted(pool, key=lambda c: c.answered, reverse=True)[:limit]
    return sorted(pool, key=lambda c: (c.rate, c.answered, c.exercise, c.cue))


def _matplotlib():
    try:
        import matplotlib
        from matplotlib.figure import Figure
    except ImportError:
        raise MissingPart("coach report needs matplotlib, which is not installed",
                          INSTALL_PLOTS) from None
    matplotlib.rcParams["font.size"] = 10
    return Figure


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _wrap(text: str, width: int = 38) -> str:
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return "\n".join([*lines, line])


LOAD_COLOUR = "#1f5fa8"
REPS_COLOUR = "#e6a23c"
REPS_LINE_COLOUR = "#9a6410"
FELT_COLOUR = "#2e8b57"
CHECKIN_COLOURS = {"tense": "#c0392b", "okay": "#e6a23c", "calm": FELT_COLOUR}
#: Beyond this many points a panel stops writing each value and draws a trend instead.
LABEL_LIMIT = 14


def draw(data: ReportData):
    """The report as a matplotlib Figure: exercise panels (two per row), cues, check-ins."""
    Figure = _matplotlib()
    exercise_rows = (len(data.exercises) + 1) // 2
    sections = []  # (height in inches, what to draw)
    if exercise_rows:
        sections.append((3.0 * exercise_rows, "exercises"))
    if data.cues:
        sections.append((max(1.6, 0.42 * len(data.cues) + 0.9), "cues"))
    if data.checkins:
        sections.append((2.4, "checkins"))
    figure = Figure(figsize=(11, sum(h for h, _ in sections) + 0.7), dpi=100,
                    layout="constrained")
    figure.suptitle("Training progress", fontsize=15, fontweight="bold")
    # one subfigure per part: each lays out on its own, so long cue labels on the left do
    # not squeeze the exercise plots above them
    parts = figure.subfigures(len(sections), 1, squeeze=False,
                              height_ratios=[h for h, _ in sections])[:, 0]
    ticks = {i: f"{local(d):%b} {local(d).day}\n#{i}"
             for i, d in enumerate(data.session_dates, start=1)}
    for part, (_, what) in zip(parts, sections, strict=True):
        if what == "exercises":
            grid = part.add_gridspec(exercise_rows, 2)
            for n, (exercise, points) in enumerate(data.exercises.items()):
                axes = part.add_subplot(grid[n // 2, n % 2])
                _exercise_panel(axes, data.exercise_names[exercise], points, ticks)
        elif what == "cues":
            _cue_panel(part.add_subplot(), data)
        else:
            _checkin_panel(part.add_subplot(), data.checkins)
    return figure


def _exercise_panel(axes, name: str, points: list[SessionPoint], ticks: dict[int, str]):
    xs = [p.session for p in points]
    if all(p.top_load == 0 for p in points):
        _bodyweight_panel(axes, name, points, ticks)
        return
    reps_axes = axes.twinx()
    reps_axes.bar(xs, [p.total_reps for p in points], width=0.5, color=REPS_COLOUR,
                  alpha=0.45, label="total reps", zorder=1)
    reps_axes.set_ylabel("total reps", color="#9a6410")
    reps_axes.set_ylim(0, max(p.total_reps for p in points) * 1.35 + 1)
    axes.set_zorder(reps_axes.get_zorder() + 1)
    axes.patch.set_visible(False)
    unit = points[-1].unit
    many = len(points) > LABEL_LIMIT
    axes.plot(xs, [p.top_load for p in points], marker="o", markersize=3 if many else 7,
              linewidth=1.6 if many else 2.2, color=LOAD_COLOUR, label=f"top load ({unit})")
    # every value while they fit; with many sessions only the first and the last
    for p in (points[0], points[-1]) if many else points:
        axes.annotate(f"{p.top_load:g}", (p.session, p.top_load), textcoords="offset points",
                      xytext=(0, 8), ha="center", fontsize=9, color=LOAD_COLOUR)
    low, high = min(p.top_load for p in points), max(p.top_load for p in points)
    pad = max(2.5, (high - low) * 0.3)
    axes.set_ylim(max(0, low - pad), high + pad)
    axes.set_ylabel(f"top load ({unit})", color=LOAD_COLOUR)
    axes.set_title(_capital(name), fontweight="bold", loc="left")
    _session_axis(axes, xs, ticks)
    handles = axes.get_legend_handles_labels()
    extra = reps_axes.get_legend_handles_labels()
    axes.legend(handles[0] + extra[0], handles[1] + extra[1], loc="upper left", fontsize=8,
                frameon=False)


def _session_axis(axes, xs: list[int], ticks: dict[int, str]) -> None:
    axes.set_xlim(min(xs) - 0.6, max(xs) + 0.6)
    shown = sorted(set(xs))
    if len(shown) > 8:
        shown = shown[:: (len(shown) + 7) // 8]
    axes.set_xticks(shown, [ticks[x] for x in shown], fontsize=8)
    axes.grid(axis="y", alpha=0.3)


def _bodyweight_panel(axes, name: str, points: list[SessionPoint], ticks: dict[int, str]):
    """No load to show (push-ups, planks): total reps (or seconds) as the line instead."""
    xs = [p.session for p in points]
    many = len(points) > LABEL_LIMIT
    axes.plot(xs, [p.total_reps for p in points], marker="o", markersize=3 if many else 7,
              linewidth=1.6 if many else 2.2, color=REPS_LINE_COLOUR, label="total reps")
    for p in (points[0], points[-1]) if many else points:
        axes.annotate(f"{p.total_reps}", (p.session, p.total_reps), textcoords="offset points",
                      xytext=(0, 8), ha="center", fontsize=9, color=REPS_LINE_COLOUR)
    axes.set_ylim(0, max(p.total_reps for p in points) * 1.35 + 1)
    axes.set_ylabel("total reps", color=REPS_LINE_COLOUR)
    axes.set_title(f"{_capital(name)} (bodyweight)", fontweight="bold", loc="left")
    axes.legend(loc="upper left", fontsize=8, frameon=False)
    _session_axis(axes, xs, ticks)


def _cue_panel(axes, data: ReportData):
    names = data.exercise_names
    labels = [_wrap(_capital(f"{names.get(c.exercise, c.exercise)}: {c.label}"), 60)
              for c in data.cues]
    ys = range(len(data.cues))
    axes.barh(ys, [100] * len(data.cues), color="#e8e8e8", height=0.6)
    axes.barh(ys, [100 * c.rate for c in data.cues], color=FELT_COLOUR, height=0.6)
    for y, cue in zip(ys, data.cues, strict=True):
        axes.text(101.5, y, f"{cue.felt} of {cue.answered}", va="center", fontsize=9)
    axes.set_yticks(list(ys), labels, fontsize=9)
    axes.set_xlim(0, 112)
    axes.set_xticks([0, 25, 50, 75, 100], ["0%", "25%", "50%", "75%", "100%"])
    hidden = data.cue_count - len(data.cues)
    axes.set_title("Felt it in the target muscle, per cue", fontweight="bold", loc="left")
    axes.set_xlabel("share of the answered sets with this cue" + (
        f" ({hidden} cue{'s' if hidden != 1 else ''} tried less not shown)" if hidden else ""),
        fontsize=9)
    axes.spines[["top", "right"]].set_visible(False)


def _checkin_panel(axes, checkins: list[CheckInPoint]):
    times = [local(c.started) for c in checkins]
    levels = [FEELINGS.index(c.feeling) for c in checkins]
    colours = [CHECKIN_COLOURS[c.feeling] for c in checkins]
    many = len(checkins) > LABEL_LIMIT
    if many:  # dots and a running mean of the last seven; words would overlap
        window = 7
        mean = [sum(levels[max(0, i - window + 1): i + 1]) / len(levels[max(0, i - window + 1):
                                                                        i + 1])
                for i in range(len(levels))]
        axes.plot(times, mean, color="#555555", linewidth=1.8, zorder=3,
                  label=f"mean of the last {window}")
        axes.scatter(times, levels, s=18, c=colours, alpha=0.7, zorder=2)
        sore = [(t, lv) for t, lv, c in zip(times, levels, checkins, strict=True) if c.sore]
        if sore:
            axes.scatter([t for t, _ in sore], [lv - 0.28 for _, lv in sore], marker="^", s=14,
                         color="#7a2a20", zorder=2, label="sore somewhere")
        axes.legend(loc="upper left", fontsize=8, frameon=False, ncols=2)
    else:
        axes.plot(times, levels, color="#999999", linewidth=1, zorder=1)
        axes.scatter(times, levels, s=70, c=colours, zorder=2)
        for moment, level, check in zip(times, levels, checkins, strict=True):
            if check.sore:
                axes.annotate(f"sore: {check.sore}", (moment, level), xytext=(0, -16),
                              textcoords="offset points", ha="center", fontsize=8,
                              color="#7a2a20")
    axes.set_yticks(range(len(FEELINGS)), FEELINGS)
    axes.set_ylim(-0.8, len(FEELINGS) - (0.4 if len(checkins) <= LABEL_LIMIT else 0.1))
    axes.set_title("Body-scan check-ins", fontweight="bold", loc="left")
    axes.grid(axis="y", alpha=0.3)
    if len(times) == 1:
        axes.set_xlim(times[0] - dt.timedelta(days=1), times[0] + dt.timedelta(days=1))
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, DateFormatter

    locator = AutoDateLocator(minticks=3, maxticks=8, tz=times[0].tzinfo)
    axes.xaxis.set_major_locator(locator)
    if times[-1] - times[0] < dt.timedelta(days=2):  # hours and minutes, the day once
        axes.xaxis.set_major_formatter(ConciseDateFormatter(locator, tz=times[0].tzinfo))
    else:
        axes.xaxis.set_major_formatter(DateFormatter("%b %d", tz=times[0].tzinfo))


def write_report(history: History, names: Names, path: str | Path) -> ReportData:
    """Draw the report into ``path`` (PNG, or whatever the suffix says matplotlib can write)."""
    data = report_data(history, names)
    if data.empty:
        raise CoachError("there is nothing to plot yet (no sets or check-ins in the history)",
                         "run coach session or coach scan first, or widen --since/--exercise")
    figure = draw(data)
    target = Path(path)
    kind = target.suffix.lstrip(".").lower() or "png"
    try:
        with output_file(target) as handle:
            figure.savefig(handle, format=kind)
    except ValueError as error:
        raise CoachError(f"cannot write {target} ({error})",
                         "use a .png, .svg or .pdf name with --out", exit_code=2) from None
    return data
