"""The exercise and cue library: plain data loaded from ``coach/data/*.toml``.

An exercise knows its target muscles, its type, its default tempo, rep range and load
step. A cue is one short sentence of a kind (internal focus, visualisation, touch,
tempo, external focus) tagged with the regions that take over when it is needed.
Pure: no audio, no database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from coach.core import regions
from coach.core.tempo import TempoError, parse_tempo
from coach.core.tomlfile import DataFileError, key_line, parse, table_line

EXERCISE_TYPES = ("isolation", "compound", "explosive", "isometric")
CUE_KINDS = ("internal", "visualisation", "touch", "tempo", "external")
UNITS = ("kg", "lb")
MIN_CUES = 5

def normalise_region(name: str) -> str:
    """One spelling per region (``coach.core.regions``): 'Shoulder' and 'delts' become
    'shoulders'. A name the vocabulary does not know is kept, lower-cased."""
    canonical = regions.normalise(name)
    if canonical:
        return canonical
    return " ".join(re.sub(r"[^a-z ]+", " ", name.lower()).split())


def region_covers(named: str, tag: str) -> bool:
    """True when a lifter naming ``named`` means the region ``tag`` (or one inside it)."""
    return regions.covers(named, tag)


@dataclass(frozen=True)
class Exercise:
    id: str
    name: str
    """What the coach says ("biceps curl")."""
    type: str
    """isolation | compound | explosive | isometric."""
    targets: tuple[str, ...]
    """Regions the lifter should feel; naming one of them counts as "felt it"."""
    feel_in: str
    """How the question names the target: "Did you feel it in your <feel_in>?"."""
    works: tuple[str, ...]
    """Every region the exercise loads (used to lighten the load of a sore region)."""
    tempo: str
    """Default tempo, eccentric-pause-concentric-pause in seconds."""
    reps: tuple[int, int]
    """Default rep range; for isometric exercises, seconds held."""
    increment: float
    """Load step in kilograms (0: body weight only)."""
    increment_lb: float
    """Load step in pounds."""
    warmup: str = ""

    def increment_for(self, unit: str) -> float:
        return self.increment_lb if unit == "lb" else self.increment

    @property
    def explosive(self) -> bool:
        return self.type == "explosive"

    @property
    def isometric(self) -> bool:
        return self.type == "isometric"

    def is_target(self, region: str) -> bool:
        """Does naming ``region`` mean the lifter felt the target muscle?"""
        return any(region_covers(region, target) for target in self.targets)

    def works_region(self, region: str) -> bool:
        return any(region_covers(region, w) for w in self.works)


@dataclass(frozen=True)
class Cue:
    id: str
    exercise: str
    kind: str
    """internal | visualisation | touch | tempo | external."""
    text: str
    corrects: tuple[str, ...]
    """Regions that take over when this cue is needed."""

    def corrects_region(self, region: str) -> bool:
        return any(region_covers(region, tag) for tag in self.corrects)

    @property
    def corrects_text(self) -> str:
        """The tags as a reader would say them: "shoulders take over; lower back takes over"."""
        return "; ".join(f"{r} {'take' if r.endswith('s') else 'takes'} over"
                         for r in self.corrects)


@dataclass(frozen=True)
class Library:
    exercises: dict[str, Exercise]
    cues: dict[str, Cue]

    def exercise(self, exercise_id: str) -> Exercise:
        try:
            return self.exercises[exercise_id]
        except KeyError:
            raise KeyError(exercise_id) from None

    def has_exercise(self, exercise_id: str) -> bool:
        return exercise_id in self.exercises

    def cues_for(self, exercise_id: str) -> list[Cue]:
        return [cue for cue in self.cues.values() if cue.exercise == exercise_id]

    def cue(self, cue_id: str) -> Cue | None:
        return self.cues.get(cue_id)

    def suggest(self, exercise_id: str) -> str:
        """The known ids, closest first, for an error message."""
        import difflib

        close = difflib.get_close_matches(exercise_id, list(self.exercises), n=3, cutoff=0.5)
        rest = [e for e in self.exercises if e not in close]
        return ", ".join(close + rest)


_ID = re.compile(r"^[a-z0-9_-]+$")


def _data_text(name: str) -> tuple[str, str]:
    ref = resources.files("coach.data").joinpath(name)
    return ref.read_text(encoding="utf-8"), str(ref)


def _pair(value, path, line, what) -> tuple[int, int]:
    if (not isinstance(value, list) or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
            or not 0 < value[0] <= value[1]):
        raise DataFileError(path, line, f"{what} must be [low, high] whole numbers, low <= high",
                            f"write e.g. {what} = [8, 12]")
    return value[0], value[1]


def _regions(value, path, line, what) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise DataFileError(path, line, f"{what} must be a list of region names",
                            f'write e.g. {what} = ["shoulders"]')
    return tuple(normalise_region(v) for v in value)


def parse_exercises(text: str, path: str) -> dict[str, Exercise]:
    data = parse(text, path)
    tables = data.get("exercise")
    if not isinstance(tables, list) or not tables:
        raise DataFileError(path, None, "no [[exercise]] tables", "add at least one exercise")
    exercises: dict[str, Exercise] = {}
    for index, table in enumerate(tables):
        def line(key: str, index: int = index) -> int | None:
            return key_line(text, key, "exercise", index)

        for key in ("id", "name", "type", "targets", "feel_in", "works", "tempo", "reps",
                    "increment"):
            if key not in table:
                raise DataFileError(path, table_line(text, "exercise", index),
                                    f"exercise is missing {key!r}", f"add {key} = ...")
        ident = table["id"]
        if not isinstance(ident, str) or not _ID.match(ident):
            raise DataFileError(path, line("id"), f"bad exercise id {ident!r}",
                                "use lower-case letters, digits and underscores")
        if ident in exercises:
            raise DataFileError(path, line("id"), f"exercise {ident!r} is defined twice",
                                "give each exercise its own id")
        if table["type"] not in EXERCISE_TYPES:
            raise DataFileError(path, line("type"), f"unknown type {table['type']!r}",
                                f"use one of {', '.join(EXERCISE_TYPES)}")
        try:
            tempo = str(parse_tempo(str(table["tempo"])))
        except TempoError as error:
            raise DataFileError(path, line("tempo"), error.message, error.fix) from None
        increment = table["increment"]
        increment_lb = table.get("increment_lb", increment * 2)
        for key, value in (("increment", increment), ("increment_lb", increment_lb)):
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
                raise DataFileError(path, line(key), f"{key} must be a number >= 0",
                                    f"write e.g. {key} = 2.5")
        exercises[ident] = Exercise(
            id=ident,
            name=str(table["name"]),
            type=table["type"],
            targets=_regions(table["targets"], path, line("targets"), "targets"),
            feel_in=str(table["feel_in"]),
            works=_regions(table["works"], path, line("works"), "works"),
            tempo=tempo,
            reps=_pair(table["reps"], path, line("reps"), "reps"),
            increment=float(increment),
            increment_lb=float(increment_lb),
            warmup=str(table.get("warmup", "")),
        )
    return exercises


def parse_cues(text: str, path: str, exercises: dict[str, Exercise]) -> dict[str, Cue]:
    data = parse(text, path)
    tables = data.get("cue")
    if not isinstance(tables, list):
        raise DataFileError(path, None, "no [[cue]] tables", "add cues")
    cues: dict[str, Cue] = {}
    for index, table in enumerate(tables):
        def line(key: str, index: int = index) -> int | None:
            return key_line(text, key, "cue", index)

        for key in ("id", "exercise", "kind", "text", "corrects"):
            if key not in table:
                raise DataFileError(path, table_line(text, "cue", index),
                                    f"cue is missing {key!r}", f"add {key} = ...")
        ident = table["id"]
        if not isinstance(ident, str) or not _ID.match(ident):
            raise DataFileError(path, line("id"), f"bad cue id {ident!r}",
                                "use lower-case letters, digits and dashes")
        if ident in cues:
            raise DataFileError(path, line("id"), f"cue {ident!r} is defined twice",
                                "give each cue its own id")
        if table["exercise"] not in exercises:
            raise DataFileError(path, line("exercise"),
                                f"cue {ident!r} names unknown exercise {table['exercise']!r}",
                                "use an id from exercises.toml")
        if table["kind"] not in CUE_KINDS:
            raise DataFileError(path, line("kind"), f"unknown cue kind {table['kind']!r}",
                                f"use one of {', '.join(CUE_KINDS)}")
        text_value = table["text"]
        if not isinstance(text_value, str) or not text_value.strip():
            raise DataFileError(path, line("text"), "a cue needs its sentence",
                                'write text = "..."')
        cues[ident] = Cue(ident, table["exercise"], table["kind"], text_value.strip(),
                          _regions(table["corrects"], path, line("corrects"), "corrects"))
    return cues


def load_library(exercises_path: Path | None = None, cues_path: Path | None = None) -> Library:
    """Load the built-in library (or the given files). Raises DataFileError with a line."""
    if exercises_path is None:
        ex_text, ex_name = _data_text("exercises.toml")
    else:
        ex_text, ex_name = Path(exercises_path).read_text(encoding="utf-8"), str(exercises_path)
    if cues_path is None:
        cue_text, cue_name = _data_text("cues.toml")
    else:
        cue_text, cue_name = Path(cues_path).read_text(encoding="utf-8"), str(cues_path)
    exercises = parse_exercises(ex_text, ex_name)
    cues = parse_cues(cue_text, cue_name, exercises)
    library = Library(exercises, cues)
    for exercise in exercises.values():
        usable = [c for c in library.cues_for(exercise.id)
                  if not exercise.explosive or c.kind == "external"]
        if len(usable) < 2:
            raise DataFileError(cue_name, None,
                                f"exercise {exercise.id!r} has fewer than 2 usable cues",
                                "add cues (external ones for explosive exercises)")
    return library


_cached: Library | None = None


def builtin_library() -> Library:
    """The library shipped in the package, loaded once."""
    global _cached
    if _cached is None:
        _cached = load_library()
    return _cached
