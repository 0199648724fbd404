"""Workout plans: TOML files, built-in or written by the lifter, validated with line numbers.

The minimal schema::

    name = "Arms"
    unit = "kg"                 # or "lb"
    style = "connection"        # optional: keep loads <= 60% of the estimated 1RM

    [[exercise]]
    id = "biceps_curl"          # an id from the exercise library
    sets = 3
    reps = [10, 15]             # the rep range of double progression
    load = 7                    # in the plan's unit; 0 for body weight
    tempo = "3-0-1-1"           # eccentric-pause-concentric-pause, seconds
    rest = 60                   # seconds after each set

``reps``, ``tempo`` and ``rest`` default to the exercise's own values; ``load``
defaults to 0 (body weight). Every problem is a ``DataFileError`` naming the file
and line: a TOML syntax error, an unknown exercise id, a bad tempo, a negative load.
Pure: no audio, no database.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from coach.core.library import UNITS, Library
from coach.core.tempo import TempoError, parse_tempo
from coach.core.tomlfile import DataFileError, key_line, parse, table_line
from coach.errors import CoachError

STYLES = ("standard", "connection")
TOP_KEYS = {"name", "unit", "style", "description"}
EXERCISE_KEYS = {"id", "sets", "reps", "load", "tempo", "rest"}
MAX_SETS = 20
MAX_REPS = 100
MAX_REST = 900.0
DEFAULT_REST = 90.0


@dataclass(frozen=True)
class PlanExercise:
    id: str
    sets: int
    reps: tuple[int, int]
    """Rep range [low, high]; the metronome counts the top, double progression uses both."""
    load: float
    """Starting load in the plan's unit (0: body weight)."""
    tempo: str
    """eccentric-pause-concentric-pause in seconds, normalised ("3-1-2-0")."""
    rest: float
    """Seconds of rest after each set."""


@dataclass(frozen=True)
class Plan:
    key: str
    """Short name: the file's stem ("arms")."""
    name: str
    """The title spoken and shown ("Arms")."""
    unit: str
    style: str
    description: str
    exercises: tuple[PlanExercise, ...]
    source: str
    """Where it came from: a path, or "built-in"."""
    text: str
    """The TOML text, kept with a session so that --resume does not depend on the file."""

    @property
    def connection(self) -> bool:
        return self.style == "connection"

    @property
    def total_sets(self) -> int:
        return sum(e.sets for e in self.exercises)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def parse_plan(text: str, path: str | Path, library: Library, key: str | None = None,
               source: str | None = None) -> Plan:
    """Validate a plan's TOML text; raise DataFileError (exit code 2) with a line number."""
    data = parse(text, path)

    def top_line(name: str) -> int | None:
        return key_line(text, name)

    for name in data:
        if name not in TOP_KEYS and name != "exercise":
            raise DataFileError(path, top_line(name), f"unknown setting {name!r}",
                                f"use {', '.join(sorted(TOP_KEYS))} and [[exercise]] tables")
    title = data.get("name")
    if not isinstance(title, str) or not title.strip():
        raise DataFileError(path, top_line("name") or 1, "the plan has no name",
                            'add a line name = "My plan" at the top')
    unit = data.get("unit", "kg")
    if unit not in UNITS:
        raise DataFileError(path, top_line("unit"), f"unknown unit {unit!r}",
                            'write unit = "kg" or unit = "lb"')
    style = data.get("style", "standard")
    if style not in STYLES:
        raise DataFileError(path, top_line("style"), f"unknown style {style!r}",
                            f"use one of {', '.join(STYLES)}")
    tables = data.get("exercise")
    if not isinstance(tables, list) or not tables:
        raise DataFileError(path, None, "the plan has no exercises",
                            'add an [[exercise]] table with id = "squat", sets, reps, load, '
                            'tempo and rest')
    exercises = []
    for index, table in enumerate(tables):
        exercises.append(_parse_exercise(table, index, text, str(path), library))
    return Plan(
        key=key or Path(path).stem,
        name=title.strip(),
        unit=unit,
        style=style,
        description=str(data.get("description", "")),
        exercises=tuple(exercises),
        source=source or str(path),
        text=text,
    )


