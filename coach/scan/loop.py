"""The body-scan loop: play a planned timeline on the speaker's sample clock.

``run_scan`` joins the pure planner (``coach.core.scan``) to the audio engine, the
answer sources and the history:

1. every line of the script is rendered (cached), the timeline is planned to fit
   the minutes asked to the sample;
2. ``ScanPlayer`` schedules each sound at its sample, a fraction of a second ahead,
   and watches for voice commands between sounds: pause (cancel what is scheduled,
   stay silent, resume where it stopped: a line cut short starts over), resume,
   repeat (back to the start of the last line), slower / faster (the quiet that is
   left, stretched or shrunk), stop;
3. the check-in ("How do you feel?", and in the pre-workout style "Anything sore?")
   is asked, heard and stored with the scan in SQLite.

The same loop drives a live ``Speaker`` and an ``OfflineSpeaker`` (``--out``): on the
virtual clock a scan renders in a fraction of its length, with the same timeline.
"""

from __future__ import annotations

import enum
import json
import logging
import queue
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from coach import events as ev
from coach import sounds
from coach.audio.engine import OfflineSpeaker, Sound
from coach.audio.speech import SCAN, Voice
from coach.core import scan as core
from coach.core.answers import Answer, parse
from coach.dialogue import commands
from coach.dialogue.ask import Question, device_answer
from coach.dialogue.ask import ask as dialogue_ask
from coach.dialogue.commands import Action, Moment
from coach.errors import CoachError, DeviceError
from coach.events import COMPLETED, STOPPED
from coach.files import read_text
from coach.settings import Paths, Settings
from coach.store import AnswerRecord, Store

log = logging.getLogger(__name__)

#: Sounds are handed to the speaker this far (seconds) ahead of their sample.
LOOKAHEAD_SECONDS = 0.3
#: How often (seconds of the speaker clock) the loop looks for a command.
POLL_SECONDS = 0.05
#: Quiet (seconds) before the scan goes on after "resume" or "repeat".
RESUME_LEAD_SECONDS = 0.4
#: "slower" multiplies the quiet that is left by this; "faster" divides it.
SLOWER = 1.25
#: Limits of the overall speed change (quiet times this, from "slower"/"faster").
MAX_STRETCH = 2.0
MIN_STRETCH = 0.5
#: A pause longer than this (seconds) ends the scan as stopped.
MAX_PAUSE_SECONDS = 30 * 60
#: Quiet (seconds) between the end chime and the check-in question.
CHECKIN_QUIET_SECONDS = 0.8
#: Seconds to wait for a spoken check-in answer.
LISTEN_SECONDS = 8.0
#: Seconds to wait for a typed check-in answer.
TYPED_SECONDS = 120.0


class State(enum.Enum):
    PLAYING = "PLAYING"
    PAUSED = "PAUSED"
    CHECKIN = "CHECKIN"
    DONE = "DONE"
    STOPPED = "STOPPED"




# -- where answers and commands come from ----------------------------------------------
class AnswerSource:
    """Commands during the scan (``command``, never blocks) and check-in answers (``ask``).

    Subclasses: ``ScriptedAnswers`` (--answers FILE), ``TypedAnswers`` (--typed), and
    the spoken source built from the hearing module (``spoken_answers``).
    """

    engine = "none"

    def start_commands(self) -> None:
        """Begin listening for commands (the scan starts playing)."""

    def stop_commands(self) -> None:
        """Stop listening for commands (the check-in takes the microphone)."""

    def command(self, elapsed: float) -> Answer | None:
        """A command given since the last call, or None. ``elapsed``: seconds of speaker
        clock since the scan started (scripted commands are given at a time)."""
        return None

    def ask(self, expect: str, timeout: float) -> Answer | None:
        """The answer to a check-in question; None when there is no one to answer."""
        return None

    @property
    def exhausted(self) -> bool:
        """True when no command can come any more (a script that has run out)."""
        return False

    @property
    def available(self) -> bool:
        """False when nobody can answer a question (no script lines left, input closed)."""
        return True

    def close(self) -> None:
        pass


