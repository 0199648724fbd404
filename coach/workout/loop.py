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
+/- 1 s). The answers come from an ``AnswerSource`` (microphone, keyboard or script,
see ``coach.dialogue.sources``), so the loop is the same for all three.

A set that cannot be saved (full disk, locked database) is kept in memory, retried
after each set and at the end, and the coach says so in one line; nothing answered is
dropped while the process lives.
"""

from __future__ import annotations

import json
import logging
import random
import sqlite3
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import IO

from coach.core import adapt
from coach.core.adapt import SetOutcome, load_words
from coach.core.answers import Answer
from coach.core.library import Exercise, Library
from coach.core.plans import Plan, PlanExercise
from coach.core.tempo import parse_tempo
from coach.dialogue import commands
from coach.dialogue.ask import DEVICE, Question, check_line, device_answer
from coach.dialogue.ask import ask as dialogue_ask
from coach.dialogue.commands import Action, Moment
from coach.dialogue.sources import AnswerSource
from coach.errors import CoachError, DeviceError
from coach.events import (
    COMPLETED,
    INTERRUPTED,
    STOPPED,
    Adapt,
    End,
    EventWriter,
    Heard,
    Listen,
    Rest,
    Say,
    SetLogged,
    StateChanged,
)
from coach.store import AnswerRecord, DecisionRecord, LoggedSet, Store, StoreError, now_iso
from coach.workout.state import (
    CarryOn,
    ExerciseProgress,
    Progress,
    SessionSettings,
    State,
    carry_on,
)

log = logging.getLogger(__name__)



#: Where a line is watched for a command while it plays (barge-in), and what it does.
#: (Not the rest: its countdown is said while the rest's own watch listens.)
BARGE_IN_STATES = frozenset({State.ANNOUNCING, State.ADAPTING})
BARGE_IN = {"pause": Action.PAUSE, "stop": Action.STOP}
#: How often (seconds of the speaker clock) a playing line looks for a command.
BARGE_IN_POLL_SECONDS = 0.02

#: Said when the microphone goes away while the speaker still works.
MICROPHONE_GONE = "I can't hear you: the microphone is gone. I'll wait for it."


class _SkipSet(Exception):
    pass


class _SkipExercise(Exception):
    pass


class _Stop(Exception):
    pass


class _DeviceLost(Exception):
    """The speaker or the microphone went away during a set or a rest."""

    def __init__(self, problem: str, done: int | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.done = done
        """Reps (seconds) counted in the set that was cut; None: lost during a rest."""




@dataclass
class _PendingSet:
    """A set waiting to be committed (normally for a few milliseconds)."""

    logged: LoggedSet
    answers: list[AnswerRecord]
    decision: DecisionRecord | None
    state: dict
    loose: list[AnswerRecord]
    reported: bool = False


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


def tempo_words(tempo_text: str) -> str:
    """'3-1-2-0' -> 'down in 3, hold 1, up in 2'."""
    tempo = parse_tempo(tempo_text)
    parts = ["drop fast" if tempo.eccentric is None
             else f"down in {adapt.number(tempo.eccentric)}"]
    if tempo.bottom:
        parts.append(f"hold {adapt.number(tempo.bottom)}")
    parts.append("explode up" if tempo.concentric is None
                 else f"up in {adapt.number(tempo.concentric)}")
    if tempo.top:
        parts.append(f"squeeze {adapt.number(tempo.top)}")
    return ", ".join(parts)


def opening_line(plan: Plan) -> str:
    """The first line of a session (rendered while the session is set up)."""
    exercises, sets = len(plan.exercises), plan.total_sets
    return (f"{plan.name}. {exercises} exercise{'s' * (exercises != 1)}, "
            f"{sets} set{'s' * (sets != 1)}. Say pause, repeat, skip or stop at any time.")


class Session:
    """One run of a plan. Build it, call ``run()``; everything it needs is passed in."""

    def __init__(self, *, plan: Plan, library: Library, store: Store, speaker, voice,
                 source: AnswerSource, events: EventWriter | None = None,
                 settings: SessionSettings | None = None, metronome=None,
                 resume: dict | None = None, transcript: IO[str] | None = None,
                 rng: random.Random | None = None, supervisor=None) -> None:
        self.plan = plan
        self.library = library
        self.store = store
        self.speaker = speaker
        self.voice = voice
        self.source = source
        self.events = events or EventWriter(None)
        self.settings = settings = settings or SessionSettings()
        self.transcript = transcript
        self.rng = rng or random.Random(settings.seed)
        if metronome is None:
            from coach.workout.metronome import Metronome

            metronome = Metronome(speaker, voice=voice, events=self.events,
                                  words=settings.phase_words, numbers=settings.rep_numbers,
                                  track_time=False)
        self.metronome = metronome
        self.supervisor = supervisor
        """A ``coach.audio.supervise.Supervisor`` for a live speaker (None: offline)."""
        self._lost: str | None = None
        """What went away in the middle of the set being played."""
        self.state = State.ANNOUNCING
        self.last_instruction = ""
        self.pending: list[_PendingSet] = []
        self.loose_answers: list[AnswerRecord] = []
        self.set_answers: list[AnswerRecord] = []
        self.sets_saved = 0
        self._skip_next: type[Exception] | None = None
        """A skip said during the rest, applied to the set that follows it."""
        self._announced: set[str] = set()
        self._resume = resume
        if resume is not None:
            self.session_id = int(resume["id"])
            self.progress = Progress.from_json(resume["state"])
        else:
            self.progress = Progress(plan.key, plan.source, plan.text)
            self.session_id = store.start_session(plan.key, plan.unit, self.progress.to_json())
        self.sore = self._read_sore()

    # -- small services -----------------------------------------------------------------
    def _read_sore(self) -> str | None:
        try:
            return self.store.sore_today()
        except sqlite3.Error as error:  # an unreadable scan must not stop a workout
            log.warning("coach: could not read today's body scan (%s)", error)
            return None

    def _enter(self, state: State) -> None:
        self.state = state
        self.events.emit(StateChanged(state=state.value))

    def _device_problem(self) -> str | None:
        return self.supervisor.problem() if self.supervisor is not None else None

    def _recover(self, problem: str) -> None:
        """Pause until the missing device is back (one event, a retry every few seconds).
        A lost microphone is said while the speaker still plays: a lifter alone would
        otherwise hear the count stop for no reason."""
        if not self.supervisor.recover(problem, self._tell_lost):
            raise _Stop

    def _tell_lost(self, device: str) -> None:
        """Say once that the microphone went (not the speaker: nothing would be heard);
        a speaker that fails meanwhile is the supervisor's to wait for."""
        if device != "microphone" or not getattr(self.speaker, "active", False):
            return
        text = MICROPHONE_GONE
        self.events.emit(Say(text=text))
        if self.transcript is not None:
            print(f"coach: {text}", file=self.transcript, flush=True)
        self.speaker.wait(self.speaker.play(self.voice.render(text), label="say"))

    def say(self, text: str, instruction: bool = False) -> None:
        """Speak ``text`` and return when it has been heard (sample clock + device latency).

        A line the speaker could not finish (unplugged) waits for the speaker to come back
        and is said again; a line that merely timed out is reported and skipped."""
        if not text:
            return
        if instruction:
            self.last_instruction = text
        while True:
            self.events.emit(Say(text=text))
            if self.transcript is not None:
                print(f"coach: {text}", file=self.transcript, flush=True)
            sound = self.speaker.play(self.voice.render(text), label="say")
            played = self._play_line(sound)
            if played is Action.PAUSE:
                self._pause()
                continue  # the line that was cut is said again
            if played:
                break
            problem = self._device_problem()
            if problem is None:
                log.warning("coach: the line %r did not finish playing", text[:40])
                return
            self._recover(problem)
        latency = float(getattr(self.speaker, "output_latency", 0.0) or 0.0)
        if latency > 0:
            self.speaker.wait_until(self.speaker.now() + self.speaker.samples(latency))

    def _play_line(self, sound) -> bool | Action:
        """Wait for a line to play. In the announcement and the decision after a set,
        "pause" and "stop" are heard over it (barge-in): the line is cut where
        the command was understood, and PAUSE is returned (STOP raises). A line before a
        question is not watched, so an answer begun over it is left for ``listen``."""
        if self.state not in BARGE_IN_STATES or getattr(self.speaker, "offline", False):
            return self.speaker.wait(sound)
        watch = self.source.watch()
        step = self.speaker.samples(BARGE_IN_POLL_SECONDS)
        try:
            while True:
                end = sound.end
                now = self.speaker.now()
                if end is not None and now >= end:
                    return True
                if not self.speaker.wait_until(now + step if end is None else
                                               min(end, now + step)):
                    return self.speaker.wait(sound, timeout=0.0)
                answer = watch.poll()
                if answer is None or answer.kind != "command":
                    continue
                self._record(answer, "command", loose=True)
                act = BARGE_IN.get(str(answer.value))
                if act is None:
                    continue
                at = self.speaker.cut(sound)
                log.info("coach: %s heard over the line; cut at %.2f s of it", act,
                         (at - (sound.start or at)) / self.speaker.rate)
                if act is Action.STOP:
                    raise _Stop
                return act
        finally:
            watch.close()

    def _record(self, answer: Answer, expect: str, loose: bool = False) -> None:
        self.events.emit(Heard(kind=answer.kind, value=answer.value, text=answer.text,
                               confidence=round(float(answer.confidence), 3)))
        if not answer.text and answer.kind == "unknown":
            return  # silence: nothing was heard
        record = AnswerRecord(expect, answer.kind, answer.value, answer.text,
                              float(answer.confidence), self.source.engine)
        (self.loose_answers if loose else self.set_answers).append(record)

    def listen(self, expect: str, recognizer_expect: str | None = None,
               timeout: float | None = None, optional: bool = False) -> Answer:
        """Open the microphone (or read a line) for one answer; write listen/heard events."""
        answer = self.source.listen(
            recognizer_expect or expect,
            self.settings.answer_seconds if timeout is None else timeout,
            lambda: self.events.emit(Listen(expect=expect)),
            optional=optional)
        problem = self._device_problem() if answer.kind == "unknown" else None
        if problem is not None:  # nobody could be heard: not an unclear answer
            self._recover(problem)
            return device_answer(problem)
        if not optional or answer.kind == "command":
            self._record(answer, expect, loose=optional or self.state in (State.RESTING,
                                                                          State.PAUSED))
        return answer

    # -- commands -----------------------------------------------------------------------
    def _pause(self) -> None:
        before = self.state
        self._enter(State.PAUSED)
        self.say("Paused. Say resume when you're ready.")
        while True:
            answer = self.listen("command", timeout=self.settings.pause_listen_seconds)
            if answer.kind != "command":
                continue
            act = self._action(answer)
            if act is Action.RESUME:
                break
            if act is Action.STOP:
                raise _Stop
            if act is Action.REPEAT:
                self.say("Paused. Say resume when you're ready.")
        self._enter(before)
        self.say("Resuming.")

    def _change_tempo(self, command: str, exercise: Exercise, speak: bool = True) -> str:
        progress = self.progress.exercises[exercise.id]
        new = adapt.slower(progress.tempo) if command == "slower" else adapt.faster(progress.tempo)
        self._set_progress(exercise.id, replace(progress, tempo=new))
        if speak:
            if new == progress.tempo:
                self.say(f"The lowering stays at {adapt.number(parse_tempo(new).eccentric or 1)}"
                         " seconds.")
            else:
                self.say(f"{command.capitalize()}: {tempo_words(new)}.")
        return new

    def _action(self, answer: Answer) -> Action:
        """What a command does now: the dialogue table, looked up by the session's state."""
        return commands.action(Moment(self.state.value), str(answer.value))

    def _command(self, answer: Answer, exercise: Exercise) -> Action:
        """A command heard at a prompt (not during a set): carried out, and returned."""
        act = self._action(answer)
        if act is Action.PAUSE:
            self._pause()
        elif act is Action.REPEAT:
            if self.last_instruction:
                self.say(self.last_instruction)
        elif act is Action.SKIP_SET:
            raise _SkipSet
        elif act is Action.SKIP_EXERCISE:
            raise _SkipExercise
        elif act is Action.STOP:
            raise _Stop
        elif act in (Action.SLOWER, Action.FASTER):
            self._change_tempo(str(answer.value), exercise)
        return act

    def ask(self, question: str, expect: str, recognizer_expect: str,
            accept: Callable[[Answer], bool], exercise: Exercise) -> Answer | None:
        """Ask until an accepted answer, at most 1 + retries unclear ones; None: unclear.
        A command is carried out (skip and stop leave), then the question is asked again.
        A likely guess is checked aloud (``check_line``) before it is taken."""
        asked = Question(question, expect, f"Sorry, I didn't catch that. {question}",
                         self.settings.answer_seconds, accept, self.settings.retries,
                         listen_expect=recognizer_expect,
                         confirm=lambda guess: check_line(guess, exercise.isometric))

        def on_command(answer: Answer) -> bool:
            self._command(answer, exercise)
            return True

        return dialogue_ask(asked, self.say,
                            lambda q: self.listen(q.expect, q.listen_expect, q.timeout),
                            on_command)

    # -- progress -----------------------------------------------------------------------
    def _set_progress(self, exercise_id: str, progress: ExerciseProgress) -> None:
        self.progress = self.progress.with_exercise(exercise_id, progress)

    def _prepare_exercise(self, item: PlanExercise, exercise: Exercise) -> list[str]:
        """Today's starting values for an exercise (once): ``adapt.start_of_day`` decides
        the load; returns the lines that explain it."""
        current = self.progress.exercises.get(item.id)
        if current is not None and current.adjusted:
            return []
        unit = self.plan.unit
        increment = exercise.increment_for(unit)
        recent = self.store.recent_sets(item.id, unit) if self.plan.connection else []
        today = adapt.start_of_day(exercise, item.load if current is None else current.load,
                                   unit, increment, self.sore, self.plan.connection, recent)
        cue = current.cue if current is not None else None
        if cue is None:
            choice = adapt.choose_cue(exercise, self.library.cues_for(item.id),
                                      self.store.cue_stats(item.id), self.rng)
            cue = choice.cue.id
        self._set_progress(item.id, ExerciseProgress(
            load=today.load, tempo=item.tempo if current is None else current.tempo, cue=cue,
            adjusted=True))
        return list(today.notes)

    def _next_position(self, index: int, set_number: int) -> tuple[int, int]:
        if set_number < self.plan.exercises[index].sets:
            return index, set_number + 1
        return index + 1, 1

    # -- saving -------------------------------------------------------------------------
    def _commit(self, pending: _PendingSet) -> None:
        self.pending.append(pending)
        self.flush()

    def flush(self) -> bool:
        """Commit every waiting set in order; True when none is left."""
        while self.pending:
            item = self.pending[0]
            try:
                self.store.save_set(item.logged, item.answers, item.decision, item.state,
                                    item.loose)
            except StoreError as error:  # told once; retried after every set and at the end
                log.log(logging.DEBUG if item.reported else logging.WARNING,
                        "coach: could not save set %d of %s (%s); kept in memory, will retry",
                        item.logged.set_number, item.logged.exercise, error.message)
                if not item.reported:
                    item.reported = True
                    self.say("I couldn't save that set yet. I'm keeping it and will try again.")
                return False
            self.pending.pop(0)
            self.sets_saved += 1
            logged = item.logged
            if not logged.skipped:
                self.events.emit(SetLogged(
                    exercise=logged.exercise, set=logged.set_number, load=logged.load,
                    unit=logged.unit, reps=logged.reps, felt=logged.felt, where=logged.where,
                    cue=logged.cue, tempo=logged.tempo))
        return True

    # -- the set ------------------------------------------------------------------------
    def _announce(self, item: PlanExercise, exercise: Exercise, set_number: int,
                  first: bool, notes: list[str]) -> None:
        self._enter(State.ANNOUNCING)
        progress = self.progress.exercises[item.id]
        if first:
            self.say(f"{exercise.name.capitalize()}.")
            if self.settings.warmup and exercise.warmup:
                self.say(exercise.warmup)
            for note in notes:
                self.say(note)
        line = self._set_line(item, exercise, set_number)
        cue = self.library.cue(progress.cue) if progress.cue else None
        self.say(line)
        self.last_instruction = line + (f" {cue.text}" if cue else "")
        if cue is not None:
            self.say(cue.text)

    def _set_line(self, item: PlanExercise, exercise: Exercise, set_number: int,
                  progress: ExerciseProgress | None = None) -> str:
        progress = progress or self.progress.exercises[item.id]
        low, high = item.reps
        load = load_words(progress.load, self.plan.unit).capitalize()
        if exercise.isometric:
            target = f"hold {low} to {high} seconds" if low != high else f"hold {high} seconds"
            return f"Set {set_number} of {item.sets}. {load}, {target}."
        target = f"{low} to {high} reps" if low != high else \
            f"{high} rep{'' if high == 1 else 's'}"
        return (f"Set {set_number} of {item.sets}. {load}, {target}, "
                f"{tempo_words(progress.tempo)}.")

    # -- speech rendered ahead (coach.audio.speech's background renderer) -----------------
    def _prepare_lines(self, lines: list[str]) -> None:
        """Hand lines to the background renderer (not offline: nothing plays, none is late)."""
        prepare = getattr(self.voice, "prepare", None)
        if prepare is not None and not getattr(self.speaker, "offline", False):
            prepare(lines)

    def _lines_of_set(self, item: PlanExercise, exercise: Exercise, set_number: int,
                      progress: ExerciseProgress | None = None) -> list[str]:
        """What a set says before its answers: announcement, cue, "Ready?", the questions."""
        lines = []
        progress = progress or self.progress.exercises.get(item.id)
        if set_number == 1 or item.id not in self._announced:
            lines += [f"{exercise.name.capitalize()}.",
                      exercise.warmup if self.settings.warmup and exercise.warmup else ""]
        if progress is not None:
            lines.append(self._set_line(item, exercise, set_number, progress))
            if progress.cue:
                lines.append(self.library.cue(progress.cue).text)
        questions = ["How many seconds did you hold?" if exercise.isometric
                     else "How many reps?", f"Did you feel it in your {exercise.feel_in}?"]
        lines += ["Ready?", *questions, *(f"Sorry, I didn't catch that. {q}" for q in questions)]
        return lines

    def _decisions_ahead(self, item: PlanExercise, exercise: Exercise,
                         progress: ExerciseProgress | None = None) -> list[str]:
        """The reasons this set can end in (rendered while it runs)."""
        progress = progress or self.progress.exercises[item.id]
        unit = self.plan.unit
        outcome = SetOutcome(exercise, progress.load, unit, progress.tempo, item.reps, None,
                             None, None, progress.cue)
        one_rep_max = adapt.best_one_rep_max(self.store.recent_sets(item.id, unit)) \
            if self.plan.connection else 0.0
        places = dict.fromkeys(place for cue in self.library.cues_for(item.id)
                               for place in cue.corrects if not exercise.is_target(place))
        return adapt.possible_reasons(outcome, exercise.increment_for(unit),
                                      self.plan.connection, one_rep_max, tuple(places))

    def _intro(self) -> str:
        return opening_line(self.plan)

    def lines_of_plan(self) -> list[str]:
        """Every line the plan is likely to say, for ``--prepare``: each set's lines as the
        plan starts it, every cue of each exercise, the decisions of its first set, rests."""
        lines = [self._intro(), "Paused. Say resume when you're ready.", "Resuming.",
                 "That's the whole session. Well done."]
        for item in self.plan.exercises:
            exercise = self.library.exercise(item.id)
            progress = self.progress.exercises.get(item.id) or ExerciseProgress(
                load=item.load, tempo=item.tempo, cue=None)
            for number in range(1, item.sets + 1):
                lines += self._lines_of_set(item, exercise, number, progress)
            lines += [cue.text for cue in self.library.cues_for(item.id)]
            lines += self._decisions_ahead(item, exercise, progress)
            lines += [f"Rest {adapt.number(round(self.settings.rest(item.rest)))} seconds.",
                      f"{adapt.number(round(self.settings.countdown_seconds))} seconds."]
        return lines

    def _ready(self, exercise: Exercise) -> None:
        self._enter(State.READY)
        while True:
            self.say("Ready?")
            answer = self.listen("command", timeout=self.settings.ready_seconds, optional=True)
            if answer.details.get(DEVICE):
                continue
            if answer.kind != "command" or self._command(answer, exercise) is Action.GO:
                return

    def _count(self, item: PlanExercise, exercise: Exercise, done: int = 0) -> int:
        """Play the set (on from ``done`` reps already counted before a device was lost);
        returns the reps (seconds) counted. Raises on skip/stop and a lost device."""
        self._enter(State.COUNTING)
        # the rest line first: it is said after any decision, and is short to render
        self._prepare_lines([f"Rest {adapt.number(round(self.settings.rest(item.rest)))} seconds.",
                             *self._decisions_ahead(item, exercise),
                             "That's the whole session. Well done."])
        total = self.settings.reps_to_count(item.reps[1])
        while done < total:
            reason, counted = self._play(exercise, total - done, done + 1)
            done += counted
            if reason in (COMPLETED, Action.END_SET):
                break
            if reason == Action.PAUSE:
                self._pause()
                continue
            if reason == DEVICE:
                raise _DeviceLost(self._lost or "a device stopped", done)
            if reason == Action.STOP:
                raise _Stop
            if reason == Action.SKIP_SET:
                raise _SkipSet
            if reason == Action.SKIP_EXERCISE:
                raise _SkipExercise
        return done

    def _play(self, exercise: Exercise, reps: int, first_rep: int) -> tuple[str, int]:
        watch = self.source.watch()
        self._lost = None

        def interrupt() -> str | None:
            problem = self._device_problem()
            if problem is not None:
                self._lost = problem
                return DEVICE
            answer = watch.poll()
            if answer is None or answer.kind != "command":
                return None
            self._record(answer, "command")
            act = self._action(answer)
            if act in (Action.SLOWER, Action.FASTER):
                tempo = self._change_tempo(str(answer.value), exercise, speak=False)
                self.metronome.set_tempo(parse_tempo(tempo))
                return None
            return None if act is Action.IGNORE else str(act)

        try:
            if exercise.isometric:
                from coach.workout.hold import hold

                result = hold(self.speaker, self.voice, reps, interrupt)
                return result.reason, result.seconds_done
            tempo = parse_tempo(self.progress.exercises[exercise.id].tempo)
            result = self.metronome.play_set(tempo, reps, interrupt, first_rep=first_rep)
            if result.reason != DEVICE:
                self.metronome.wait_tail()
            return result.reason, result.reps_done
        except DeviceError as error:
            self._lost = self._device_problem()
            if self._lost is None:
                raise
            from coach.workout.metronome import SpeakerStopped

            return DEVICE, error.reps_done if isinstance(error, SpeakerStopped) else 0
        finally:
            watch.close()

    def _answers(self, exercise: Exercise) -> tuple[int | None, bool | None, str | None]:
        self._enter(State.ASKING)
        question = "How many seconds did you hold?" if exercise.isometric else "How many reps?"
        reps_answer = self.ask(question, "reps", "reps", lambda a: a.kind == "reps", exercise)

        def felt_or_where(answer: Answer) -> bool:
            return answer.kind == "felt" or (answer.kind == "where" and answer.value is not None)

        felt_answer = self.ask(f"Did you feel it in your {exercise.feel_in}?", "felt", "any",
                               felt_or_where, exercise)
        return adapt.read_answers(exercise, reps_answer, felt_answer)

    def _adapt(self, item: PlanExercise, exercise: Exercise, set_number: int, started: str,
               reps: int | None, felt: bool | None, where: str | None,
               next_position: tuple[int, int]) -> None:
        self._enter(State.ADAPTING)
        progress = self.progress.exercises[item.id]
        unit = self.plan.unit
        outcome = SetOutcome(exercise, progress.load, unit, progress.tempo, item.reps, reps,
                             felt, where if felt is False else None, progress.cue)
        recent = self.store.recent_sets(item.id, unit) if self.plan.connection else []
        decision = adapt.decide(outcome, exercise.increment_for(unit),
                                self.library.cues_for(item.id), self.store.cue_stats(item.id),
                                self.rng, connection=self.plan.connection, recent=recent)
        logged = LoggedSet(self.session_id, item.id, set_number, progress.load, unit, reps,
                           felt, where, progress.cue, progress.tempo, started, now_iso())
        self._set_progress(item.id, replace(
            progress, load=decision.next_load, tempo=decision.next_tempo, cue=decision.next_cue,
            failed_cue=progress.cue if felt is False else None, where=where))
        self.progress = self.progress.at(*next_position)
        record = DecisionRecord(item.id, decision.next_load, decision.next_cue,
                                decision.next_tempo, decision.reason)
        self._commit(_PendingSet(logged, self.set_answers, record, self.progress.to_json(),
                                 self.loose_answers))
        self.set_answers, self.loose_answers = [], []
        self.events.emit(Adapt(exercise=item.id, next_load=decision.next_load,
                               next_cue=decision.next_cue, next_tempo=decision.next_tempo,
                               reason=decision.reason))
        self.say(decision.reason, instruction=True)

    def _log_skipped(self, item: PlanExercise, set_number: int, started: str,
                     next_position: tuple[int, int]) -> None:
        progress = self.progress.exercises[item.id]
        logged = LoggedSet(self.session_id, item.id, set_number, progress.load, self.plan.unit,
                           None, None, None, progress.cue, progress.tempo, started, now_iso(),
                           skipped=True)
        self.progress = self.progress.at(*next_position)
        self._commit(_PendingSet(logged, self.set_answers, None, self.progress.to_json(),
                                 self.loose_answers))
        self.set_answers, self.loose_answers = [], []

    # -- rest -----------------------------------------------------------------------------
    def _rest(self, seconds: float, upcoming: Exercise | None) -> None:
        self._enter(State.RESTING)
        self.events.emit(Rest(seconds=round(seconds, 3)))
        speaker = self.speaker
        end = speaker.now() + speaker.samples(seconds)
        if seconds >= 3:
            self.say(f"Rest {adapt.number(round(seconds))} seconds.")
        countdown = self.settings.countdown_seconds
        counted = seconds < countdown + 3  # a short rest gets no countdown
        poll = speaker.samples(0.05)
        watch = self.source.watch()
        try:
            while True:
                now = speaker.now()
                if now >= end:
                    break
                left = (end - now) / speaker.rate
                problem = self._device_problem()
                if problem is not None:
                    raise _DeviceLost(problem)
                if not counted and left <= countdown:
                    counted = True
                    self.say(f"{adapt.number(round(left))} seconds.")
                    continue
                answer = watch.poll()
                if answer is not None and answer.kind == "command":
                    self._record(answer, "command", loose=True)
                    act = self._action(answer)
                    if act is Action.END_REST:
                        break
                    if act in (Action.SKIP_SET, Action.SKIP_EXERCISE):
                        self._skip_next = _SkipSet if act is Action.SKIP_SET else _SkipExercise
                        break
                    if act is Action.STOP:
                        raise _Stop
                    if act is Action.PAUSE:
                        remaining = end - speaker.now()
                        self._pause()
                        end = speaker.now() + max(0, remaining)
                    elif act is Action.REPEAT and self.last_instruction:
                        self.say(self.last_instruction)
                    elif act in (Action.SLOWER, Action.FASTER) and upcoming is not None:
                        self._change_tempo(str(answer.value), upcoming)
                    continue
                speaker.wait_until(min(end, now + poll))
        finally:
            watch.close()

    # -- the whole session ----------------------------------------------------------------
    def run(self) -> SessionResult:
        try:
            status = self._run()
        except _Stop:
            status = STOPPED
        except KeyboardInterrupt:
            status = INTERRUPTED
        except BaseException:
            # a device or a bug: save what is waiting, keep the session resumable, report
            self._finish(INTERRUPTED)
            raise
        self._finish(status)
        return SessionResult(self.session_id, status, self.sets_saved, len(self.pending))

    def _run(self) -> str:
        plan = self.plan
        if self._resume is not None:
            index, number = self.progress.exercise_index, self.progress.set_number
            if index < len(plan.exercises):
                item = plan.exercises[index]
                exercise = self.library.exercise(item.id)
                if self.progress.cut is not None:  # killed while a device was away
                    self.say(self._carry_on(item, exercise, self.progress.cut.done,
                                            "Welcome back").line, instruction=True)
                else:
                    self.say(f"Welcome back. We carry on with set {number} of the "
                             f"{exercise.name}.")
        else:
            first = plan.exercises[0] if plan.exercises else None
            if first is not None:
                self._prepare_lines(self._lines_of_set(first, self.library.exercise(first.id),
                                                       1))
            self.say(self._intro())
        while self.progress.exercise_index < len(plan.exercises):
            index, number = self.progress.exercise_index, self.progress.set_number
            item = plan.exercises[index]
            exercise = self.library.exercise(item.id)
            first = number == 1 or item.id not in self._announced
            notes = self._prepare_exercise(item, exercise)
            self._announced.add(item.id)
            next_position = self._next_position(index, number)
            cut = self.progress.cut  # this set, cut by a lost device (here or before --resume)
            started = now_iso() if cut is None else cut.started
            try:
                if self._skip_next is not None:
                    skip, self._skip_next = self._skip_next, None
                    raise skip
                if cut is not None:  # where it carries on was said on the way back
                    carried = self._carry_on(item, exercise, cut.done)
                    if carried.left:
                        self._ready(exercise)
                        self._count(item, exercise, carried.done)
                else:
                    self._prepare_lines(notes + self._lines_of_set(item, exercise, number))
                    self._announce(item, exercise, number, first, notes)
                    self._ready(exercise)
                    started = now_iso()
                    self._count(item, exercise)
                reps, felt, where = self._answers(exercise)
                self._adapt(item, exercise, number, started, reps, felt, where, next_position)
            except _SkipSet:
                self.say(f"Skipping set {number}.")
                self._log_skipped(item, number, started, next_position)
                continue
            except _SkipExercise:
                self.say(f"Skipping the {exercise.name}.")
                self._log_skipped(item, number, started, (index + 1, 1))
                continue
            except _DeviceLost as lost:
                self._back_after(lost, started)
                continue
            if self.progress.exercise_index >= len(plan.exercises):
                break
            upcoming_item = plan.exercises[self.progress.exercise_index]
            upcoming = self.library.exercise(upcoming_item.id)
            # the next set's decisions too (a new exercise's at the plan's load, which is
            # its load unless the history moves it): a short set leaves too little time
            upcoming_progress = self.progress.exercises.get(upcoming_item.id) or \
                ExerciseProgress(load=upcoming_item.load, tempo=upcoming_item.tempo, cue=None)
            self._prepare_lines([
                f"Rest {adapt.number(round(self.settings.rest(item.rest)))} seconds.",
                *self._lines_of_set(upcoming_item, upcoming, self.progress.set_number,
                                    upcoming_progress),
                *self._decisions_ahead(upcoming_item, upcoming, upcoming_progress)])
            self._rest(self.settings.rest(item.rest), upcoming)
        return COMPLETED

    def _back_after(self, lost: _DeviceLost, started: str) -> None:
        """A device went away during a set or a rest: wait for it, then carry on with the
        set that was cut, from the rep it was at (``carry_on``), or with the next set,
        after a rest. Where the cut set was is saved first (``_save_cut``), so a coach
        killed while it waits resumes it there. Commands heard in the cut set stay with it
        (in memory)."""
        index = self.progress.exercise_index
        if lost.done and index < len(self.plan.exercises):
            self._save_cut(lost.done, started)
        self._recover(lost.problem)
        if index >= len(self.plan.exercises):
            return
        item = self.plan.exercises[index]
        self.say(self._carry_on(item, self.library.exercise(item.id), lost.done or 0).line,
                 instruction=True)

    def _carry_on(self, item: PlanExercise, exercise: Exercise, done: int,
                  greeting: str = "We're back") -> CarryOn:
        """Where the next set carries on after ``done`` reps, against the count's target."""
        return carry_on(done, self.settings.reps_to_count(item.reps[1]),
                        self.progress.set_number, exercise.name, exercise.isometric, greeting)

    def _save_cut(self, done: int, started: str) -> None:
        """Keep the cut of the next set in the progress and save it with the resume state.
        Not saved while a set waits for the disk (the resume point would skip that set),
        nor when the disk refuses: said on stderr, and the set still carries on in this
        process; only a resume would start it again."""
        self.progress = self.progress.with_cut(done, started)
        if self.pending:
            log.warning("coach: where the cut set was is not saved: %d earlier set(s) still "
                        "wait for the disk; a resume would start it again", len(self.pending))
            return
        try:
            self.store.save_state(self.session_id, self.progress.to_json())
        except StoreError as error:
            log.warning("coach: could not save where the cut set was (%s); a resume would "
                        "start it again", error.message)

    def _finish(self, status: str) -> None:
        self._enter(State.DONE)
        saved = self.flush()
        if status == INTERRUPTED:
            self._save_loose()
            log.info("coach: interrupted; `coach session --resume` carries on at the next set")
            self.events.emit(End(status=STOPPED))
            return
        try:
            if status == COMPLETED:
                self.say("That's the whole session. Well done.")
            else:
                self.say("Stopping. Everything you did is saved.")
            if self.settings.summary and self.sets_saved:
                summary = self._summary()
                if summary:
                    self.say(summary)
        finally:
            self._save_loose()
            if saved or self.flush():
                try:
                    self.store.end_session(self.session_id, status, self.progress.to_json())
                except StoreError as error:
                    log.warning("coach: could not mark the session %s (%s)", status,
                                error.message)
            else:
                self._report_unsaved()
            self.events.emit(End(status=status))

    def _save_loose(self) -> None:
        if not self.loose_answers and not self.set_answers:
            return
        try:
            self.store.save_answers(self.session_id, self.loose_answers + self.set_answers)
            self.loose_answers, self.set_answers = [], []
        except StoreError as error:
            log.debug("answers heard after the last set not saved: %s", error.message)

    def _summary(self) -> str | None:
        try:
            from coach import summary
        except ImportError:
            return None
        try:
            return summary.session_summary(self.store, self.session_id)
        except (CoachError, sqlite3.Error, ValueError, KeyError) as error:
            log.warning("coach: no spoken summary (%s)", error)
            return None

    def _report_unsaved(self) -> None:
        """The disk never recovered: print the sets so they are not lost."""
        print(f"coach: {len(self.pending)} set(s) could not be saved to "
              f"{self.store.path}; here they are as JSON:", file=sys.stderr)
        for item in self.pending:
            print(json.dumps(item.logged.__dict__), file=sys.stderr)
