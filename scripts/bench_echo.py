"""Echo cancellation benchmark (issue 24), offline from files, one run.

The coach's own lines (Piper, as the coach says them) and its clicks and chimes are
played through a room: a synthetic impulse response (direct path, then an exponentially
decaying tail, RT60 ``--rt60``, direct-to-reverberant ratio ``--drr``), 30 ms late, with
seeded noise. The athlete (espeak-ng voices, never the coach's) says commands over the
coach's speech, at echo-to-athlete ratios of 0 and +10 dB (speech levels). The microphone
signal goes through ``coach.audio.echo.EchoCanceller`` with the engine's reference path
(the played audio stamped on the speaker clock), then the real recognizer's streaming
``listen`` (voice gate + Whisper), as the coach hears during a session.

Printed: ERLE on lines and on clicks; commands heard over speech, with and without the
canceller; false commands from the coach's own audio per hour; commands begun at any
moment of a watch, across its 2 s listens (``--limits`` alone); commands over speech when
the coach stops its line for the voice, said once and said again (``--stopping`` alone);
CPU per second of audio.

    .venv/bin/python scripts/bench_echo.py [--live] [--limits | --stopping | --why |
                                            --conversation]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from coach.audio import echo  # noqa: E402
from coach.audio.speech import Voice  # noqa: E402
from coach.audio.wavio import read_wav, resample  # noqa: E402
from coach.settings import SpeechSettings  # noqa: E402

SPEAKER_RATE = 44_100
RATE = 16_000

LINES = [
    "Biceps curl.", "Set 2 of 3. 12 kilos, 8 to 12 reps, down in 3, up in 1.",
    "Keep your elbows pinned to your sides.", "Ready?", "How many reps?",
    "Did you feel it in your biceps?", "Rest 90 seconds.", "10 seconds.",
    "12 reps and you felt it: up 1 kilo.", "Lower slower than you lift, and resist the "
    "weight all the way down.", "Paused. Say resume when you're ready.", "Resuming.",
    "Breathe in slowly, and let your shoulders drop.", "Notice your feet on the floor.",
    "Let the breath move down into your belly.", "That's the whole session. Well done.",
]
COMMANDS = ["pause", "stop", "resume", "repeat", "skip"]
ATHLETES = [("espeak:en-us", 160), ("espeak:en-gb", 150)]


def room(rt60: float, drr_db: float, rng: np.random.Generator) -> np.ndarray:
    """A synthetic room impulse response at 16 kHz: direct path, then diffuse tail."""
    n = int(rt60 * RATE)
    t = np.arange(n) / RATE
    tail = rng.standard_normal(n) * np.exp(-6.9 * t / rt60)
    tail[:48] = 0.0  # the first reflection 3 ms after the direct sound
    tail /= np.sqrt(np.sum(tail ** 2))
    response = tail * 10 ** (-drr_db / 20)
    response[0] += 1.0
    return response


def level(samples: np.ndarray, window: int = 512) -> float:
    power = np.array([np.mean(samples[k:k + window] ** 2)
                      for k in range(0, len(samples) - window, window)])
    return float(np.sqrt(power[power > power.max() * 0.01].mean()))


class Room:
    """The echo of what is played, heard at the microphone (16 kHz)."""

    def __init__(self, response: np.ndarray, delay: float, rng: np.random.Generator) -> None:
        self.response = response
        self.delay = int(delay * RATE)
        self.rng = rng

    def echo(self, played44: np.ndarray) -> np.ndarray:
        played = resample(played44, SPEAKER_RATE, RATE)
        heard = np.convolve(played, self.response)[:len(played)]
        return np.concatenate([np.zeros(self.delay, np.float32), heard])[:len(played)] \
            .astype(np.float32)

    def noise(self, count: int) -> np.ndarray:
        return (self.rng.standard_normal(count) * 10 ** (-65 / 20)).astype(np.float32)


def cancel(played44: np.ndarray, mic: np.ndarray) -> tuple[np.ndarray, float]:
    """The engine's path: the played audio written block by block with its play time,
    microphone blocks of 20 ms stamped with their capture time. Returns the residual
    and the canceller's CPU seconds per second of audio."""
    run = _cancelled(played44, lambda _: np.zeros(len(mic), np.float32), mic, 0,
                     stopping=False)
    return run.residual, run.cpu