class NoAnswers(AnswerSource):
    """Nobody answers: ``--out`` without a script renders the scan alone."""

    @property
    def exhausted(self) -> bool:
        return True

    @property
    def available(self) -> bool:
        return False


@dataclass
class _Timed:
    at: float
    text: str


class ScriptedAnswers(AnswerSource):
    """``--answers FILE``: one answer per line, in order, for the check-in questions.

    A line is the words of the answer or the path of a WAV file (decoded by the
    recognizer, as if it had been said). A line ``@SECONDS WORDS`` is a command given
    that many seconds (speaker clock) after the scan started, e.g. ``@20 pause`` and
    ``@30 resume``. Blank lines and lines starting with ``#`` are skipped.
    """

    engine = "script"

    def __init__(self, path: Path, decode: Callable[[Path, str], Answer] | None = None) -> None:
        self.path = Path(path)
        self._decode = decode
        text = read_text(self.path, "answers file", "give --answers a text file with one "
                         "answer per line")
        self._timed: list[_Timed] = []
        self._answers: list[str] = []
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("@"):
                head, _, rest = line[1:].partition(" ")
                try:
                    at = float(head)
                except ValueError:
                    raise CoachError(f"{path}:{number}: {line!r} has no time after @",
                                     "write a timed command as @SECONDS WORDS, e.g. @20 pause",
                                     exit_code=2) from None
                self._timed.append(_Timed(at, rest.strip()))
            else:
                self._answers.append(line)
        self._timed.sort(key=lambda t: t.at)

    def _answer(self, text: str, expect: str) -> Answer:
        if text.lower().endswith(".wav"):
            path = Path(text)
            if not path.is_absolute():
                path = self.path.parent / path
            if self._decode is None:
                raise CoachError(f"{self.path}: {text} is a recording, and no recognizer is "
                                 "open to decode it", "pass --engine, or write the words",
                                 exit_code=2)
            return self._decode(path, expect)
        return parse(text, expect)

    def command(self, elapsed: float) -> Answer | None:
        if self._timed and self._timed[0].at <= elapsed + 1e-9:
            return self._answer(self._timed.pop(0).text, "command")
        return None

    def ask(self, expect: str, timeout: float) -> Answer | None:
        if not self._answers:
            return None
        return self._answer(self._answers.pop(0), expect)

    @property
    def exhausted(self) -> bool:
        return not self._timed

    @property
    def available(self) -> bool:
        return bool(self._answers)


