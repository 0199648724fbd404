"""The coaching session: the hands-free set loop that joins the pure core and the devices.

For every set of the plan the loop moves through an explicit ``State``::

    ANNOUNCING  exercise, set n of N, load, rep target, tempo, then the chosen cue
    READY       "Ready?" (a moment to get in position; a command is heard, silence starts)
    COUNTING    the metronome counts the tempo for the top of the rep range; "done" or
                "stop" end it early, "pause" pauses it, "slower"/"faster" change it
    ASKING      "How many reps?", "Did you feel it in your biceps?" (a place named
                instead is a "where" answer); an unclear answer is asked again at most
                ``retries`` times, then the plan's values are kept and the coach says so
    ADAPTING    the next load, tempo and cue (coach.core.adapt), committed with the set
                and its answers in one transaction, then said in one short sentence
    RESTING     the plan's rest with a spoken countdown near its end
    PAUSED      until "resume"
    DONE

Commands work at every prompt, during a set and during rest: pause / resume, repeat,
skip (the set) / skip exercise, stop (end and save), slower / faster (eccentric
+/- 1 s). What a command does is looked up for the state (``control.action``) and
carried out in one place (``Session._obey``). The answers come from an ``AnswerSource``
(microphone, keyboard or script, see ``coach.dialogue.sources``), so the loop is the
same for all three. What is said comes from ``coach.workout.lines``; the sets waiting
for the disk are ``coach.workout.saving``'s; a lost device, ``coach.workout.lost``'s.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, replace
from typing import IO

from coach.audio.engine import Playback
from coach.core import adapt
from coach.core.answers import Answer
from coach.core.library import Exercise, Library
from coach.core.plans import Plan, PlanExercise
from coach.core.tempo import parse_tempo
from coach.dialogue.ask import DEVICE, command_heard, device_answer
from coach.dialogue.commands import Action
from coach.dialogue.sources import NOTICE, AnswerSource
from coach.events import (
    COMPLETED,
    INTERRUPTED,
    STOPPED,
    Adapt,
    End,
    EventWriter,
    Heard,
    Listen,
    Say,
    StateChanged,
)
from coach.store import AnswerRecord, DecisionRecord, LoggedSet, Store, now_iso
from coach.workout import barge_in, control, lines
from coach.workout.ahead import Ahead
from coach.workout.asking import answers
from coach.workout.control import DeviceLost, Leave, SkipExercise, SkipSet, Stop
from coach.workout.counting import count
from coach.workout.deciding import Deciding, read_sore, spoken_summary
from coach.workout.lines import opening_line
from coach.workout.lost import Lost
from coach.workout.resting import rest
from coach.workout.saving import Saving
from coach.workout.state import ExerciseProgress, Progress, SessionSettings, State

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SessionResult:
    session_id: int
    status: str
    """completed | stopped | interrupted."""
    sets_saved: int
    unsaved: int
    """Sets still not in the database at the end (only if the disk never recovered)."""
    rendered_seconds: float | None = None
    """With an offline speaker (--out): the length of the WAV written."""


class Session:
    """One run of a plan. Build it, call ``run()``; everything it needs is passed in,
    wall time too (``clock``: ISO time stamps of the sets)."""

    def __init__(self, *, plan: Plan, library: Library, store: Store, speaker: Playback,
                 voice, source: AnswerSource, events: EventWriter | None = None,
                 settings: SessionSettings | None = None, metronome=None,
                 resume: dict | None = None, transcript: IO[str] | None = None,
                 rng: random.Random | None = None, supervisor=None,
                 clock: Callable[[], str] = now_iso) -> None:
        self.plan, self.library, self.store = plan, library, store
        self.speaker, self.voice, self.source = speaker, voice, source
        self.events = events or EventWriter(None)
        self.settings = settings = settings or SessionSettings()
        self.transcript = transcript
        self.rng = rng or random.Random(settings.seed)
        self.clock = clock
        if metronome is None:
            from coach.workout.metronome import Metronome

            metronome = Metronome(speaker, voice=voice, events=self.events,
                                  words=settings.phase_words, numbers=settings.rep_numbers,
                                  track_time=False)
        self.metronome = metronome
        self.lost = Lost(self, supervisor)
        self.ahead = Ahead(self)
        self.state = State.ANNOUNCING
        self.last_instruction = ""
        self._exercise: Exercise | None = None
        """The exercise "slower" and "faster" change (in a rest: the next one)."""
        self.paused = 0
        """Speaker samples spent paused so far (a rest's clock stops meanwhile)."""
        self.watching: barge_in.Shared | None = None
        """The command watch a part keeps open while it also says lines (the rest)."""
        self._announced: set[str] = set()
        self._resume = resume
        if resume is not None:
            self.session_id = int(resume["id"])
            self.progress = Progress.from_json(resume["state"])
        else:
            self.progress = Progress(plan.key, plan.source, plan.text)
            self.session_id = store.start_session(plan.key, plan.unit, self.progress.to_json())
        self.saving = Saving(store, self.session_id, self.events, self.say)
        self.deciding = Deciding(plan, library, store, self.rng, read_sore(store))

    @property
    def supervisor(self):
        """A ``coach.audio.supervise.Supervisor`` for a live speaker (None: offline)."""
        return self.lost.supervisor

    @supervisor.setter
    def supervisor(self, supervisor) -> None:
        self.lost.supervisor = supervisor

    # -- small services -----------------------------------------------------------------
    def _enter(self, state: State) -> None:
        self.state = state
        self.events.emit(StateChanged(state=state.value))

    def say(self, text: str, instruction: bool = False) -> None:
        """Speak ``text`` and return when it has been heard (sample clock + device latency).

        A line the speaker could not finish (unplugged) waits for the speaker to come back
        and is said again; a line that merely timed out is reported and skipped."""
        if not text:
            return
        if instruction:
            self.last_instruction = text
        while not self.speak(text):
            problem = self.lost.problem()
            if problem is None:
                log.warning("coach: the line %r did not finish playing", text[:40])
                return
            self.lost.recover(problem)
        latency = self.speaker.output_latency
        if latency > 0:
            self.speaker.wait_until(self.speaker.now() + self.speaker.samples(latency))

    def speak(self, text: str) -> bool:
        """Say ``text`` once (a ``say`` event, the transcript); False: it did not finish.
        "pause" or "stop" heard over the line (barge-in, ``barge_in.play_line``) cuts it and
        is carried out by ``_obey``; a line cut by a pause is said again on resume, and a
        line stopped for the athlete's voice with no command after it is said again."""
        yielding = True
        while True:
            self.events.emit(Say(text=text))
            if self.transcript is not None:
                print(f"coach: {text}", file=self.transcript, flush=True)
            played = barge_in.play_line(self, self.speaker.play(self.voice.render(text),
                                                                 label="say"),
                                         yielding, text)
            if played is barge_in.AGAIN:  # stopped for the athlete, no command: again
                yielding = False
                continue
            if not isinstance(played, Action):
                return played
            self._obey(played)  # STOP raises; PAUSE returns on "resume"

    def _record(self, answer: Answer, expect: str, loose: bool = False) -> None:
        self.events.emit(Heard(kind=answer.kind, value=answer.value, text=answer.text,
                               confidence=round(float(answer.confidence), 3)))
        if answer.text or answer.kind != "unknown":  # else silence: nothing was heard
            self.saving.hear(AnswerRecord(expect, answer.kind, answer.value, answer.text,
                                          float(answer.confidence), self.source.engine), loose)

    def listen(self, expect: str, recognizer_expect: str | None = None,
               timeout: float | None = None, optional: bool = False) -> Answer:
        """Open the microphone (or read a line) for one answer; write listen/heard events."""
        answer = self.source.listen(
            recognizer_expect or expect,
            self.settings.answer_seconds if timeout is None else timeout,
            lambda: self.events.emit(Listen(expect=expect)),
            optional=optional)
        notice = answer.details.get(NOTICE)
        if notice:  # hearing changed (a server stopped answering): said once, then on
            self.say(notice)
        problem = self.lost.problem() if answer.kind == "unknown" else None
        if problem is not None:  # nobody could be heard: not an unclear answer
            self.lost.recover(problem)
            return device_answer(problem)
        if not optional or answer.kind == "command":
            self._record(answer, expect, loose=optional or self.state in (State.RESTING,
                                                                          State.PAUSED))
        return answer

    # -- commands -------------------------------------------------------------------------
    def _command(self, answer: Answer) -> Answer:
        """``answer``, or the command it may be, checked aloud ("Carry on, right?")."""
        return command_heard(answer, self.say, lambda q: self.listen(
            q.expect, q.listen_expect, q.timeout), self.settings.answer_seconds)

    def _action(self, answer: Answer) -> Action:
        """What a command does now: the dialogue table at the state's moment."""
        return control.action(self.state, str(answer.value))

    def _obey(self, act: Action) -> None:
        """Carry out ``act`` now: pause, repeat, slower and faster here; an action that
        leaves the moment raises its ``control`` exception (``control.LEAVING``)."""
        leaving = control.LEAVING.get(act)
        if leaving is not None:
            raise leaving(act)
        if act is Action.PAUSE:
            self._pause()
        elif act is Action.REPEAT:
            self.say(lines.PAUSED if self.state is State.PAUSED else self.last_instruction)
        elif act in (Action.SLOWER, Action.FASTER) and self._exercise is not None:
            self._change_tempo(act.value, self._exercise)

    def _pause(self) -> None:
        before, started = self.state, self.speaker.now()
        if self.watching is not None:  # the pause listens itself: one listener at a time
            self.watching.suspend()
        self._enter(State.PAUSED)
        self.say(lines.PAUSED)
        try:
            while True:
                answer = self._command(self.listen(
                    "command", timeout=self.settings.pause_listen_seconds))
                if answer.kind == "command":
                    self._obey(self._action(answer))
        except Leave:
            pass
        self._enter(before)
        self.say(lines.RESUMING)
        self.paused += self.speaker.now() - started

    def _change_tempo(self, command: str, exercise: Exercise) -> None:
        """Slower or faster: said at a prompt or in a rest, set on the metronome in a set."""
        progress = self.progress.exercises[exercise.id]
        new = adapt.slower(progress.tempo) if command == "slower" else adapt.faster(progress.tempo)
        self._set_progress(exercise.id, replace(progress, tempo=new))
        if self.state is State.COUNTING:
            self.metronome.set_tempo(parse_tempo(new))
        else:
            self.say(lines.tempo_change(command, progress.tempo, new))

    # -- progress -----------------------------------------------------------------------
    def _set_progress(self, exercise_id: str, progress: ExerciseProgress) -> None:
        self.progress = self.progress.with_exercise(exercise_id, progress)

    def _prepare_exercise(self, item: PlanExercise, exercise: Exercise) -> list[str]:
        """Today's starting values for an exercise (once); the lines that explain them."""
        progress, notes = self.deciding.start_of_day(item, exercise,
                                                     self.progress.exercises.get(item.id))
        self._set_progress(item.id, progress)
        return notes

    def _next_position(self, index: int, set_number: int) -> tuple[int, int]:
        if set_number < self.plan.exercises[index].sets:
            return index, set_number + 1
        return index + 1, 1

    def lines_of_plan(self) -> list[str]:
        """Every line the plan is likely to say from here, for ``--prepare``."""
        return self.ahead.plan()

    # -- the set ------------------------------------------------------------------------
    def _announce(self, item: PlanExercise, exercise: Exercise, set_number: int,
                  first: bool, notes: list[str]) -> None:
        self._enter(State.ANNOUNCING)
        progress = self.progress.exercises[item.id]
        if first:
            for text in (lines.exercise_line(exercise),
                         lines.warmup_line(exercise, self.settings), *notes):
                self.say(text)
        line = lines.set_line(item, exercise, set_number, progress, self.plan.unit)
        cue = lines.cue_line(self.library, progress)
        self.say(line)
        self.last_instruction = f"{line} {cue}" if cue else line
        self.say(cue)

    def _ready(self) -> None:
        self._enter(State.READY)
        while True:
            self.say(lines.READY)
            answer = self._command(self.listen("command", timeout=self.settings.ready_seconds,
                                               optional=True))
            if answer.details.get(DEVICE):
                continue
            if answer.kind != "command":
                return
            try:
                self._obey(self._action(answer))
            except Leave:
                return

    def _adapt(self, item: PlanExercise, exercise: Exercise, set_number: int, started: str,
               answers: tuple[int | None, bool | None, str | None],
               next_position: tuple[int, int]) -> None:
        self._enter(State.ADAPTING)
        reps, felt, where = answers
        progress = self.progress.exercises[item.id]
        decision = self.deciding.after_set(item, exercise, progress, reps, felt, where)
        logged = LoggedSet(self.session_id, item.id, set_number, progress.load, self.plan.unit,
                           reps, felt, where, progress.cue, progress.tempo, started, self.clock())
        self._set_progress(item.id, replace(
            progress, load=decision.next_load, tempo=decision.next_tempo, cue=decision.next_cue,
            failed_cue=progress.cue if felt is False else None, where=where))
        self.progress = self.progress.at(*next_position)
        self.saving.commit(logged, DecisionRecord(item.id, decision.next_load,
                                                  decision.next_cue, decision.next_tempo,
                                                  decision.reason), self.progress.to_json())
        self.events.emit(Adapt(exercise=item.id, next_load=decision.next_load,
                               next_cue=decision.next_cue, next_tempo=decision.next_tempo,
                               reason=decision.reason))
        self.say(decision.reason, instruction=True)

    def _log_skipped(self, item: PlanExercise, set_number: int, started: str,
                     next_position: tuple[int, int]) -> None:
        progress = self.progress.exercises[item.id]
        logged = LoggedSet(self.session_id, item.id, set_number, progress.load, self.plan.unit,
                           None, None, None, progress.cue, progress.tempo, started,
                           self.clock(), skipped=True)
        self.progress = self.progress.at(*next_position)
        self.saving.commit(logged, None, self.progress.to_json())

    # -- the whole session ----------------------------------------------------------------
    def run(self) -> SessionResult:
        try:
            status = self._run()
        except Stop:
            status = STOPPED
        except KeyboardInterrupt:
            status = INTERRUPTED
        except BaseException:
            # a device or a bug: save what is waiting, keep the session resumable, report
            self._finish(INTERRUPTED)
            raise
        self._finish(status)
        return SessionResult(self.session_id, status, self.saving.sets_saved,
                             len(self.saving.pending))

    def _run(self) -> str:
        with suppress(Leave):  # "next" while the session opens: on to the first set
            self._open()
        after = None
        while self.progress.exercise_index < len(self.plan.exercises):
            after = self._next_set(after)
        return COMPLETED

    def _open(self) -> None:
        """Welcome back to a resumed session, or open a new one."""
        plan, progress = self.plan, self.progress
        if self._resume is None:
            if plan.exercises:
                first = plan.exercises[0]
                self.ahead.prepare(self.ahead.set_lines(
                    first, self.library.exercise(first.id), 1, announce=True))
            self.say(opening_line(plan))
        elif progress.exercise_index < len(plan.exercises):
            item = plan.exercises[progress.exercise_index]
            exercise = self.library.exercise(item.id)
            if progress.cut is not None:  # killed while a device was away
                self.say(self.lost.carry_on(item, exercise, progress.cut.done,
                                            lines.WELCOME_BACK).line, instruction=True)
            else:
                self.say(lines.welcome_back(progress.set_number, exercise))

    def _next_set(self, rest_after: PlanExercise | None) -> PlanExercise | None:
        """The rest after the set of ``rest_after`` (None: no rest), then the set the
        progress points at; returns the exercise whose rest comes next."""
        index, number = self.progress.exercise_index, self.progress.set_number
        item = self.plan.exercises[index]
        self._exercise = exercise = self.library.exercise(item.id)
        first = number == 1 or item.id not in self._announced
        notes = self._prepare_exercise(item, exercise)
        self._announced.add(item.id)
        next_position = self._next_position(index, number)
        cut = self.progress.cut  # this set, cut by a lost device (here or before --resume)
        started = self.clock() if cut is None else cut.started
        try:
            if rest_after is not None:
                seconds = self.settings.rest(rest_after.rest)
                self.ahead.prepare([lines.rest_line(seconds), *self.ahead.set_lines(
                    item, exercise, number, first, decisions=True)])
                rest(self, seconds)
            if cut is not None:  # where it carries on was said on the way back
                if self.lost.carry_on(item, exercise, cut.done).left:
                    self._ready()
                    count(self, item, exercise, cut.done)
            else:
                self.ahead.prepare(notes + self.ahead.set_lines(item, exercise, number, first))
                try:
                    self._announce(item, exercise, number, first, notes)
                    self._ready()
                except Leave:  # "next" while the set is announced: it starts now
                    pass
                started = self.clock()
                count(self, item, exercise)
            self._adapt(item, exercise, number, started, answers(self, exercise),
                        next_position)
            return item
        except SkipSet:
            self.say(lines.skipping_set(number))
            self._log_skipped(item, number, started, next_position)
        except SkipExercise:
            self.say(lines.skipping_exercise(exercise))
            self._log_skipped(item, number, started, (index + 1, 1))
        except DeviceLost as lost:
            self.lost.back_after(lost, started)
        return None

    def _finish(self, status: str) -> None:
        self._enter(State.DONE)
        saved = self.saving.flush()
        if status == INTERRUPTED:
            self.saving.save_loose()
            log.info("coach: interrupted; `coach session --resume` carries on at the next set")
            self.events.emit(End(status=STOPPED))
            return
        try:
            self.say(lines.WHOLE_SESSION if status == COMPLETED else lines.STOPPING)
            if self.settings.summary and self.saving.sets_saved:
                self.say(spoken_summary(self.store, self.session_id) or "")
        finally:
            self.saving.save_loose()
            self.saving.end(status, self.progress.to_json(), saved)
            self.events.emit(End(status=status))