def _bench_dialogue():
    """``scripts/bench_dialogue.py`` as a module (its recordings and exchanges)."""
    import os

    os.environ["OPENBLAS_NUM_THREADS"] = "1"  # bench_dialogue would start itself again
    import bench_dialogue

    return bench_dialogue


#: From the canceller finding a voice over the line to the coach's sound stopping: the
#: line's poll (20 ms) and the device's output buffer.
STOP_LAG = 0.15


class _Run(NamedTuple):
    residual: np.ndarray
    stopped: float | None
    """When the line stopped (s), or None."""
    found: int
    """Voices the canceller found over the coach after ``watch_from``."""
    cpu: float
    """The canceller's CPU seconds per second of audio."""


def cancel_stopping(played44: np.ndarray, the_room: Room, extra: np.ndarray,
                    watch_from: int, stopping: bool = True) -> _Run:
    """``cancel`` in a closed loop, as a session plays a line: from sample ``watch_from``
    (16 kHz) on, the first voice the canceller finds over the coach (``echo.TalkOver``)
    stops the coach's sound ``STOP_LAG`` later (``stopping``), and the microphone hears
    the echo of what was really played, plus ``extra`` (the athlete, the noise)."""
    return _cancelled(played44, the_room.echo, extra, watch_from, stopping)


def _cancelled(played44: np.ndarray, echo_of, extra: np.ndarray, watch_from: int,
               stopping: bool) -> _Run:
    """The engine's path: the played audio written block by block with its play time
    (``STOP_LAG`` ahead of the microphone), microphone blocks of 20 ms (``echo_of`` what
    was played, plus ``extra``) stamped with their capture time."""
    played = echo.PlayedAudio(SPEAKER_RATE, seconds=8.0)
    canceller = echo.EchoCanceller(played)
    sound = played44.copy()
    heard = echo_of(sound)
    out, frame, stopped, seen = [], 0, None, None
    for first in range(0, len(extra) - 319, 320):
        ahead = (first + 320) / RATE * SPEAKER_RATE + STOP_LAG * SPEAKER_RATE
        while frame < min(ahead, len(sound)):
            played.write(sound[frame:frame + 512], frame, frame / SPEAKER_RATE)
            frame += 512
        block = heard[first:first + 320] + extra[first:first + 320]
        out.append(canceller.process((np.clip(block, -1, 1) * 32767).astype(np.int16),
                                     first / RATE))
        if seen is None and first >= watch_from:
            seen = canceller.talk_over.count
        if stopping and stopped is None and seen is not None and \
                canceller.talk_over.count > seen:
            stopped = (first + 320) / RATE
            sound[int(round(ahead)):] = 0.0  # what is not yet played never will be
            heard = echo_of(sound)
    found = 0 if seen is None else canceller.talk_over.count - seen
    return _Run(np.concatenate(out).astype(np.float32) / 32768.0, stopped, found,
                canceller.busy / max(canceller.seconds, 1e-9))


