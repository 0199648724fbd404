"""`coach session`: a workout by voice, set by set, adapting load, tempo and cue."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from coach.core.library import builtin_library
from coach.core.plans import load_plan, plan_from_text
from coach.errors import CoachError
from coach.events import EventWriter
from coach.session import INTERRUPTED, Session
from coach.session_state import SessionSettings
from coach.settings import Settings
from coach.store import Store

log = logging.getLogger(__name__)

NAME = "session"
HELP = "run a workout by voice: announce, count, ask, adapt, rest (the default command)"
DEFAULT_PLAN = "starter"


def add_arguments(parser) -> None:
    parser.add_argument("--plan", default=None,
                        help=f"a plan name (see `coach plans list`) or a .toml file "
                             f"(default: {DEFAULT_PLAN})")
    parser.add_argument("--resume", action="store_true",
                        help="carry on with the interrupted session at its next set")
    answers = parser.add_mutually_exclusive_group()
    answers.add_argument("--typed", action="store_true",
                         help="answer on the keyboard instead of the microphone")
    answers.add_argument("--answers", metavar="FILE",
                         help="scripted answers: one text or one WAV path per line")
    parser.add_argument("--engine", default="auto", choices=("auto", "vosk", "pocketsphinx"),
                        help="speech recognizer (default: auto)")
    parser.add_argument("--model", default=None, help="Vosk model folder")
    parser.add_argument("--events", metavar="FILE.jsonl",
                        help="write say/listen/heard/set/adapt/rest/end events as JSON lines "
                             "('-' for stdout)")
    parser.add_argument("--out", metavar="FILE.wav",
                        help="render everything the coach says to a WAV instead of playing it "
                             "(with --answers or --typed)")
    parser.add_argument("--rest-scale", type=float, default=1.0,
                        help="multiply every rest by this (e.g. 0.1 for a quick try)")
    parser.add_argument("--max-reps", type=int, default=None,
                        help="count at most this many reps per set")
    parser.add_argument("--ready-seconds", type=float, default=3.0,
                        help="how long 'Ready?' waits for a command before counting")
    parser.add_argument("--answer-seconds", type=float, default=8.0,
                        help="how long a question waits for an answer to begin")
    parser.add_argument("--no-warmup", action="store_true", help="skip the warm-up lines")
    parser.add_argument("--no-words", action="store_true",
                        help="the metronome only clicks (no down/up words, no rep numbers)")
    parser.add_argument("--no-summary", action="store_true",
                        help="no spoken summary at the end")
    parser.add_argument("--seed", type=int, default=None, help="seed of the cue choice")


def session_settings(args) -> SessionSettings:
    if args.rest_scale < 0 or args.ready_seconds < 0 or args.answer_seconds <= 0:
        raise CoachError("--rest-scale, --ready-seconds and --answer-seconds must be positive",
                         "e.g. --rest-scale 0.1", exit_code=2)
    if args.max_reps is not None and args.max_reps < 1:
        raise CoachError("--max-reps must be 1 or more", "e.g. --max-reps 2", exit_code=2)
    return SessionSettings(
        rest_scale=args.rest_scale, max_reps=args.max_reps, ready_seconds=args.ready_seconds,
        answer_seconds=args.answer_seconds, warmup=not args.no_warmup,
        phase_words=not args.no_words, rep_numbers=not args.no_words, seed=args.seed,
        engine=args.engine, model=args.model, summary=not args.no_summary)


def recognizer_factory(settings: Settings, engine: str, model: str | None):
    """A function that opens the recognizer when first needed (WAV answers, microphone)."""

    def open_it():
        try:
            from coach.hearing import open_recognizer
        except ImportError:
            raise CoachError("speech recognition (coach.hearing) is not available",
                             "answer with --typed, or with text lines in --answers") from None
        return open_recognizer(engine, settings.paths, model)

    return open_it


def _microphone_source(settings: Settings, session: SessionSettings):
    from coach.audio.engine import Microphone
    from coach.session_answers import MicrophoneSource

    recognizer = recognizer_factory(settings, session.engine, session.model)()
    log.info("coach: listening with %s", getattr(recognizer, "name", session.engine))
    microphone = Microphone(settings.audio).start()

    def watch():
        from coach.hearing import BackgroundListener

        return BackgroundListener(recognizer, microphone)

    return MicrophoneSource(microphone, recognizer, watch)


def run(args, settings: Settings) -> int:
    from coach.audio.engine import OfflineSpeaker, Speaker
    from coach.audio.speech import Voice
    from coach.session_answers import ScriptSource, TypedSource

    library = builtin_library()
    options = session_settings(args)
    if args.out and not (args.answers or args.typed):
        raise CoachError("--out renders without a sound card, so it needs --answers or --typed",
                         "add --answers FILE", exit_code=2)
    store = Store(settings.paths.database)
    resume = None
    if args.resume:
        resume = store.unfinished_session()
        if resume is None or resume["state"] is None:
            raise CoachError("there is no interrupted session to resume",
                             "start one with `coach session --plan NAME`", exit_code=2)
        state = resume["state"]["plan"]
        plan = plan_from_text(state["text"], state["key"], state["source"], library)
        if args.plan:
            log.info("coach: --resume carries on with the plan %r; --plan is ignored", plan.key)
    else:
        plan = load_plan(args.plan or DEFAULT_PLAN, library, settings.paths.data_dir / "plans")
        left = store.unfinished_session()
        if left is not None:
            log.info("coach: the interrupted session of %s is closed; a new one starts "
                     "(use --resume to carry on instead)", left["started"][:16])
            store.end_session(left["id"], "stopped")

    voice = Voice(settings.speech, settings.audio.output_rate, settings.paths.speech_cache)
    factory = recognizer_factory(settings, options.engine, options.model)
    if args.answers:
        source = ScriptSource(Path(args.answers), factory)
    elif args.typed:
        source = TypedSource(recognizer_factory=factory)
    else:
        source = _microphone_source(settings, options)
    speaker = OfflineSpeaker(settings.audio.output_rate) if args.out else \
        Speaker(settings.audio).start()
    try:
        with EventWriter(args.events) as events:
            session = Session(plan=plan, library=library, store=store, speaker=speaker,
                              voice=voice, source=source, events=events, settings=options,
                              resume=resume, transcript=sys.stderr if args.typed else None)
            result = session.run()
            if args.out:
                seconds = speaker.save(args.out)
                print(f"{args.out}\t{seconds:.1f} s")
            else:
                speaker.wait_until(speaker.now() + speaker.samples(speaker.output_latency + 0.05))
    finally:
        speaker.close()
        source.close()
        store.close()
    if result.status == INTERRUPTED:
        print("coach: interrupted; `coach session --resume` carries on at the next set",
              file=sys.stderr)
        return 130
    return 1 if result.unsaved else 0
