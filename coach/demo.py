"""`coach demo`: a real session with a simulated athlete, on a virtual sound card.

The coach runs the same code as ``coach session`` (``run_session`` with the
microphone source and the real recognizer). The athlete is a thread that follows
the session's events: each time the coach opens the microphone (a ``listen`` event),
it speaks its next scripted answer with a different espeak-ng voice, played into the
virtual microphone. Everything the coach says is recorded from the speaker's monitor
to a WAV, and a live transcript goes to stdout.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO

from coach.audio.speech import Voice
from coach.audio.virtual_card import VirtualCard, default_dir
from coach.audio.wavio import write_wav
from coach.core.answers import parse
from coach.dialogue.ask import COMMAND_CHECKS, CONFIRM
from coach.events import ADAPT, HEARD, LISTEN, SAY, SET, EventWriter
from coach.settings import Paths, Settings, SpeechSettings
from coach.workout.state import SessionSettings

log = logging.getLogger(__name__)

DEMO_PLAN = "demo"
ATHLETE_VOICE = "espeak:en-us"  # never the coach's own voice
#: Seconds the athlete waits after the microphone opens, like a person drawing breath.
ATHLETE_DELAY = 0.4


@dataclass(frozen=True)
class SetAnswers:
    """What the athlete says about one set."""

    reps: str
    """The answer to "How many reps?"."""
    felt: str
    """The answer to "Did you feel it?"."""
    first: tuple[str, ...] = ()
    """Said, one each, at the first "How many reps?" questions of this set, before the
    count: a command ("pause") or something that is not an answer."""


#: What the athlete says, set by set. Asked again, a person says the same again.
SCRIPT: tuple[SetAnswers, ...] = (
    SetAnswers("I did ten", "yes, felt it"),
    SetAnswers("twelve", "in my shoulders", first=("pause",)),
    SetAnswers("eight", "no, not really", first=("purple elephant",)),
    SetAnswers("ten", "yes"),
)
RESUME = "resume"
PAUSE = "pause"
#: The replies to the coach's check of an unsure answer ("10 reps, right?").
YES, NO = "yes", "no"

DEMO_SETTINGS = SessionSettings(
    rest_scale=0.15, min_rest=3.0, max_reps=2, ready_seconds=1.0, answer_seconds=5.0,
    warmup=False, countdown_seconds=3.0, seed=7, summary=True,
)


@dataclass(frozen=True)
class DemoResult:
    status: str
    seconds: float
    sets: int
    out: Path
    lines_spoken: int
    lines_left: int


class Athlete:
    """Answers the coach's questions by voice, through the virtual microphone.

    It follows the coach's events: which set is being asked about (one per ``set``
    event), whether the coach is paused, and which question the microphone opened for.
    """

    def __init__(self, card: VirtualCard, voice: Voice, script: tuple[SetAnswers, ...],
                 folder: Path, say_line) -> None:
        self.card = card
        self.voice = voice
        self.script = script
        self.folder = folder
        self.say_line = say_line
        self.spoken = 0
        self.sets_done = 0
        self.paused = False
        self._said_first: dict[int, int] = {}
        self._tries: dict[tuple[int, int], int] = {}
        self._paused_in_set: int | None = None
        self._jobs: deque[str] = deque()
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._last_said = ""
        self._last_answer = ""
        texts = {RESUME, YES, NO, *(t for a in script for t in (a.reps, a.felt, *a.first))}
        self._files = {text: self._render(i, text) for i, text in enumerate(sorted(texts))}
        self._thread = threading.Thread(target=self._run, name="athlete", daemon=True)
        self._thread.start()

    def _render(self, index: int, text: str) -> Path:
        path = self.folder / f"athlete-{index:02d}.wav"
        write_wav(path, self.voice.render(text), self.voice.output_rate)
        return path

    @property
    def left(self) -> int:
        return max(0, len(self.script) - self.sets_done)

    def answer_for(self, expect: str) -> str | None:
        """What to say when the coach listens for ``expect``."""
        if expect == "command":
            return RESUME if self.paused else None  # "Ready?": just get ready
        if self.sets_done >= len(self.script):
            return None
        plan = self.script[self.sets_done]
        if expect == "reps":
            said = self._said_first.get(self.sets_done, 0)
            if said < len(plan.first) and plan.first[said] == PAUSE \
                    and self._paused_in_set == self.sets_done:
                said += 1  # the coach paused and resumed: on with the set
                self._said_first[self.sets_done] = said
            if said < len(plan.first):
                line = plan.first[said]
                tries = self._tries.get((self.sets_done, said), 0) + 1
                self._tries[(self.sets_done, said)] = tries
                # "pause" is said again until the coach pauses (at most three times)
                if line != PAUSE or tries >= 3:
                    self._said_first[self.sets_done] = said + 1
                return line
            return plan.reps
        if expect == "felt":
            return plan.felt
        if expect == CONFIRM:  # "10 reps, right?" / "In your shoulders, right?"
            return YES if self._check_is_right(plan) else NO
        return None

    def _check_is_right(self, plan: SetAnswers) -> bool:
        """Whether the coach's check names what this set's answers meant, or the command
        the athlete just said ("Carry on, right?" after "resume")."""
        line = self._last_said
        command = parse(self._last_answer, "command")
        if command.kind == "command" and COMMAND_CHECKS.get(command.value) == line:
            return True
        if line.split(" ", 1)[0] == str(parse(plan.reps, "reps").value):
            return True
        place = parse(plan.felt, "any")
        return place.kind == "where" and place.value is not None and place.value in line

    def on_event(self, event) -> None:
        if event.TYPE == SAY:
            self._last_said = event.text
            if event.text.startswith("Paused"):
                self.paused = True
                self._paused_in_set = self.sets_done
            elif event.text.startswith("Resuming"):
                self.paused = False
        elif event.TYPE == SET:
            self.sets_done += 1
        elif event.TYPE == LISTEN:
            text = self.answer_for(event.expect)
            if text is not None and event.expect != CONFIRM:
                self._last_answer = text
            if text is not None:
                self._jobs.append(text)
                self._wake.set()

    def _run(self) -> None:
        while not self._stopped.is_set():
            self._wake.wait(0.2)
            self._wake.clear()
            while self._jobs:
                text = self._jobs.popleft()
                time.sleep(ATHLETE_DELAY)  # a person's reaction time, not audio timing
                self.say_line(text)
                self.card.play_into(self._files[text])
                self.spoken += 1

    def close(self) -> None:
        self._stopped.set()
        self._wake.set()
        self._thread.join(timeout=10)


class Transcript:
    """Prints the session as it happens: what the coach says, hears and decides."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self.start = time.monotonic()
        self._lock = threading.Lock()

    def line(self, who: str, text: str) -> None:
        with self._lock:
            stamp = time.monotonic() - self.start
            print(f"[{stamp:6.1f}s] {who:8s} {text}", file=self.out, flush=True)

    def on_event(self, event, t: float) -> None:
        kind = event.TYPE
        if kind == SAY:
            self.line("coach", event.text)
        elif kind == HEARD:
            value = "-" if event.value is None else event.value
            self.line("heard", f"{event.kind} = {value}  ({event.text!r}, "
                               f"confidence {event.confidence:.2f})")
        elif kind == SET:
            felt = {True: "felt it", False: "didn't feel it", None: "no answer"}[event.felt]
            where = f" in the {event.where}" if event.where else ""
            self.line("logged", f"{event.exercise} set {event.set}: {event.load:g} "
                                f"{event.unit} x {event.reps}, {felt}{where}, cue {event.cue}")
        elif kind == ADAPT:
            self.line("adapt", f"{event.reason}  -> next {event.next_load:g}, "
                               f"tempo {event.next_tempo}, cue {event.next_cue}")