def stopping_for_voices(recognizer, coach: Voice, voices: list[Voice], lead: np.ndarray,
                        lines44: np.ndarray, the_room: Room, speech_level: float) -> None:
    """Commands said over the coach's speech when the coach stops for a voice
    (``barge_in.play_line``), in a closed loop: heard the first time, and when said again
    1 s after the first word ends (a lifter repeats a command the coach did not obey)."""
    gap = np.zeros(int(0.4 * SPEAKER_RATE), np.float32)
    skip = int(len(lead) / SPEAKER_RATE * RATE)
    own = np.concatenate([lead, lines44])
    false = cancel_stopping(own, the_room, the_room.noise(len(the_room.echo(own))), skip,
                            stopping=False).found
    seconds = len(lines44) / SPEAKER_RATE
    print(f"\n## The coach stops for a voice over its line (closed loop, STOP_LAG "
          f"{STOP_LAG * 1000:.0f} ms)\n")
    print(f"Voices found in the coach's own {seconds:.0f} s of lines: {false} "
          f"({false * 3600 / seconds:.0f} per hour).\n")
    dialogue = _bench_dialogue()

    rng = np.random.default_rng(11)
    print("| real noise over the coach's lines (bench_dialogue's recordings, held half) | "
          "noise under the athlete's speech | line stops per hour |")
    print("| --- | ---: | ---: |")
    for name in sorted(p.stem for p in dialogue.NOISE.glob("*.wav")):
        for under in (10.0, 20.0):
            count = len(the_room.echo(own))
            noise = dialogue.noise_clip(name, count, "held", rng).astype(np.float32)
            noise *= speech_level * 10 ** (-under / 20) / max(level(noise), 1e-9)
            stops = cancel_stopping(own, the_room, the_room.noise(count) + noise, skip,
                                    stopping=False).found
            print(f"| {name} | {under:.0f} dB | {stops * 3600 / seconds:.0f} |", flush=True)
    print()
    print("| echo to athlete, noise | coach stops | stopped for the word | stop after word start, "
          "median s | heard the first time | heard said again | wrong command | of |")
    print("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    bike = dialogue.noise_clip("exercise_bike", 60 * RATE, "held", rng).astype(np.float32)
    bike *= speech_level * 10 ** (-10 / 20) / max(level(bike), 1e-9)
    for ratio, stopping, noisy in ((0.0, False, False), (0.0, True, False),
                                   (10.0, False, False), (10.0, True, False),
                                   (0.0, False, True), (0.0, True, True)):
        once = twice = stops = wrong = total = 0
        after: list[float] = []
        for number, word in enumerate(COMMANDS):
            for athlete in voices:
                words = resample(athlete.render(word), SPEAKER_RATE, RATE)
                words = words * (speech_level / level(words)) * 10 ** (-ratio / 20)
                line = coach.render(LINES[(number + 1) % len(LINES)] + " " + LINES[number])
                played = np.concatenate([lead, line, gap, gap, gap, gap])
                count = len(the_room.echo(played))
                at = skip + int(0.8 * RATE)
                said = np.convolve(words, the_room.response[: RATE // 10])[:len(words)]
                again = at + len(said) + RATE
                first = the_room.noise(count)
                if noisy:  # an exercise bike 10 dB under the athlete
                    first += bike[:count]
                first[at:at + len(said)] += said[: count - at]
                both = first.copy()
                both[again:again + len(said)] += said[: count - again]
                total += 1
                out, stopped, _, _ = cancel_stopping(played, the_room, first, skip, stopping)
                found = [w for _, w in commands_heard(
                    recognizer, out[at - RATE // 2: at + len(said) + RATE])]
                once += word in found
                wrong += any(w != word for w in found)
                if stopped is not None:
                    stops += 1
                    after.append(stopped - at / RATE)
                out = cancel_stopping(played, the_room, both, skip, stopping).residual
                found = [w for _, w in commands_heard(
                    recognizer, out[at - RATE // 2: again + len(said) + RATE])]
                twice += word in found
                wrong += any(w != word for w in found)
        median = f"{np.median(after):.2f}" if after else "-"
        print(f"| {ratio:+.0f} dB{', bike -10 dB' if noisy else ''} | "
              f"{'yes' if stopping else 'no'} | "
              f"{f'{stops}' if stopping else '-'} | {median if stopping else '-'} | "
              f"{once}/{total} | {twice}/{total} | {wrong} | {total} |", flush=True)


def erle(echo_only: np.ndarray, residual: np.ndarray, skip: float = 3.0) -> float:
    """Median ERLE over 1 s windows where the echo is active, after ``skip`` seconds."""
    values = []
    for k in range(int(skip * RATE), min(len(echo_only), len(residual)) - RATE, RATE):
        e = float(np.sum(echo_only[k:k + RATE] ** 2))
        if e > RATE * 1e-5:
            r = float(np.sum(residual[k:k + RATE].astype(np.float64) ** 2))
            values.append(10 * np.log10(e / max(r, 1e-12)))
    return float(np.median(values)) if values else float("nan")


class ClipMicrophone:
    """A finished recording read as the microphone (int16 16 kHz blocks of 20 ms)."""

    def __init__(self, samples: np.ndarray) -> None:
        self.data = (np.clip(samples, -1, 1) * 32767).astype(np.int16)
        self.position = 0

    def read(self, timeout: float = 0.5) -> np.ndarray | None:
        if self.position >= len(self.data):
            return None
        block = self.data[self.position:self.position + 320]
        self.position += 320
        return block

    @property
    def done(self) -> bool:
        return self.position >= len(self.data)


def commands_heard(recognizer, samples: np.ndarray) -> list[tuple[float, str]]:
    """Every command the streaming listener understands in ``samples`` (seconds, word)."""
    mic = ClipMicrophone(np.concatenate([samples, np.zeros(RATE, np.float32)]))
    heard = []
    while not mic.done:
        answer = recognizer.listen(mic, "command", timeout=2.0)
        if answer.kind == "command":
            heard.append((mic.position / RATE, str(answer.value)))
    return heard


def cut_latency(athlete: Voice, coach: Voice, trials: int = 8) -> None:
    """On the virtual card (COACH_CARD_DIR, no echo path): the coach says a long line, the
    athlete says "stop" into the microphone 1.5 s in; the line is cut as the session cuts
    it (a command watch polled every 20 ms of the speaker clock). Word end: when paplay
    started plus the word's length plus its 20 ms buffer."""
    import os
    import tempfile

    from coach.audio.engine import Microphone, Speaker
    from coach.audio.virtual_card import VirtualCard
    from coach.audio.wavio import write_wav
    from coach.dialogue.sources import ListenerWatch
    from coach.hearing import open_recognizer
    from coach.settings import AudioSettings

    card = VirtualCard(Path(os.environ.get("COACH_CARD_DIR", "/tmp/coach-bench-card"))).start()
    card.activate()
    recognizer = open_recognizer("auto")
    line = coach.render(" ".join(LINES[9:12]))
    words = athlete.render("stop")
    word = Path(tempfile.mkdtemp()) / "stop.wav"
    write_wav(word, words, SPEAKER_RATE)
    delays = []
    with Speaker(AudioSettings()) as speaker, Microphone(AudioSettings()) as mic:
        mic.cancel_echo(speaker)
        # as in a session, the coach has spoken before the first command: the first
        # stream on a freshly started card delivers nothing for about 2 s, and AEC3
        # holds its first 2.5 s of the coach's sound in its cautious initial state,
        # which suppresses the athlete too (the first trial's "stop" was always lost)
        limit = time.monotonic() + 5.0
        while mic.read(0.1) is None and time.monotonic() < limit:
            pass
        speaker.wait(speaker.play(coach.render(" ".join(LINES[:3]))))
        for _ in range(trials):
            sound = speaker.play(line)
            watch = ListenerWatch(recognizer, mic)
            speaker.wait_until(speaker.now() + speaker.samples(1.5))
            started = time.monotonic()
            card.play_into(word, wait=False)
            ended = started + len(words) / SPEAKER_RATE + 0.02
            cut = None
            while speaker.now() < sound.end:
                speaker.wait_until(speaker.now() + speaker.samples(0.02))
                answer = watch.poll()
                if answer is not None and answer.value == "stop":
                    speaker.cut(sound)
                    cut = time.monotonic()
                    break
            watch.close()
            speaker.cut(sound)
            delays.append(None if cut is None else 1000 * (cut - ended))
            speaker.wait_until(speaker.now() + speaker.samples(0.5))
    found = sorted(d for d in delays if d is not None)
    print("word end to cut, ms, each trial: "
          + " ".join("-" if d is None else f"{d:.0f}" for d in delays), file=sys.stderr)
    print("\n## Word end to line cut (virtual card, no echo path, Whisper)\n")
    print("| trials | stop heard | median ms | p95 ms |")
    print("| ---: | ---: | ---: | ---: |")
    if found:
        p95 = found[min(len(found) - 1, int(round(0.95 * (len(found) - 1))))]
        print(f"| {trials} | {len(found)} | {np.median(found):.0f} | {p95:.0f} |")
    else:
        print(f"| {trials} | 0 | - | - |")


def across_limits(recognizer) -> None:
    """Commands said at any moment of a watch (no echo, quiet room): a watch listens 2 s
    at a time while nothing is said; each command starts at an offset from the watch's
    start, some across a listen's limit. Heard = the watch reports the command."""
    from coach.hearing import BackgroundListener, synth

    rng = np.random.default_rng(5)
    tail = np.random.default_rng(5).normal(0, 30, 3 * RATE).astype(np.int16)
    zones = {"inside a listen (1.0, 2.5 s)": [1.0, 2.5],
             "begun in a listen's last 0.3 s (1.70-1.95 s)": list(np.arange(1.70, 1.96, 0.05)),
             "just after the limit (2.00-2.10 s)": [2.0, 2.05, 2.1]}
    print("\n## Commands at any moment of a watch (2 s listens, quiet, no echo, Whisper)\n")
    print("| command begun | heard | of |")
    print("| --- | ---: | ---: |")
    for zone, offsets in zones.items():
        heard = total = 0
        for word in ("stop", "pause", "skip"):
            for voice, rate in (("en-us", 150), ("en-gb", 170), ("en-us+m3", 140)):
                speech = synth.speak(word, voice, rate)
                for offset in offsets:
                    quiet = rng.normal(0, 30, int(offset * RATE)).astype(np.int16)
                    mic = ClipMicrophone(np.concatenate([quiet, speech, tail]) / 32768.0)
                    found = []
                    with BackgroundListener(recognizer, mic) as listener:
                        while not mic.done:
                            answer = listener.poll()
                            if answer is not None:
                                found.append(answer.value)
                            time.sleep(0.005)
                        time.sleep(0.3)
                        while (answer := listener.poll()) is not None:
                            found.append(answer.value)
                    total += 1
                    heard += word in found
        print(f"| {zone} | {heard} | {total} |")


def why_lost(recognizer, coach: Voice, voices: list[Voice], lead: np.ndarray,
             the_room: Room, speech_level: float, ratio: float = 10.0) -> None:
    """Why a command said over the coach's speech is lost: each trial of the table above
    at ``ratio``, with the athlete's level through the canceller (the same microphone
    signal cancelled with and without the words: the difference is what the canceller
    let through of them) and what is heard from (a) the canceller's output, (b) its
    output for the echo alone plus the athlete undamped (the residual echo alone), (c)
    the athlete alone in the room's noise."""
    gap = np.zeros(int(0.4 * SPEAKER_RATE), np.float32)

    def db(samples: np.ndarray) -> float:
        return 10 * np.log10(float(np.mean(samples.astype(np.float64) ** 2)) + 1e-12)

    def heard(signal: np.ndarray, at: int, count: int, word: str) -> str:
        window = signal[at - RATE // 2: at + count + RATE]
        return "yes" if word in [w for _, w in commands_heard(recognizer, window)] else "no"

    print(f"\n## Why a command over the coach's speech is lost (echo {ratio:+.0f} dB)\n")
    print("| command | athlete | echo at the word dB | athlete dB | athlete through "
          "the canceller dB | heard: canceller | residual echo + athlete undamped | "
          "athlete alone |")
    print("| --- | --- | ---: | ---: | ---: | --- | --- | --- |")
    for number, word in enumerate(COMMANDS):
        for athlete, (name, _) in zip(voices, ATHLETES, strict=True):
            words = resample(athlete.render(word), SPEAKER_RATE, RATE)
            words = words * (speech_level / level(words)) * 10 ** (-ratio / 20)
            line = coach.render(LINES[(number + 1) % len(LINES)] + " " + LINES[number])
            played = np.concatenate([lead, line, gap, gap])
            heard_echo = the_room.echo(played)
            noise = the_room.noise(len(heard_echo))
            at = int(len(lead) / SPEAKER_RATE * RATE + 0.8 * RATE)
            said = np.convolve(words, the_room.response[: RATE // 10])[:len(words)]
            count = min(len(said), len(heard_echo) - at)
            athlete_only = np.zeros_like(heard_echo)
            athlete_only[at:at + count] = said[:count]
            both = cancel(played, heard_echo + noise + athlete_only)[0]
            echo_only = cancel(played, heard_echo + noise)[0]
            through = both - echo_only
            undamped = echo_only + athlete_only[:len(echo_only)]
            span = slice(at, at + count)
            print(f"| {word} | {name} | {db(heard_echo[span]):.1f} | {db(said):.1f} | "
                  f"{db(through[span]) - db(said[:count]):+.1f} | "
                  f"{heard(both, at, count, word)} | {heard(undamped, at, count, word)} | "
                  f"{heard(athlete_only + noise, at, count, word)} |")


def conversation(coach: Voice, lead44: np.ndarray, the_room: Room, speech_level: float,
                 ratio: float = 10.0) -> None:
    """The dialogue benchmark's held-apart answers (``bench_dialogue.items()``,
    reps and felt: realdev's held-apart speakers, espeak-ng's last three voices, the
    held Piper shifts) played through the coach's own exchange (``exchanges.play``),
    once as recorded and once heard after the question with its echo ``ratio`` dB over
    the athlete, through the canceller: the answer starts 0.2 s after the question
    ends, and the recognizer gets what ``listen`` would (from 1 s before the question's
    end). The athlete's "yes" / "no" to a check is decoded without echo in both."""
    dialogue = _bench_dialogue()
    from exchanges import play

    recognizer, confirm = dialogue.engine("new")
    chosen = [i for i in dialogue.items(quick=False)
              if i.split == "held" and i.kind in ("reps", "felt")]
    questions = {"reps": "How many reps?", "felt": "Did you feel it in your biceps?"}
    rendered = {kind: coach.render(text) for kind, text in questions.items()}
    target = speech_level * 10 ** (-ratio / 20)
    right = {False: 0, True: 0}
    for number, item in enumerate(chosen):
        question = rendered[item.kind]

        def heard(take: int, echoed: bool, item=item, question=question) -> np.ndarray:
            answer = item.take(take).astype(np.float32) / 32768.0
            answer = answer * (target / level(answer))
            tail = np.zeros(int((len(answer) / RATE + 1.0) * SPEAKER_RATE), np.float32)
            played = np.concatenate([lead44, question, tail])
            ends = int((len(lead44) + len(question)) / SPEAKER_RATE * RATE)
            at = ends + int(0.2 * RATE)
            the_echo = the_room.echo(played) if echoed else np.zeros(
                int(len(played) / SPEAKER_RATE * RATE), np.float32)
            mic = the_echo + the_room.noise(len(the_echo))
            said = np.convolve(answer, the_room.response[: RATE // 10])[:len(answer)]
            mic[at:at + len(said)] += said[:len(mic) - at]
            signal = cancel(played, mic)[0] if echoed else mic
            return (np.clip(signal[ends - RATE:], -1, 1) * 32767).astype(np.int16)

        replies = {w: item.reply(w) for w in ("yes", "no", "what?")}
        for echoed in (False, True):
            answers = [lambda n=n, e=echoed: heard(n, e) for n in range(3)]
            outcome = play(recognizer, item.expect, answers, item.truth,
                           replies.__getitem__, confirm, 2,
                           dialogue.accepts(item.kind, item.expect))
            right[echoed] += outcome["end"] == "right"
        if number % 10 == 0:
            print(f"conversation: {number}/{len(chosen)}", file=sys.stderr)
    total = len(chosen)
    print(f"\n## Answers logged right, the echo {ratio:+.0f} dB over the athlete against no "
          "echo (held-apart answers of bench_dialogue, reps and felt, quiet room)\n")
    print("| echo | logged right | of |")
    print("| --- | ---: | ---: |")
    for echoed in (False, True):
        print(f"| {'on, cancelled' if echoed else 'off'} | "
              f"{100 * right[echoed] / max(total, 1):.1f}% | {total} |")


def compare_engines(lines44: np.ndarray, rng: np.random.Generator) -> None:
    """WebRTC AEC3 (pywebrtc-audio) against speexdsp (pyaec, linear filter of 1024 to
    4096 taps) on the coach's lines in three rooms, reference and echo already aligned
    (30 ms late): the choice of docs/notes/echo.md."""
    try:
        from pyaec import Aec
    except ImportError:
        print("\n(pyaec is not installed: no engine comparison)", file=sys.stderr)
        return
    from pywebrtc_audio import EchoCanceller as Aec3

    far = resample(lines44, SPEAKER_RATE, RATE)

    def run(process, near: np.ndarray) -> tuple[np.ndarray, float]:
        out, started = [], time.process_time()
        for k in range(0, len(near) - 159, 160):
            out.append(np.asarray(process((np.clip(near[k:k + 160], -1, 1) * 32767)
                                          .astype(np.int16),
                                          (np.clip(far[k:k + 160], -1, 1) * 32767)
                                          .astype(np.int16)), np.int16))
        busy = time.process_time() - started
        return np.concatenate(out).astype(np.float32) / 32768, busy / (len(near) / RATE)

    print("\n## Engines compared (coach's lines, aligned reference, ERLE after 3 s)\n")
    print("| room | engine | ERLE dB | CPU % of a core |")
    print("| --- | --- | ---: | ---: |")
    for rt60, drr in ((0.3, 10.0), (0.3, 0.0), (0.5, 5.0)):
        the_room = Room(room(rt60, drr, rng), 0.03, rng)
        heard = the_room.echo(lines44)
        near = heard + the_room.noise(len(heard))
        engines = [("WebRTC AEC3", lambda: Aec3(RATE, 1, 0).process)]
        for taps in (1024, 4096):
            engines.append((f"speexdsp {taps} taps",
                            lambda taps=taps: _speex(Aec(160, taps, RATE, False))))
        for name, make in engines:
            residual, cpu = run(make(), near)
            print(f"| RT60 {rt60} s, DRR {drr:+.0f} dB | {name} | "
                  f"{erle(heard, residual):.1f} | {100 * cpu:.2f} |")


def _speex(aec):
    return lambda near, far: aec.cancel_echo(near.tolist(), far.tolist())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rt60", type=float, default=0.3)
    parser.add_argument("--drr", type=float, default=10.0)
    parser.add_argument("--delay", type=float, default=0.03)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--live", action="store_true",
                        help="also time word end to line cut on the virtual card")
    parser.add_argument("--live-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--engines-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--conversation", action="store_true",
                        help="only: answers logged right with the echo against without")
    parser.add_argument("--why", action="store_true",
                        help="only: why commands over the coach's speech are lost")
    parser.add_argument("--limits", action="store_true",
                        help="only: commands begun across a watch's listen limits")
    parser.add_argument("--stopping", action="store_true",
                        help="only: the coach stops for a voice over its line")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    from coach.hearing import open_recognizer

    recognizer = open_recognizer("auto")
    coach = Voice(SpeechSettings(), SPEAKER_RATE)
    if args.limits:
        across_limits(recognizer)
        return 0
    if args.engines_only:
        compare_engines(np.concatenate([coach.render(text) for text in LINES]), rng)
        return 0
    if args.live_only:
        cut_latency(Voice(SpeechSettings(voice=ATHLETES[0][0], rate=ATHLETES[0][1]),
                          SPEAKER_RATE), coach)
        return 0
    gap = np.zeros(int(0.4 * SPEAKER_RATE), np.float32)
    lines44 = np.concatenate([np.concatenate([coach.render(text), gap]) for text in LINES])
    click, click_rate = read_wav(ROOT / "audio" / "click.wav")
    accent, _ = read_wav(ROOT / "audio" / "accent.wav")
    click = resample(click, click_rate, SPEAKER_RATE)
    accent = resample(accent, click_rate, SPEAKER_RATE)
    clicks44 = np.zeros(int(40 * SPEAKER_RATE), np.float32)
    for beat in range(80):  # a set's metronome: a click every 0.5 s, an accent every 4
        sound = accent if beat % 4 == 0 else click
        at = int(beat * 0.5 * SPEAKER_RATE)
        clicks44[at:at + len(sound)] += sound[:len(clicks44) - at]
    chimes = [read_wav(ROOT / "audio" / f"{n}.wav") for n in ("chime_start", "chime_end")]
    chimes44 = np.concatenate([np.concatenate([resample(c, r, SPEAKER_RATE), gap])
                               for c, r in chimes] * 4)
    the_room = Room(room(args.rt60, args.drr, rng), args.delay, rng)
    if args.conversation:
        conversation(coach, lines44[: int(6 * SPEAKER_RATE)], the_room,
                     level(resample(lines44, SPEAKER_RATE, RATE)))
        return 0
    if args.stopping:
        stopping_for_voices(
            recognizer, coach,
            [Voice(SpeechSettings(voice=v, rate=r), SPEAKER_RATE) for v, r in ATHLETES],
            lines44[: int(6 * SPEAKER_RATE)], lines44, the_room,
            level(resample(lines44, SPEAKER_RATE, RATE)))
        return 0
    if args.why:
        why_lost(recognizer, coach,
                 [Voice(SpeechSettings(voice=v, rate=r), SPEAKER_RATE) for v, r in ATHLETES],
                 lines44[: int(6 * SPEAKER_RATE)], the_room,
                 level(resample(lines44, SPEAKER_RATE, RATE)))
        return 0

    # 1. ERLE and false commands on the coach's own audio
    print(f"room: RT60 {args.rt60} s, direct-to-reverberant {args.drr:+.0f} dB, "
          f"{args.delay * 1000:.0f} ms late; noise -65 dBFS", file=sys.stderr)
    rows = []
    cpu = []
    own = {}
    lead = lines44[: int(6 * SPEAKER_RATE)]  # the canceller has heard the coach before
    skip = int(6 * RATE)
    for name, sound in (("coach's lines", lines44), ("metronome clicks", clicks44),
                        ("chimes", chimes44)):
        played = np.concatenate([lead, sound])
        heard_echo = the_room.echo(played)
        mic = heard_echo + the_room.noise(len(heard_echo))
        residual, busy = cancel(played, mic)
        cpu.append(busy)
        own[name] = (mic[skip:], residual[skip:])
        rows.append((name, len(sound) / SPEAKER_RATE,
                     erle(heard_echo[skip:], residual[skip:], skip=1.0)))
    print("\n## Echo reduction (ERLE, median of the 1 s windows with echo; after 6 s of the "
          "coach's lines)\n")
    print("| coach's audio | seconds | ERLE dB |")
    print("| --- | ---: | ---: |")
    for name, seconds, value in rows:
        print(f"| {name} | {seconds:.0f} | {value:.1f} |")

    # its own draws: the rooms and noise that follow do not depend on pyaec being installed
    compare_engines(lines44, np.random.default_rng(args.seed + 1))

    # 2. commands said over the coach's speech
    voices = [Voice(SpeechSettings(voice=v, rate=r), SPEAKER_RATE) for v, r in ATHLETES]
    speech_level = level(resample(lines44, SPEAKER_RATE, RATE))
    print("\n## Commands said over the coach's speech (streaming listen, Whisper)\n")
    print("| echo to athlete | canceller | heard right | wrong command | of |")
    print("| ---: | --- | ---: | ---: | ---: |")
    for ratio in (0.0, 10.0):
        results = {False: [0, 0], True: [0, 0]}
        total = 0
        for number, word in enumerate(COMMANDS):
            for athlete in voices:
                words = resample(athlete.render(word), SPEAKER_RATE, RATE)
                words = words * (speech_level / level(words)) * 10 ** (-ratio / 20)
                line = coach.render(LINES[(number + 1) % len(LINES)] + " " + LINES[number])
                played = np.concatenate([lead, line, gap, gap])
                heard_echo = the_room.echo(played)
                mic = heard_echo + the_room.noise(len(heard_echo))
                at = int(len(lead) / SPEAKER_RATE * RATE + 0.8 * RATE)
                said = np.convolve(words, the_room.response[: RATE // 10])[:len(words)]
                mic[at:at + len(said)] += said[: len(mic) - at]
                total += 1
                for cancelled in (False, True):
                    signal = cancel(played, mic)[0] if cancelled else mic
                    window = signal[at - RATE // 2: at + len(said) + RATE]
                    found = [w for _, w in commands_heard(recognizer, window)]
                    results[cancelled][0] += word in found
                    results[cancelled][1] += any(w != word for w in found)
        for cancelled in (False, True):
            right, wrong = results[cancelled]
            print(f"| {ratio:+.0f} dB | {'on' if cancelled else 'off'} | "
                  f"{100 * right / total:.0f}% | {wrong} | {total} |")

    # 3. false commands from the coach's own audio
    print("\n## False commands from the coach's own audio (streaming listen)\n")
    print("| coach's audio | seconds | canceller off | canceller on | on, per hour |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, (mic, residual) in own.items():
        off = len(commands_heard(recognizer, mic))
        on = len(commands_heard(recognizer, residual))
        seconds = len(mic) / RATE
        print(f"| {name} | {seconds:.0f} | {off} | {on} | {on * 3600 / seconds:.0f} |")

    across_limits(recognizer)
    stopping_for_voices(recognizer, coach, voices, lead, lines44, the_room, speech_level)
    if args.live:
        cut_latency(voices[0], coach)
    share = 100 * float(np.mean(cpu))
    print("\n## CPU of the canceller\n")
    print("| machine | % of one core per second of audio |")
    print("| --- | ---: |")
    print(f"| this machine (x86-64) | {share:.2f} |")
    print(f"| Raspberry Pi 4 (estimate: x 4, not measured) | {4 * share:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
