"""The audio engine: one speaker stream on a sample clock, one microphone stream.

``Speaker`` owns a single PortAudio ``OutputStream`` for the whole run. Speech,
clicks and chimes are *scheduled* into it at a sample position and mixed in the
callback; a sound asked to start at sample N starts at sample N. Nothing is paced
with sleeps: callers wait on the sample counter (``wait_until``).

``OfflineSpeaker`` has the same interface but renders into memory on a virtual
clock, so a tempo track, a scan or a demo can be written to a WAV file with no
sound card and with exactly the timeline it would have had live.

``Microphone`` owns one ``InputStream``; its callback only copies each block into
a queue. Consumers read 16 kHz mono int16 frames with ``read``.

Echo cancellation (``coach.audio.echo``): the speaker's callback also copies every block
it plays, stamped with the moment it reaches the device, into ``Speaker.played``;
``Microphone.cancel_echo(speaker)`` starts a worker thread that takes the coach's own
sound out of each microphone block with that exact audio as the reference, before any
listener reads it. A sound can be cut at a sample (``cut``), so a line stops the moment
the athlete says "stop".
"""

from __future__ import annotations

import logging
import queue
import threading
import wave
from collections import deque
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from coach.audio import devices, echo
from coach.audio.wavio import StreamResampler, to_int16
from coach.errors import DeviceError
from coach.settings import AudioSettings

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Sound:
    """A scheduled sound. ``start`` is its first sample on the speaker clock
    (None until the callback places an as-soon-as-possible sound)."""

    samples: np.ndarray
    start: int | None
    cancelled: bool = False
    label: str = ""
    started: threading.Event = field(default_factory=threading.Event, repr=False)
    stop: int | None = None
    """Speaker sample where it was cut (``cut``); None: it plays to its end."""

    @property
    def end(self) -> int | None:
        if self.start is None:
            return None
        end = self.start + len(self.samples)
        return end if self.stop is None else max(self.start, min(end, self.stop))

    @property
    def was_cut(self) -> bool:
        return self.stop is not None and self.start is not None and \
            self.stop < self.start + len(self.samples)


class Playback(Protocol):
    """What plays sounds on a sample clock: the live ``Speaker`` and the ``OfflineSpeaker``
    both are one. The workout, the metronome, the hold and the scan take a ``Playback``
    and never ask which it is."""

    rate: int
    """Samples per second of the clock, in Hertz."""
    offline: bool
    """True: nothing is heard (a virtual clock rendering to memory), so nothing needs
    rendering ahead of time and events are stamped with the virtual clock."""

    @property
    def active(self) -> bool:
        """False once the stream has died (an unplugged speaker)."""

    @property
    def output_latency(self) -> float:
        """Seconds between a sample leaving the mixer and reaching the device."""

    @property
    def block_frames(self) -> int:
        """Samples mixed at a time: a sound this close to the clock may be playing."""

    def play(self, samples: np.ndarray, at: int | None = None, gain: float = 1.0,
             label: str = "") -> Sound: ...

    def cancel(self, sound: Sound) -> None: ...

    def cut(self, sound: Sound, at: int | None = None) -> int: ...

    def now(self) -> int: ...

    def samples(self, seconds: float) -> int: ...

    def wait_until(self, sample: int, timeout: float | None = None) -> bool: ...

    def wait(self, sound: Sound, timeout: float | None = None) -> bool: ...

    def close(self) -> None: ...


#: An offline speaker's notional block, for the guard before cancelling a sound.
OFFLINE_BLOCK_FRAMES = 512


