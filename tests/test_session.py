"""The set loop, driven by scripted answers on the offline speaker (no sound card needed),
then through the virtual sound card: resume after kill -9, and a spoken session."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from coach.audio.engine import OfflineSpeaker
from coach.audio.speech import Voice
from coach.core.answers import Answer
from coach.core.library import builtin_library
from coach.core.plans import parse_plan
from coach.dialogue.ask import FELT_CHECKS
from coach.dialogue.sources import ScriptSource
from coach.events import (
    COMPLETED,
    INTERRUPTED,
    STOPPED,
    Click,
    EventWriter,
    SetLogged,
    StateChanged,
    read_events,
)
from coach.settings import OUTPUT_RATE, SpeechSettings
from coach.store import Store, new_uid, now_iso
from coach.workout.loop import Session
from coach.workout.state import SessionSettings, State

from .conftest import ROOT, run_coach

PLAN = """\
name = "Quick"
unit = "kg"

[[exercise]]
id = "biceps_curl"
sets = 2
reps = [2, 3]
load = 10
tempo = "1-0-1-0"
rest = 20

[[exercise]]
id = "plank"
sets = 1
reps = [3, 4]
load = 0
tempo = "1-0-1-0"
rest = 10
"""

FAST = SessionSettings(rest_scale=0.1, warmup=False, seed=1, summary=False)


@pytest.fixture(scope="module")
def voice(tmp_path_factory):
    return Voice(SpeechSettings(rate=260), OUTPUT_RATE, tmp_path_factory.mktemp("speech"))


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "coach.sqlite3") as opened:
        yield opened


def make_session(tmp_path, store, voice, answers, plan_text=PLAN, settings=FAST,
                 resume=None, source=None, events_name="events.jsonl", supervisor=None):
    script = tmp_path / f"answers-{new_uid()[:6]}.txt"
    script.write_text("\n".join(answers) + "\n")
    library = builtin_library()
    plan = parse_plan(plan_text, "quick.toml", library)
    events = EventWriter(tmp_path / events_name)
    session = Session(plan=plan, library=library, store=store,
                      speaker=OfflineSpeaker(OUTPUT_RATE), voice=voice,
                      source=source or ScriptSource(script), events=events, settings=settings,
                      resume=resume, supervisor=supervisor)
    return session, events


def sets_of(store):
    return store.query("SELECT exercise, set_number, load, reps, felt, felt_where, cue, tempo, "
                       "skipped FROM sets ORDER BY id")


def test_a_scripted_session_adapts_and_logs_every_set(tmp_path, store, voice):
    answers = ["3", "yes",                      # curl set 1: top of the range, felt: up 1 kg
               "pause", "resume",               # at "Ready?" of set 2
               "banana", "", "2",               # an unclear answer, silence, then 2 reps
               "in my shoulders",               # a place instead of yes/no
               "4", "yeah"]                     # the plank
    session, events = make_session(tmp_path, store, voice, answers)
    result = session.run()
    events.close()
    assert result.status == COMPLETED and result.unsaved == 0
    rows = sets_of(store)
    assert [(r["exercise"], r["set_number"], r["load"], r["reps"], r["felt"], r["felt_where"])
            for r in rows] == [("biceps_curl", 1, 10.0, 3, 1, None),
                               ("biceps_curl", 2, 11.0, 2, 0, "shoulders"),
                               ("plank", 1, 0.0, 4, 1, None)]
    library = builtin_library()
    second_cue = library.cue(rows[1]["cue"])
    decisions = store.query("SELECT next_load, next_cue, next_tempo, reason FROM decisions "
                            "ORDER BY id")
    assert decisions[0]["reason"] == "3 reps and you felt it: up 1 kilo."
    assert decisions[1]["next_load"] == 10 and decisions[1]["next_tempo"] == "2-0-1-0"
    assert decisions[1]["reason"].startswith("You felt it in your shoulders, not your biceps")
    # the cue after "shoulders" corrects shoulders, and is not the cue that just failed
    after = library.cue(decisions[1]["next_cue"])
    assert after.corrects_region("shoulders") and after.id != second_cue.id
    assert store.cue_stats("biceps_curl")[rows[1]["cue"]][1] == 1
    heard = store.query("SELECT expect, kind, words FROM answers ORDER BY id")
    assert ("reps", "unknown", "banana") in [tuple(h.values()) for h in heard]
    assert ("command", "command", "pause") in [tuple(h.values()) for h in heard]

    records = read_events(tmp_path / "events.jsonl")
    types = [r["type"] for r in records]
    assert types[-1] == "end" and records[-1]["status"] == "completed"
    assert types.count("set") == 3 and types.count("adapt") == 3
    # every listen comes right after the question was said, and is answered by a heard
    for i, record in enumerate(records):
        if record["type"] == "listen" and record["expect"] in ("reps", "felt"):
            assert records[i - 1]["type"] == "say" and records[i - 1]["text"].endswith("?")
            assert records[i + 1]["type"] == "heard"
    said = [r["text"] for r in records if r["type"] == "say"]
    assert "Paused. Say resume when you're ready." in said
    assert said.count("Sorry, I didn't catch that. How many reps?") == 2
    assert "Set 2 of 2. 11 kilos, 2 to 3 reps, down in 1, up in 1." in said
    states = [r["state"] for r in records if r["type"] == "state"]
    assert states[:6] == ["ANNOUNCING", "READY", "COUNTING", "ASKING", "ADAPTING", "RESTING"]
    assert "PAUSED" in states and states[-1] == "DONE"
    rests = [r["seconds"] for r in records if r["type"] == "rest"]
    assert rests == [2.0, 2.0]
    clicks = [r for r in records if r["type"] == "click"]
    assert clicks  # the metronome counted the sets


def test_three_unclear_answers_keep_the_plan_and_say_so(tmp_path, store, voice):
    plan = PLAN.replace("sets = 2", "sets = 1").split("[[exercise]]\nid = \"plank\"")[0]
    session, events = make_session(tmp_path, store, voice,
                                   ["what", "um", "banana", "no idea", "", "purple"], plan)
    assert session.run().status == COMPLETED
    events.close()
    row = sets_of(store)[0]
    assert row["reps"] is None and row["felt"] is None and row["load"] == 10
    reason = store.query("SELECT reason FROM decisions")[0]["reason"]
    assert reason == "I didn't get your answers, so we keep the plan: 10 kilos."
    listens = [r for r in read_events(tmp_path / "events.jsonl") if r["type"] == "listen"
               and r["expect"] != "command"]
    assert len(listens) == 6  # each question asked once and again twice


def test_skip_skip_exercise_and_stop(tmp_path, store, voice):
    plan = PLAN.replace("sets = 1", "sets = 2") + PLAN.split("\n\n", 2)[2].replace(
        "plank", "push_up").replace("[3, 4]", "[2, 3]")
    # set 1: skip at Ready; set 2: "skip exercise" when asked for reps; plank: stop
    session, events = make_session(tmp_path, store, voice,
                                   ["skip", "skip exercise", "stop"], plan)
    result = session.run()
    events.close()
    assert result.status == STOPPED
    rows = sets_of(store)
    assert [(r["exercise"], r["set_number"], r["skipped"]) for r in rows] == [
        ("biceps_curl", 1, 1), ("biceps_curl", 2, 1)]
    status = store.query("SELECT status FROM sessions")[0]["status"]
    assert status == "stopped" and store.unfinished_session() is None
    said = [r["text"] for r in read_events(tmp_path / "events.jsonl") if r["type"] == "say"]
    assert "Skipping set 1." in said and "Skipping the biceps curl." in said
    assert "Stopping. Everything you did is saved." in said


def test_slower_at_ready_slows_this_set(tmp_path, store, voice):
    plan = PLAN.split("\n\n[[exercise]]\nid = \"plank\"")[0].replace("sets = 2", "sets = 1")
    session, events = make_session(tmp_path, store, voice, ["slower", "3", "yes"], plan)
    session.run()
    events.close()
    assert sets_of(store)[0]["tempo"] == "2-0-1-0"
    said = [r["text"] for r in read_events(tmp_path / "events.jsonl") if r["type"] == "say"]
    assert "Slower: down in 2, up in 1." in said


class _CommandsDuringTheSet(ScriptSource):
    """A script whose 'microphone' hears commands while the metronome counts."""

    def __init__(self, path, during):
        super().__init__(path)
        self.during = list(during)

    def watch(self):
        source = self

        class Watch:
            polls = 0

            def poll(self):
                self.polls += 1
                if source.during and self.polls > 3:
                    self.polls = 0
                    command = source.during.pop(0)
                    return Answer("command", command, command, 0.9)
                return None

            def close(self):
                pass

        return Watch()


def test_commands_during_a_set_pause_change_tempo_and_end_it(tmp_path, store, voice):
    plan = PLAN.split("\n\n[[exercise]]\nid = \"plank\"")[0].replace("sets = 2", "sets = 1")
    plan = plan.replace("[2, 3]", "[8, 8]")
    script = tmp_path / "script.txt"
    script.write_text("go\nresume\n2\nyes\n")  # "go" answers "Ready?"
    source = _CommandsDuringTheSet(script, ["slower", "pause", "done"])
    session, events = make_session(tmp_path, store, voice, [], plan, source=source)
    session.run()
    events.close()
    row = sets_of(store)[0]
    assert row["tempo"] == "2-0-1-0" and row["reps"] == 2
    records = read_events(tmp_path / "events.jsonl")
    states = [r["state"] for r in records if r["type"] == "state"]
    assert states[:6] == ["ANNOUNCING", "READY", "COUNTING", "PAUSED", "COUNTING", "ASKING"]
    clicks = [r for r in records if r["type"] == "click"]
    assert len({c["rep"] for c in clicks}) < 8  # "done" ended the set before rep 8


class _CommandsDuringTheRest(ScriptSource):
    """A script whose 'microphone' hears commands only while the coach rests."""

    def __init__(self, path, during):
        super().__init__(path)
        self.during = list(during)
        self.session = None

    def watch(self):
        source = self

        class Watch:
            def poll(self):
                if source.during and source.session.state is State.RESTING:
                    command = source.during.pop(0)
                    return Answer("command", command, command, 0.9)
                return None

            def close(self):
                pass

        return Watch()


def test_skip_during_the_rest_skips_the_next_set(tmp_path, store, voice):
    plan = PLAN.split("\n\n[[exercise]]\nid = \"plank\"")[0].replace("sets = 2", "sets = 3")
    script = tmp_path / "script.txt"
    script.write_text("3\nyes\n3\nyes\n")
    source = _CommandsDuringTheRest(script, ["skip"])
    session, events = make_session(tmp_path, store, voice, [], plan, source=source)
    source.session = session
    assert session.run().status == COMPLETED
    events.close()
    assert [(r["set_number"], r["skipped"], r["load"]) for r in sets_of(store)] == [
        (1, 0, 10.0), (2, 1, 11.0), (3, 0, 11.0)]


def test_resume_carries_on_at_the_next_set_with_adapted_values(tmp_path, store, voice):
    session, events = make_session(tmp_path, store, voice, ["3", "yes", "2", "yes", "4", "yes"])

    def crash_after_first_set(event, t):
        if isinstance(event, SetLogged):
            raise KeyboardInterrupt

    events.subscribe(crash_after_first_set)
    assert session.run().status == INTERRUPTED
    events.close()
    assert len(sets_of(store)) == 1
    unfinished = store.unfinished_session()
    assert unfinished["state"]["next"] == {"exercise": 0, "set": 2}

    resumed, events = make_session(tmp_path, store, voice, ["2", "yes", "4", "yes"],
                                   resume=unfinished, events_name="resumed.jsonl")
    assert resumed.run().status == COMPLETED
    events.close()
    rows = sets_of(store)
    assert [(r["exercise"], r["set_number"], r["load"]) for r in rows] == [
        ("biceps_curl", 1, 10.0), ("biceps_curl", 2, 11.0), ("plank", 1, 0.0)]
    assert store.query("SELECT count(*) AS n FROM sessions")[0]["n"] == 1
    said = [r["text"] for r in read_events(tmp_path / "resumed.jsonl") if r["type"] == "say"]
    assert said[0] == "Welcome back. We carry on with set 2 of the biceps curl."


class _SpeakerLost:
    """The device supervisor, for the offline speaker: the speaker stops as rep ``at`` of
    set ``set_number`` begins. ``recover`` keeps what the database holds at that moment
    (what a ``kill -9`` while the coach waits would leave), then either the coach is
    killed there (``killed``; Ctrl-C, which leaves the session resumable as a kill does)
    or the speaker is back; then ``kill_at_rep`` of the set carried on kills the coach."""

    def __init__(self, store, events, set_number, at, killed, kill_at_rep=None):
        self.store, self.set_number, self.at = store, set_number, at
        self.killed, self.kill_at_rep = killed, kill_at_rep
        self.gone = self.cut = False
        self.logged = 0
        self.left_behind = None
        events.subscribe(self._watch)

    def _watch(self, event, t):
        if isinstance(event, SetLogged):
            self.logged += 1
        elif isinstance(event, Click) and self.logged == self.set_number - 1:
            if not self.cut and event.rep == self.at:
                self.gone = self.cut = True
            elif self.cut and not self.gone and event.rep == self.kill_at_rep:
                self.left_behind = self.store.unfinished_session()
                raise KeyboardInterrupt

    def problem(self):
        return "the speaker stopped" if self.gone else None

    def recover(self, problem, tell=None):
        self.left_behind = self.store.unfinished_session()
        if self.killed:
            raise KeyboardInterrupt
        self.gone = False
        return True


@pytest.mark.parametrize("killed", ["while the speaker is away", "in the set carried on"])
def test_a_set_cut_by_a_lost_speaker_carries_on_after_a_kill_and_resume(tmp_path, store,
                                                                         voice, killed):
    """Set 2 of 6 reps is cut as rep 4 begins (3 done) and the coach is killed, while it
    waits for the speaker or during the set it carried on: --resume says where the set
    was, counts reps 4 to 6 only, and logs set 2 once, with the cut set's start."""
    plan = PLAN.replace("reps = [2, 3]", "reps = [4, 6]")
    session, events = make_session(tmp_path, store, voice, ["6", "yes", "5", "yes"], plan)
    lost = _SpeakerLost(store, events, set_number=2, at=4,
                        killed=killed == "while the speaker is away", kill_at_rep=5)
    session.supervisor = lost
    assert session.run().status == INTERRUPTED
    events.close()
    assert [(r["exercise"], r["set_number"]) for r in sets_of(store)] == [("biceps_curl", 1)]
    left = lost.left_behind["state"]
    assert left["next"] == {"exercise": 0, "set": 2}
    assert left["cut"]["set"] == 2 and left["cut"]["done"] == 3
    assert store.unfinished_session()["state"] == left  # the interrupted end changed nothing
    first = [e for e in read_events(tmp_path / "events.jsonl") if e["type"] == "say"]
    back = "We're back. Set 2 of the biceps curl: you had done 3 of 6 reps. Carry on from rep 4."
    assert [e["text"] for e in first].count(back) == (killed == "in the set carried on")

    resuming = now_iso()
    resumed, events = make_session(tmp_path, store, voice, ["5", "yes", "4", "yes"], plan,
                                   resume=lost.left_behind, events_name="resumed.jsonl")
    assert resumed.run().status == COMPLETED
    events.close()
    records = read_events(tmp_path / "resumed.jsonl")
    said = [r["text"] for r in records if r["type"] == "say"]
    assert said[0] == ("Welcome back. Set 2 of the biceps curl: you had done 3 of 6 reps. "
                       "Carry on from rep 4.")
    asking = next(i for i, r in enumerate(records) if r.get("state") == "ASKING")
    counted = [r["rep"] for r in records[:asking] if r["type"] == "click"]
    assert sorted(set(counted)) == [4, 5, 6]  # only the reps left, each once
    assert not [r for r in records[:asking] if r["type"] == "say"
                and r["text"].startswith("Set 2 of 2")]  # not announced again
    rows = store.query("SELECT exercise, set_number, reps, started FROM sets ORDER BY id")
    assert [(r["exercise"], r["set_number"], r["reps"]) for r in rows] == [
        ("biceps_curl", 1, 6), ("biceps_curl", 2, 5), ("plank", 1, 4)]  # set 2 once
    assert rows[1]["started"] == left["cut"]["started"] < resuming
    assert store.query("SELECT count(*) AS n FROM sessions")[0]["n"] == 1
    ended = store.query("SELECT status, state FROM sessions")[0]
    assert ended["status"] == COMPLETED and "cut" not in json.loads(ended["state"])


