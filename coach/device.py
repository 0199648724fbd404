"""`coach device`: a headless speaker that starts by voice and recovers on its own.

States (``DeviceState``)::

    STARTING    loading the recognizer (in a thread, while the greeting is said) and
                the voice
    WAITING     listening for a start phrase with a tiny grammar ("start workout",
                "start <plan>", "body scan [N minutes]", "what's my plan")
    RUNNING     a workout or a body scan; "stop" ends it (the session and the scan
                hear commands themselves)
    RECOVERING  a speaker or microphone is missing: said once on stderr, tried again
                every ``retry_seconds`` until it is back, without a restart

A short rising chime marks "listening", a falling one "done": there is no screen.
Every spoken line is a ``say`` event in ``--events``. While waiting, only the
microphone is open: the speaker's stream is opened for each thing said and closed
after it, which halves the CPU the wait costs (figures in README, Performance).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum

from coach import sounds
from coach.audio import presence
from coach.audio.engine import Microphone, Speaker
from coach.audio.speech import Voice
from coach.core.answers import Answer
from coach.dialogue import commands
from coach.dialogue.commands import Action, Moment
from coach.errors import CoachError, DeviceError
from coach.events import EventWriter, Heard, Listen, Say, StateChanged
from coach.settings import Settings
from coach.workout.state import SessionSettings

log = logging.getLogger(__name__)

GREETING = "Coach ready. Say start workout, or body scan."


class DeviceState(StrEnum):
    STARTING = "STARTING"
    WAITING = "WAITING"
    RUNNING = "RUNNING"
    RECOVERING = "RECOVERING"


@dataclass(frozen=True)
class DeviceSettings:
    engine: str = "auto"
    """Recognizer: auto | whisper | vosk | pocketsphinx."""
    model: str | None = None
    """Whisper or Vosk model folder, if not the installed one."""
    listen_seconds: float = 5.0
    """Length of one listening window for the start phrase, in seconds; devices are
    checked between windows."""
    retry_seconds: float = 3.0
    """Seconds between attempts to reopen a missing speaker or microphone."""
    default_plan: str = "starter"
    """The plan of "start workout"."""
    session: SessionSettings = field(default_factory=SessionSettings)
    """How workouts started by voice run."""
    scan_minutes: float = 5.0
    """Length of "body scan" when no minutes are said."""
    greeting: bool = True
    """Say GREETING when ready."""
    max_activities: int | None = None
    """Return after this many workouts/scans (None: run until stopped)."""


class _Lost(Exception):
    """A device went away while waiting; the loop recovers."""


class Device:
    def __init__(self, settings: Settings, options: DeviceSettings, events: EventWriter,
                 stop: threading.Event | None = None) -> None:
        self.settings = settings
        self.options = options
        self.events = events
        self.stop = stop or threading.Event()
        self.state = DeviceState.STARTING
        self.activities = 0
        self._greeted = False
        self._problem: str | None = None
        self.voice = Voice(settings.speech, settings.audio.output_rate,
                           settings.paths.speech_cache)
        self.recognizer = None

    # -- helpers ------------------------------------------------------------------------
    def _enter(self, state: DeviceState) -> None:
        if state != self.state:
            self.state = state
            self.events.emit(StateChanged(state=state.value))

    def _say(self, speaker: Speaker, text: str) -> None:
        samples = self.voice.render(text)
        self.events.emit(Say(text=text))
        speaker.wait(speaker.play(samples, label="say"))

    def _chime(self, speaker: Speaker, name: str) -> None:
        speaker.wait(speaker.play(sounds.load_sound(name, speaker.rate), label=name))

    @contextmanager
    def _speaking(self) -> Iterator[Speaker]:
        """The speaker, open for what is said inside and closed once it has played out."""
        with Speaker(self.settings.audio) as speaker:
            yield speaker
            speaker.wait_until(speaker.now() + speaker.samples(speaker.output_latency + 0.1))

    def plan_names(self) -> list[str]:
        from coach.core.plans import builtin_names

        names = set(builtin_names())
        user = self.settings.paths.data_dir / "plans"
        if user.is_dir():
            names.update(p.stem for p in user.glob("*.toml"))
        names.discard("demo")
        return sorted(names)

    def _prepare_scans(self) -> None:
        """A scan plans with the length of every line of its script: render them in the
        background while the device waits (kept on disk, so only the first start pays)."""
        from coach.audio.speech import SCAN
        from coach.core import scan as core

        voice = Voice(self.settings.speech, self.settings.audio.output_rate,
                      self.settings.paths.speech_cache, scene=SCAN)
        voice.prepare(core.all_texts(core.load_script(core.FULL)))

    # -- the loop -----------------------------------------------------------------------
    def _load_recognizer(self) -> None:
        """Runs in a thread while the greeting is rendered and said (the Whisper model
        takes about a second and a half to load); ``_recognizer_ready`` joins it."""
        from coach.hearing import open_recognizer

        try:
            self.recognizer = open_recognizer(self.options.engine, self.settings.paths,
                                              self.options.model)
        except Exception as error:  # re-raised on the main thread by _recognizer_ready
            self._load_error = error

    def _recognizer_ready(self) -> None:
        if self._loader is not None:
            self._loader.join()
            self._loader = None
        if self._load_error is not None:
            raise self._load_error

    def run(self) -> int:
        self._load_error: Exception | None = None
        self._loader: threading.Thread | None = threading.Thread(
            target=self._load_recognizer, name="coach-load-recognizer", daemon=True)
        self._loader.start()
        # rendered ahead on the speech worker; lines already in the disk cache need no
        # model at all (Piper's ~150 MB are loaded only when a new line must be rendered)
        self.voice.prepare([GREETING, "Stopping.", "Starting your workout.",
                            "Starting a body scan."])
        self._prepare_scans()
        while not self.stop.is_set():
            if self.options.max_activities is not None and \
                    self.activities >= self.options.max_activities:
                break
            try:
                request = self._wait_for_start()
            except (DeviceError, _Lost) as problem:
                self._recover(str(problem.message if isinstance(problem, CoachError)
                                  else problem))
                continue
            if request is not None:
                self._run_activity(request)
        return 0

    def _recover(self, problem: str) -> None:
        self._enter(DeviceState.RECOVERING)
        if problem != self._problem:
            log.warning("coach device: %s; trying again every %.0f s", problem,
                        self.options.retry_seconds)
            self._problem = problem
        self.stop.wait(self.options.retry_seconds)

    def _wait_for_start(self) -> Answer | None:
        """Open the devices and listen until a start phrase is heard."""
        gone = presence.missing(self.settings.audio)
        if gone:
            raise _Lost(gone)
        plans = self.plan_names()
        with Microphone(self.settings.audio) as mic:
            if self._problem is not None:
                log.warning("coach device: the devices are back")
                self._problem = None
            with self._speaking() as speaker:
                if self.options.greeting and not self._greeted:
                    self._say(speaker, GREETING)
                    self._greeted = True
                self._recognizer_ready()
                self._enter(DeviceState.WAITING)
                self._chime(speaker, "listen")
            while not self.stop.is_set():
                mic.flush()
                before = mic.frames_read
                self.events.emit(Listen(expect="start"))
                answer = self.recognizer.listen(mic, "start", self.options.listen_seconds,
                                                plans=plans, stop=self.stop)
                if answer.text or answer.understood:
                    self.events.emit(Heard(kind=answer.kind, value=answer.value,
                                           text=answer.text, confidence=answer.confidence))
                if answer.kind == "start":
                    return answer
                if answer.kind == "command" and commands.action(
                        Moment.WAITING, str(answer.value)) is Action.NOTHING_RUNNING:
                    with self._speaking() as speaker:
                        self._say(speaker, "Nothing is running. Say start workout, or body scan.")
                if mic.frames_read == before or not mic.active:
                    raise _Lost("the microphone stopped delivering sound")
                gone = presence.missing(self.settings.audio)
                if gone:
                    raise _Lost(gone)
        return None

    def _run_activity(self, request: Answer) -> None:
        action = request.value.get("action") if isinstance(request.value, dict) else None
        self._enter(DeviceState.RUNNING)
        try:
            if action == "workout":
                self._workout(request.value.get("plan") or self.options.default_plan)
            elif action == "scan":
                self._scan(request.value.get("minutes") or self.options.scan_minutes)
            elif action == "plan":
                self._tell_plan()
            self.activities += action in ("workout", "scan")
        except DeviceError as problem:
            log.warning("coach device: %s", problem.message)
        except CoachError as problem:  # a bad plan file, say: report, keep waiting
            log.warning("coach device: %s (%s)", problem.message, problem.fix)
        try:
            with self._speaking() as speaker:
                self._chime(speaker, "done")
        except DeviceError as problem:  # still missing: the wait for a start phrase recovers
            log.warning("coach device: no done chime (%s)", problem.message)

    def _workout(self, plan: str) -> None:
        from coach.dialogue.sources import MicrophoneSource
        from coach.workout.run import run_session

        log.info("coach device: workout %s", plan)
        with Microphone(self.settings.audio) as mic:
            source = MicrophoneSource(mic, self.recognizer, owns_microphone=False)
            run_session(self.settings, self.options.session, plan=plan, source=source,
                        events=self.events)

    def _scan(self, minutes: float) -> None:
        from coach.core import scan as core
        from coach.dialogue.sources import MicrophoneSource
        from coach.scan import loop as scan

        log.info("coach device: body scan, %s minutes", minutes)
        request = scan.ScanRequest(style=core.FULL, minutes=float(minutes))
        with Microphone(self.settings.audio) as mic:
            answers = MicrophoneSource(mic, self.recognizer, owns_microphone=False)
            try:
                with Speaker(self.settings.audio) as speaker:
                    scan.run_scan(self.settings, speaker, answers, self.events, request)
                    speaker.wait_until(speaker.now()
                                       + speaker.samples(speaker.output_latency + 0.1))
            finally:
                answers.close()

    def _tell_plan(self) -> None:
        from coach.core.library import builtin_library
        from coach.core.plans import load_plan

        library = builtin_library()
        plan = load_plan(self.options.default_plan, library,
                         self.settings.paths.data_dir / "plans")
        names = [library.exercise(item.id).name for item in plan.exercises]
        text = (f"Your plan is {plan.name}: " + ", ".join(names[:-1])
                + (f" and {names[-1]}" if len(names) > 1 else names[0]) + ".")
        with self._speaking() as speaker:
            self._say(speaker, text)
