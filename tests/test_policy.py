"""The answer-taking policy (issue 23): fitted by scripts/bench_dialogue.py --fit, shipped
in coach/data/policy.toml, loaded here as the coach loads it. Nothing is fitted in
these tests: they assert what the shipped values do on real recordings (realdev's
held-apart speakers) and on voices that act as athletes (espeak-ng, the Piper voice
pitch-shifted)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from coach.core.answers import EXPECTS, Answer, parse
from coach.dialogue.ask import FELT_CHECKS, Question, ask, check_line, checked_guess
from coach.hearing import synth
from tests.conftest import SHARED

REALDEV = SHARED / "data" / "realdev"


def test_the_shipped_policy_has_a_rule_for_every_kind_of_question():
    from coach.hearing.whisper_engine import FEATURES, POLICY_PATH, load_policy

    policy = load_policy()
    assert set(policy.take) == set(policy.sure) == set(EXPECTS)
    assert set(policy.weights) == set(EXPECTS)
    assert all(len(w) == len(FEATURES) + 1 for w in policy.weights.values())
    assert all(0.3 <= policy.take_clear[k] <= t <= policy.sure[k] <= 0.97
               for k, t in policy.take.items())
    assert POLICY_PATH.parent.name == "data"  # package data (pyproject: data/**/*.toml)


def test_a_broken_policy_file_is_one_line_with_its_fix(tmp_path):
    from coach.errors import MissingPart
    from coach.hearing.whisper_engine import load_policy

    (tmp_path / "policy.toml").write_text("[whisper.weights]\nreps = [1.0]\n")
    with pytest.raises(MissingPart) as caught:
        load_policy(tmp_path / "policy.toml")
    assert "policy" in caught.value.message and caught.value.fix


def _felt_guess(value: bool) -> Answer:
    return Answer("unknown", None, "", 0.6, maybe=Answer("felt", value, "felt it", 0.6))


def test_an_unsure_yes_or_no_is_checked_aloud_and_never_logged_without_a_yes():
    said: list[str] = []
    replies = iter([_felt_guess(True), parse("yes", "felt")])
    answer = ask(Question("Did you feel it?", "felt", "Sorry?", 0.0, confirm=check_line),
                 said.append, lambda q: next(replies), lambda a: True)
    assert (answer.kind, answer.value, answer.details["confirmed"]) == ("felt", True, True)
    assert said == ["Did you feel it?", FELT_CHECKS[True]]
    # a denied guess is not taken again: the next "felt it" is asked again
    said.clear()
    replies = iter([_felt_guess(True), parse("no", "felt"),
                    Answer("felt", True, "felt it", 0.99), parse("didn't feel it", "felt")])
    answer = ask(Question("Did you feel it?", "felt", "Sorry?", 0.0, confirm=check_line),
                 said.append, lambda q: next(replies), lambda a: True)
    assert (answer.kind, answer.value) == ("felt", False)
    assert said[1] == FELT_CHECKS[True] and said[2].startswith("My mistake.")
    assert checked_guess(_felt_guess(False)).value is False
    assert checked_guess(Answer("felt", True, "yes", 0.99)) is None  # taken, not checked


@pytest.fixture(scope="module")
def whisper():
    from coach.hearing import models
    from coach.hearing.whisper_engine import WhisperRecognizer

    return WhisperRecognizer(models.package_model_dir())


def _held_apart() -> list[tuple[str, str]]:
    """(word, file) of realdev's held-apart speakers: sorted by name, every third from
    the first (the rule of scripts/bench_dialogue.py; the others fitted the policy)."""
    if not (REALDEV / "manifest.tsv").exists():
        pytest.skip(f"realdev recordings not found at {REALDEV}")
    rows = [line.split("\t") for line in
            (REALDEV / "manifest.tsv").read_text().splitlines()[1:]]
    speakers = sorted({r[2] for r in rows})
    held = set(speakers[::3])
    return [(r[1], r[0]) for r in rows if r[2] in held and r[1] != "stop"]


def test_real_speakers_held_apart_are_logged_right_in_one_exchange(whisper):
    """Each digit of the held-apart speakers, decoded with the shipped policy: taken,
    or checked aloud with the right guess (one "yes" logs it); never taken wrong. Files
    the voice gate hears nothing in are left out (one held-apart speaker recorded at
    -32 dBFS peak: the gate's limit, not the policy's; docs/notes/dialogue-policy.md)."""
    items = []
    taken = checked = wrong = 0
    for word, file in _held_apart():
        answer = whisper.decode_wav(REALDEV / file, "reps")
        if answer.details.get("reason") == "no speech":
            continue
        items.append(file)
        truth = parse(word, "reps").value
        guess = checked_guess(answer)
        if answer.understood:
            taken += answer.value == truth
            wrong += answer.value != truth
        elif guess is not None:
            checked += guess.value == truth
    assert wrong == 0
    assert len(items) >= 25
    # 2026-12-03: 25 taken + 3 checked of 34; the 6 lost are the quiet speaker's
    assert (taken + checked) / len(items) >= 0.8, (taken, checked, len(items))


@pytest.mark.parametrize("text,voice", [
    ("felt it", "piper -400"), ("felt it", "piper -300"), ("felt it", "piper +200"),
    ("felt it", "piper +400"), ("felt it", "en-us"), ("felt it", "en-gb-x-rp+f2"),
    ("I felt it", "piper -300"), ("yes", "piper +400"), ("didn't feel it", "piper -300")])
def test_felt_it_is_taken_the_first_time_from_any_voice(whisper, text, voice):
    """Heard as the workout's felt question hears it ("any"): taken outright, with no
    check (the deepest and highest Piper shifts came out at 0.67 and 0.84, under the
    old 0.85 floor for clear answers; the floor is now the model's even odds, 0.5)."""
    if voice.startswith("piper"):
        audio = synth.pad(synth.piper(text, int(voice.split()[1]), steady=True))
    else:
        audio = synth.pad(synth.speak(text, voice, 150))
    answer = whisper.decode(audio, "any")
    truth = parse(text, "felt")
    assert answer.understood, answer.details
    assert (answer.kind, answer.value) == (truth.kind, truth.value), answer.details


def test_hear_prints_the_guess_the_coach_would_check(whisper, tmp_path, capsys, monkeypatch):
    """`coach hear` decides as the dialogue: an answer under the kind's threshold is
    unknown, with the guess the coach would check aloud as "maybe"."""
    from dataclasses import replace

    from coach.audio.wavio import write_wav
    from coach.commands import hear
    from coach.hearing import whisper_engine
    from coach.settings import Settings

    write_wav(tmp_path / "twelve.wav", synth.pad(synth.speak("twelve", "en-us+m3", 150)),
              16_000)
    strict = replace(whisper_engine.load_policy(),
                     take=dict.fromkeys(EXPECTS, 1.01), sure=dict.fromkeys(EXPECTS, 1.01),
                     take_clear=dict.fromkeys(EXPECTS, 1.01))
    monkeypatch.setattr(whisper_engine, "load_policy", lambda path=None: strict)
    assert hear.hear([str(tmp_path / "twelve.wav")], "reps", "whisper", None, (),
                     Settings()) == 0
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["kind"] == "unknown"
    assert line["maybe"]["kind"] == "reps" and line["maybe"]["value"] == 12
    assert 0.3 <= line["maybe"]["confidence"] < 1.01


def test_the_packaged_voice_is_never_an_athlete_unshifted():
    """synth.piper moves pitch by tape speed and undoes the change of pace: a shifted
    take is about as long as the unshifted one (within 15%)."""
    base = synth.piper("I felt it", steady=True)
    for cents in (-400, 400):
        shifted = synth.piper("I felt it", cents, steady=True)
        assert abs(len(shifted) / len(base) - 1) < 0.15


# -- a voiced session on the virtual card --------------------------------------------------
FELT_PLAN = """\
name = "Felt"
unit = "kg"

[[exercise]]
id = "biceps_curl"
sets = 2
reps = [2, 2]
load = 10
tempo = "1-0-1-0"
rest = 20
"""


@pytest.mark.audio
def test_a_voiced_session_takes_felt_it_the_first_time(card, tmp_path):
    """`coach session` on the virtual card; the athlete answers into its microphone: set
    1 in an espeak-ng voice, set 2 in the Piper voice 300 cents down (never the coach's
    own voice). "Did you feel it?" is asked once per set and "felt it" is taken the
    first time: no check, no second ask (the echo canceller is on, as by default)."""
    import subprocess
    import sys
    import time

    from coach.audio.wavio import resample, write_wav
    from coach.events import read_events
    from tests.conftest import ROOT
    from tests.test_session import sets_of

    athletes = [lambda text: synth.pad(synth.speak(text, "en-us", 150)),
                lambda text: synth.pad(synth.piper(text, -300, steady=True))]
    wavs = {}
    for number, speak in enumerate(athletes):
        for text in ("two", "felt it", "yes"):
            wavs[number, text] = tmp_path / f"{number}_{text.replace(' ', '_')}.wav"
            # at the card's playback rate, as the other spoken tests do
            write_wav(wavs[number, text], resample(speak(text).astype(np.float32) / 32768,
                                                   16_000, 22_050), 22_050)
    (tmp_path / "plan.toml").write_text(FELT_PLAN)
    events = tmp_path / "events.jsonl"
    process = subprocess.Popen(
        [sys.executable, "-m", "coach", "--data-dir", str(tmp_path / "data"), "--rate", "300",
         "session", "--plan", str(tmp_path / "plan.toml"), "--events", str(events),
         "--rest-scale", "0.05", "--no-warmup", "--no-summary", "--ready-seconds", "1.0",
         "--answer-seconds", "6", "--seed", "4"],
        env=card.client_env(), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seen = 0
    try:
        deadline = time.monotonic() + 120
        while process.poll() is None and time.monotonic() < deadline:
            records = read_events(events) if events.exists() else []
            for record in records[seen:]:
                if record["type"] != "listen" or record["expect"] == "command":
                    continue
                athlete = min(sum(1 for r in records if r["type"] == "set"), 1)
                text = {"reps": "two", "felt": "felt it"}.get(record["expect"], "yes")
                time.sleep(0.2)
                card.play_into(wavs[athlete, text])
            seen = len(records)
            time.sleep(0.05)
        process.wait(10)
    finally:
        if process.poll() is None:
            process.kill()
    stderr = process.stderr.read().decode(errors="replace")[-3000:]
    assert process.returncode == 0, stderr
    from coach.store import Store

    with Store(tmp_path / "data" / "coach.sqlite3") as store:
        assert [(r["reps"], r["felt"]) for r in sets_of(store)] == [(2, 1), (2, 1)], stderr
    said = [r["text"] for r in read_events(events) if r["type"] == "say"]
    assert sum(s.startswith("Did you feel it") for s in said) == 2, said
    assert not any("feel it" in s and s.startswith("Sorry") for s in said), said
    # taken the first time: never checked aloud ("You felt it, right?")
    assert FELT_CHECKS[True] not in said, said


def _command_guess(value: str, text: str) -> Answer:
    guess = Answer("command", value, text, 0.6)
    return Answer("unknown", None, text, 0.6, {"reason": "low confidence"}, maybe=guess)


def test_an_unsure_command_is_checked_aloud_and_done_only_on_a_yes():
    """At a question: an unsure "skip exercise" is said back ("Skip this exercise,
    right?"); the yes does it, a no asks the question again and is not checked twice.
    While paused or at "Ready?" (``command_heard``): the same check."""
    from dataclasses import replace

    from coach.dialogue.ask import COMMAND_CHECKS, command_heard

    said, done = [], []
    replies = iter([_command_guess("skip exercise", "skip exercise"), parse("yes", "felt")])
    answer = ask(Question("How many reps?", "reps", "Sorry?", 0.0, confirm=check_line),
                 said.append, lambda q: next(replies), lambda a: done.append(a) or False)
    assert answer is None and [(a.value, a.details["confirmed"]) for a in done] == \
        [("skip exercise", True)]
    assert said == ["How many reps?", COMMAND_CHECKS["skip exercise"]]
    said.clear()
    done.clear()
    replies = iter([_command_guess("skip", "skip"), parse("no", "felt"),
                    _command_guess("skip", "skip"), parse("twelve", "reps")])
    answer = ask(Question("How many reps?", "reps", "Sorry?", 0.0, confirm=check_line),
                 said.append, lambda q: next(replies), lambda a: done.append(a) or True)
    assert (answer.kind, answer.value) == ("reps", 12) and not done
    assert said.count(COMMAND_CHECKS["skip"]) == 1
    said.clear()
    heard = command_heard(_command_guess("resume", "carry on"), said.append,
                          lambda q: parse("yes", "felt"), 1.0)
    assert (heard.kind, heard.value) == ("command", "resume") and said == ["Carry on, right?"]
    heard = command_heard(_command_guess("stop", "stop"), said.append,
                          lambda q: parse("no", "felt"), 1.0)
    assert heard.kind == "unknown"
    weak = _command_guess("stop", "stop")
    weak = replace(weak, maybe=replace(weak.maybe, confidence=0.4))
    said.clear()
    assert command_heard(weak, said.append, lambda q: parse("yes", "felt"), 1.0) is weak
    assert not said  # while waiting, a guess under even odds is not worth a check
    assert checked_guess(_command_guess("pause", "pause")).value == "pause"


def test_nothing_sore_is_never_taken_on_the_clear_answers_threshold():
    """A wrong "nothing" hides a sore spot: under the sore question's noisy threshold it
    is checked aloud, whatever the answer's loudness over its noise."""
    from coach.hearing.whisper_engine import stores_nothing

    nothing = parse("nothing", "sore")
    assert stores_nothing(nothing) and not stores_nothing(parse("my knees hurt", "sore"))
    assert check_line(nothing) == "Nothing sore, right?"
    assert checked_guess(Answer("unknown", None, "", 0.6, maybe=nothing)) == nothing