class _SpeakerLostWhileASetWaits(_SpeakerLost):
    """``_SpeakerLost``, counting sets by the counts begun: a set waiting for the disk
    logs nothing yet. The speaker is back at once; the disk is freed when it is."""

    def __init__(self, store, events, set_number, at):
        super().__init__(store, events, set_number, at, killed=False)
        self.counts = 0

    def _watch(self, event, t):
        if isinstance(event, StateChanged) and event.state == State.COUNTING:
            self.counts += 1
        elif isinstance(event, Click) and self.counts == self.set_number and not self.cut \
                and event.rep == self.at:
            self.gone = self.cut = True

    def recover(self, problem, tell=None):
        self.left_behind = self.store.unfinished_session()
        self.store.db.execute("PRAGMA max_page_count = 1000000")
        self.gone = False
        return True


def test_a_cut_is_not_saved_while_an_earlier_set_waits_for_the_disk(tmp_path, store, voice,
                                                                     caplog):
    """Set 1 waits for a full disk when set 2 is cut: the resume point must not move past
    set 1, so the cut is not saved (said on stderr); the set still carries on from the rep
    it was at, and both sets are saved once the disk has room."""
    long_noise = "blah " * 1500  # an answer big enough to need new database pages
    plan = PLAN.replace("reps = [2, 3]", "reps = [4, 6]")
    session, events = make_session(tmp_path, store, voice,
                                   [long_noise, "6", "yes", "5", "yes", "4", "yes"], plan)
    pages = store.query("PRAGMA page_count")[0]["page_count"]
    store.db.execute(f"PRAGMA max_page_count = {pages}")
    lost = _SpeakerLostWhileASetWaits(store, events, set_number=2, at=4)
    session.supervisor = lost
    with caplog.at_level("WARNING"):
        assert session.run().status == COMPLETED
    events.close()
    assert "cut" not in lost.left_behind["state"]
    assert lost.left_behind["state"]["next"] == {"exercise": 0, "set": 1}
    assert "where the cut set was is not saved" in caplog.text
    said = [r["text"] for r in read_events(tmp_path / "events.jsonl") if r["type"] == "say"]
    assert ("We're back. Set 2 of the biceps curl: you had done 3 of 6 reps. "
            "Carry on from rep 4.") in said
    assert [(r["set_number"], r["reps"]) for r in sets_of(store)] == [(1, 6), (2, 5), (1, 4)]


