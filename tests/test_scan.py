"""Body scans: the scripts, the planner, and whole scans rendered offline with real speech.

The planner is tested with line lengths estimated from word counts (pure, fast); the
rendered scans use espeak-ng through the real Voice and the OfflineSpeaker's clock.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

from coach.audio import analysis
from coach.audio.wavio import read_wav
from coach.core import scan as core
from coach.errors import CoachError
from coach.events import EventWriter, read_events
from coach.store import Store

from .conftest import run_coach

RATE = 44_100
CHIMES = (int(1.6 * RATE), int(1.9 * RATE))
TONES = (int(0.6 * RATE), int(0.6 * RATE))


def estimate(text: str) -> int:
    """Roughly espeak-ng's length for a line at 170 words per minute, in samples."""
    return int((len(text.split()) / 2.9 + 0.4) * RATE)


def build(style: str, minutes: float, focus=(), breath=None) -> core.Timeline:
    script = core.load_script(style)
    return core.build(script, minutes, RATE, estimate, *CHIMES, focus=focus, breath=breath,
                      tone_lengths=TONES)


# -- scripts ---------------------------------------------------------------------------
@pytest.mark.parametrize("style", core.STYLES)
def test_every_shipped_script_loads_and_runs_head_to_toes(style):
    script = core.load_script(style)
    assert script.style == style
    for length in core.LENGTHS:
        for rounds in script.rounds:
            chosen = core.steps(script, length, rounds)
            regions = [s.region for s in chosen if s.region]
            assert regions, (length, rounds)
            for number in range(1, rounds + 1):
                orders = [script.body.order(s.region) for s in chosen
                          if s.region and s.round == number]
                assert orders == sorted(orders), (length, number, orders)


def test_full_scan_goes_from_the_head_to_the_feet():
    timeline = build(core.FULL, 10)
    regions = timeline.regions()
    assert regions[0] == "head" and regions[-1] == "feet"
    assert len(regions) >= 15
    body = core.load_body()
    orders = [body.order(r) for r in regions]
    assert orders == sorted(orders)


def test_no_line_uses_a_command_word(tmp_path):
    """The coach listens for commands while it talks: its own lines must not sound like one."""
    for style in core.STYLES:
        script = core.load_script(style)
        texts = core.all_texts(script, focus=("glutes", "lower back"), breath=True)
        for text in texts:
            words = f" {' '.join(text.lower().replace(',', ' ').replace('.', ' ').split())} "
            for command in core.COMMAND_WORDS:
                assert f" {command} " not in words, (style, text)
    user = tmp_path / "scans"
    user.mkdir()
    (user / "full.toml").write_text(
        '[[region]]\nname = "head"\n[[region.line]]\ntext = "Now stop and rest."\n')
    with pytest.raises(CoachError) as caught:
        core.load_script(core.FULL, user)
    assert "stop" in caught.value.message and caught.value.exit_code == 2


def test_a_users_copy_wins_and_its_mistakes_name_the_file(tmp_path):
    user = tmp_path / "scans"
    user.mkdir()
    (user / "full.toml").write_text(
        'rounds = [1]\n[[intro]]\ntext = "Settle in."\npause = 2\n'
        '[[region]]\nname = "Head"\n[[region.line]]\ntext = "Notice your head."\n'
        '[[region]]\nname = "toes"\n[[region.line]]\ntext = "Notice your toes."\n')
    script = core.load_script(core.FULL, user)
    assert script.source == user / "full.toml"
    assert [b.name for b in script.regions] == ["head", "feet"]  # "toes" is an alias
    (user / "full.toml").write_text(
        '[[region]]\nname = "feet"\n[[region.line]]\ntext = "Feet."\n'
        '[[region]]\nname = "neck"\n[[region.line]]\ntext = "Neck."\n')
    with pytest.raises(CoachError) as caught:
        core.load_script(core.FULL, user)
    assert "head to toes" in caught.value.message and "neck" in caught.value.message
    (user / "full.toml").write_text('[[region]\nname = "feet"\n')
    with pytest.raises(CoachError) as caught:
        core.load_script(core.FULL, user)
    assert str(user / "full.toml") in caught.value.message and caught.value.exit_code == 2
    (user / "full.toml").write_text(
        '[[region]]\nname = "feet"\n[[region.line]]\ntext = "Feet."\npause = [5, 2, 9]\n')
    with pytest.raises(CoachError, match="shortest <= usual <= longest"):
        core.load_script(core.FULL, user)