def _point_portaudio_at(card: VirtualCard) -> None:
    card.activate()
    os.environ["PULSE_SINK"] = "coach_out"
    os.environ["PULSE_SOURCE"] = "athlete_out.monitor"
    sd = sys.modules.get("sounddevice")
    if sd is not None:  # PortAudio lists devices once; list them again with the card there
        sd._terminate()
        sd._initialize()


def run_demo(settings: Settings, out: Path, plan: str | None = None,
             transcript: IO[str] | None = None, events_path: str | None = None,
             script: tuple[SetAnswers, ...] = SCRIPT) -> DemoResult:
    """Run the demo session; returns what happened. ``out`` receives the coach's audio.
    The demo's virtual card is stopped when the demo ends: normally, on Ctrl-C, on an error."""
    with VirtualCard(Path(str(default_dir()) + "-demo")).use() as card:
        return _run_on_card(card, settings, out, plan, transcript or sys.stdout,
                            events_path, script)


def _run_on_card(card: VirtualCard, settings: Settings, out: Path, plan: str | None,
                 transcript: IO[str], events_path: str | None,
                 script: tuple[SetAnswers, ...]) -> DemoResult:
    from coach.workout.run import run_session

    _point_portaudio_at(card)
    demo_dir = settings.paths.data_dir / "demo"
    demo_dir.mkdir(parents=True, exist_ok=True)
    for stale in demo_dir.glob("coach.sqlite3*"):
        stale.unlink()  # every demo starts from the same empty history
    # the demo always runs on its own card: the athlete speaks into it, demo.wav records it
    cache = settings.paths.cache_dir or settings.paths.data_dir / "cache"  # kept across runs
    demo_settings = replace(settings, paths=Paths(data_dir=demo_dir, cache_dir=cache),
                            audio=replace(settings.audio, output_device="pulse",
                                          input_device="pulse"))
    plan_spec = plan or DEMO_PLAN
    if plan:
        plan_spec = str(_shortened_plan(plan, settings, demo_dir))
    printer = Transcript(transcript)
    athlete_voice = Voice(SpeechSettings(voice=ATHLETE_VOICE, rate=150),
                          settings.audio.output_rate, settings.paths.speech_cache)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="coach-demo-") as folder, \
            EventWriter(events_path) as events:
        printer.line("demo", "a simulated athlete answers by voice through a virtual "
                             "microphone; the coach hears it with its real recognizer")
        athlete = Athlete(card, athlete_voice, script, Path(folder),
                          lambda text: printer.line("athlete", text))
        events.subscribe(printer.on_event)
        events.subscribe(lambda event, t: athlete.on_event(event))
        recording = card.record(out)
        try:
            result = run_session(demo_settings, DEMO_SETTINGS, plan=plan_spec, events=events)
        finally:
            recording.stop()
            athlete.close()
    seconds = time.monotonic() - started
    printer.line("demo", f"{result.status}: {result.sets_saved} sets saved in {seconds:.0f} s; "
                         f"everything the coach said is in {out}")
    return DemoResult(result.status, seconds, result.sets_saved, out, athlete.spoken,
                      athlete.left)


def _shortened_plan(name: str, settings: Settings, folder: Path) -> Path:
    """The first two exercises of ``name``, two sets each, as a plan file for the demo."""
    from coach.core.library import builtin_library
    from coach.core.plans import load_plan

    chosen = load_plan(name, builtin_library(), settings.paths.data_dir / "plans")
    lines = [f'name = "{chosen.name} (demo)"', f'unit = "{chosen.unit}"', ""]
    for item in chosen.exercises[:2]:
        lines += ["[[exercise]]", f'id = "{item.id}"', "sets = 2",
                  f"reps = [{item.reps[0]}, {item.reps[1]}]", f"load = {item.load:g}",
                  f'tempo = "{item.tempo}"', f"rest = {item.rest:g}", ""]
    path = folder / "demo-plan.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