def test_a_full_disk_keeps_the_set_and_saves_it_later(tmp_path, store, voice):
    long_noise = "blah " * 1500  # an answer big enough to need new database pages
    session, events = make_session(tmp_path, store, voice,
                                   [long_noise, "3", "yes", "2", "yes", "4", "yes"])
    pages = store.query("PRAGMA page_count")[0]["page_count"]
    store.db.execute(f"PRAGMA max_page_count = {pages}")

    def disk_freed_after_the_warning(event, t):
        if getattr(event, "text", "").startswith("I couldn't save that set"):
            store.db.execute("PRAGMA max_page_count = 1000000")

    events.subscribe(disk_freed_after_the_warning)
    result = session.run()
    events.close()
    assert result.status == COMPLETED and result.unsaved == 0
    assert [r["set_number"] for r in sets_of(store)] == [1, 2, 1]
    records = read_events(tmp_path / "events.jsonl")
    said = [r["text"] for r in records if r["type"] == "say"]
    assert said.count("I couldn't save that set yet. I'm keeping it and will try again.") == 1
    assert [r["set"] for r in records if r["type"] == "set"] == [1, 2, 1]


def test_a_sore_region_lightens_the_exercises_that_work_it(tmp_path, store, voice):
    with store.transaction() as db:
        db.execute("INSERT INTO scans (uid, style, minutes, started, status, sore) VALUES "
                   "(?, 'pre-workout', 5, ?, 'completed', 'forearms')",
                   (new_uid(), dt.datetime.now(dt.UTC).isoformat()))
    session, events = make_session(tmp_path, store, voice, ["3", "yes", "3", "yes", "4", "yes"])
    session.run()
    events.close()
    assert [r["load"] for r in sets_of(store)] == [8.0, 9.0, 0.0]
    said = [r["text"] for r in read_events(tmp_path / "events.jsonl") if r["type"] == "say"]
    assert "Your forearms are sore today, so 8 kilos instead of 10." in said