def test_regions_resolve_from_aliases_in_head_to_toe_order():
    body = core.load_body()
    assert body.resolve(["Hamstrings", "delts", "abs", "hamstring"]) == \
        ["shoulders", "core", "hamstrings"]
    assert body.resolve(["quadriceps", "traps", "hip flexors"], strict=False) == \
        ["upper back", "hips", "quads"]
    assert body.resolve(["elbow grease"], strict=False) == []
    with pytest.raises(CoachError) as caught:
        body.resolve(["wings"])
    assert "wings" in caught.value.message and "glutes" in caught.value.fix


# -- the planner --------------------------------------------------------------------------
@pytest.mark.parametrize("style", core.STYLES)
@pytest.mark.parametrize("minutes", [1, 2, 3, 5, 8, 10, 15, 20, 30])
def test_the_plan_lasts_exactly_the_minutes_asked(style, minutes):
    timeline = build(style, minutes)
    assert timeline.total == minutes * 60 * RATE
    kinds = [item.kind for _, item in timeline.entries]
    assert kinds[0] == core.CHIME_START and kinds[-1] == core.CHIME_END
    end_start, end_item = timeline.entries[-1]
    assert end_start + end_item.length == timeline.total
    starts = timeline.starts()
    assert starts == sorted(starts)
    sounds = timeline.sounds()
    for (start, item), (following, _) in zip(sounds, sounds[1:], strict=False):
        assert start + item.length <= following, "two sounds overlap"
    if style != core.PRE_WORKOUT or minutes <= 15:
        assert timeline.fit == "exact", (style, minutes, timeline.fit)


@pytest.mark.parametrize("style", core.STYLES)
def test_pauses_stay_within_their_bounds(style):
    script = core.load_script(style)
    for minutes in (1, 4, 12, 25):
        timeline = build(style, minutes)
        if timeline.fit != "exact":  # a short script asked to fill a long time
            assert style == core.PRE_WORKOUT and minutes > 15
            continue
        chosen = core.steps(script, timeline.length, timeline.rounds)
        sounds = timeline.sounds()
        lines = sounds[1:-1]
        assert [i.text for _, i in lines] == [s.text for s in chosen]
        for (start, item), (following, _), step in zip(lines, sounds[2:], chosen, strict=True):
            quiet = (following - start - item.length) / RATE
            assert step.pause.shortest - 1e-3 <= quiet <= step.pause.longest + 1e-3, step.text


def test_tense_relax_tenses_about_five_seconds_and_releases_about_ten():
    for minutes in (2, 8, 20):
        lines = build(core.TENSE_RELAX, minutes).sounds()
        holds = releases = 0
        for (start, item), (following, _) in zip(lines, lines[1:], strict=False):
            quiet = (following - start - item.length) / RATE
            if item.text.endswith("Tense."):
                holds += 1
                assert 4.0 <= quiet <= 6.0, (minutes, item.text, quiet)
            elif item.text.startswith("And release") or item.text.startswith("And let"):
                releases += 1
                assert 8.0 <= quiet <= 14.0, (minutes, item.text, quiet)
        assert holds >= 2 and holds == releases


def test_short_scans_drop_lines_and_long_scans_add_them():
    brief, standard, long_ = (build(core.FULL, m) for m in (1, 4, 20))
    assert brief.length == core.BRIEF and long_.length == core.LONG
    assert len(brief.lines()) < len(standard.lines()) < len(long_.lines())
    assert build(core.TENSE_RELAX, 30).rounds > 1


def test_pre_workout_scans_the_focus_and_the_plans_muscles():
    timeline = build(core.PRE_WORKOUT, 2, focus=("shoulders", "glutes"))
    assert timeline.regions() == ["shoulders", "glutes"] and timeline.rounds == 1
    texts = " ".join(i.text for _, i in timeline.lines())
    assert "glutes" in texts and "{" not in texts
    too_many = core.load_body().names
    with pytest.raises(CoachError) as caught:
        build(core.PRE_WORKOUT, 1, focus=too_many)
    assert caught.value.exit_code == 2 and "minutes" in caught.value.fix


@pytest.mark.parametrize("minutes", [0, 0.5, 30.5, 45, -3, math.nan])
def test_minutes_outside_1_to_30_are_refused(minutes):
    with pytest.raises(CoachError) as caught:
        core.check_minutes(minutes)
    assert caught.value.exit_code == 2 and "--minutes" in caught.value.fix


