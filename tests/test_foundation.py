"""The foundation: command line, speech out, the engine's sample clock, the virtual card."""

from __future__ import annotations

import json

import numpy as np
import pytest

from coach.audio import analysis
from coach.audio.engine import OfflineSpeaker
from coach.audio.speech import Voice
from coach.audio.wavio import StreamResampler, read_wav, resample, write_wav
from coach.errors import MissingPart
from coach.events import EVENT_TYPES, Event, EventWriter, read_events
from coach.settings import SpeechSettings

from .conftest import run_coach

LINE = "Set one of three. Biceps curl."


def test_say_is_heard_on_the_virtual_speaker(card, data_dir, tmp_path):
    """`coach say` really produces speech on the speaker sink, as long as the rendering."""
    rendered = tmp_path / "rendered.wav"
    out = run_coach("--data-dir", str(data_dir), "say", LINE, "--out", str(rendered))
    assert out.returncode == 0, out.stderr
    expected, rate = read_wav(rendered)
    expected_span = analysis.active_span(expected, rate)
    with card.record(tmp_path / "heard.wav") as recording:
        result = run_coach("--data-dir", str(data_dir), "say", LINE, env=card.client_env())
    assert result.returncode == 0, result.stderr
    heard, heard_rate = read_wav(recording.path)
    span = analysis.active_span(heard, heard_rate)
    assert span is not None, "nothing was heard on coach_out.monitor"
    heard_seconds = span[1] - span[0]
    expected_seconds = expected_span[1] - expected_span[0]
    assert abs(heard_seconds - expected_seconds) < 0.1 * expected_seconds
    loud = heard[int(span[0] * heard_rate): int(span[1] * heard_rate)]
    assert analysis.rms(loud) > 0.3 * analysis.rms(expected[int(expected_span[0] * rate):
                                                            int(expected_span[1] * rate)])
    assert result.stdout == ""  # stdout stays clean for output


def test_devices_lists_and_a_wrong_name_exits_2_with_the_list(card):
    listed = run_coach("devices", env=card.client_env())
    assert listed.returncode == 0
    assert "pulse" in listed.stdout
    wrong = run_coach("devices", "--output-device", "no-such-speaker", env=card.client_env())
    assert wrong.returncode == 2
    assert "no-such-speaker" in wrong.stderr and "pulse" in wrong.stderr
    assert "Traceback" not in wrong.stderr


def test_version_and_help():
    assert run_coach("--version").stdout.startswith("coach ")
    assert "say" in run_coach("--help").stdout


def test_speech_cache_makes_a_repeat_free(tmp_path, monkeypatch):
    first = Voice(SpeechSettings(), 44_100, tmp_path)
    samples = first.render("Rest thirty seconds.")
    assert len(samples) > 44_100 * 0.5
    assert list(tmp_path.glob("*.npy"))
    second = Voice(SpeechSettings(), 44_100, tmp_path)

    def no_rendering(text):
        raise AssertionError("rendered again despite the cache")

    monkeypatch.setattr(second, "_synthesise", no_rendering)
    assert np.array_equal(second.render("Rest thirty seconds."), samples)
    assert second.key("Rest thirty seconds.") != Voice(
        SpeechSettings(rate=120), 44_100).key("Rest thirty seconds.")


def test_missing_espeak_says_how_to_install(monkeypatch):
    import coach.audio.espeak_voice as speech

    monkeypatch.setattr(speech.shutil, "which", lambda name: None)
    monkeypatch.setattr(speech, "_espeak_library_present", lambda: False)
    with pytest.raises(MissingPart) as caught:
        Voice(SpeechSettings(voice="espeak:en-us"), 44_100).render("hello")
    assert "espeak-ng" in caught.value.message and "apt-get install" in caught.value.fix


def test_offline_speaker_places_sounds_at_their_sample():
    speaker = OfflineSpeaker(8000)
    click = np.ones(10, np.float32) * 0.5
    for at in (100, 1234, 7999):
        speaker.play(click, at=at)
    speaker.wait_until(9000)
    mix = speaker.render()
    assert analysis.onsets(mix, 0.1, min_gap=5) == [100, 1234, 7999]
    assert len(mix) == 9000