def test_a_connection_plan_starts_under_sixty_percent_of_the_best_set(tmp_path, store, voice):
    earlier = store.start_session("arms", "kg", {})
    from coach.store import LoggedSet, now_iso

    store.save_set(LoggedSet(earlier, "biceps_curl", 1, 10.0, "kg", 15, True, None, None,
                             "3-0-1-1", now_iso(), now_iso()))
    store.end_session(earlier, "completed")
    plan = ('name = "Feel"\nunit = "kg"\nstyle = "connection"\n[[exercise]]\n'
            'id = "biceps_curl"\nsets = 1\nreps = [2, 3]\nload = 12\ntempo = "1-0-1-0"\n'
            'rest = 10\n')
    session, events = make_session(tmp_path, store, voice, ["3", "yes"], plan)
    session.run()
    events.close()
    # Epley: 10 kg x 15 reps -> 15 kg; 60% -> 9 kg
    assert sets_of(store)[-1]["load"] == 9.0
    decision = store.query("SELECT next_load, reason FROM decisions ORDER BY id DESC")[0]
    assert decision["next_load"] == 9.0 and "connection limit" in decision["reason"]


def test_typed_answers_from_a_pipe(tmp_path):
    plan = tmp_path / "quick.toml"
    plan.write_text(PLAN)
    out = run_coach("--data-dir", str(tmp_path / "data"), "--rate", "260", "session",
                    "--plan", str(plan), "--typed", "--out", str(tmp_path / "typed.wav"),
                    "--rest-scale", "0.05", "--no-warmup", "--seed", "2",
                    input="3\nyes\n2\nno\n4\nyes\n")
    assert out.returncode == 0, out.stderr
    assert "coach: How many reps?" in out.stderr
    assert out.stdout.startswith(str(tmp_path / "typed.wav"))
    with Store(tmp_path / "data" / "coach.sqlite3") as store:
        assert [r["reps"] for r in sets_of(store)] == [3, 2, 4]


