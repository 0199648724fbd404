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
from coach.events import ADAPT, HEARD, LISTEN, SAY, SET, EventWriter
from coach.session_state import SessionSettings
from coach.settings import Paths, Settings, SpeechSettings

log = logging.getLogger(__name__)

DEMO_PLAN = "demo"
ATHLETE_VOICE = "en-gb"
#: Seconds the athlete waits after the microphone opens, like a person drawing breath.
ATHLETE_DELAY = 0.4


@dataclass(frozen=True)
class Line:
    expect: str
    """The question kind this line answers: reps | felt | command."""
    text: str


#: What the athlete says, in order. Each line waits for a question of its kind; at a
#: question of another kind (e.g. "Ready?", which listens for commands) it stays quiet.
#: Commands work at every question: "pause" answers "How many reps?", and "resume" the
#: paused coach's listening.
SCRIPT: tuple[Line, ...] = (
    Line("reps", "I did ten"),
    Line("felt", "yes, felt it"),
    Line("reps", "pause"),
    Line("command", "resume"),
    Line("reps", "purple elephant"),  # not an answer: the coach asks again
    Line("reps", "twelve"),
    Line("felt", "in my shoulders"),
    Line("reps", "eight"),
    Line("felt", "no, not really"),
    Line("reps", "ten"),
    Line("felt", "yes"),
)

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
    """Answers the coach's questions by voice, through the virtual microphone."""

    def __init__(self, card: VirtualCard, voice: Voice, script: tuple[Line, ...],
                 folder: Path, say_line) -> None:
        self.card = card
        self.voice = voice
        self.script = deque(script)
        self.folder = folder
        self.say_line = say_line
        self.spoken = 0
        self._last: Line | None = None
        self.paused = False
        self._jobs: deque[str] = deque()
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._files = {line.text: self._render(i, line.text) for i, line in enumerate(script)}
        self._thread = threading.Thread(target=self._run, name="athlete", daemon=True)
        self._thread.start()

    def _render(self, index: int, text: str) -> Path:
        path = self.folder / f"athlete-{index:02d}.wav"
        write_wav(path, self.voice.render(text), self.voice.output_rate)
        return path

    def on_listen(self, expect: str) -> None:
        """The coach opened the microphone for an answer of ``expect``: say the next line
        if it answers that; asked the same question again, say the last answer again
        (as a person would when the coach did not catch it)."""
        if expect == "command" and not self.paused:
            return  # "Ready?": the athlete just gets ready
        if self.script and self.script[0].expect == expect:
            self._last = self.script.popleft()
            self._jobs.append(self._last.text)
        elif self._last is not None and self._last.expect == expect:
            self._jobs.append(self._last.text)
        else:
            return
        self._wake.set()

    def on_say(self, text: str) -> None:
        """Follow what the coach says: whether it is paused."""
        if text.startswith("Paused"):
            self.paused = True
        elif text.startswith("Resuming"):
            self.paused = False

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
             script: tuple[Line, ...] = SCRIPT) -> DemoResult:
    """Run the demo session; returns what happened. ``out`` receives the coach's audio."""
    from coach.session_run import run_session

    transcript = transcript or sys.stdout
    card = VirtualCard(Path(str(default_dir()) + "-demo"))
    card.start()
    _point_portaudio_at(card)
    demo_dir = settings.paths.data_dir / "demo"
    demo_dir.mkdir(parents=True, exist_ok=True)
    for stale in demo_dir.glob("coach.sqlite3*"):
        stale.unlink()  # every demo starts from the same empty history
    # the demo always runs on its own card: the athlete speaks into it, demo.wav records it
    demo_settings = replace(settings, paths=Paths(data_dir=demo_dir),
                            audio=replace(settings.audio, output_device="pulse",
                                          input_device="pulse"))
    plan_spec = plan or DEMO_PLAN
    if plan:
        plan_spec = str(_shortened_plan(plan, settings, demo_dir))
    printer = Transcript(transcript)
    athlete_voice = Voice(SpeechSettings(voice=ATHLETE_VOICE, rate=165),
                          settings.audio.output_rate, settings.paths.speech_cache)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="coach-demo-") as folder, \
            EventWriter(events_path) as events:
        printer.line("demo", "a simulated athlete answers by voice through a virtual "
                             "microphone; the coach hears it with its real recognizer")
        athlete = Athlete(card, athlete_voice, script, Path(folder),
                          lambda text: printer.line("athlete", text))
        events.subscribe(printer.on_event)
        events.subscribe(lambda event, t: athlete.on_say(event.text)
                         if event.TYPE == SAY else None)
        events.subscribe(lambda event, t: athlete.on_listen(event.expect)
                         if event.TYPE == LISTEN else None)
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
                      len(athlete.script))


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