def test_breathing_pace_parses_and_its_tones_sit_in_the_quiet():
    assert core.parse_breath("4-6") == core.Breath(4.0, 6.0)
    assert core.parse_breath("5") == core.Breath(5.0, 5.0)
    for bad in ("fast", "0-6", "4-20", "1-2-3"):
        with pytest.raises(CoachError):
            core.parse_breath(bad)
    timeline = build(core.FULL, 20, breath=core.Breath(4.0, 6.0))
    tones = [(s, i) for s, i in timeline.entries if i.kind in core.TONES]
    assert len(tones) > 20
    sounds = timeline.sounds()
    margin = core.BREATH_MARGIN * RATE
    for start, item in tones:
        for other, sound in sounds:
            assert start + item.length + margin <= other + 1 or \
                other + sound.length + margin <= start + 1
    ins = [s for s, i in tones if i.kind == core.BREATH_IN]
    outs = [s for s, i in tones if i.kind == core.BREATH_OUT]
    assert [o - i for i, o in zip(ins, outs, strict=True)] == [4 * RATE] * len(ins)
    assert any(line.text.startswith("Follow the soft tones") for _, line in timeline.lines())
    assert timeline.total == 20 * 60 * RATE


def test_resume_restarts_a_cut_line_and_repeat_rewinds_to_the_last_line():
    timeline = build(core.FULL, 3)
    (start, line), (following, _) = timeline.lines()[2:4]
    middle = start + line.length // 2
    assert core.resume_point(timeline, middle) == start
    quiet = start + line.length + 10
    assert core.resume_point(timeline, quiet) == quiet
    assert core.rewind_point(timeline, quiet) == start
    assert core.rewind_point(timeline, following + 5) == following


def test_slower_stretches_only_the_quiet_that_is_left():
    timeline = build(core.FULL, 20, breath=core.Breath(3, 3))
    position = timeline.lines()[3][0] + 100
    slower = core.stretch_after(timeline, position, 1.5, TONES)
    before = [e for e in timeline.sounds() if e[0] <= position]
    assert [e for e in slower.sounds() if e[0] <= position] == before
    assert [i.text for _, i in slower.lines()] == [i.text for _, i in timeline.lines()]
    assert slower.total > timeline.total
    old = timeline.sounds()
    new = slower.sounds()
    for index in range(len(before) + 1, len(old)):
        old_gap = old[index][0] - old[index - 1][0] - old[index - 1][1].length
        new_gap = new[index][0] - new[index - 1][0] - new[index - 1][1].length
        assert abs(new_gap - 1.5 * old_gap) <= 1
    tones = [s for s, i in slower.entries if i.kind in core.TONES]
    assert tones and all(
        not (s <= t < s + i.length) for t in tones for s, i in slower.sounds())


# -- whole scans, rendered offline ---------------------------------------------------------
def say_texts(records) -> list[str]:
    return [r["text"] for r in records if r["type"] == "say"]


def regions_of(texts, style=core.FULL, focus=()) -> list[str]:
    """The region of each spoken line, from the script (any length, any round)."""
    script = core.load_script(style)
    where: dict[str, set] = {}
    for length in core.LENGTHS:
        for step in core.steps(script, length, 2, focus):
            where.setdefault(step.text, set()).add(step.region)
    # lines said for one region only (not "And let go." said for every muscle)
    return [next(iter(where[t])) for t in texts
            if len(where.get(t, ())) == 1 and None not in where[t]]


@pytest.mark.parametrize("minutes", [1, 3, 10])
def test_rendered_scan_lasts_the_minutes_asked(minutes, data_dir, tmp_path):
    out, events = tmp_path / "scan.wav", tmp_path / "events.jsonl"
    result = run_coach("--data-dir", str(data_dir), "scan", "--minutes", str(minutes),
                       "--out", str(out), "--events", str(events), timeout=90)
    assert result.returncode == 0, result.stderr
    samples, rate = read_wav(out)
    seconds = len(samples) / rate
    assert abs(seconds - minutes * 60) <= 0.02 * minutes * 60
    span = analysis.active_span(samples, rate, threshold=0.005)
    assert span is not None and span[0] < 0.1  # the start chime at once
    assert span[1] > seconds - 1.0  # the end chime rings to the end
    records = read_events(events)
    assert records[-1]["type"] == "end" and records[-1]["status"] == "completed"
    assert abs(records[-1]["t"] - minutes * 60) < 0.05
    body = core.load_body()
    regions = regions_of(say_texts(records))
    assert regions[0] == "head" and regions[-1] == "feet"
    orders = [body.order(r) for r in regions]
    assert orders == sorted(orders), regions
    summary = result.stdout.strip().splitlines()[-1]
    assert f'"out_seconds": {minutes * 60}' in summary.replace(".0,", ",")


