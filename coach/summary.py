"""Spoken summaries: short sentences built from the history, ready for the voice.

``session_summary(store, session_id)`` after a session ("Nine sets. Biceps curl up 2.5
kilos. You felt it in seven of nine. Best cue for you: ..."), ``overall_summary(store)``
for ``coach summary`` with no session. Pure text: the words come from ``summarize_*``
functions over records, so they are tested without a database or audio.

Exercise names and cue texts come from the exercise library (``coach.core.library``)
when it knows the id; otherwise the id is read out with its underscores as spaces.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from coach.errors import CoachError
from coach.history import History, SessionRecord, SetRecord, load_history, local, number
from coach.store import Store

log = logging.getLogger(__name__)

#: A cue needs this many answered sets before it can be called the best one.
MIN_CUE_ANSWERS = 2

_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen "
         "fourteen fifteen sixteen seventeen eighteen nineteen").split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_UNITS = {"kg": ("kilo", "kilos"), "lb": ("pound", "pounds")}


def words(n: int) -> str:
    """0..999 as English words (speech reads them more naturally than digits); else digits."""
    if not 0 <= n < 1000:
        return str(n)
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else "-" + _ONES[n % 10])
    rest = n % 100
    return _ONES[n // 100] + " hundred" + ("" if rest == 0 else " and " + words(rest))


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def weight(value: float, unit: str) -> str:
    one, many = _UNITS.get(unit, (unit, unit))
    return f"{number(value)} {one if value == 1 else many}"


@dataclass(frozen=True)
class Names:
    """How ids are spoken: ``exercise(id)`` and ``cue(id)`` return words."""

    exercise: Callable[[str], str]
    cue: Callable[[str], str]


def _plain(ident: str) -> str:
    return ident.replace("_", " ").replace("-", " ")


def plain_names() -> Names:
    return Names(exercise=_plain, cue=_plain)


def library_names() -> Names:
    """Names from the built-in exercise library; an id it does not know is read plainly."""
    try:
        from coach.core.library import builtin_library

        library = builtin_library()
    except (ImportError, CoachError, OSError) as error:
        log.debug("exercise library unavailable (%s); reading ids plainly", error)
        return plain_names()

    def exercise(ident: str) -> str:
        found = library.exercises.get(ident)
        return found.name if found else _plain(ident)

    def cue(ident: str) -> str:
        found = library.cues.get(ident)
        return found.text if found else _plain(ident)

    return Names(exercise=exercise, cue=cue)


# -- the sentences -------------------------------------------------------------------

def felt_sentence(sets: Sequence[SetRecord]) -> str | None:
    answered = [s for s in sets if s.felt is not None]
    if not answered:
        return None
    felt = sum(1 for s in answered if s.felt)
    done = [s for s in sets if not s.skipped]
    of = (words(len(answered)) if len(answered) == len(done)
          else f"the {words(len(answered))} set{'s' if len(answered) != 1 else ''} you answered")
    if felt == 0:
        return f"You did not feel it in {'any of ' if len(answered) > 1 else ''}{of}."
    if felt == len(answered):
        return ("You felt it." if len(answered) == 1 else f"You felt it in all {of}.")
    return f"You felt it in {words(felt)} of {of}."


def best_cue(sets: Sequence[SetRecord], exercises: set[str] | None = None
             ) -> tuple[str, str, int, int] | None:
    """(exercise, cue, felt, answered) with the best felt-it rate over ``sets``.

    Needs MIN_CUE_ANSWERS answered sets; ties go to the cue tried more often. None when no
    cue was felt at all.
    """
    tally: dict[tuple[str, str], list[int]] = {}
    for s in sets:
        if s.cue and s.felt is not None and (exercises is None or s.exercise in exercises):
            counts = tally.setdefault((s.exercise, s.cue), [0, 0])
            counts[0] += int(s.felt)
            counts[1] += 1
    ranked = sorted(((felt / answered, answered, key) for key, (felt, answered) in tally.items()
                     if answered >= MIN_CUE_ANSWERS and felt > 0), reverse=True)
    if not ranked:
        return None
    _, answered, (exercise, cue) = ranked[0]
    return exercise, cue, tally[(exercise, cue)][0], answered


def _top_load(sets: Sequence[SetRecord], exercise: str) -> tuple[float, str] | None:
    done = [s for s in sets if s.exercise == exercise and not s.skipped]
    if not done:
        return None
    top = max(done, key=lambda s: s.load)
    return top.load, top.unit


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _total_reps(sets: Sequence[SetRecord], exercise: str) -> int:
    return sum(s.reps or 0 for s in sets if s.exercise == exercise and not s.skipped)


def load_sentences(session: SessionRecord, earlier: Sequence[SessionRecord],
                   names: Names) -> list[str]:
    """Per exercise: top load against the last earlier session that had the exercise
    (in the same unit); without load (push-ups), total reps instead."""
    changes, same, first = [], [], []
    for exercise in dict.fromkeys(s.exercise for s in session.sets):
        now = _top_load(session.sets, exercise)
        if now is None:
            continue
        previous = next((e for e in reversed(earlier) if _top_load(e.sets, exercise)), None)
        before = _top_load(previous.sets, exercise) if previous else None
        name = names.exercise(exercise)
        if before is None:
            first.append(name)
        elif before[1] != now[1]:
            continue  # kilos last time, pounds today: nothing sensible to compare
        elif before[0] == now[0] == 0:
            more = _total_reps(session.sets, exercise) - _total_reps(previous.sets, exercise)
            if more == 0:
                same.append(name)
            else:
                count = words(abs(more))
                changes.append(f"{_capital(count)} {'more' if more > 0 else 'fewer'} "
                               f"{name} rep{'s' if abs(more) != 1 else ''} than last time.")
        elif before[0] == now[0]:
            same.append(name)
        else:
            change = now[0] - before[0]
            changes.append(f"{_capital(name)} {'up' if change > 0 else 'down'} "
                           f"{weight(abs(change), now[1])}.")
    sentences = changes
    if same:
        sentences.append(f"Same load as last time for {_join(same)}.")
    if first:
        sentences.append(f"First time logging {_join(first)}.")
    return sentences


def summarize_session(session: SessionRecord, earlier: Sequence[SessionRecord],
                      names: Names) -> str:
    """The end-of-session summary; ``earlier`` are the sessions before it, oldest first."""
    done = [s for s in session.sets if not s.skipped]
    if not done:
        return "No sets were logged in this session."
    parts = [f"{_capital(words(len(done)))} set{'s' if len(done) != 1 else ''}."]
    parts += load_sentences(session, earlier, names)
    felt = felt_sentence(done)
    if felt:
        parts.append(felt)
    everything = [s for e in (*earlier, session) for s in e.sets]
    best = best_cue(everything, {s.exercise for s in done})
    if best:
        parts.append(f"Best cue for you: {names.cue(best[1]).rstrip('.')}.")
    return " ".join(parts)


def summarize_history(history: History, names: Names) -> str:
    """All sessions and scans in a few sentences."""
    if history.empty:
        return "Nothing logged yet. Start a session and I will keep track."
    parts = []
    sessions = history.sessions
    if sessions:
        count = len(sessions)
        first = local(sessions[0].started)
        parts.append(f"{_capital(words(count))} session{'s' if count != 1 else ''} since "
                     f"{first:%B} {first.day}.")
        done = [s for s in history.sets if not s.skipped]
        parts.append(f"{_capital(words(len(done)))} set{'s' if len(done) != 1 else ''} "
                     f"in all.")
        for exercise in dict.fromkeys(s.exercise for s in done):
            having = [e for e in sessions if _top_load(e.sets, exercise)]
            if len(having) < 2:
                continue
            start, end = _top_load(having[0].sets, exercise), _top_load(having[-1].sets,
                                                                          exercise)
            if start[1] == end[1] and start[0] != end[0]:
                change = end[0] - start[0]
                parts.append(f"{_capital(names.exercise(exercise))} "
                             f"{'up' if change > 0 else 'down'} {weight(abs(change), end[1])} "
                             f"since your first session.")
        felt = felt_sentence(done)
        if felt:
            parts.append(felt)
        best = best_cue(done)
        if best:
            parts.append(f"Best cue for you: {names.cue(best[1]).rstrip('.')}.")
    if history.scans:
        count = len(history.scans)
        parts.append(f"{_capital(words(count))} body scan{'s' if count != 1 else ''}.")
        last = next((scan for scan in reversed(history.scans) if scan.feeling), None)
        if last:
            sore = f", sore in the {last.sore}" if last.sore else ""
            parts.append(f"Last check-in: {last.feeling}{sore}.")
    return " ".join(parts)


# -- from the store ------------------------------------------------------------------

def session_summary(store: Store, session_id: int | None = None,
                    names: Names | None = None) -> str:
    """The summary of one session (the latest one when ``session_id`` is None)."""
    history = load_history(store)
    sessions = list(history.sessions)
    if not sessions:
        raise CoachError("there are no sessions in the history yet",
                         "run coach session first", exit_code=2)
    if session_id is None:
        index = len(sessions) - 1
    else:
        index = next((i for i, s in enumerate(sessions) if s.id == session_id), None)
        if index is None:
            known = ", ".join(str(s.id) for s in sessions[-10:])
            raise CoachError(f"there is no session {session_id}",
                             f"pick one of the latest: {known} (see coach history)",
                             exit_code=2)
    return summarize_session(sessions[index], sessions[:index], names or library_names())


def overall_summary(store: Store, names: Names | None = None) -> str:
    return summarize_history(load_history(store), names or library_names())