def _parse_exercise(table: dict, index: int, text: str, path: str,
                    library: Library) -> PlanExercise:
    def line(key: str) -> int | None:
        return key_line(text, key, "exercise", index)

    header = table_line(text, "exercise", index)
    for key in table:
        if key not in EXERCISE_KEYS:
            close = difflib.get_close_matches(key, EXERCISE_KEYS, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise DataFileError(path, line(key), f"unknown key {key!r} in an exercise",
                                f"{hint}use {', '.join(sorted(EXERCISE_KEYS))}")
    ident = table.get("id")
    if not isinstance(ident, str):
        raise DataFileError(path, header, "an exercise has no id",
                            'add id = "squat" (see `coach plans show` for the ids)')
    if not library.has_exercise(ident):
        raise DataFileError(path, line("id"), f"unknown exercise id {ident!r}",
                            f"use one of: {library.suggest(ident)}")
    exercise = library.exercise(ident)

    sets = table.get("sets", 3)
    if not isinstance(sets, int) or isinstance(sets, bool) or not 1 <= sets <= MAX_SETS:
        raise DataFileError(path, line("sets"), f"{ident}: sets must be 1 to {MAX_SETS}, "
                            f"not {sets!r}", "write e.g. sets = 3")

    reps = table.get("reps", list(exercise.reps))
    if isinstance(reps, int) and not isinstance(reps, bool):
        reps = [reps, reps]
    if (not isinstance(reps, list) or len(reps) != 2
            or not all(isinstance(r, int) and not isinstance(r, bool) for r in reps)
            or not 1 <= reps[0] <= reps[1] <= MAX_REPS):
        raise DataFileError(path, line("reps"), f"{ident}: reps must be [low, high], whole "
                            f"numbers from 1 to {MAX_REPS} with low <= high, not {reps!r}",
                            "write e.g. reps = [8, 12]")

    load = table.get("load", 0)
    if not _is_number(load):
        raise DataFileError(path, line("load"), f"{ident}: load must be a number, not {load!r}",
                            "write e.g. load = 20 (0 for body weight)")
    if load < 0:
        raise DataFileError(path, line("load"), f"{ident}: negative load {load:g}",
                            "use 0 for body weight, or a positive load")

    tempo_text = table.get("tempo", exercise.tempo)
    try:
        tempo = str(parse_tempo(str(tempo_text)))
    except TempoError as error:
        raise DataFileError(path, line("tempo"), f"{ident}: bad {error.message}",
                            error.fix) from None

    rest = table.get("rest", DEFAULT_REST)
    if not _is_number(rest) or not 0 <= rest <= MAX_REST:
        raise DataFileError(path, line("rest"), f"{ident}: rest must be 0 to {MAX_REST:g} "
                            f"seconds, not {rest!r}", "write e.g. rest = 90")
    return PlanExercise(ident, sets, (reps[0], reps[1]), float(load), tempo, float(rest))


# -- finding plans ----------------------------------------------------------------------

def builtin_names() -> list[str]:
    folder = resources.files("coach.data").joinpath("plans")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def _builtin_text(name: str) -> tuple[str, str] | None:
    ref = resources.files("coach.data").joinpath("plans").joinpath(f"{name}.toml")
    if not ref.is_file():
        return None
    return ref.read_text(encoding="utf-8"), str(ref)


def user_names(user_dir: Path | None) -> list[str]:
    if user_dir is None or not Path(user_dir).is_dir():
        return []
    return sorted(p.stem for p in Path(user_dir).glob("*.toml"))


def load_plan(name_or_path: str | Path, library: Library, user_dir: Path | None = None) -> Plan:
    """A plan by file path, by the name of a file in ``user_dir``, or a built-in name."""
    spec = str(name_or_path)
    path = Path(spec).expanduser()
    looks_like_file = path.suffix == ".toml" or "/" in spec or path.exists()
    if looks_like_file:
        if not path.is_file():
            raise CoachError(f"no plan file {spec}", "check the path, or see `coach plans list`",
                             exit_code=2)
        return parse_plan(_read_plan(path), path, library)
    if user_dir is not None and (Path(user_dir) / f"{spec}.toml").is_file():
        file = Path(user_dir) / f"{spec}.toml"
        return parse_plan(_read_plan(file), file, library)
    found = _builtin_text(spec)
    if found is None:
        names = sorted(set(builtin_names()) | set(user_names(user_dir)))
        close = difflib.get_close_matches(spec, names, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise CoachError(f"no plan named {spec!r}",
                         f"{hint}known plans: {', '.join(names)} (or give a .toml file)",
                         exit_code=2)
    text, where = found
    return parse_plan(text, where, library, key=spec, source="built-in")


def _read_plan(path: Path) -> str:
    """A plan file's text; unreadable or binary files are a DataFileError."""
    fix = "a plan is a UTF-8 TOML text file; see `coach plans show starter` for one"
    try:
        return path.read_bytes().decode("utf-8")
    except OSError as error:
        raise DataFileError(path, None, f"cannot read it ({error.strerror or error})",
                            fix) from None
    except UnicodeDecodeError as error:
        raise DataFileError(path, None, f"not text (byte {error.start} is not UTF-8)",
                            fix) from None


def plan_from_text(text: str, key: str, source: str, library: Library) -> Plan:
    """A plan stored with a session (for --resume), parsed again."""
    return parse_plan(text, source, library, key=key, source=source)


def all_plans(library: Library, user_dir: Path | None = None) -> list[Plan | DataFileError]:
    """Every built-in and user plan; a broken user file is listed as its error."""
    out: list[Plan | DataFileError] = []
    for name in builtin_names():
        out.append(load_plan(name, library))
    for name in user_names(user_dir):
        try:
            out.append(load_plan(Path(user_dir) / f"{name}.toml", library))
        except DataFileError as error:
            out.append(error)
    return out