def test_bad_options_are_one_line_errors(tmp_path):
    out = run_coach("--data-dir", str(tmp_path), "session", "--plan", "nope", "--typed")
    assert out.returncode == 2 and "no plan named 'nope'" in out.stderr
    assert "Traceback" not in out.stderr
    out = run_coach("--data-dir", str(tmp_path), "session", "--resume", "--typed")
    assert out.returncode == 2 and "no interrupted session" in out.stderr
    out = run_coach("--data-dir", str(tmp_path), "session", "--out", "x.wav")
    assert out.returncode == 2 and "--answers" in out.stderr


# -- through the virtual sound card -------------------------------------------------------

def _wait_for(path: Path, predicate, timeout: float) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            records = read_events(path)
            if predicate(records):
                return records
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting on {path}")


def _typed_coach(args, env=None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "coach", *args], cwd=ROOT, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env or dict(os.environ))


def test_kill_9_while_waiting_for_an_answer_loses_no_set(tmp_path):
    """Answers typed one by one as each listen event appears; SIGKILL when set 2 asks for
    its reps; --resume redoes set 2 only, with the load set 1 earned."""
    plan = tmp_path / "two.toml"
    plan.write_text(PLAN.replace("[2, 3]", "[1, 1]"))
    data = tmp_path / "data"
    events = tmp_path / "first.jsonl"
    common = ["--data-dir", str(data), "--rate", "350", "session", "--rest-scale", "0.05",
              "--no-warmup", "--no-summary", "--ready-seconds", "0.05", "--seed", "3"]
    process = _typed_coach([*common, "--plan", str(plan), "--typed", "--out",
                            str(tmp_path / "first.wav"), "--events", str(events)])
    try:
        for number, answer in enumerate(("1", "yes"), start=1):
            _wait_for(events, lambda rs, n=number: sum(
                1 for r in rs if r["type"] == "listen" and r["expect"] != "command") >= n, 30)
            process.stdin.write(answer + "\n")
            process.stdin.flush()
        _wait_for(events, lambda rs: sum(1 for r in rs if r["type"] == "listen"
                                         and r["expect"] == "reps") == 2, 30)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)
    finally:
        if process.poll() is None:
            process.kill()
    logged = [(r["exercise"], r["set"]) for r in read_events(events) if r["type"] == "set"]
    assert logged == [("biceps_curl", 1)]
    with Store(data / "coach.sqlite3") as store:
        assert [(r["exercise"], r["set_number"]) for r in sets_of(store)] == logged
        assert store.unfinished_session()["state"]["next"] == {"exercise": 0, "set": 2}
    resumed = run_coach(*common, "--resume", "--typed", "--out", str(tmp_path / "second.wav"),
                        input="1\nno\n4\nyes\n")
    assert resumed.returncode == 0, resumed.stderr
    with Store(data / "coach.sqlite3") as store:
        rows = sets_of(store)
        assert [(r["exercise"], r["set_number"], r["load"], r["reps"]) for r in rows] == [
            ("biceps_curl", 1, 10.0, 1), ("biceps_curl", 2, 11.0, 1), ("plank", 1, 0.0, 4)]


