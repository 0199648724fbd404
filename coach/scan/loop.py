"""The body-scan loop: play a planned timeline on the speaker's sample clock.

``run_scan`` joins the pure planner (``coach.core.scan``) to the audio engine, the
answer sources and the history:

1. every line of the script is rendered (cached), the timeline is planned to fit
   the minutes asked to the sample;
2. ``ScanPlayer`` (``coach.scan.player``) plays it and obeys commands between sounds;
3. the check-in ("How do you feel?", and in the pre-workout style "Anything sore?")
   is asked, heard and stored with the scan in SQLite.

The same loop drives a live ``Speaker`` and an ``OfflineSpeaker`` (``--out``): on the
virtual clock a scan renders in a fraction of its length, with the same timeline.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from coach import events as ev
from coach import sounds
from coach.audio.engine import OfflineSpeaker, Playback
from coach.audio.speech import SCAN, Voice
from coach.core import scan as core
from coach.core.answers import Answer
from coach.dialogue.ask import Question, check_line, device_answer
from coach.dialogue.ask import ask as dialogue_ask
from coach.dialogue.commands import Action
from coach.dialogue.sources import (
    NOTICE,
    AnswerSource,
    NoSource,
    ScriptSource,
    TypedSource,
    hear_through,
    microphone_source,
    recognizer_factory,
)
from coach.errors import CoachError
from coach.events import COMPLETED, STOPPED
from coach.scan.player import ScanPlayer, State
from coach.settings import Paths, Settings
from coach.store import AnswerRecord, Store

log = logging.getLogger(__name__)

#: Quiet (seconds) between the end chime and the check-in question.
CHECKIN_QUIET_SECONDS = 0.8
#: Seconds to wait for a spoken check-in answer.
LISTEN_SECONDS = 8.0


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

    def __init__(self, settings: Settings, speaker: Playback, answers: AnswerSource,
                 events: ev.EventWriter, request: ScanRequest, store: Store | None) -> None:
        self.settings = settings
        self.speaker = speaker
        self.answers = answers
        self.events = events
        self.request = request
        self.store = store
        self.rate = speaker.rate
        self.supervisor = None
        if not speaker.offline:
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
            if not self.speaker.offline:  # the next lines, into memory
                self.voice.prepare(self._ahead.get(item.text, ()))
            return self.voice.render(item.text)
        return self._sounds[item.kind]

    def _lines_ahead(self, timeline: core.Timeline, count: int = 3) -> dict[str, list[str]]:
        texts = [item.text for _, item in timeline.lines()]
        return {text: texts[number + 1: number + 1 + count] for number, text in enumerate(texts)}

    def run(self) -> ScanOutcome:
        timeline = self.plan()
        self._ahead = self._lines_ahead(timeline)
        for text in self.checkin.lines(self.request.style):  # the check-in starts at once
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
        "done" or "skip" give up (the dialogue table's CHECKIN row). An unsure answer's
        guess is checked aloud ("In your lower back, right?"), as in the workout: a sore
        region misheard would lighten the wrong exercise."""
        asked = Question(question, expect, again, LISTEN_SECONDS, turns=3, confirm=check_line)

        def listen(q: Question) -> Answer | None:
            answer = self.answers.listen(q.listen_expect or q.expect, q.timeout,
                                         lambda: player.emit(ev.Listen(q.expect)))
            if answer.details.get("end_of_input"):
                return None  # nobody left to answer
            if answer.details.get(NOTICE):  # a hearing server stopped answering: said once
                self._say(player, answer.details[NOTICE])
            if answer.kind == "unknown" and not answer.text and self._recovered():
                return device_answer("the microphone was away")
            player.emit(ev.Heard(answer.kind, answer.value, answer.text, answer.confidence))
            if self.store is not None and scan_id is not None:
                self.store.save_scan_answer(scan_id, AnswerRecord(
                    q.expect, answer.kind, answer.value, answer.text,
                    float(answer.confidence),
                    self.answers.engine or getattr(self.answers, "label", None)))
            return answer

        def on_command(answer: Answer) -> bool:  # the player's table, at CHECKIN
            return player.action(answer) is not Action.STOP

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
            self._say(player, lines.thanks_for(self.request.style))
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
    outcome = run_scan(settings, speaker, answers or NoSource(), events or ev.EventWriter(None),
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


def run_live(settings: Settings, request: ScanRequest, events: ev.EventWriter, typed: bool = False,
             answers_file: Path | None = None) -> ScanOutcome:
    """``coach scan`` on the speaker: answers typed, scripted, or (default) spoken."""
    from coach.audio.engine import Speaker

    if typed:
        answers: AnswerSource = TypedSource()
    elif answers_file is not None:
        answers = ScriptSource(answers_file, recognizer_factory(settings))
    else:
        answers = microphone_source(settings)
    try:
        with Speaker(settings.audio) as speaker:
            hear_through(answers, speaker, settings.audio.echo_cancel)
            outcome = run_scan(settings, speaker, answers, events, request)
            # let the device's own buffer drain before the stream closes
            speaker.wait_until(speaker.now() + speaker.samples(speaker.output_latency + 0.1))
    finally:
        answers.close()
    return outcome


def lines_to_prepare(settings: Settings, style: str = core.FULL) -> list[str]:
    """Every line a scan of ``style`` may say, at any length, with its check-in: rendered
    once at set-up by ``coach device --prepare`` (a scan plans from their lengths)."""
    user_dir = user_scan_dir(settings.paths)
    return [*core.all_texts(core.load_script(style, user_dir)),
            *core.load_checkin(user_dir).lines(style)]