def test_each_line_is_heard_when_its_event_says(data_dir, tmp_path):
    """The say events carry the virtual clock: speech starts at their time in the WAV."""
    out, events = tmp_path / "scan.wav", tmp_path / "events.jsonl"
    result = run_coach("--data-dir", str(data_dir), "scan", "--style", "tense-relax",
                       "--minutes", "2", "--breath", "4-6", "--out", str(out),
                       "--events", str(events))
    assert result.returncode == 0, result.stderr
    samples, rate = read_wav(out)
    for record in read_events(events):
        if record["type"] == "say":
            at = int(record["t"] * rate)
            assert analysis.rms(samples[at - 2000:at - 200]) < 0.003, record["text"]
            assert analysis.rms(samples[at:at + rate // 2]) > 0.01, record["text"]


def write_answers(tmp_path, *lines: str):
    path = tmp_path / "answers.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_scripted_pause_is_silent_and_the_scan_goes_on_where_it_stopped(data_dir, tmp_path):
    out, events = tmp_path / "scan.wav", tmp_path / "events.jsonl"
    answers = write_answers(tmp_path, "# commands at seconds of the scan", "@12 pause",
                            "@20 resume", "calm")
    result = run_coach("--data-dir", str(data_dir), "scan", "--minutes", "1", "--out", str(out),
                       "--events", str(events), "--answers", str(answers))
    assert result.returncode == 0, result.stderr
    samples, rate = read_wav(out)
    records = read_events(events)
    paused = next(r for r in records if r.get("state") == "PAUSED")
    resumed = next(r for r in records if r.get("state") == "PLAYING" and r["t"] > paused["t"])
    assert abs(paused["t"] - 12) < 0.06 and abs(resumed["t"] - 20) < 0.06
    quiet = samples[int((paused["t"] + 0.01) * rate):int(resumed["t"] * rate)]
    assert analysis.rms(quiet) < 1e-4 and np.max(np.abs(quiet)) < 1e-3
    # the scan goes on in order: the line cut short (or the one after) comes next
    plain = tmp_path / "plain.jsonl"
    run_coach("--data-dir", str(data_dir), "scan", "--minutes", "1", "--out",
              str(tmp_path / "plain.wav"), "--events", str(plain))
    expected = say_texts(read_events(plain))
    checkin = next(r for r in records if r.get("state") == "CHECKIN")
    said = [r["text"] for r in records if r["type"] == "say" and r["t"] < checkin["t"]]
    before = [r["text"] for r in records if r["type"] == "say" and r["t"] < paused["t"]]
    after = [r["text"] for r in records if r["type"] == "say" and r["t"] > resumed["t"]]
    assert before == expected[:len(before)]
    assert after[0] in (before[-1], expected[len(before)])
    deduplicated = [t for i, t in enumerate(said) if i == 0 or said[i - 1] != t]
    assert deduplicated == expected
    # the scan grew by the pause (and by the part of a cut line said again)
    end = records[-1]
    seconds_played = [r for r in records if r["type"] == "checkin"][0]["t"]
    assert 68 <= seconds_played < 60 + 8 + 8 and end["status"] == "completed"
    # the check-in is stored
    with Store(data_dir / "coach.sqlite3") as store:
        (scan,) = store.query("SELECT * FROM scans")
        assert (scan["style"], scan["minutes"], scan["status"], scan["feeling"]) == \
            ("full", 1.0, "completed", "calm")
        (answer,) = store.query("SELECT * FROM answers WHERE scan_id = ?", (scan["id"],))
        assert (answer["expect"], answer["kind"], answer["value"], answer["engine"]) == \
            ("feeling", "feeling", '"calm"', "script")


def test_pre_workout_check_in_stores_the_sore_region(data_dir, tmp_path):
    events = tmp_path / "events.jsonl"
    answers = write_answers(tmp_path, "um, not sure", "tense", "my lower back")
    result = run_coach("--data-dir", str(data_dir), "scan", "--focus", "hamstrings,glutes",
                       "--minutes", "1", "--out", str(tmp_path / "scan.wav"), "--events",
                       str(events), "--answers", str(answers))
    assert result.returncode == 0, result.stderr
    records = read_events(events)
    listens = [r["expect"] for r in records if r["type"] == "listen"]
    assert listens == ["feeling", "feeling", "sore"]  # the unclear answer is asked again
    (checkin,) = [r for r in records if r["type"] == "checkin"]
    assert (checkin["feeling"], checkin["sore"]) == ("tense", "lower back")
    regions = regions_of(say_texts(records), core.PRE_WORKOUT, ("glutes", "hamstrings"))
    assert regions[0] == "glutes" and regions[-1] == "hamstrings"
    with Store(data_dir / "coach.sqlite3") as store:
        (scan,) = store.query("SELECT * FROM scans")
        assert (scan["style"], scan["focus"], scan["feeling"], scan["sore"]) == \
            ("pre-workout", "glutes,hamstrings", "tense", "lower back")
        assert len(store.query("SELECT * FROM answers WHERE scan_id = ?", (scan["id"],))) == 3
        assert store.sore_regions() == ["lower back"]
        assert store.sore_regions(dt.date.today() - dt.timedelta(days=1)) == []


def test_stop_ends_the_scan_at_once_and_is_stored_as_stopped(data_dir, tmp_path):
    out, events = tmp_path / "scan.wav", tmp_path / "events.jsonl"
    answers = write_answers(tmp_path, "@9 stop", "calm")
    result = run_coach("--data-dir", str(data_dir), "scan", "--style", "tense-relax",
                       "--minutes", "3", "--out", str(out), "--events", str(events),
                       "--answers", str(answers))
    assert result.returncode == 0, result.stderr
    samples, rate = read_wav(out)
    assert 9 < len(samples) / rate < 9 + 2.5  # the end chime, then nothing
    records = read_events(events)
    assert records[-1] == {**records[-1], "type": "end", "status": "stopped"}
    assert not [r for r in records if r["type"] == "listen"]  # no check-in after a stop
    with Store(data_dir / "coach.sqlite3") as store:
        assert store.query("SELECT status, feeling FROM scans") == \
            [{"status": "stopped", "feeling": None}]


def test_repeat_and_slower(data_dir, tmp_path):
    events = tmp_path / "events.jsonl"
    answers = write_answers(tmp_path, "@10 say that again", "@20 slow down")
    result = run_coach("--data-dir", str(data_dir), "scan", "--minutes", "2", "--out",
                       str(tmp_path / "scan.wav"), "--events", str(events),
                       "--answers", str(answers))
    assert result.returncode == 0, result.stderr
    records = read_events(events)
    said = say_texts(records)
    repeated = [i for i in range(1, len(said)) if said[i] == said[i - 1]]
    assert len(repeated) == 1
    heard = [r["value"] for r in records if r["type"] == "heard"]
    assert heard == ["repeat", "slower"]
    assert records[-1]["t"] > 120 + 5  # the quiet after "slower" is longer


def test_bad_input_is_one_line_with_a_fix(data_dir, tmp_path):
    cases = [
        (["scan", "--minutes", "45"], "1 to 30 minutes"),
        (["scan", "--minutes", "0.5", "--out", str(tmp_path / "a.wav")], "1 to 30 minutes"),
        (["scan", "--breath", "quick", "--out", str(tmp_path / "a.wav")], "breathing pace"),
        (["scan", "--focus", "wings", "--out", str(tmp_path / "a.wav")], "wings"),
        (["scan", "--plan", "no-such-plan", "--out", str(tmp_path / "a.wav")], "no-such-plan"),
        (["scan", "--style", "full", "--focus", "glutes", "--out", str(tmp_path / "a.wav")],
         "pre-workout"),
        (["scan", "--out", str(tmp_path / "a.mp3")], ".wav"),
        (["scan", "--answers", str(tmp_path / "missing.txt"), "--out",
          str(tmp_path / "a.wav")], "answers"),
    ]
    for args, words in cases:
        result = run_coach("--data-dir", str(data_dir), *args)
        assert result.returncode == 2, (args, result.stderr)
        assert words in result.stderr and "fix:" in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr and result.stdout == ""


def test_plan_muscles_make_the_pre_workout_regions(data_dir, tmp_path):
    events = tmp_path / "events.jsonl"
    result = run_coach("--data-dir", str(data_dir), "scan", "--plan", "lower", "--minutes", "2",
                       "--out", str(tmp_path / "scan.wav"), "--events", str(events))
    assert result.returncode == 0, result.stderr
    from coach.core.library import builtin_library
    from coach.core.plans import load_plan

    library = builtin_library()
    plan = load_plan("lower", library)
    body = core.load_body()
    muscles = body.resolve([t for e in plan.exercises for t in library.exercise(e.id).targets],
                           strict=False)
    said = regions_of(say_texts(read_events(events)), core.PRE_WORKOUT, muscles)
    first_round = [r for i, r in enumerate(said) if r not in said[:i]]
    assert first_round == muscles == sorted(muscles, key=body.order)


def test_typed_and_scripted_answers(tmp_path):
    """The scan uses the dialogue layer's sources: typed lines are commands while the scan
    plays and answers at the check-in; a script's @SECONDS lines are timed commands."""
    import io

    from coach.dialogue.sources import ScriptSource, TypedSource

    def nothing():
        return None

    typed = TypedSource(io.StringIO("pause\n\nsay that again\nI feel relaxed\n"), prompt=None)
    typed._reader.join(5)
    watch = typed.watch()
    assert [watch.poll(0).value, watch.poll(0), watch.poll(0).value] == ["pause", None, "repeat"]
    assert typed.available and not typed.exhausted
    assert typed.listen("feeling", 1, nothing).value == "calm"
    assert typed.listen("feeling", 1, nothing).details.get("end_of_input")
    assert not typed.available and typed.exhausted
    script = write_answers(tmp_path, "@2.5 pause", "@1 carry on", "fine", "no")
    scripted = ScriptSource(script)
    watch = scripted.watch()
    assert watch.poll(0.5) is None
    assert watch.poll(1.0).value == "resume" and watch.poll(2.4) is None
    assert watch.poll(2.5).value == "pause" and scripted.exhausted
    assert scripted.listen("feeling", 1, nothing).value == "okay"
    sore = scripted.listen("sore", 1, nothing)
    assert (sore.kind, sore.value) == ("where", None) and not scripted.available
    bad = write_answers(tmp_path, "@soon pause")
    with pytest.raises(CoachError, match="@SECONDS"):
        ScriptSource(bad)


def test_an_unsure_check_in_answer_is_checked_aloud(tmp_path, data_dir):
    """The check-in's spoken answers (espeak-ng WAVs) decoded by the real Whisper model,
    told to trust nothing outright: each is a guess checked aloud. "yes" stores the
    feeling; "no" to the sore region asks again, and the next answer is stored."""
    from coach.audio.wavio import write_wav
    from coach.dialogue.sources import ScriptSource
    from coach.hearing import models, synth
    from coach.hearing.whisper_engine import WhisperRecognizer, WhisperSettings
    from coach.scan.loop import ScanRequest, render_scan
    from coach.settings import Paths, Settings

    for name, text in (("tense", "tense"), ("back", "my lower back")):
        write_wav(tmp_path / f"{name}.wav", synth.pad(synth.speak(text, "en-us+m3", 150)),
                  16_000)
    script = write_answers(tmp_path, str(tmp_path / "tense.wav"), "yes",
                           str(tmp_path / "back.wav"), "no", "my shoulders")
    unsure = WhisperSettings(min_confidence=1.01)
    source = ScriptSource(script, lambda: WhisperRecognizer(models.package_model_dir(),
                                                             settings=unsure))
    events = tmp_path / "events.jsonl"
    outcome = render_scan(Settings(paths=Paths(data_dir=data_dir)),
                          ScanRequest(core.PRE_WORKOUT, 1, ("glutes",)), tmp_path / "scan.wav",
                          source, EventWriter(events))
    assert (outcome.feeling, outcome.sore) == ("tense", "shoulders")
    records = read_events(events)
    said = say_texts(records)
    checkin = said[said.index(core.load_checkin().feeling):]
    assert checkin[:5] == [core.load_checkin().feeling, "You feel tense, right?",
                           core.load_checkin().sore, "In your lower back, right?",
                           f"My mistake. {core.load_checkin().sore}"], checkin
    assert [r["expect"] for r in records if r["type"] == "listen"] == \
        ["feeling", "confirm", "sore", "confirm", "sore"]
    with Store(data_dir / "coach.sqlite3") as store:
        heard = [(a["expect"], a["kind"]) for a in
                 store.query("SELECT expect, kind FROM answers ORDER BY id")]
    assert heard == [("feeling", "unknown"), ("confirm", "felt"), ("sore", "unknown"),
                     ("confirm", "felt"), ("sore", "where")]