@pytest.mark.audio
def test_kill_9_mid_set_on_the_sound_card_then_resume(card, tmp_path):
    """SIGKILL while set 2 is being counted on the live speaker: set 1 is in the database;
    --resume carries on at set 2 with set 1's adapted load; no set lost or doubled."""
    plan = tmp_path / "two.toml"
    plan.write_text(PLAN.replace("[2, 3]", "[1, 1]").split("\n\n[[exercise]]\nid = \"plank\"")[0])
    data = tmp_path / "data"
    first = tmp_path / "first.txt"
    first.write_text("1\nyes\n1\nyes\n")
    events = tmp_path / "first.jsonl"
    common = ["--data-dir", str(data), "--rate", "350", "session", "--rest-scale", "0.05",
              "--no-warmup", "--no-summary", "--ready-seconds", "0.1", "--seed", "3"]
    process = subprocess.Popen(
        [sys.executable, "-m", "coach", *common, "--plan", str(plan), "--answers", str(first),
         "--events", str(events)], env=card.client_env(), cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait_for(events, lambda rs: sum(r["type"] == "state" and r["state"] == "COUNTING"
                                         for r in rs) >= 2, 90)
        time.sleep(0.3)  # into the set
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)
    finally:
        if process.poll() is None:
            process.kill()
    logged = [(r["exercise"], r["set"]) for r in read_events(events) if r["type"] == "set"]
    assert logged == [("biceps_curl", 1)]
    with Store(data / "coach.sqlite3") as store:
        assert [(r["exercise"], r["set_number"]) for r in sets_of(store)] == logged
    rest = tmp_path / "rest.txt"
    rest.write_text("1\nno\n")
    resumed = run_coach(*common, "--resume", "--answers", str(rest), env=card.client_env(),
                        timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    with Store(data / "coach.sqlite3") as store:
        rows = sets_of(store)
        assert [(r["set_number"], r["load"], r["reps"], r["felt"]) for r in rows] == [
            (1, 10.0, 1, 1), (2, 11.0, 1, 0)]
        assert store.query("SELECT status FROM sessions")[0]["status"] == "completed"


# -- a spoken session: the athlete answers into the microphone ------------------------------

SPOKEN_PLAN = """\
name = "Spoken"
unit = "kg"

[[exercise]]
id = "biceps_curl"
sets = 2
reps = [2, 2]
load = 10
tempo = "1-0-1-0"
rest = 20

[[exercise]]
id = "row"
sets = 1
reps = [2, 2]
load = 20
tempo = "1-0-1-0"
rest = 20
"""

#: What the athlete says at each set: reps, felt, and the extras of that set.
ATHLETE = [
    {"reps": "two", "felt": "yes I felt it"},
    {"reps": "two", "felt": "no", "pause_at_ready": True, "unclear": "purple elephant"},
    # asked again (the verifier can reject a right decode), the athlete names the place alone
    {"reps": "two", "felt": "in my biceps", "felt_again": "biceps"},
]


def _hearing_available() -> bool:
    try:
        from coach.hearing import open_recognizer  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.audio
@pytest.mark.skipif(not _hearing_available(), reason="coach.hearing (issue 3) has not landed")
def test_a_spoken_session_through_the_virtual_card(card, tmp_path, voice):
    """The athlete speaks synthesised WAVs into athlete_out each time the coach listens:
    felt it, didn't feel it, a place named, one unclear answer and a pause / resume."""
    from coach.audio.wavio import write_wav

    # A second voice for answers the coach asks again for, as a person would say it
    # again differently (recognition on a loaded CI machine is not certain).
    voices = [Voice(SpeechSettings(voice="espeak:en-us", rate=170), 22_050),
              Voice(SpeechSettings(voice="espeak:en-us", rate=150), 22_050)]
    wavs: dict[str, list] = {}
    for text in {"pause", "resume", "yes", "no", *(v for s in ATHLETE for v in s.values()
                                                    if isinstance(v, str))}:
        wavs[text] = []
        for number, athlete_voice in enumerate(voices):
            path = tmp_path / f"{text.replace(' ', '_')}_{number}.wav"
            write_wav(path, athlete_voice.render(text), 22_050)
            wavs[text].append(path)
    spoken: dict[tuple[int, str], int] = {}
    plan = tmp_path / "spoken.toml"
    plan.write_text(SPOKEN_PLAN)
    data = tmp_path / "data"
    events = tmp_path / "spoken.jsonl"
    process = subprocess.Popen(
        [sys.executable, "-m", "coach", "--data-dir", str(data), "--rate", "300", "session",
         "--plan", str(plan), "--events", str(events),
         "--rest-scale", "0.05", "--no-warmup", "--no-summary", "--ready-seconds", "1.5",
         "--answer-seconds", "6", "--seed", "4"],
        env=card.client_env(), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    said_unclear = paused = False
    seen = 0
    try:
        deadline = time.monotonic() + 150
        while process.poll() is None and time.monotonic() < deadline:
            records = read_events(events) if events.exists() else []
            for record in records[seen:]:
                if record["type"] != "listen":
                    continue
                states = [r["state"] for r in records if r["type"] == "state"]
                index = min(sum(1 for r in records if r["type"] == "set"), len(ATHLETE) - 1)
                plan_for_set = ATHLETE[index]
                answer = None
                if record["expect"] == "command":
                    if states and states[-1] == "PAUSED":
                        answer = "resume"
                    elif plan_for_set.get("pause_at_ready") and not paused:
                        answer, paused = "pause", True
                elif record["expect"] == "confirm":  # "2 reps, right?", "In your biceps..."
                    line = [r["text"] for r in records if r["type"] == "say"][-1]
                    felt_check = {"yes I felt it": FELT_CHECKS[True],
                                  "no": FELT_CHECKS[False]}.get(plan_for_set["felt"])
                    answer = "yes" if line.startswith(("2 ", "In your biceps")) \
                        or line == felt_check else "no"
                elif record["expect"] == "reps":
                    if plan_for_set.get("unclear") and not said_unclear:
                        answer, said_unclear = plan_for_set["unclear"], True
                    else:
                        answer = plan_for_set["reps"]
                else:
                    answer = plan_for_set["felt"]
                    if spoken.get((index, answer)) and plan_for_set.get("felt_again"):
                        answer = plan_for_set["felt_again"]
                if answer is not None:
                    times = spoken[(index, answer)] = spoken.get((index, answer), 0) + 1
                    time.sleep(0.2)
                    card.play_into(wavs[answer][(times - 1) % len(voices)])
            seen = len(records)
            time.sleep(0.05)
        process.wait(10)
    finally:
        if process.poll() is None:
            process.kill()
    stderr = process.stderr.read().decode(errors="replace")
    assert process.returncode == 0, stderr
    records = read_events(events)
    with Store(data / "coach.sqlite3") as store:
        rows = sets_of(store)
        assert [(r["exercise"], r["set_number"], r["load"], r["reps"])
                for r in rows] == [("biceps_curl", 1, 10.0, 2), ("biceps_curl", 2, 11.0, 2),
                                   ("row", 1, 20.0, 2)]
        assert [r["felt"] for r in rows[:2]] == [1, 0]
        assert all(r["cue"] for r in rows)
        # The place named is often rejected by the verifier when the whole file runs (a
        # known PocketSphinx weakness, README Limits); unclear after the re-asks, the
        # felt answer is then kept empty - never a wrong value.
        assert rows[2]["felt"] in (0, None)
        if rows[2]["felt"] == 0:
            assert rows[2]["felt_where"] == "biceps"  # a place, not the target: not felt
            last = store.query("SELECT next_cue FROM decisions ORDER BY id DESC")[0]["next_cue"]
            assert builtin_library().cue(last).corrects_region("biceps")
        heard = store.query("SELECT kind, words, engine FROM answers")
        assert heard and all(h["engine"] for h in heard)
    said = [r["text"] for r in records if r["type"] == "say"]
    # "purple elephant" is not a count: asked again, or a guess at it checked aloud
    # ("2 reps, right?"), which takes the athlete's yes for the 2 reps they did
    assert "Sorry, I didn't catch that. How many reps?" in said or \
        any(s.endswith((" reps, right?", " rep, right?")) for s in said), said
    assert "Paused. Say resume when you're ready." in said
    assert any(s.startswith("You didn't feel it: down to 10 kilos") for s in said)
    assert records[-1] == {**records[-1], "type": "end", "status": "completed"}


def test_an_unsure_spoken_count_is_checked_before_it_is_logged(tmp_path, store, voice):
    """Spoken counts (espeak-ng WAVs) decoded by the real Whisper model, told to trust
    nothing outright: each count is a guess the coach checks aloud. "yes" logs it; "no"
    asks again, and the next answer is logged instead."""
    from coach.audio.wavio import write_wav
    from coach.hearing import models, synth
    from coach.hearing.whisper_engine import WhisperRecognizer, WhisperSettings

    for name, text in (("three", "three"), ("two", "two")):
        write_wav(tmp_path / f"{name}.wav", synth.pad(synth.speak(text, "en-us+m3", 150)),
                  16_000)
    plan = PLAN.split("\n\n[[exercise]]\nid = \"plank\"")[0]
    script = tmp_path / "spoken.txt"
    script.write_text(f"{tmp_path / 'three.wav'}\nyes\nyes\n"       # set 1: checked, yes
                      f"{tmp_path / 'two.wav'}\nno\n3\nyes\n")      # set 2: no, then "3"
    unsure = WhisperSettings(min_confidence=1.01)
    source = ScriptSource(script, lambda: WhisperRecognizer(models.package_model_dir(),
                                                             settings=unsure))
    session, events = make_session(tmp_path, store, voice, [], plan, source=source)
    assert session.run().status == COMPLETED
    events.close()
    assert [(r["set_number"], r["reps"]) for r in sets_of(store)] == [(1, 3), (2, 3)]
    said = [r["text"] for r in read_events(tmp_path / "events.jsonl") if r["type"] == "say"]
    assert said.count("3 reps, right?") == 1 and said.count("2 reps, right?") == 1
    assert "My mistake. How many reps?" in said
    heard = [tuple(h.values()) for h in store.query("SELECT expect, kind FROM answers "
                                                    "ORDER BY id")]
    assert heard[:3] == [("reps", "unknown"), ("confirm", "felt"), ("felt", "felt")]
