"""Text to speech: Piper (neural) by default, pyttsx3 with espeak-ng as the fallback.

``Voice`` is what the rest of the coach speaks through: ``render(text)`` gives float32 mono
at the speaker rate, from a memory cache (recent lines), a disk cache kept across runs
(``coach.audio.speech_cache``), or the engine: Piper (``coach.audio.piper_voice``) or
espeak-ng (``coach.audio.espeak_voice``). ``prepare(texts)`` hands lines to a background
renderer (``coach.audio.render_ahead``) so that they are ready before they are due;
``warm(texts)`` renders them now (``--prepare``).

With ``SpeechSettings.render_apart`` (``coach device``), a Piper line missing from the
disk cache is rendered by a short-lived child process (``coach.audio.render_apart``) into
that cache and read back: the model's memory never joins this process's.

Which engine speaks is the ``--voice`` setting (``coach.audio.voices``). When the Piper
voice is missing or does not load, the coach says why once, in one log line, and speaks
with espeak-ng.
"""

from __future__ import annotations

import atexit
import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from coach.audio import render_ahead, render_apart, voices
from coach.audio.espeak_voice import EspeakSpeech
from coach.audio.render_apart import children_started
from coach.audio.speech_cache import DiskCache, from_int16, to_int16
from coach.audio.wavio import resample
from coach.errors import MissingPart
from coach.settings import SpeechSettings

__all__ = ["SCAN", "WORKOUT", "DiskCache", "Scene", "Voice", "children_started", "say_once",
           "trim_silence"]

log = logging.getLogger(__name__)

#: Bytes of rendered speech kept in memory (about 45 s at 44.1 kHz).
MEMORY_CACHE_BYTES = 8 * 1024 * 1024
#: The speaking rate (words per minute) at which Piper speaks at its own pace.
PIPER_NATURAL_RATE = 170
#: Peak of a Piper line (Piper normalises each sentence to full scale), near espeak-ng's.
PIPER_PEAK = 0.8


@dataclass(frozen=True)
class Scene:
    """How the coach speaks in one kind of moment."""

    name: str
    length_scale: float
    """Piper's phoneme length: > 1 is slower (espeak-ng's rate is divided by it)."""
    level: float
    """Gain on the rendered line, 0..1."""
    sentence_pause: float
    """Silence between two sentences of one line, in seconds (Piper)."""


#: Workout cues: brisk and full level.
WORKOUT = Scene("workout", 1.0, 1.0, 0.25)
#: Body scans: slower, softer, with room between sentences.
SCAN = Scene("scan", 1.18, 0.7, 0.6)

_reported: set[str] = set()
_reported_lock = threading.Lock()


def say_once(message: str) -> None:
    """Log ``message`` once per process (a fallback is said once, not per line or voice)."""
    with _reported_lock:
        if message in _reported:
            return
        _reported.add(message)
    log.warning("%s", message)


