"""What the session's parts (``ahead``, ``asking``, ``counting``, ``lost``, ``resting``)
see of the session: a Protocol, so each part depends on this small view and not on
``coach.workout.loop``, which imports the parts (no circle, not even for type checking).
``loop.Session`` satisfies it."""

from __future__ import annotations

from typing import Any, Protocol

from coach.core.answers import Answer
from coach.core.library import Library
from coach.core.plans import Plan
from coach.dialogue.commands import Action
from coach.dialogue.sources import AnswerSource
from coach.events import EventWriter
from coach.store import Store
from coach.workout.deciding import Deciding
from coach.workout.saving import Saving
from coach.workout.state import Progress, SessionSettings, State


class SessionView(Protocol):
    plan: Plan
    library: Library
    store: Store
    settings: SessionSettings
    events: EventWriter
    source: AnswerSource
    progress: Progress
    saving: Saving
    deciding: Deciding
    paused: int
    state: State
    watching: Any
    """A ``barge_in.Shared`` watch lent to the lines said meanwhile (the rest), or None."""
    #: the speaker (``coach.audio.engine.Playback``), the voice, the metronome and the
    #: session's other parts, typed loosely: the parts import this module
    speaker: Any
    voice: Any
    metronome: Any
    lost: Any
    ahead: Any

    def _enter(self, state: State) -> None: ...

    def say(self, text: str, instruction: bool = False) -> None: ...

    def speak(self, text: str) -> bool: ...

    def _record(self, answer: Answer, expect: str, loose: bool = False) -> None: ...

    def listen(self, expect: str, recognizer_expect: str | None = None,
               timeout: float | None = None, optional: bool = False) -> Answer: ...

    def _action(self, answer: Answer) -> Action: ...

    def _obey(self, act: Action) -> None: ...