class _Mixer:
    """Sample-clock bookkeeping shared by the live and the offline speaker."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self._sounds: list[Sound] = []
        self._lock = threading.Lock()

    def play(self, samples: np.ndarray, at: int | None = None, gain: float = 1.0,
             label: str = "") -> Sound:
        """Schedule ``samples`` (float32 mono at ``rate``) at sample ``at`` (None: now)."""
        data = np.asarray(samples, dtype=np.float32)
        if gain != 1.0:
            data = data * np.float32(gain)
        sound = Sound(samples=data, start=at, label=label)
        with self._lock:
            self._sounds.append(sound)
        return sound

    def cancel(self, sound: Sound) -> None:
        sound.cancelled = True

    def cut(self, sound: Sound, at: int | None = None) -> int:
        """Stop ``sound`` at speaker sample ``at`` (None: the next sample the speaker
        produces); what played before it stays played. Returns the sample it stops at."""
        at = self.now() if at is None else int(at)
        with self._lock:
            sound.stop = at if sound.stop is None else min(sound.stop, at)
        return sound.stop

    def now(self) -> int:
        raise NotImplementedError

    def cancel_all(self) -> None:
        with self._lock:
            for sound in self._sounds:
                sound.cancelled = True

    def seconds(self, samples: int) -> float:
        return samples / self.rate

    def samples(self, seconds: float) -> int:
        return int(round(seconds * self.rate))

    def _mix_into(self, out: np.ndarray, block_start: int) -> None:
        """Add every scheduled sound overlapping [block_start, block_start+len(out))."""
        block_end = block_start + len(out)
        with self._lock:
            live = []
            for sound in self._sounds:
                if sound.cancelled:
                    continue
                if sound.start is None:
                    sound.start = block_start
                end = sound.end
                if end <= block_start:
                    continue
                live.append(sound)
                if sound.start >= block_end:
                    continue
                lo = max(sound.start, block_start)
                hi = min(end, block_end)
                out[lo - block_start:hi - block_start] += sound.samples[lo - sound.start:
                                                                       hi - sound.start]
                if not sound.started.is_set():
                    sound.started.set()
            self._sounds = live


def _close_stream(stream) -> None:
    """Stop and close a PortAudio stream (None: nothing to do)."""
    if stream is not None:
        try:
            stream.stop()
        finally:
            stream.close()


class Speaker(_Mixer):
    """One continuous PortAudio output stream; sounds are mixed in by sample position."""

    offline = False

    def __init__(self, settings: AudioSettings) -> None:
        super().__init__(settings.output_rate)
        self.settings = settings
        self._frame = 0
        self._clock = threading.Condition()
        self._status_errors = 0
        self._stream = None
        self._latency = 0.0
        self.device = devices.resolve(settings.output_device, "output")
        self.played = echo.PlayedAudio(self.rate)
        """What was played and when: the echo canceller's reference."""

    def start(self) -> Speaker:
        sd = devices.sounddevice_module()
        try:
            with devices.native_messages() as noise:
                self._stream = sd.OutputStream(
                    samplerate=self.rate,
                    channels=1,
                    dtype="float32",
                    device=self.device,
                    blocksize=self.settings.block_frames,
                    latency=self.settings.latency,
                    callback=self._callback,
                )
                self._latency = float(self._stream.latency)
                self._stream.start()
        except (sd.PortAudioError, ValueError) as error:
            cause = devices.native_cause(noise) or error
            raise DeviceError(
                f"cannot open the speaker ({cause})",
                "check it is plugged in and free, or pick another with --output-device "
                "(see `coach devices`)",
            ) from None
        return self

    def _callback(self, outdata, frames, time_info, status) -> None:  # audio thread
        if status.output_underflow:
            self._status_errors += 1
        block = outdata[:, 0]
        block.fill(0.0)
        self._mix_into(block, self._frame)
        self.played.write(block, self._frame, echo.now() + self._latency)
        with self._clock:
            self._frame += frames
            self._clock.notify_all()

    @property
    def active(self) -> bool:
        stream = self._stream
        try:
            return stream is not None and stream.active
        except devices.sounddevice_module().PortAudioError:  # closed meanwhile: device gone
            return False

    @property
    def output_latency(self) -> float:
        """Seconds between a sample leaving the callback and reaching the device (PortAudio's
        estimate)."""
        return float(self._stream.latency) if self._stream is not None else 0.0

    @property
    def block_frames(self) -> int:
        return int(self.settings.block_frames)

    def now(self) -> int:
        """The next sample the callback will produce: sounds scheduled here play next."""
        with self._clock:
            return self._frame

    def wait_until(self, sample: int, timeout: float | None = None) -> bool:
        """Block until the speaker clock has passed ``sample``. False on timeout or a dead
        stream (an unplugged speaker)."""
        limit = timeout if timeout is not None else max(1.0, (sample - self.now()) / self.rate
                                                        + 2.0)
        with self._clock:
            ok = self._clock.wait_for(lambda: self._frame >= sample or not self.active, limit)
        return ok and self._frame >= sample

    def wait(self, sound: Sound, timeout: float | None = None) -> bool:
        """Block until ``sound`` has been fully handed to the device."""
        if sound.start is None:
            sound.started.wait(timeout if timeout is not None else 2.0)
        if sound.end is None:
            return False
        return self.wait_until(sound.end, timeout)

    def close(self) -> None:
        try:
            _close_stream(self._stream)
        finally:
            self._stream = None
            with self._clock:
                self._clock.notify_all()

    def reopen(self) -> Speaker:
        """Open the stream again after the device went away (``Supervisor``). The sample
        clock carries on from where it stopped; what was scheduled is dropped."""
        self.close()
        self.cancel_all()
        return self.start()

    def __enter__(self) -> Speaker:
        return self.start() if self._stream is None else self

    def __exit__(self, *exc: object) -> None:
        self.close()


