"""Echo cancellation: the coach's own sound taken out of the microphone, in its process.

A speaker a few centimetres from the microphone is louder there than a lifter two metres
away. The engine knows every sample it played and when (the speaker's sample clock plus
the device latency), so that exact audio is the reference of an acoustic echo canceller
run on the microphone frames before the voice gate and the recognizer see them:

- ``PlayedAudio``: what the speaker played, kept for a few seconds in a ring. The
  speaker's callback only copies each block into it with the time the block reaches
  the device (``write``); nothing else happens on the audio thread.
- ``EchoCanceller``: the adapter over WebRTC's AEC3 (``pywebrtc-audio``, Apache-2.0,
  wheels for x86-64 and aarch64). It takes 16 kHz int16 microphone blocks with the time
  their first sample was captured, finds the played samples heard at that moment
  (locked once, then followed sample by sample; locked again when the two clocks part
  by more than ``RELOCK_SECONDS``), and returns the blocks with the echo removed. AEC3
  estimates the remaining delay of the room and the device itself. Why AEC3 and not
  speexdsp (``pyaec``): docs/notes/echo.md.
- ``Guard``: half duplex until the canceller has learned the room. While it has not
  shown 20 dB of echo reduction, what the microphone hears while the coach talks is
  silenced, so the coach's first line never reaches a recognizer.
- ``TalkOver``: the athlete talking over the coach, found in the canceller's output (a
  count the session reads, to stop its line and listen: ``coach.workout.barge_in``).
- ``system_echo_cancel()``: the name of a PulseAudio/PipeWire ``module-echo-cancel``
  already loaded; when there is one the sound server cancels the echo and ours stays off
  (cancelling twice only distorts the athlete).

The canceller runs in the microphone's worker thread (``coach.audio.engine.Microphone``),
never in an audio callback. It works on plain ALSA: no sound server is needed.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import threading
import time
from collections import deque

import numpy as np

from coach.audio.wavio import StreamResampler
from coach.errors import MissingPart

log = logging.getLogger(__name__)

RATE = 16_000
"""The canceller works at the recognizers' rate, in Hertz."""
FRAME = RATE // 100
"""AEC3 reads 10 ms frames."""
LEAD_SECONDS = 0.05
"""The reference is taken this much ahead of the moment the stamps say the microphone
heard: AEC3 finds an echo that lags its reference, never one that comes first (an echo
early by the clocks' error would be lost), and cancels best some 30 to 200 ms in (figures in
docs/notes/echo.md)."""
RELOCK_SECONDS = 0.08
"""Drift between the microphone's and the speaker's clocks, in seconds, after which the
reference is found again from the time stamps."""
INSTALL = "pip install pywebrtc-audio (or run ./scripts/run.sh)"
LEARNED_DB = 20.0
"""Echo reduction (smoothed, while the coach talks) from which the canceller is trusted."""
LEARNED_FRAMES = 200
"""10 ms frames of talk at ``LEARNED_DB`` before it is: two seconds, so a chime (a tone
AEC3 learns at once) is not taken for the room."""
LOST_DB = 10.0
"""... and below which, held for ``LOST_SECONDS``, it is not any more."""
LOST_SECONDS = 1.0
QUIET_POWER = 32768.0 ** 2 * 10 ** (-60 / 10)
"""Microphone power (int16 units) under which it hears no echo while the coach talks
(a headset, a microphone far from the speaker): nothing to wait for."""
QUIET_FRAMES = 50
"""10 ms frames of talk the microphone stays under ``QUIET_POWER`` through, one after
the other, after which there is no echo to wait for: trusted at once (not after
``LEARNED_FRAMES``: nothing of the coach, a chime neither, reaches such a microphone).
Without it, the athlete's first command over the coach in the first 2 s of talk was
silenced on a card with no echo path (bench_echo --live: the first two "stop"s lost)."""
HANG_FRAMES = 30
"""10 ms frames the coach counts as still talking after its sound stops (the echo comes
``LEAD_SECONDS`` and the room's delay later, and rings on)."""
TALKING_DB = -50.0
"""Reference level (dBFS, per 10 ms frame) above which the coach is making sound."""
TALK_OVER_DB = -50.0
"""Output level (dBFS, per 10 ms frame) over which the canceller lets something through
while the coach talks: its residual echo stays near -65, and AEC3 damps the athlete's
words over the coach's speech but keeps 300 Hz-2 kHz within a few dB (docs/notes/echo.md)."""
TALK_OVER_RISE_DB = 12.0
"""... and over the output's recent floor by this much (a steady fan or music raises it)."""
TALK_OVER_FRAMES = 3
"""10 ms frames in a row over both: a click's residual is one or two."""
TALKED_SECONDS = 3.0
"""For this long after the athlete talked over the coach, what the microphone heard is
kept for the answer (``EchoCanceller.keeps_answers``)."""
FLOOR_RISE = 0.01
"""How fast the floor follows a louder output, per 10 ms frame (it falls at once)."""


