"""The voice gate (Silero VAD through onnxruntime) on real audio: espeak-ng speech and an
FSDD recording open it; quiet, clanks, coughs, tones and noise never do."""

from __future__ import annotations

import numpy as np
import pytest

from coach.hearing import synth
from coach.hearing.vad import WINDOW, VoiceGate, silero, speech_span
from coach.settings import INPUT_RATE as RATE
from tests.conftest import FSDD


def tone(freq: float, seconds: float = 1.0, harmonics: int = 1) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    wave = sum(np.sin(2 * np.pi * freq * k * t) / k for k in range(1, harmonics + 1))
    return synth.pad((wave / np.max(np.abs(wave)) * 0.5 * 32767).astype(np.int16))


@pytest.mark.parametrize("text,voice", [("twelve", "en-us"), ("yes", "en-gb"),
                                        ("start workout", "en-us+m3"),
                                        ("no, not really", "en-gb-scotland+f3")])
def test_speech_opens_the_gate_where_it_is(text, voice):
    speech = synth.speak(text, voice, 160)
    loud = np.nonzero(np.abs(speech) > 0.02 * 32767)[0] + int(0.6 * RATE)
    clip = synth.pad(speech, 0.6, 0.6)
    span = speech_span(clip)
    assert span is not None
    start, end = span
    assert abs(start - loud[0]) < 0.15 * RATE               # found where the words are
    assert abs(end - loud[-1]) < 0.2 * RATE


def test_a_steady_synthetic_vowel_still_opens_the_gate():
    """espeak-ng's "ten" is as steady as a held note; Silero is sure of it, so it passes."""
    from coach.audio.speech import Voice
    from coach.hearing import to_int16_16k
    from coach.settings import SpeechSettings

    voice = Voice(SpeechSettings(voice="en-gb", rate=160), RATE)
    for word in ("ten", "two", "no"):
        assert speech_span(to_int16_16k(voice.render(word), RATE)) is not None, word


def test_a_real_recording_opens_the_gate():
    if not FSDD.is_dir():
        pytest.skip("FSDD recordings are not in ../shared/data")
    from coach.audio.wavio import read_wav
    from coach.hearing import to_int16_16k

    samples, rate = read_wav(FSDD / "2_jackson_40.wav")
    assert speech_span(to_int16_16k(samples, rate)) is not None


@pytest.mark.parametrize("make", [
    lambda rng: synth.silence(rng),
    lambda rng: synth.clank(rng),
    lambda rng: synth.cough(rng),
    lambda rng: tone(440.0),
    lambda rng: tone(196.0, 2.0, harmonics=3),                 # a hummed note
    lambda rng: (rng.normal(0, 4000, 2 * RATE)).astype(np.int16),   # hiss
], ids=["silence", "clank", "cough", "tone", "harmonic-tone", "hiss"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_noises_never_open_the_gate(make, seed):
    assert speech_span(make(np.random.default_rng(seed))) is None


def test_streaming_in_any_block_size_matches_the_whole_clip():
    clip = synth.pad(synth.speak("twenty one reps", "en-us", 160), 0.5, 0.8)
    whole = VoiceGate(batch=1 << 20)
    whole.feed(clip)
    whole.flush()
    for size in (160, 320, 777, 4000):
        gate = VoiceGate()
        for offset in range(0, len(clip), size):
            gate.feed(clip[offset:offset + size])
        gate.flush()
        assert gate.start_window == whole.start_window
        assert gate.last_speech == whole.last_speech
        np.testing.assert_allclose(gate.probabilities, whole.probabilities, atol=1e-5)


def test_gate_reports_silence_after_speech_and_the_utterance_with_pre_roll():
    speech = synth.speak("twelve", "en-us", 160)
    loud = np.nonzero(np.abs(speech) > 0.02 * 32767)[0]
    speech = speech[loud[0]:loud[-1]]
    gate = VoiceGate()
    gate.feed(np.zeros(RATE, np.int16))
    assert not gate.started and gate.silence == 0.0
    gate.feed(speech)
    assert gate.started
    gate.feed(np.zeros(int(0.6 * RATE), np.int16))
    assert 0.4 <= gate.silence <= 0.75
    assert gate.over(complete=True) and gate.over(complete=False)
    utterance = gate.utterance()
    start, end = gate.span()
    assert start == pytest.approx(0.3 * RATE, abs=WINDOW)      # the pre-roll
    assert 0 < start < end <= len(utterance)
    assert len(utterance) < len(speech) + 1.0 * RATE            # not the second of quiet


def test_a_click_is_too_short_to_start_speech():
    gate = VoiceGate()
    click = np.zeros(RATE, np.int16)
    click[8000:8040] = 20000
    gate.feed(click)
    gate.flush()
    assert not gate.started


def test_the_model_is_loaded_once():
    assert silero() is silero()