class OfflineSpeaker(_Mixer):
    """The Speaker's interface on a virtual clock: renders to memory, then to a WAV.

    ``wait_until(n)`` moves the clock to n at once, so a scripted timeline renders in
    a fraction of its duration with exactly its live sample positions.
    """

    offline = True
    """Nothing plays: lines need not be rendered ahead of time."""
    active = True
    """The virtual clock never dies."""
    output_latency = 0.0
    block_frames = OFFLINE_BLOCK_FRAMES

    def __init__(self, rate: int) -> None:
        super().__init__(rate)
        self._cursor = 0
        self._kept: list[Sound] = []

    def start(self) -> OfflineSpeaker:
        return self

    def play(self, samples, at=None, gain=1.0, label="") -> Sound:
        sound = super().play(samples, self._cursor if at is None else at, gain, label)
        sound.started.set()
        self._kept.append(sound)
        return sound

    def now(self) -> int:
        return self._cursor

    def cut(self, sound: Sound, at: int | None = None) -> int:
        """Offline: what would have played after ``at`` is dropped from the mix."""
        at = self._cursor if at is None else int(at)
        if sound.start is not None and at < sound.start + len(sound.samples):
            sound.samples = sound.samples[:max(0, at - sound.start)]
        return at

    def wait_until(self, sample: int, timeout: float | None = None) -> bool:
        self._cursor = max(self._cursor, int(sample))
        return True

    def wait(self, sound: Sound, timeout: float | None = None) -> bool:
        return self.wait_until(sound.end or self._cursor)

    def render(self) -> np.ndarray:
        """Everything scheduled so far, mixed, up to the later of the clock and the last end."""
        live = [s for s in self._kept if not s.cancelled]
        length = max([self._cursor, *[s.end for s in live]])
        out = np.zeros(length, np.float32)
        for sound in live:
            out[sound.start:sound.end] += sound.samples[: max(0, min(len(sound.samples),
                                                                     length - sound.start))]
        return out

    def save(self, path, block_seconds: float = 10.0) -> float:
        """Write the mix to ``path`` ``block_seconds`` at a time (a 30-minute scan needs a
        few MB, not a GB); returns its duration in seconds. The file appears whole or not
        at all, and an unwritable path is a CoachError with a fix (``coach.files``)."""
        from coach.files import output_file

        live = sorted((s for s in self._kept if not s.cancelled and len(s.samples)),
                      key=lambda s: s.start)
        length = max([self._cursor, *[s.end for s in live]])
        block = max(1, int(block_seconds * self.rate))
        with output_file(path) as raw, wave.open(raw, "wb") as handle:
            handle.setnchannels(1)
            handle.setsampwidth(2)
            handle.setframerate(self.rate)
            first = 0
            for lo in range(0, length, block):
                hi = min(lo + block, length)
                mix = np.zeros(hi - lo, np.float32)
                while first < len(live) and live[first].end <= lo:
                    first += 1
                for sound in live[first:]:
                    if sound.start >= hi:
                        break
                    a, b = max(sound.start, lo), min(sound.end, hi)
                    if a < b:
                        mix[a - lo:b - lo] += sound.samples[a - sound.start:b - sound.start]
                handle.writeframes(to_int16(mix).tobytes())
        return length / self.rate

    def close(self) -> None:
        pass

    def __enter__(self) -> OfflineSpeaker:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