def now() -> float:
    """The clock both audio callbacks stamp their blocks with, in seconds."""
    return time.monotonic()


class PlayedAudio:
    """The last ``seconds`` of what the speaker played, on its sample clock.

    ``write`` is called by the speaker's audio callback: it copies the block and notes
    when its first sample reaches the device. Readers take samples by frame number;
    frames no longer (or not yet) in the ring read as silence."""

    def __init__(self, rate: int, seconds: float = 8.0) -> None:
        self.rate = rate
        self._ring = np.zeros(int(rate * seconds), np.float32)
        self.written = 0
        """Frames written so far (the next frame's number)."""
        self._stamps: deque[float] = deque(maxlen=64)
        """Recent (device time of a block's first frame) - (its frame number) / rate."""

    def write(self, block: np.ndarray, frame: int, played_at: float) -> None:
        """Audio thread: copy ``block`` (first frame ``frame``, reaching the device at
        ``played_at``)."""
        size = len(self._ring)
        count = min(len(block), size)
        start = frame % size
        first = min(count, size - start)
        self._ring[start:start + first] = block[:first]
        self._ring[:count - first] = block[first:count]
        self.written = frame + len(block)
        self._stamps.append(played_at - frame / self.rate)

    def frame_at(self, moment: float) -> float | None:
        """The frame that reached the device at ``moment`` (None before anything played).
        The earliest stamp wins: a callback can run late, never early."""
        stamps = list(self._stamps)
        if not stamps:
            return None
        return (moment - min(stamps)) * self.rate

    def read(self, first: int, count: int) -> np.ndarray:
        """Frames ``first`` .. ``first + count`` (silence where not in the ring)."""
        out = np.zeros(count, np.float32)
        size = len(self._ring)
        lo = max(first, self.written - size, 0)
        hi = min(first + count, self.written)
        for frame in range(lo, hi, size):
            end = min(hi, frame + size)
            start = frame % size
            part = min(end - frame, size - start)
            out[frame - first:frame - first + part] = self._ring[start:start + part]
            out[frame - first + part:end - first] = self._ring[:end - frame - part]
        return out


def _aec3(rate: int):
    try:
        from pywebrtc_audio import EchoCanceller as Aec3
    except ImportError:
        raise MissingPart("the Python package pywebrtc-audio is missing (it cancels the "
                          "coach's own voice in the microphone)", INSTALL) from None
    return Aec3(sample_rate=rate, num_channels=1, stream_delay_ms=0)


