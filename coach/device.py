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

Speech on a device budget: the device's fixed lines (greeting, the default plan's
workout, the scan's script) are rendered once at set-up, by ``coach device --prepare``
(``scripts/install-pi.sh`` runs it), into the disk speech cache. While the device runs,
a line missing from the cache (a new load in a decision) is rendered by a short-lived
child process (``SpeechSettings.render_apart``): Piper's ~215 MB never join the
recognizer's in this process, and go back to the system when the child exits. Nothing
is rendered while waiting for a start phrase (docs/notes/voice.md).
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from enum import StrEnum

from coach import sounds
from coach.audio import presence, voices
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
NOTHING_RUNNING = "Nothing is running. Say start workout, or body scan."
#: The device's own lines (the workout's and the scan's come from the plan and the script).
DEVICE_LINES = (GREETING, NOTHING_RUNNING)


class DeviceState(StrEnum):
    STARTING = "STARTING"
    WAITING = "WAITING"
    RUNNING = "RUNNING"
    RECOVERING = "RECOVERING"


@dataclass(frozen=True)
class DeviceSettings:
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


#: The dialogue moment of each device state: only WAITING hears commands itself (a
#: workout or a scan that RUNNING hears its own).
MOMENTS: dict[DeviceState, Moment] = {DeviceState.WAITING: Moment.WAITING}


class _Lost(Exception):
    """A device went away while waiting; the loop recovers."""


class Device:
    def __init__(self, settings: Settings, options: DeviceSettings, events: EventWriter,
                 stop: threading.Event | None = None) -> None:
        # Piper renders in a child process here: the device's memory is the recognizer's
        self.settings = settings = replace(settings, speech=replace(settings.speech,
                                                                    render_apart=True))
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

    def _action(self, answer: Answer) -> Action:
        """What a command does now: the dialogue table at the device state's moment."""
        moment = MOMENTS.get(self.state)
        return Action.IGNORE if moment is None else commands.action(moment, str(answer.value))

    def _obey(self, act: Action) -> None:
        """The one place an action heard by the device itself becomes its effect."""
        if act is Action.NOTHING_RUNNING:
            with self._speaking() as speaker:
                self._say(speaker, NOTHING_RUNNING)

    def plan_names(self) -> list[str]:
        from coach.core.plans import builtin_names

        names = set(builtin_names())
        user = self.settings.paths.data_dir / "plans"
        if user.is_dir():
            names.update(p.stem for p in user.glob("*.toml"))
        names.discard("demo")
        return sorted(names)

    # -- speech, rendered once at set-up --------------------------------------------------
    def lines(self) -> tuple[list[str], list[str]]:
        """Every line the device is likely to say: (workout scene, scan scene). The device's
        own lines, "what's my plan", the default plan's workout with the metronome's words
        (``coach.workout.lines.plan_lines``), and every line of the full scan with its
        check-in."""
        from coach.core import scan as core
        from coach.scan.loop import lines_to_prepare
        from coach.workout.run import plan_lines

        workout = [*DEVICE_LINES, self._plan_text(),
                   *plan_lines(self.settings, self.options.session, self.options.default_plan)]
        return workout, lines_to_prepare(self.settings, core.FULL)

    def prepare(self) -> int:
        """``coach device --prepare``: render every line of ``lines()`` into the disk cache
        now, in this (short-lived) process, with a progress line on stderr; returns how many
        were rendered. A device started after it says nothing it has to render first."""
        from coach.audio.speech import SCAN, WORKOUT

        started = time.monotonic()
        speech = replace(self.settings.speech, render_apart=False)
        workout, scan = (list(dict.fromkeys(texts)) for texts in self.lines())
        total, rendered = len(workout) + len(scan), 0
        for offset, scene, texts in ((0, WORKOUT, workout), (len(workout), SCAN, scan)):
            voice = Voice(speech, self.settings.audio.output_rate,
                          self.settings.paths.speech_cache, scene=scene)
            rendered += voice.warm(texts, lambda done, _, offset=offset: print(
                f"\r  preparing speech: {offset + done}/{total}", end="", file=sys.stderr,
                flush=True))
        print(f"\r  preparing speech: {total} lines ready ({rendered} rendered) in "
              f"{time.monotonic() - started:.1f} s, in {self.settings.paths.speech_cache}",
              file=sys.stderr)
        return rendered

    def _missing_lines(self) -> int:
        """How many of the device's own and the scan's lines the cache lacks (a stat each)."""
        from coach.audio.speech import SCAN
        from coach.core import scan as core
        from coach.scan.loop import lines_to_prepare

        scan = Voice(self.settings.speech, self.settings.audio.output_rate,
                     self.settings.paths.speech_cache, scene=SCAN)
        try:
            texts = lines_to_prepare(self.settings, core.FULL)
        except CoachError:
            return 0  # a broken user script is reported when a scan is asked for
        return (sum(not self.voice.is_cached(text) for text in DEVICE_LINES)
                + sum(not scan.is_cached(text) for text in texts))

    # -- the loop -----------------------------------------------------------------------
    def _load_recognizer(self) -> None:
        """Runs in a thread while the greeting is rendered and said (the Whisper model
        takes about a second and a half to load); ``_recognizer_ready`` joins it."""
        from coach.hearing import open_recognizer

        try:
            from coach.remote.hearing import with_server

            self.recognizer = with_server(
                open_recognizer(self.settings.hearing.engine, self.settings.paths,
                                self.settings.hearing.model),
                self.settings.remote)
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
        # lines already in the disk cache need no model at all; a missing one is rendered
        # by the speech child process, never in this one (nothing renders while waiting)
        self.voice.prepare(DEVICE_LINES)
        missing = self._missing_lines()
        if missing and self.voice.choice.engine == voices.PIPER:
            log.warning("coach device: %d lines are not in the speech cache yet; a body scan "
                        "renders its lines before it starts. Run `coach device --prepare` "
                        "once (scripts/install-pi.sh does) so that nothing waits", missing)
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
            log.warning("coach device: %s; trying again every %g s", problem,
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
                notice = self.recognizer.take_notice()
                if notice:  # the hearing server stopped answering: said once
                    with self._speaking() as speaker:
                        self._say(speaker, notice)
                if answer.kind == "start":
                    return answer
                if answer.kind == "command":
                    self._obey(self._action(answer))
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
        from coach.dialogue.sources import MicrophoneSource, hear_through
        from coach.scan import loop as scan

        log.info("coach device: body scan, %s minutes", minutes)
        request = scan.ScanRequest(style=core.FULL, minutes=float(minutes))
        with Microphone(self.settings.audio) as mic:
            answers = MicrophoneSource(mic, self.recognizer, owns_microphone=False)
            try:
                with Speaker(self.settings.audio) as speaker:
                    hear_through(answers, speaker, self.settings.audio.echo_cancel)
                    scan.run_scan(self.settings, speaker, answers, self.events, request)
                    speaker.wait_until(speaker.now()
                                       + speaker.samples(speaker.output_latency + 0.1))
            finally:
                answers.close()

    def _plan_text(self) -> str:
        from coach.core.library import builtin_library
        from coach.core.plans import load_plan

        library = builtin_library()
        plan = load_plan(self.options.default_plan, library,
                         self.settings.paths.data_dir / "plans")
        names = [library.exercise(item.id).name for item in plan.exercises]
        return (f"Your plan is {plan.name}: " + ", ".join(names[:-1])
                + (f" and {names[-1]}" if len(names) > 1 else names[0]) + ".")

    def _tell_plan(self) -> None:
        text = self._plan_text()
        with self._speaking() as speaker:
            self._say(speaker, text)
