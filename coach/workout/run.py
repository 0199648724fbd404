"""Opening everything a session needs, running it, and closing it again.

``run_session`` is what ``coach session`` calls, and what ``coach demo`` can call with
its own answer source: it loads the plan (or the interrupted session for ``resume``),
opens the store, the voice, the speaker (or an offline one for ``out``) and the answer
source (microphone, keyboard or script), runs the loop, and closes them all.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import IO

from coach.core.library import builtin_library
from coach.core.plans import load_plan, plan_from_text
from coach.dialogue.sources import AnswerSource
from coach.errors import CoachError
from coach.events import EventWriter
from coach.settings import Settings
from coach.store import Store
from coach.workout import lines
from coach.workout.lines import opening_line
from coach.workout.loop import Session, SessionResult
from coach.workout.state import SessionSettings

log = logging.getLogger(__name__)

DEFAULT_PLAN = "starter"


def _plan_and_resume(store: Store, settings: Settings, plan: str | None, resume: bool):
    library = builtin_library()
    if resume:
        row = store.unfinished_session()
        if row is None or row["state"] is None:
            raise CoachError("there is no interrupted session to resume",
                             "start one with `coach session --plan NAME`", exit_code=2)
        stored = row["state"]["plan"]
        chosen = plan_from_text(stored["text"], stored["key"], stored["source"], library)
        if plan:
            log.info("coach: --resume carries on with the plan %r; --plan is ignored",
                     chosen.key)
        return library, chosen, row
    chosen = load_plan(plan or DEFAULT_PLAN, library, settings.paths.data_dir / "plans")
    return library, chosen, None


def _close_interrupted(store: Store) -> None:
    """A new session replaces the interrupted one: done only once the new one can start
    (its devices opened), so a bad option never costs the chance to --resume."""
    left = store.unfinished_session()
    if left is not None:
        log.info("coach: the interrupted session of %s is closed; a new one starts "
                 "(use --resume to carry on instead)", left["started"][:16])
        store.end_session(left["id"], "stopped")


def prepare_speech(voice, lines: list[str]) -> None:
    """``--prepare``: render ``lines`` now, with a progress line on stderr."""
    import sys
    import time

    started = time.monotonic()
    rendered = voice.warm(lines, lambda done, total: print(
        f"\r  preparing speech: {done}/{total}", end="", file=sys.stderr, flush=True))
    print(f"\r  preparing speech: {len(set(lines))} lines ready ({rendered} rendered) in "
          f"{time.monotonic() - started:.1f} s", file=sys.stderr)


def plan_lines(settings: Settings, options: SessionSettings, plan: str | None = None
               ) -> list[str]:
    """Every line ``plan`` is likely to say from its start (``lines.plan_lines``), without
    starting a session: for ``coach device --prepare``, which renders them once at set-up."""
    with Store(settings.paths.database) as store:
        library, chosen, _ = _plan_and_resume(store, settings, plan, False)
        return lines.plan_lines(chosen, library, options, {}, store.recent_sets)


def _live_source(settings: Settings, options: SessionSettings, typed: bool) -> AnswerSource:
    """The keyboard (``typed``) or the microphone."""
    from coach.dialogue.sources import TypedSource, microphone_source, recognizer_factory

    if typed:
        return TypedSource(recognizer_factory=recognizer_factory(settings))
    return microphone_source(settings)


def run_session(settings: Settings, options: SessionSettings, *, plan: str | None = None,
                resume: bool = False, answers: Path | None = None, typed: bool = False,
                source: AnswerSource | None = None, events: EventWriter | None = None,
                out: Path | None = None, transcript: IO[str] | None = None) -> SessionResult:
    """Run a plan (or ``resume`` the interrupted session) from start to end.

    Answers come from ``source`` if given, else a script (``answers``), the keyboard
    (``typed``) or the microphone. ``out`` renders to a WAV on a virtual clock instead of
    playing (needs a script or the keyboard).
    """
    from coach.audio.engine import OfflineSpeaker, Speaker
    from coach.audio.speech import Voice
    from coach.dialogue.sources import ScriptSource, recognizer_factory

    if out is not None and source is None and not (answers or typed):
        raise CoachError("--out renders without a sound card, so it needs --answers or --typed",
                         "add --answers FILE", exit_code=2)
    if source is None and answers is not None:  # a bad script fails before the store is touched
        source = ScriptSource(Path(answers),
                              recognizer_factory(settings))
    with Store(settings.paths.database) as store:
        library, chosen, row = _plan_and_resume(store, settings, plan, resume)
        voice = Voice(settings.speech, settings.audio.output_rate, settings.paths.speech_cache)
        opening = opening_line(chosen) if row is None else None
        if opening is not None and out is None:
            # the voice loads and renders the opening while the recognizer loads and the
            # speaker opens: nothing plays before it to hide its render
            voice.prepare([opening])
        if source is None:
            source = _live_source(settings, options, typed)
        try:
            speaker = OfflineSpeaker(settings.audio.output_rate) if out is not None else \
                Speaker(settings.audio).start()
            supervisor = None
            if out is None:
                from coach.audio.supervise import Supervisor
                from coach.dialogue.sources import hear_through

                hear_through(source, speaker, settings.audio.echo_cancel)
                supervisor = Supervisor(settings.audio, speaker,
                                        getattr(source, "microphone", None), events,
                                        options.retry_seconds)
            try:
                if row is None:
                    _close_interrupted(store)
                session = Session(plan=chosen, library=library, store=store, speaker=speaker,
                                  voice=voice, source=source, events=events, settings=options,
                                  resume=row, transcript=transcript, supervisor=supervisor)
                if options.prepare:
                    prepare_speech(voice, session.lines_of_plan())
                elif opening is not None and out is None:
                    voice.warm([opening])  # part of the set-up: the first line is not late
                result = session.run()
                if out is not None:
                    result = replace(result, rendered_seconds=speaker.save(out))
                else:  # let the device's own buffer play out before the stream closes
                    speaker.wait_until(speaker.now()
                                       + speaker.samples(speaker.output_latency + 0.05))
            finally:
                speaker.close()
        finally:
            source.close()
    return result