def test_resampling_keeps_pitch_and_length():
    rate = 22_050
    t = np.arange(rate) / rate
    tone = np.sin(2 * np.pi * 440 * t).astype(np.float32)
    for target in (8000, 16_000, 44_100):
        out = resample(tone, rate, target)
        assert abs(len(out) - target) <= 1
        spectrum = np.abs(np.fft.rfft(out))
        assert abs(np.argmax(spectrum) * target / len(out) - 440) < 2
    streamed = np.concatenate([StreamResampler(44_100, 16_000).process(c)
                               for c in np.array_split(resample(tone, rate, 44_100), 37)])
    assert abs(len(streamed) - 16_000) < 80


def test_a_stream_resampled_in_chunks_keeps_the_clock():
    """Chunk by chunk, the stream makes as many samples as the rates say, whatever the
    chunk size: the echo canceller's reference and the microphone must not drift apart
    (512-frame chunks once made 16,020 samples a second from 44.1 kHz)."""
    seconds = 10
    for from_rate, to_rate in ((44_100, 16_000), (48_000, 16_000), (22_050, 16_000),
                               (8000, 16_000)):
        for chunk in (160, 441, 512, 1000, 4096):
            resampler = StreamResampler(from_rate, to_rate)
            made = sum(len(resampler.process(np.zeros(chunk, np.float32)))
                       for _ in range(seconds * from_rate // chunk))
            expected = seconds * from_rate // chunk * chunk * to_rate / from_rate
            assert abs(made - expected) <= 2, (from_rate, chunk, made, expected)
    # and the samples are the whole clip's, delayed by the causal low-pass (31 frames)
    rate = 44_100
    t = np.arange(2 * rate) / rate
    tones = sum(np.sin(2 * np.pi * f * t + f) for f in
                np.random.default_rng(3).uniform(100, 5000, 12)).astype(np.float32) * 0.05
    whole = resample(np.concatenate([np.zeros(31, np.float32), tones]), rate, 16_000)
    resampler = StreamResampler(rate, 16_000)
    streamed = np.concatenate([resampler.process(tones[k:k + 512])
                               for k in range(0, len(tones), 512)])
    count = min(len(whole), len(streamed)) - 4
    assert np.corrcoef(whole[2:2 + count], streamed[2:2 + count])[0, 1] > 0.999


def test_upsampling_does_not_mirror_the_band_above_its_edge():
    """8 kHz speech upsampled for the recognizer: a 3.5 kHz tone must not come back with
    an image at 4.5 kHz (linear interpolation alone leaves one about 18 dB down)."""
    t = np.arange(8000) / 8000
    out = resample(np.sin(2 * np.pi * 3500 * t).astype(np.float32), 8000, 16_000)
    spectrum = np.abs(np.fft.rfft(out))
    freqs = np.fft.rfftfreq(len(out), 1 / 16_000)
    tone = spectrum[np.argmin(np.abs(freqs - 3500))]
    image = spectrum[np.argmin(np.abs(freqs - 4500))]
    assert 20 * np.log10(tone / image) > 40


def test_wav_round_trip_any_width_and_channels(tmp_path):
    rate = 16_000
    tone = (0.5 * np.sin(np.arange(rate) / 10)).astype(np.float32)
    write_wav(tmp_path / "a.wav", tone, rate)
    back, back_rate = read_wav(tmp_path / "a.wav")
    assert back_rate == rate and np.max(np.abs(back - tone)) < 1e-3


@pytest.mark.parametrize("kind", sorted(EVENT_TYPES))
def test_every_event_round_trips_through_json(kind, tmp_path):
    cls = EVENT_TYPES[kind]
    event = cls()
    path = tmp_path / "events.jsonl"
    with EventWriter(path) as writer:
        writer.emit(event)
    (record,) = read_events(path)
    assert record["type"] == kind and isinstance(record["t"], float)
    assert Event.from_dict(json.loads(json.dumps(record))) == event


def test_the_recognizer_settings_have_one_home():
    """--engine and --model become Settings.hearing, built once at the entry point; a
    command that does not hear gets the defaults."""
    from coach.cli import build_parser, settings_from_args
    from coach.settings import HearingSettings

    parser, _ = build_parser()
    heard = settings_from_args(parser.parse_args(["hear", "a.wav", "--engine", "vosk",
                                                  "--model", "folder"]))
    assert heard.hearing == HearingSettings(engine="vosk", model="folder")
    assert settings_from_args(parser.parse_args(["plans", "list"])).hearing == HearingSettings()