class Voice:
    """Renders text to float32 mono samples at ``output_rate``."""

    def __init__(self, settings: SpeechSettings, output_rate: int,
                 cache_dir: Path | None = None, scene: Scene = WORKOUT) -> None:
        self.settings = settings
        self.output_rate = output_rate
        self.cache_dir = cache_dir
        self.scene = scene
        self.disk = DiskCache(cache_dir, settings.cache_bytes) if cache_dir else None
        self._memory: OrderedDict[str, np.ndarray] = OrderedDict()
        self._memory_bytes = 0
        self._memory_lock = threading.Lock()
        self.fell_back: str | None = None
        """Why this voice speaks with espeak-ng instead of the Piper voice asked for."""
        from coach.remote.voice import remote_voice

        self.remote = remote_voice(settings.voice)
        """A Wyoming TTS server that speaks first (the local default voice stands by)."""
        self.choice = voices.parse(None if self.remote else settings.voice,
                                   settings.voices_dir)
        if self.choice.engine == voices.PIPER and not self.choice.model.exists():
            self._fall_back(f"the Piper voice {self.choice.name} is not installed "
                            f"({self.choice.model})")
        self._piper = None
        self._stamp = _file_stamp(self.choice.model)
        self._espeak: EspeakSpeech | None = None
        self._engine_lock = threading.Lock()
        self._renderer: render_ahead.Renderer | None = None

    # -- the engine -------------------------------------------------------------------
    def _fall_back(self, why: str) -> None:
        espeak = voices.VoiceChoice(voices.ESPEAK, voices.DEFAULT_ESPEAK)
        say_once(f"coach: {why}; speaking with espeak-ng instead"
                 + ("" if self.choice.default else f" ({espeak.label})"))
        self.fell_back = why
        self.choice = espeak
        self._stamp = ""

    def _engine(self):
        """The loaded engine: Piper when chosen and it loads, else espeak-ng."""
        with self._engine_lock:  # the speech worker and the session may both ask first
            return self._load_engine()

    def _load_engine(self):
        if self.choice.engine == voices.PIPER:
            if self._piper is None:
                from coach.audio.piper_voice import PiperSpeech

                try:
                    self._piper = PiperSpeech(self.choice.model)
                except MissingPart as error:
                    self._fall_back(error.message)
                    return self._load_engine()
            return self._piper
        if self._espeak is None:
            self._espeak = EspeakSpeech(self.choice.name, self.settings)
        return self._espeak

    def warm_up(self) -> None:
        """Start the speech engine and load its voice now, so the first line is not slowed."""
        self._engine()
        if not self.is_cached("Ready."):
            self.render("Ready.")

    @property
    def voice_id(self) -> str:
        """What speaks, e.g. ``piper:en_US-joe-medium (22050 Hz)`` or ``espeak:gmw/en-us``."""
        engine = self._engine()
        if isinstance(engine, EspeakSpeech):
            return f"espeak:{engine.voice_id or 'default'}"
        return f"piper:{self.choice.name} ({engine.rate} Hz)"

    @property
    def engine_name(self) -> str:
        """``piper`` or ``espeak`` (after a fallback, what really speaks)."""
        self._engine()
        return self.choice.engine

    # -- rendering --------------------------------------------------------------------
    def key(self, text: str) -> str:
        choice, scene = self.choice, self.scene
        label = self.remote.label if self.remote is not None else choice.label
        ident = (f"{text}\x00{label}\x00{self._stamp}\x00{self.settings.rate}\x00"
                 f"{self.settings.volume}\x00{self.output_rate}\x00{scene.length_scale}\x00"
                 f"{scene.level}\x00{scene.sentence_pause}")
        return hashlib.sha1(ident.encode("utf-8")).hexdigest()

    def is_cached(self, text: str) -> bool:
        key = self.key(text)
        with self._memory_lock:
            if key in self._memory:
                return True
        return self.disk is not None and self.disk.has(key)

    def render(self, text: str) -> np.ndarray:
        """Speech for ``text`` as float32 mono at ``output_rate`` (cached)."""
        return self._render(text, ahead=False)

    def render_ahead(self, text: str) -> np.ndarray:
        """As ``render``, for the background renderer: a line that is due goes first."""
        return self._render(text, ahead=True)

    def _render(self, text: str, ahead: bool) -> np.ndarray:
        key = self.key(text)
        cached = self._recall(key)
        if cached is not None:
            return cached
        if self._renderer is not None and not ahead:
            self._renderer.wait_for(key)  # being rendered ahead right now: wait for it
            cached = self._recall(key)
            if cached is not None:
                return cached
        if ahead:
            samples, stored = self._synthesise(text, ahead)
        else:
            with render_ahead.due_first.due():
                samples, stored = self._synthesise(text, ahead)
        key = self.key(text)  # a fallback during the first render changes the key
        if stored is not None:
            self._remember(key, samples)
        if self.disk is not None and stored is False:
            self.disk.put(key, samples)
        return samples

    def _recall(self, key: str) -> np.ndarray | None:
        with self._memory_lock:
            cached = self._memory.get(key)
            if cached is not None:
                self._memory.move_to_end(key)
                return cached
        if self.disk is None:
            return None
        samples = self.disk.get(key)
        if samples is not None:
            self._remember(key, samples)
        return samples

    def _remember(self, key: str, samples: np.ndarray) -> None:
        """Keep recent lines in memory, the oldest dropped past MEMORY_CACHE_BYTES (the disk
        cache still has them): a long session on a Pi stays small."""
        with self._memory_lock:
            if key in self._memory:
                return
            self._memory[key] = samples
            self._memory_bytes += samples.nbytes
            while self._memory_bytes > MEMORY_CACHE_BYTES and len(self._memory) > 1:
                _, dropped = self._memory.popitem(last=False)
                self._memory_bytes -= dropped.nbytes

    def _synthesise(self, text: str, ahead: bool = False) -> tuple[np.ndarray, bool | None]:
        """The rendered line, and whether it is in the disk cache already; None: keep it
        in no cache (a line the voice server did not render, said locally this once)."""
        if self.remote is not None:
            spoken = self.remote.synthesize(text, ahead)
            if spoken is not None:
                samples, rate = spoken
                gain = PIPER_PEAK * self.settings.volume * self.scene.level
                out = trim_silence(resample(samples.astype(np.float32) / 32768.0, rate,
                                            self.output_rate), self.output_rate) * gain
                return from_int16(to_int16(out)), False
            notice = None if ahead else self.remote.health.take_notice()
            samples, _ = self._synthesise_here(f"{notice} {text}" if notice else text)
            return samples, None
        return self._synthesise_here(text)

    def _synthesise_here(self, text: str) -> tuple[np.ndarray, bool]:
        if self.settings.render_apart and self.disk is not None and self.remote is None \
                and self.choice.engine == voices.PIPER:
            samples = self._synthesise_apart(text)
            if samples is not None:
                return samples, True
        engine = self._engine()
        scene = self.scene
        if isinstance(engine, EspeakSpeech):
            samples, rate = engine.synthesise(text, round(self.settings.rate / scene.length_scale))
            gain = self.settings.volume * scene.level
        else:
            pace = PIPER_NATURAL_RATE / max(60, self.settings.rate)  # --rate 300: faster
            samples = engine.synthesise(text, scene.length_scale * pace, scene.sentence_pause)
            rate = engine.rate
            gain = PIPER_PEAK * self.settings.volume * scene.level
        out = trim_silence(resample(samples, rate, self.output_rate), self.output_rate) * gain
        # as the disk cache keeps it (16 bits), so a line sounds the same from either cache
        return from_int16(to_int16(out)), False

    def _synthesise_apart(self, text: str) -> np.ndarray | None:
        """Render in the child process (``render_apart``); None: render here after all."""
        scene = self.scene
        assert self.cache_dir is not None
        child = render_apart.child_for(self.settings, self.output_rate, self.cache_dir)
        reply = child.render(text, [scene.name, scene.length_scale, scene.level,
                                    scene.sentence_pause])
        if reply is None:
            return None
        if reply.get("why") and self.choice.engine == voices.PIPER:
            self._fall_back(reply["why"])  # the child speaks with espeak-ng: so do we
        if reply.get("error"):
            raise MissingPart(reply["error"], "check `coach doctor`")
        assert self.disk is not None
        return self.disk.get(self.key(text))

    def duration(self, text: str) -> float:
        """Seconds the rendered utterance lasts."""
        return len(self.render(text)) / self.output_rate

    # -- ahead of time ------------------------------------------------------------------
    def prepare(self, texts: Iterable[str]) -> None:
        """Render ``texts`` on the background renderer, in order, while other lines play.
        Returns at once; ``render`` later finds them cached (or waits for the one line in
        progress)."""
        wanted = [t for t in dict.fromkeys(texts) if t]
        if not wanted:
            return
        if self._renderer is None:
            self._renderer = render_ahead.Renderer(self)
        self._renderer.add(wanted)

    def warm(self, texts: Iterable[str],
             progress: Callable[[int, int], None] | None = None) -> int:
        """Render ``texts`` now (``--prepare``); returns how many were not cached yet."""
        wanted = [t for t in dict.fromkeys(texts) if t]
        rendered = 0
        for number, text in enumerate(wanted, 1):
            if not self.is_cached(text):
                self.render(text)
                rendered += 1
            if progress:
                progress(number, len(wanted))
        return rendered

    def wait_prepared(self, timeout: float | None = None) -> bool:
        """Wait until the background renderer has nothing left; True when it is idle."""
        return self._renderer is None or self._renderer.wait_idle(timeout)

    def close(self) -> None:
        """Stop the background renderer (lines queued and not started are dropped)."""
        if self._renderer is not None:
            self._renderer.stop()
            self._renderer = None




@atexit.register
def _stop_rendering() -> None:
    """Let lines being rendered ahead finish, then end the render children."""
    render_ahead.stop_renderers(wait=5.0)
    render_apart.close_children()


def _file_stamp(path: Path | None) -> str:
    """Size and modification time of a voice file: a replaced voice renders anew."""
    if path is None:
        return ""
    try:
        info = path.stat()
    except OSError:
        return ""
    return f"{info.st_size}:{int(info.st_mtime)}"




def trim_silence(samples: np.ndarray, rate: int, floor: float = 0.003,
                 lead: float = 0.005, tail: float = 0.06) -> np.ndarray:
    """Cut espeak-ng's silence before and after the words (keeping ``lead``/``tail``
    seconds): the coach starts talking sooner, and its questions end sooner, so the
    microphone opens sooner."""
    loud = np.nonzero(np.abs(samples) > floor)[0]
    if len(loud) == 0:
        return samples
    start = max(0, int(loud[0]) - int(lead * rate))
    end = min(len(samples), int(loud[-1]) + 1 + int(tail * rate))
    return samples[start:end]