class Microphone:
    """One PortAudio input stream delivering ``settings.input_rate`` mono int16 frames.

    The callback only copies each block into a queue, with the moment its first sample
    was captured; resampling (when the device cannot open at the wanted rate) happens in
    ``read``, on the consumer's thread, or in the echo canceller's worker once
    ``cancel_echo`` started it. ``frames_read`` counts delivered samples, a clock for
    listeners.
    """

    def __init__(self, settings: AudioSettings, queue_seconds: float = 30.0) -> None:
        self.settings = settings
        self.rate = settings.input_rate
        self.device = devices.resolve(settings.input_device, "input")
        self._queue: queue.Queue[tuple[np.ndarray, float]] = queue.Queue(
            maxsize=int(queue_seconds * 50))
        self._stream = None
        self._latency = 0.0
        self._resampler: StreamResampler | None = None
        self.echo: echo.EchoCanceller | None = None
        """The echo canceller (``cancel_echo``), or None."""
        self._clean: queue.Queue[np.ndarray] = queue.Queue(maxsize=int(queue_seconds * 50))
        self._worker: threading.Thread | None = None
        self._speaker = None
        self._closing = threading.Event()
        self.frames_read = 0
        self.overflows = 0
        self.blocks = 0
        """Blocks delivered by the device so far (a microphone that stops is gone)."""
        self._returned: deque[np.ndarray] = deque()
        """Blocks a listener read and gave back (``unread``), served first."""

    def start(self) -> Microphone:
        sd = devices.sounddevice_module()
        for rate in (self.rate, None):
            try:
                with devices.native_messages() as noise:
                    if rate is None:
                        info = sd.query_devices(self.device, "input")
                        rate = int(info["default_samplerate"])
                    self._stream = sd.InputStream(
                        samplerate=rate, channels=1, dtype="float32", device=self.device,
                        blocksize=int(rate * 0.02), callback=self._callback)
                    self._latency = float(self._stream.latency)
                    self._stream.start()
                if rate != self.rate:
                    self._resampler = StreamResampler(rate, self.rate)
                return self
            except (sd.PortAudioError, ValueError) as error:
                last = devices.native_cause(noise) or error
                continue
        raise DeviceError(
            f"cannot open the microphone ({last})",
            "check it is plugged in and free, or pick another with --input-device "
            "(see `coach devices`), or use --typed",
        )

    def _callback(self, indata, frames, time_info, status) -> None:  # audio thread
        if status.input_overflow:
            self.overflows += 1
        self.blocks += 1
        try:
            self._queue.put_nowait((indata[:, 0].copy(), echo.now()))
        except queue.Full:
            self.overflows += 1

    @property
    def active(self) -> bool:
        stream = self._stream
        try:
            return stream is not None and stream.active
        except devices.sounddevice_module().PortAudioError:  # closed meanwhile: device gone
            return False

    # -- echo cancellation ------------------------------------------------------------
    def cancel_echo(self, speaker, enabled: bool = True) -> str:
        """Take ``speaker``'s sound out of what this microphone hears (a worker thread
        runs ``coach.audio.echo.EchoCanceller``). Returns how echo is handled, for the
        log: ours, the sound server's ``module-echo-cancel``, or none and why."""
        played = getattr(speaker, "played", None)
        if not enabled:
            return "off (asked for)"
        if played is None:
            return "off (the speaker is not a live stream)"
        system = echo.system_echo_cancel()
        if system is not None:
            return f"the sound server's ({system}); ours stays off"
        if not echo.available():
            log.warning("coach: nothing cancels the coach's own voice in the microphone "
                        "(%s)", echo.INSTALL)
            return "off (pywebrtc-audio missing)"
        if self.echo is not None and self._speaker is not speaker:
            self._stop_worker()  # a new speaker: its sound is the reference now
        if self.echo is None:
            self.echo = echo.EchoCanceller(played)
            self._speaker = speaker
            self._closing.clear()
            self._worker = threading.Thread(target=self._cancel_loop, name="coach-echo",
                                            daemon=True)
            self._worker.start()
        return f"ours ({self.echo.name})"

    def _cancel_loop(self) -> None:
        """Worker: every block, as it comes, resampled and with the echo taken out."""
        canceller, speaker = self.echo, self._speaker
        resampler: StreamResampler | None = None
        device_rate = float(self._stream.samplerate)
        heard = 0
        stamps: deque[float] = deque(maxlen=100)
        while not self._closing.is_set():
            try:
                block, delivered = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            # its first sample was captured a latency and its length before the callback;
            # a callback can run late, never early: the earliest recent stamp is the truth
            heard += len(block)
            stamps.append(delivered - self._latency - heard / device_rate)
            captured = min(stamps) + (heard - len(block)) / device_rate
            if self._resampler is not None:
                if resampler is None:
                    resampler = StreamResampler(self._resampler.from_rate, self.rate)
                block = resampler.process(block)
            samples = to_int16(block)
            needed = canceller.needs(len(samples), captured)
            if needed is not None and speaker.active:
                speaker.wait_until(needed, timeout=0.25)  # the reference must be played
            clean = canceller.process(samples, captured)
            if len(clean):
                try:
                    self._clean.put_nowait(clean)
                except queue.Full:
                    self.overflows += 1

    def read(self, timeout: float = 0.5) -> np.ndarray | None:
        """The next block as int16 at ``rate`` Hz, or None if none came within ``timeout``."""
        if self._returned:
            return self._returned.popleft()
        if self._worker is not None:
            try:
                clean = self._clean.get(timeout=timeout)
            except queue.Empty:
                return None
            self.frames_read += len(clean)
            return clean
        try:
            block, _ = self._queue.get(timeout=timeout)
        except queue.Empty:
            return None
        if self._resampler is not None:
            block = self._resampler.process(block)
        self.frames_read += len(block)
        return (np.clip(block, -1.0, 1.0) * 32767.0).astype(np.int16)

    def flush(self, keep: float = 0.0) -> int:
        """Drop everything heard so far (e.g. the coach's own voice) but, while the echo is
        cancelled well (``echo.EchoCanceller.keeps_answers``), the last ``keep`` seconds
        (an answer begun over the question is heard); returns blocks dropped."""
        cleaned = self._worker is not None
        source = self._clean if cleaned else self._queue
        items = list(self._returned) if cleaned else []  # the oldest: read once already
        self._returned.clear()
        while True:
            try:
                items.append(source.get_nowait())
            except queue.Empty:
                break
        trusted = cleaned and self.echo is not None and self.echo.keeps_answers()
        limit = int(keep * self.rate) if trusted else 0
        kept: deque = deque()
        held = 0
        for item in reversed(items):
            if held >= limit:
                break
            kept.appendleft(item)
            held += len(item)
        for item in kept:
            source.put_nowait(item)
        return len(items) - len(kept)

    @property
    def talked_over(self) -> int:
        """How often the athlete has talked over the coach (``echo.TalkOver``; 0 without
        our canceller)."""
        canceller = self.echo
        return 0 if canceller is None else canceller.talk_over.count

    def unread(self, blocks: list[np.ndarray]) -> None:
        """Give back blocks a listener read (oldest first; ``read`` gives them again
        before anything newer): a command watch over a question hands its last moment to
        the answer's ``listen``, which keeps it when the answer began over the question."""
        self._returned.extendleft(reversed(blocks))

    def _stop_worker(self) -> None:
        self._closing.set()
        if self._worker is not None:
            self._worker.join(1.0)
            self._worker = None
        self.echo = None

    def close(self) -> None:
        self._closing.set()
        try:
            _close_stream(self._stream)
        finally:
            self._stream = None
            self._stop_worker()

    def reopen(self) -> Microphone:
        """Open the stream again after the device went away (``Supervisor``)."""
        speaker = self._speaker
        self.close()
        self.flush()
        self.start()
        if speaker is not None:
            self.cancel_echo(speaker)
        return self

    def __enter__(self) -> Microphone:
        return self.start() if self._stream is None else self

    def __exit__(self, *exc: object) -> None:
        self.close()