class TypedAnswers(AnswerSource):
    """``--typed``: lines typed on the keyboard (stdin). During the scan a typed line is a
    command (pause, resume, repeat, slower, stop); at the check-in it is the answer."""

    engine = "typed"

    def __init__(self, stream=None) -> None:
        self._stream = stream if stream is not None else sys.stdin
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._closed = False
        self._thread = threading.Thread(target=self._read, name="typed-answers", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        for line in self._stream:
            if line.strip():
                self._lines.put(line.strip())
        self._closed = True
        self._lines.put(None)

    def command(self, elapsed: float) -> Answer | None:
        try:
            line = self._lines.get_nowait()
        except queue.Empty:
            return None
        if line is None:
            self._lines.put(None)  # keep the end of input visible
            return None
        return parse(line, "command")

    def ask(self, expect: str, timeout: float) -> Answer | None:
        print(f"({expect}) > ", end="", file=sys.stderr, flush=True)
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            return Answer("unknown", None, "", 0.0)
        if line is None:
            self._lines.put(None)
            return None
        return parse(line, expect)

    @property
    def available(self) -> bool:
        return not (self._closed and self._lines.qsize() <= 1)

    @property
    def exhausted(self) -> bool:
        return not self.available


# -- playing a timeline ------------------------------------------------------------------
@dataclass(eq=False)
class _Playing:
    at: int
    """Speaker sample where it starts."""
    item: core.Item
    sound: Sound
    said: bool = False


@dataclass
class PlayResult:
    status: str
    """completed | stopped"""
    paused_seconds: float = 0.0
    commands: list[str] = field(default_factory=list)
    timeline: core.Timeline | None = None
    """The timeline as finally played (after any "slower")."""


class ScanPlayer:
    """Plays a timeline on a Speaker or OfflineSpeaker and obeys commands between sounds."""

    def __init__(self, speaker, timeline: core.Timeline, render: Callable[[core.Item], np.ndarray],
                 answers: AnswerSource, events: ev.EventWriter,
                 tone_lengths: tuple[int, int] = (0, 0), supervisor=None) -> None:
        self.speaker = speaker
        self.supervisor = supervisor
        """A ``coach.audio.supervise.Supervisor`` (live speaker), or None (offline)."""
        self.timeline = timeline
        self.render = render
        self.answers = answers
        self.events = events
        self.tone_lengths = tone_lengths
        self.offline = isinstance(speaker, OfflineSpeaker)
        self.rate = speaker.rate
        self.state = State.PLAYING
        self.origin = 0
        self.offset = 0
        self.stretch = 1.0
        self._pending: list[_Playing] = []
        self._next = 0

    # time stamps: the virtual clock offline (the events follow the rendered WAV)
    def _t(self) -> float | None:
        return (self.speaker.now() - self.origin) / self.rate if self.offline else None

    def emit(self, event: ev.Event) -> None:
        self.events.emit(event, self._t())

    def set_state(self, state: State) -> None:
        self.state = state
        self.emit(ev.StateChanged(state.value))

    def _elapsed(self) -> float:
        return (self.speaker.now() - self.origin) / self.rate

    def _wait_until(self, sample: int) -> None:
        ok = self.speaker.wait_until(sample)
        if not ok and self.supervisor is None and not getattr(self.speaker, "active", True):
            raise DeviceError("the speaker stopped during the scan",
                              "check it is plugged in, then start the scan again")

    def _device_problem(self) -> str | None:
        return self.supervisor.problem() if self.supervisor is not None else None

    def _lost(self, problem: str) -> bool:
        """A device went away: silence, wait for it, then carry on from the start of the
        line that was playing. False when the wait was given up (the device is stopping)."""
        now = self.speaker.now()
        position = now - self.offset
        self._cut_all(now)
        self.answers.stop_commands()
        if not self.supervisor.recover(problem):
            return False
        self.answers.start_commands()
        self._go_to(core.resume_point(self.timeline, position), self.speaker.now())
        return True

    def _cut(self, playing: _Playing, now: int) -> None:
        """Silence a sound from ``now`` on (live: cancel it; offline: keep what was heard)."""
        if self.offline and playing.at < now:
            playing.sound.samples = playing.sound.samples[: now - playing.at]
        else:
            self.speaker.cancel(playing.sound)

    def _cut_all(self, now: int, only_future: bool = False) -> None:
        kept = []
        for playing in self._pending:
            if only_future and playing.at <= now:
                kept.append(playing)
            else:
                self._cut(playing, now)
        self._pending = kept

    def _go_to(self, position: int, now: int) -> None:
        """Carry on from timeline ``position`` after a short quiet."""
        self.offset = now + int(RESUME_LEAD_SECONDS * self.rate) - position
        self._next = self.timeline.index_at(position)

    def play(self) -> PlayResult:
        speaker = self.speaker
        entries = self.timeline.entries
        lookahead = int(LOOKAHEAD_SECONDS * self.rate)
        poll = max(1, int(POLL_SECONDS * self.rate))
        self.origin = speaker.now() + (0 if self.offline else lookahead)
        self.offset = self.origin
        result = PlayResult(COMPLETED, timeline=self.timeline)
        self.answers.start_commands()
        self.set_state(State.PLAYING)
        try:
            while True:
                entries = self.timeline.entries
                now = speaker.now()
                while self._next < len(entries) and \
                        self.offset + entries[self._next][0] <= now + lookahead:
                    start, item = entries[self._next]
                    at = max(self.offset + start, now)
                    sound = speaker.play(self.render(item), at=at, label=item.kind)
                    self._pending.append(_Playing(at, item, sound))
                    self._next += 1
                for playing in self._pending:
                    if not playing.said and playing.at <= now:
                        playing.said = True
                        if playing.item.kind == core.LINE:
                            self.emit(ev.Say(playing.item.text))
                self._pending = [p for p in self._pending
                                 if not p.said or p.at + p.item.length > now]
                if self._next >= len(entries) and not self._pending:
                    break
                wake = now + (poll if not self.answers.exhausted else 10 * self.rate)
                if self._next < len(entries):
                    wake = min(wake, self.offset + entries[self._next][0] - lookahead)
                for playing in self._pending:
                    if not playing.said:
                        wake = min(wake, playing.at)
                    else:
                        wake = min(wake, playing.at + playing.item.length)
                self._wait_until(max(wake, now + 1))
                problem = self._device_problem()
                if problem is not None:
                    if not self._lost(problem):
                        result.status = STOPPED
                        break
                    continue
                answer = self.answers.command(self._elapsed())
                if answer is None:
                    continue
                self.emit(ev.Heard(answer.kind, answer.value, answer.text, answer.confidence))
                if answer.kind != "command":
                    log.info("not a command: %r", answer.text)
                    continue
                result.commands.append(str(answer.value))
                if not self._obey(str(answer.value), result):
                    result.status = STOPPED
                    break
        finally:
            self.answers.stop_commands()
        result.timeline = self.timeline
        return result

    def _obey(self, command: str, result: PlayResult) -> bool:
        """Act on one command; False when the scan must end."""
        now = self.speaker.now()
        position = now - self.offset
        act = commands.action(Moment.PLAYING, command)
        if act is Action.PAUSE:
            return self._pause(position, result)
        if act is Action.STOP:
            self._cut_all(now)
            return False
        if act is Action.REPEAT:
            self._cut_all(now)
            self._go_to(core.rewind_point(self.timeline, position), now)
            return True
        if act in (Action.SLOWER, Action.FASTER):
            factor = SLOWER if act is Action.SLOWER else 1 / SLOWER
            stretch = self.stretch * factor
            if not MIN_STRETCH - 1e-9 <= stretch <= MAX_STRETCH + 1e-9:
                log.info("already as %s as it goes", "slow" if factor > 1 else "fast")
                return True
            self.stretch = stretch
            self._cut_all(now, only_future=True)
            self.timeline = core.stretch_after(self.timeline, position, factor,
                                               self.tone_lengths)
            self._next = self.timeline.index_at(position + 1)
            log.info("%s: the quiet that is left x%.2f", command, factor)
            return True
        if command == "resume":
            return True  # already playing
        log.info("the command %r does nothing during a scan", command)
        return True

    def _pause(self, position: int, result: PlayResult) -> bool:
        speaker = self.speaker
        now = speaker.now()
        self._cut_all(now)
        self.set_state(State.PAUSED)
        paused_at = now
        poll = max(1, int(POLL_SECONDS * self.rate))
        limit = now + int(MAX_PAUSE_SECONDS * self.rate)
        carry_on = False
        while speaker.now() < limit:
            if self.answers.exhausted:
                log.info("no more commands can come: the paused scan ends")
                break
            self._wait_until(speaker.now() + poll)
            problem = self._device_problem()
            if problem is not None:  # stay paused until the device is back
                self.answers.stop_commands()
                if not self.supervisor.recover(problem):
                    break
                self.answers.start_commands()
                limit = speaker.now() + int(MAX_PAUSE_SECONDS * self.rate)
                continue
            answer = self.answers.command(self._elapsed())
            if answer is None:
                continue
            self.emit(ev.Heard(answer.kind, answer.value, answer.text, answer.confidence))
            if answer.kind != "command":
                continue
            result.commands.append(str(answer.value))
            act = commands.action(Moment.SCAN_PAUSED, str(answer.value))
            if act is Action.RESUME:
                carry_on = True
                break
            if act is Action.STOP:
                break
        result.paused_seconds += (speaker.now() - paused_at) / self.rate
        if not carry_on:
            return False
        now = speaker.now()
        self._go_to(core.resume_point(self.timeline, position), now)
        self.set_state(State.PLAYING)
        return True


# -- one whole scan --------------------------------------------------------------------------
@dataclass(frozen=True)
class ScanRequest:
    style: str = core.FULL
    minutes: float | None = None
    """None: the script's default length."""
    focus: tuple[str, ...] = ()
    """Region names or aliases (pre-workout)."""
    plan: str | None = None
    """A plan name or file whose target muscles the pre-workout scan covers."""
    breath: core.Breath | None = None
    checkin: bool = True


@dataclass
class ScanOutcome:
    scan_id: int | None
    status: str
    feeling: str | None
    sore: str | None
    timeline: core.Timeline
    played_seconds: float
    """Speaker-clock seconds from the start chime to the end of the scan (pauses included)."""
    out_seconds: float | None = None
    """Length of the WAV written by --out."""
    style: str = ""


def user_scan_dir(paths: Paths) -> Path:
    """Where a user's own copies of the scan scripts go (they win over the shipped ones)."""
    return paths.data_dir / "scans"


def plan_muscles(plan: str, paths: Paths) -> list[str]:
    """The target muscles of every exercise in ``plan`` (a name or a .toml file)."""
    from coach.core.library import builtin_library
    from coach.core.plans import load_plan

    library = builtin_library()
    loaded = load_plan(plan, library, paths.data_dir / "plans")
    muscles: list[str] = []
    for exercise in loaded.exercises:
        for target in library.exercise(exercise.id).targets:
            if target not in muscles:
                muscles.append(target)
    return muscles


def scan_focus(request: ScanRequest, script: core.Script, paths: Paths) -> list[str]:
    """The regions of a pre-workout scan: --focus, else the plan's muscles, else the default."""
    body = script.body
    focus = body.resolve(request.focus)
    if request.plan:
        muscles = plan_muscles(request.plan, paths)
        from_plan = body.resolve(muscles, strict=False)
        log.info("plan %s works: %s", request.plan, ", ".join(from_plan) or "nothing I can scan")
        focus = body.resolve([*focus, *from_plan])
    return focus


class ScanSession:
    """One scan from planning to the stored check-in, on an open speaker."""

    def __init__(self, settings: Settings, speaker, answers: AnswerSource,
                 events: ev.EventWriter, request: ScanRequest, store: Store | None) -> None:
        self.settings = settings
        self.speaker = speaker
        self.answers = answers
        self.events = events
        self.request = request
        self.store = store
        self.rate = speaker.rate
        self.supervisor = None
        if not isinstance(speaker, OfflineSpeaker):
            from coach.audio.supervise import Supervisor

            self.supervisor = Supervisor(settings.audio, speaker,
                                         getattr(answers, "microphone", None), events)
        user_dir = user_scan_dir(settings.paths)
        self.script = core.load_script(request.style, user_dir)
        self.checkin = core.load_checkin(user_dir)
        self.voice = Voice(settings.speech, self.rate, settings.paths.speech_cache, scene=SCAN)
        self._ahead: dict[str, list[str]] = {}
        self.focus: list[str] = []
        if request.style == core.PRE_WORKOUT:
            self.focus = scan_focus(request, self.script, settings.paths)
        elif request.focus or request.plan:
            raise CoachError("--focus and --plan choose the muscles of a pre-workout scan",
                             "add --style pre-workout, or leave them out", exit_code=2)
        self.minutes = core.check_minutes(request.minutes if request.minutes is not None
                                          else self.script.default_minutes)
        self._sounds = {name: sounds.load_sound(name, self.rate) for name in
                        (sounds.CHIME_START, sounds.CHIME_END, sounds.BREATH_IN,
                         sounds.BREATH_OUT)}

    def plan(self) -> core.Timeline:
        tones = (len(self._sounds[sounds.BREATH_IN]), len(self._sounds[sounds.BREATH_OUT]))
        timeline = core.build(self.script, self.minutes, self.rate,
                              lambda text: len(self.voice.render(text)),
                              len(self._sounds[sounds.CHIME_START]),
                              len(self._sounds[sounds.CHIME_END]), self.focus,
                              self.request.breath, tones)
        log.info("%s, %g min: %s scan, %d round(s), %d lines, pauses %s (%+.2f)",
                 self.script.title, self.minutes, timeline.length, timeline.rounds,
                 len(timeline.lines()), timeline.fit, timeline.fraction)
        if timeline.fit != "exact":
            log.warning("the %s script is %s for %g minutes: its pauses are %s beyond their "
                        "bounds", self.request.style,
                        "long" if timeline.fit == "squeezed" else "short", self.minutes,
                        timeline.fit)
        return timeline

    def _render(self, item: core.Item) -> np.ndarray:
        if item.kind == core.LINE:
            if not isinstance(self.speaker, OfflineSpeaker):  # the next lines, into memory
                self.voice.prepare(self._ahead.get(item.text, ()))
            return self.voice.render(item.text)
        return self._sounds[item.kind]

    def _lines_ahead(self, timeline: core.Timeline, count: int = 3) -> dict[str, list[str]]:
        texts = [item.text for _, item in timeline.lines()]
        return {text: texts[number + 1: number + 1 + count] for number, text in enumerate(texts)}

    def run(self) -> ScanOutcome:
        timeline = self.plan()
        self._ahead = self._lines_ahead(timeline)
        for text in self._checkin_lines():  # rendered now, so the check-in starts at once
            self.voice.render(text)
        scan_id = None
        if self.store is not None:
            scan_id = self.store.start_scan(self.request.style, self.minutes, self.focus)
        status, feeling, sore = STOPPED, None, None
        tones = (len(self._sounds[sounds.BREATH_IN]), len(self._sounds[sounds.BREATH_OUT]))
        player = ScanPlayer(self.speaker, timeline, self._render, self.answers, self.events,
                            tones, self.supervisor)
        try:
            played = player.play()
            status = played.status
            played_seconds = (self.speaker.now() - player.origin) / self.rate
            if status == STOPPED:
                self._stopped_chime()
            elif self.request.checkin:
                feeling, sore = self._check_in(player, scan_id)
        finally:
            if self.store is not None and scan_id is not None:
                self.store.end_scan(scan_id, status, feeling, sore)
        player.set_state(State.DONE if status == COMPLETED else State.STOPPED)
        player.emit(ev.End(status))
        return ScanOutcome(scan_id, status, feeling, sore, played.timeline or timeline,
                           played_seconds, style=self.request.style)

    def _checkin_lines(self) -> list[str]:
        lines = [self.checkin.feeling, self.checkin.feeling_again]
        if self.request.style == core.PRE_WORKOUT:
            lines += [self.checkin.sore, self.checkin.sore_again, self.checkin.thanks_pre_workout]
        else:
            lines.append(self.checkin.thanks)
        return lines

    def _stopped_chime(self) -> None:
        chime = self._sounds[sounds.CHIME_END]
        sound = self.speaker.play(chime, at=self.speaker.now() + int(0.1 * self.rate))
        self.speaker.wait(sound)

    def _recovered(self) -> bool:
        """After a line or a question that failed: True when a device had gone away and
        is back (say it again), False when nothing was wrong or the wait was given up."""
        problem = self.supervisor.problem() if self.supervisor is not None else None
        return problem is not None and self.supervisor.recover(problem)

    def _say(self, player: ScanPlayer, text: str) -> None:
        samples = self.voice.render(text)
        while True:
            at = self.speaker.now() + int(0.15 * self.rate)
            sound = self.speaker.play(samples, at=at, label="line")
            self.speaker.wait_until(at)
            player.emit(ev.Say(text))
            if self.speaker.wait(sound) or not self._recovered():
                return

    def _ask(self, player: ScanPlayer, scan_id: int | None, expect: str, question: str,
             again: str) -> Answer | None:
        """Ask up to three times in all; a command answer ("repeat") asks again; "stop",
        "done" or "skip" give up (the dialogue table's CHECKIN row)."""
        asked = Question(question, expect, again, TYPED_SECONDS
                         if self.answers.engine == "typed" else LISTEN_SECONDS, turns=3)

        def listen(q: Question) -> Answer | None:
            player.emit(ev.Listen(q.expect))
            answer = self.answers.ask(q.expect, q.timeout)
            if answer is None:
                return None
            if answer.kind == "unknown" and not answer.text and self._recovered():
                return device_answer("the microphone was away")
            player.emit(ev.Heard(answer.kind, answer.value, answer.text, answer.confidence))
            if self.store is not None and scan_id is not None:
                self.store.save_scan_answer(scan_id, AnswerRecord(
                    q.expect, answer.kind, answer.value, answer.text,
                    float(answer.confidence), self.answers.engine))
            return answer

        def on_command(answer: Answer) -> bool:
            return commands.action(Moment.CHECKIN, str(answer.value)) is not Action.STOP

        return dialogue_ask(asked, lambda text: self._say(player, text), listen, on_command)

    def _check_in(self, player: ScanPlayer, scan_id: int | None) -> tuple[str | None, str | None]:
        if not self.answers.available:
            log.info("nobody can answer the check-in: it is skipped")
            return None, None
        player.set_state(State.CHECKIN)
        self.speaker.wait_until(self.speaker.now() + int(CHECKIN_QUIET_SECONDS * self.rate))
        lines = self.checkin
        feeling = sore = None
        answer = self._ask(player, scan_id, "feeling", lines.feeling, lines.feeling_again)
        if answer is not None and answer.kind == "feeling":
            feeling = str(answer.value)
        asked_sore = False
        if self.request.style == core.PRE_WORKOUT and answer is not None:
            asked_sore = True
            answer = self._ask(player, scan_id, "sore", lines.sore, lines.sore_again)
            if answer is not None and answer.kind == "where" and answer.value:
                sore = str(answer.value)
        player.emit(ev.CheckIn(feeling, sore))
        if feeling is not None or asked_sore:
            if sore:
                self._say(player, lines.sore_noted.format(region=sore))
            self._say(player, lines.thanks_pre_workout if self.request.style == core.PRE_WORKOUT
                      else lines.thanks)
        return feeling, sore


def run_scan(settings: Settings, speaker, answers: AnswerSource, events: ev.EventWriter,
             request: ScanRequest, store: bool = True) -> ScanOutcome:
    """Plan and play one scan on an open speaker, then check in and store it.

    For ``coach device`` (issue 9): pass its open ``Speaker`` and a spoken answer source.
    """
    history = Store(settings.paths.database) if store else None
    try:
        return ScanSession(settings, speaker, answers, events, request, history).run()
    finally:
        if history is not None:
            history.close()


def render_scan(settings: Settings, request: ScanRequest, out: Path,
                answers: AnswerSource | None = None,
                events: ev.EventWriter | None = None) -> ScanOutcome:
    """``--out``: the whole scan on the virtual clock, written to a WAV (no sound card).

    Without ``answers`` there is no check-in and nothing is stored; with a script of
    answers the check-in is rendered too and the scan is stored.
    """
    speaker = OfflineSpeaker(settings.audio.output_rate)
    scripted = answers is not None
    request = ScanRequest(request.style, request.minutes, request.focus, request.plan,
                          request.breath, checkin=request.checkin and scripted)
    outcome = run_scan(settings, speaker, answers or NoAnswers(), events or ev.EventWriter(None),
                       request, store=scripted)
    try:
        outcome.out_seconds = speaker.save(out)
    except OSError as error:
        raise CoachError(f"cannot write {out} ({error.strerror})",
                         "pick a folder you can write to", exit_code=2) from None
    return outcome


def summary_line(outcome: ScanOutcome, out: Path | None = None) -> str:
    """One JSON line for stdout: what was played and what was answered."""
    record = {"scan": outcome.scan_id, "status": outcome.status,
              "style": outcome.style, "minutes": round(outcome.timeline.seconds / 60, 3),
              "played_seconds": round(outcome.played_seconds, 2),
              "length": outcome.timeline.length, "rounds": outcome.timeline.rounds,
              "fit": outcome.timeline.fit, "feeling": outcome.feeling, "sore": outcome.sore}
    if out is not None:
        record["out"] = str(out)
        record["out_seconds"] = round(outcome.out_seconds or 0.0, 3)
    return json.dumps(record)


# -- the hearing side ------------------------------------------------------------------------
def wav_decoder(settings: Settings, engine: str, model: str | None
                ) -> Callable[[Path, str], Answer]:
    """decode(path, expect) for WAV lines of an answers file; the recognizer opens on first use."""
    opened: list = []

    def decode(path: Path, expect: str) -> Answer:
        if not opened:
            opened.append(open_recognizer(settings, engine, model))
        return opened[0].decode_wav(path, expect)

    return decode


class SpokenAnswers(AnswerSource):
    """Commands and answers by voice: the hearing module's recognizer on the microphone.

    While the scan plays, a ``BackgroundListener`` hears commands only (the command
    grammar); at the check-in, the microphone is flushed (the coach's own voice) and the
    recognizer listens for one answer of the expected kind.
    """

    def __init__(self, recognizer, microphone, owns_microphone: bool = True) -> None:
        self.recognizer = recognizer
        self.microphone = microphone
        self.engine = str(getattr(recognizer, "name", "speech"))
        self._owns = owns_microphone
        self._listener = None

    def start_commands(self) -> None:
        from coach.hearing import BackgroundListener

        self.microphone.flush()
        self._listener = BackgroundListener(self.recognizer, self.microphone, "command").start()

    def stop_commands(self) -> None:
        if self._listener is not None:
            self._listener.stop()
            self._listener = None

    def command(self, elapsed: float) -> Answer | None:
        return self._listener.poll() if self._listener is not None else None

    def ask(self, expect: str, timeout: float) -> Answer | None:
        self.microphone.flush()
        return self.recognizer.listen(self.microphone, expect, timeout)

    def close(self) -> None:
        self.stop_commands()
        if self._owns:
            self.microphone.close()


def open_recognizer(settings: Settings, engine: str, model: str | None):
    try:
        from coach.hearing import open_recognizer as open_it
    except ImportError:
        from coach.errors import MissingPart

        raise MissingPart("speech recognition (coach.hearing) is not available",
                          "use --typed, or --answers FILE with the words") from None
    return open_it(engine, settings.paths, model)


def spoken_answers(settings: Settings, engine: str, model: str | None) -> SpokenAnswers:
    """Open the recognizer and the microphone for a spoken scan."""
    from coach.audio.engine import Microphone

    recognizer = open_recognizer(settings, engine, model)
    log.info("listening with %s", getattr(recognizer, "name", engine))
    return SpokenAnswers(recognizer, Microphone(settings.audio).start())


def run_live(settings: Settings, request: ScanRequest, events: ev.EventWriter, typed: bool = False,
             answers_file: Path | None = None, engine: str = "auto",
             model: str | None = None) -> ScanOutcome:
    """``coach scan`` on the speaker: answers typed, scripted, or (default) spoken."""
    from coach.audio.engine import Speaker

    if typed:
        answers: AnswerSource = TypedAnswers()
    elif answers_file is not None:
        answers = ScriptedAnswers(answers_file, wav_decoder(settings, engine, model))
    else:
        answers = spoken_answers(settings, engine, model)
    try:
        with Speaker(settings.audio) as speaker:
            outcome = run_scan(settings, speaker, answers, events, request)
            # let the device's own buffer drain before the stream closes
            speaker.wait_until(speaker.now() + speaker.samples(speaker.output_latency + 0.1))
    finally:
        answers.close()
    return outcome