class EchoCanceller:
    """WebRTC AEC3 over 16 kHz int16 microphone blocks, with ``PlayedAudio`` as the
    reference. One instance per microphone; not thread-safe (its worker calls it)."""

    name = "webrtc-aec3"

    def __init__(self, played: PlayedAudio, lead: float = LEAD_SECONDS) -> None:
        self.played = played
        self.lead = lead
        self._aec = _aec3(RATE)
        self._resampler = StreamResampler(played.rate, RATE)
        self._reference = np.zeros(0, np.float32)
        """The played audio at 16 kHz from ``_reference_start`` on."""
        self._reference_start = 0
        self._pulled = 0
        """Played frames resampled so far."""
        self._next: int | None = None
        """16 kHz reference sample that goes with the next microphone sample."""
        self._near = np.zeros(0, np.int16)
        self._far = np.zeros(0, np.int16)
        self.guard = Guard()
        self.talk_over = TalkOver()
        self.talked_at: float | None = None
        """When (``seconds``) the athlete last talked over the coach."""
        self.relocks = 0
        self.seconds = 0.0
        """Microphone audio processed, in seconds."""
        self.busy = 0.0
        """CPU seconds spent cancelling (for the benchmark)."""

    def _pull(self) -> None:
        """Resample what the speaker played since the last call (a continuous stream)."""
        written = self.played.written
        if written <= self._pulled:
            return
        oldest = max(self._pulled, written - len(self.played._ring) // 2)
        if oldest > self._pulled:  # fell behind the ring: start the 16 kHz stream again
            self._resampler = StreamResampler(self.played.rate, RATE)
            self._reference = np.zeros(0, np.float32)
            self._reference_start = int(round(oldest * RATE / self.played.rate))
        fresh = self._resampler.process(self.played.read(oldest, written - oldest))
        self._pulled = written
        self._reference = np.concatenate([self._reference, fresh])
        keep = 4 * RATE
        if len(self._reference) > keep:
            self._reference_start += len(self._reference) - keep
            self._reference = self._reference[-keep:]

    def _reference_for(self, count: int, captured_at: float) -> np.ndarray:
        frame = self.played.frame_at(captured_at + self.lead)
        if frame is None:
            return np.zeros(count, np.float32)
        wanted = int(round(frame * RATE / self.played.rate))
        if self._next is None or abs(self._next - wanted) > RELOCK_SECONDS * RATE:
            if self._next is not None:
                self.relocks += 1
            self._next = wanted
        first = self._next - self._reference_start
        self._next += count
        out = np.zeros(count, np.float32)
        lo, hi = max(first, 0), min(first + count, len(self._reference))
        if hi > lo:
            out[lo - first:hi - first] = self._reference[lo:hi]
        return out

    def needs(self, count: int, captured_at: float) -> int | None:
        """The speaker frame that must have been played before a block of ``count``
        samples captured at ``captured_at`` can be cancelled (None: nothing played)."""
        frame = self.played.frame_at(captured_at + self.lead + count / RATE)
        return None if frame is None else int(frame) + 1

    def process(self, block: np.ndarray, captured_at: float) -> np.ndarray:
        """One 16 kHz int16 block whose first sample was captured at ``captured_at``
        (``now()``'s clock) -> the block without the echo (whole 10 ms frames; the rest
        comes out with the next block)."""
        started = time.process_time()
        self._pull()
        far = self._reference_for(len(block), captured_at)
        self._near = np.concatenate([self._near, np.asarray(block, np.int16)])
        self._far = np.concatenate([self._far, _int16(far)])
        frames = len(self._near) // FRAME
        out = []
        for k in range(frames):
            near = self._near[k * FRAME:(k + 1) * FRAME]
            far_frame = self._far[k * FRAME:(k + 1) * FRAME]
            clean = self._aec.process(near, far_frame)
            muted = self.guard.check(near, far_frame, clean)
            if self.talk_over.check(self.guard.talking and self.guard.trusted, clean):
                self.talked_at = self.seconds + (k + 1) * FRAME / RATE
            out.append(np.zeros_like(clean) if muted else clean)
        self._near = self._near[frames * FRAME:]
        self._far = self._far[frames * FRAME:]
        self.seconds += len(block) / RATE
        self.busy += time.process_time() - started
        return np.concatenate(out) if out else np.zeros(0, np.int16)

    def keeps_answers(self) -> bool:
        """What the microphone heard last is the athlete's, not the coach's: the
        canceller is trusted, or it has learned the room and the athlete talked over the
        coach in the last ``TALKED_SECONDS`` (words that are not echo lower the measured
        reduction: an answer that stopped a question would be dropped)."""
        if self.guard.trusted:
            return True
        return self.guard.learned and self.talked_at is not None and \
            self.seconds - self.talked_at < TALKED_SECONDS


class Guard:
    """Half duplex until the canceller has learned the room.

    A fresh AEC3 needs a second or two of the coach's voice before it cancels it; in
    that time the coach's first line would reach the recognizer (PocketSphinx heard
    "I'm done" in a scan's first line). So while the coach makes sound (and for
    ``HANG_FRAMES`` after: its echo comes later and rings on) and the canceller has not
    shown ``LEARNED_DB`` of echo reduction for ``LEARNED_FRAMES``, the frame is silenced. The
    reduction is measured only while the coach talks (sound in 6 of the last 10 frames:
    speech and chimes, not the 45 ms clicks, too short to measure it on). Once
    learned, it stays trusted until the reduction stays under ``LOST_DB`` for
    ``LOST_SECONDS`` (a word said over the coach is shorter)."""

    def __init__(self) -> None:
        self.erle = 0.0
        """Smoothed echo reduction while the coach talks, in dB."""
        self.learned = False
        self.muted = 0
        """Frames silenced so far."""
        self._recent: deque[bool] = deque(maxlen=10)
        self._above = 0
        self._below = 0
        self._quiet = 0
        self._hang = 0

    def check(self, near: np.ndarray, far: np.ndarray, out: np.ndarray) -> bool:
        """One 10 ms frame (int16); True when its output must be silenced."""
        far_power = float(np.mean(far.astype(np.float32) ** 2)) / 32768.0 ** 2
        active = far_power > 10 ** (TALKING_DB / 10)
        self._recent.append(active)
        self._hang = HANG_FRAMES if active else max(0, self._hang - 1)
        if sum(self._recent) < 6:  # a word's start, its echo ringing on, or a click
            if self._hang and not self.learned:
                self.muted += 1
                return True
            return False
        near_power = float(np.mean(near.astype(np.float32) ** 2)) + 1.0
        out_power = float(np.mean(out.astype(np.float32) ** 2)) + 1.0
        self._quiet = self._quiet + 1 if near_power < QUIET_POWER else 0
        if self._quiet >= QUIET_FRAMES:
            self.learned = True
        if near_power < QUIET_POWER:  # the microphone does not hear the coach: no echo
            reduction = LEARNED_DB + 10.0
        else:
            reduction = 10 * np.log10(near_power / out_power)
        self.erle += 0.05 * (reduction - self.erle)
        self._above = self._above + 1 if self.erle >= LEARNED_DB else 0
        self._below = self._below + 1 if self.erle < LOST_DB else 0
        if self._above >= LEARNED_FRAMES:
            self.learned = True
        elif self._below >= LOST_SECONDS * 100:
            self.learned = False
        if not self.learned:
            self.muted += 1
        return not self.learned

    @property
    def trusted(self) -> bool:
        """The coach's last sound was cancelled well: what was heard over it is the
        athlete (a canceller that lost the echo, e.g. a speaker turned up, is not)."""
        return self.learned and self.erle >= LEARNED_DB

    @property
    def talking(self) -> bool:
        """The coach made sound in the last ``HANG_FRAMES`` (its echo may still ring)."""
        return self._hang > 0


class TalkOver:
    """The athlete talking over the coach, in the canceller's output.

    While the coach talks and the canceller is trusted, its output holds only the
    residual echo (near -65 dBFS) and the room's own noise; ``TALK_OVER_FRAMES`` of 10 ms
    over ``TALK_OVER_DB`` and ``TALK_OVER_RISE_DB`` over the output's recent floor are
    somebody else. Each onset adds one to ``count`` (read from another thread: one int).
    It finds the words AEC3 damps too much to be understood ("stop" and "skip" lose all
    over 2 kHz): the session then stops its line so the athlete is heard."""

    def __init__(self) -> None:
        self.count = 0
        self._run = 0
        self._floor: float | None = None

    def check(self, watching: bool, out: np.ndarray) -> bool:
        """One 10 ms output frame (int16); ``watching``: the coach talks, the canceller
        is trusted. True when a voice begins with it."""
        if not watching:
            self._run = 0
            return False
        power = float(np.mean(out.astype(np.float32) ** 2)) / 32768.0 ** 2
        level = 10 * np.log10(power + 1e-12)
        floor = level if self._floor is None or level < self._floor else \
            self._floor + FLOOR_RISE * (level - self._floor)
        self._floor = floor
        loud = level > TALK_OVER_DB and level > floor + TALK_OVER_RISE_DB
        self._run = self._run + 1 if loud else 0
        if self._run != TALK_OVER_FRAMES:
            return False
        self.count += 1
        return True


class PairedCanceller:
    """AEC3 on a microphone signal and its reference already side by side (files, the
    benchmark's offline path): 16 kHz float32 in, float32 out."""

    def __init__(self) -> None:
        self._aec = _aec3(RATE)

    def run(self, near: np.ndarray, far: np.ndarray) -> np.ndarray:
        count = min(len(near), len(far)) // FRAME * FRAME
        near16, far16 = _int16(near[:count]), _int16(far[:count])
        out = [self._aec.process(near16[k:k + FRAME], far16[k:k + FRAME])
               for k in range(0, count, FRAME)]
        return (np.concatenate(out).astype(np.float32) / 32768.0) if out else \
            np.zeros(0, np.float32)


def _int16(samples: np.ndarray) -> np.ndarray:
    return (np.clip(samples, -1.0, 1.0) * 32767.0).astype(np.int16)


_system_lock = threading.Lock()


def system_echo_cancel(env: dict[str, str] | None = None) -> str | None:
    """The ``module-echo-cancel`` line of a PulseAudio or PipeWire sound server in use
    (``pactl list modules short``), or None: none loaded, no server, no pactl."""
    if shutil.which("pactl") is None:
        return None
    with _system_lock:
        try:
            result = subprocess.run(["pactl", "list", "modules", "short"], env=env,
                                    capture_output=True, text=True, timeout=3)
        except (OSError, subprocess.TimeoutExpired):
            return None
    if result.returncode != 0:
        return None
    for line in result.stdout.splitlines():
        if "module-echo-cancel" in line:
            return " ".join(line.split())
    return None


def available() -> bool:
    """pywebrtc-audio can be imported (without importing it)."""
    from importlib.util import find_spec

    return find_spec("pywebrtc_audio") is not None
