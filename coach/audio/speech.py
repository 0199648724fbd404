"""Text to speech: Piper (neural) by default, pyttsx3 with espeak-ng as the fallback.

``Voice`` is what the rest of the coach speaks through: ``render(text)`` gives float32 mono
at the speaker rate, from a memory cache (recent lines), a disk cache kept across runs
(size-capped, least recently used evicted), or the engine. ``prepare(texts)`` hands lines
to a background renderer (a worker thread, never the audio callback) so that they are
ready before they are due; ``warm(texts)`` renders them now (``--prepare``).

With ``SpeechSettings.render_apart`` (``coach device``), a Piper line missing from the
disk cache is rendered by a short-lived child process (``coach.audio.render_child``) into
that cache and read back: the model's memory never joins this process's, and goes back to
the system when the child exits after CHILD_IDLE_SECONDS without a line.

Which engine speaks is the ``--voice`` setting (``coach.audio.voices``). When the Piper
voice is missing or does not load, the coach says why once, in one log line, and speaks
with espeak-ng.

espeak-ng through pyttsx3: one utterance per ``runAndWait`` (pyttsx3 2.99 writes only the
last file when several ``save_to_file`` calls are queued), and its espeak driver may
return from ``runAndWait`` before espeak's own thread has written the file: we wait for
the ``finished-utterance`` notification, which comes after the file is closed.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import io
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import weakref
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from coach.audio import voices
from coach.audio.wavio import read_wav, resample
from coach.errors import MissingPart
from coach.settings import SpeechSettings

log = logging.getLogger(__name__)

#: Bytes of rendered speech kept in memory (about 45 s at 44.1 kHz).
MEMORY_CACHE_BYTES = 8 * 1024 * 1024
#: Seconds to wait for espeak-ng to finish one utterance.
SYNTH_TIMEOUT = 30.0
#: The speaking rate (words per minute) at which Piper speaks at its own pace.
PIPER_NATURAL_RATE = 170
#: Peak of a Piper line (Piper normalises each sentence to full scale), near espeak-ng's.
PIPER_PEAK = 0.8
INSTALL_ESPEAK = "sudo apt-get install espeak-ng (./scripts/run.sh does it for you)"


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


class _DueFirst:
    """Lines that are due go before lines rendered ahead. A ``say`` that must render its
    line marks itself due; every background renderer waits before starting its next line
    while one is (the line it is rendering is finished first). Without it the renderer,
    taking the engine's lock again straight after each line, kept a due line waiting for
    its whole queue (locks are not fair): turns of 1-2.7 s with espeak-ng on a device."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._due = 0

    @contextlib.contextmanager
    def due(self):
        with self._condition:
            self._due += 1
        try:
            yield
        finally:
            with self._condition:
                self._due -= 1
                self._condition.notify_all()

    def wait_clear(self) -> None:
        with self._condition:
            self._condition.wait_for(lambda: self._due == 0)


_due_first = _DueFirst()
#: pyttsx3 keeps one engine per driver for the whole process, whatever the Voice: one
#: utterance at a time across all of them.
_espeak_lock = threading.Lock()


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
        self._espeak: _Espeak | None = None
        self._engine_lock = threading.Lock()
        self._renderer: _Renderer | None = None

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
            self._espeak = _Espeak(self.choice.name, self.settings)
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
        if isinstance(engine, _Espeak):
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
            with _due_first.due():
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
                return _from_int16(_to_int16(out)), False
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
        if isinstance(engine, _Espeak):
            samples, rate = engine.synthesise(text, round(self.settings.rate / scene.length_scale))
            gain = self.settings.volume * scene.level
        else:
            pace = PIPER_NATURAL_RATE / max(60, self.settings.rate)  # --rate 300: faster
            samples = engine.synthesise(text, scene.length_scale * pace, scene.sentence_pause)
            rate = engine.rate
            gain = PIPER_PEAK * self.settings.volume * scene.level
        out = trim_silence(resample(samples, rate, self.output_rate), self.output_rate) * gain
        # as the disk cache keeps it (16 bits), so a line sounds the same from either cache
        return _from_int16(_to_int16(out)), False

    def _synthesise_apart(self, text: str) -> np.ndarray | None:
        """Render in the child process (``render_apart``); None: render here after all."""
        scene = self.scene
        reply = _child_for(self).render(text, [scene.name, scene.length_scale, scene.level,
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
            self._renderer = _Renderer(self)
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


#: Seconds a render child stays after its last line: a workout asks for lines in bursts
#: (a set's start, its count, the rest), so one child usually serves a whole set.
CHILD_IDLE_SECONDS = 20.0


class _RenderChild:
    """``coach.audio.render_child`` in a child process, started for the first missing line
    and ended after CHILD_IDLE_SECONDS without one (its memory goes back to the system).
    One per process and speech settings: the device, its session and its scan share it."""

    def __init__(self, argument: str) -> None:
        self.argument = argument
        self._process = None
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self.started = 0
        """How many child processes were started (the device logs and tests count it)."""

    def render(self, text: str, scene: list) -> dict | None:
        """Have the child render ``text`` into the disk cache; its reply, or None when the
        child could not run (the caller then renders in this process)."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            for _ in range(2):  # a child that died (killed, out of memory): once more
                if self._process is None or self._process.poll() is not None:
                    try:
                        self._process = subprocess.Popen(
                            [sys.executable, "-m", "coach.audio.render_child", self.argument],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            bufsize=1)
                    except OSError as error:
                        log.warning("coach: no speech child process (%s); rendering here",
                                    error)
                        return None
                    self.started += 1
                    log.info("speech: a child process (%d) renders the lines missing from "
                             "the cache, from %r", self._process.pid, text[:40])
                try:
                    self._process.stdin.write(json.dumps({"text": text, "scene": scene}) + "\n")
                    self._process.stdin.flush()
                    reply = self._process.stdout.readline()
                except (OSError, ValueError):
                    reply = ""
                if reply:
                    self._timer = threading.Timer(CHILD_IDLE_SECONDS, self.close)
                    self._timer.daemon = True
                    self._timer.start()
                    return json.loads(reply)
                self._end()
            log.warning("coach: the speech child process stopped twice; rendering here")
            return None

    def close(self) -> None:
        with self._lock:
            self._end()

    def _end(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        with contextlib.suppress(OSError, ValueError):
            process.stdin.close()  # the child's loop ends; it exits and frees the model
        try:
            process.wait(timeout=5.0)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        with contextlib.suppress(OSError, ValueError):
            process.stdout.close()
        log.debug("speech child %d ended", process.pid)


_children: dict[str, _RenderChild] = {}
_children_lock = threading.Lock()


def _child_for(voice: Voice) -> _RenderChild:
    from coach.audio.render_child import settings_to_json

    assert voice.cache_dir is not None
    argument = settings_to_json(voice.settings, voice.output_rate, voice.cache_dir)
    with _children_lock:
        child = _children.get(argument)
        if child is None:
            child = _children[argument] = _RenderChild(argument)
        return child


def children_started() -> int:
    """How many render children this process has started (all settings)."""
    with _children_lock:
        return sum(child.started for child in _children.values())


class _Renderer:
    """A worker thread that renders queued lines into the caches, oldest request first."""

    def __init__(self, voice: Voice) -> None:
        self.voice = voice
        self._queue: deque[str] = deque()
        self._busy: dict[str, threading.Event] = {}
        self._condition = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._loop, name="coach-speech-ahead",
                                        daemon=True)
        self._thread.start()
        _renderers.add(self)

    def add(self, texts: list[str]) -> None:
        with self._condition:
            queued = set(self._queue)
            self._queue.extend(t for t in texts if t not in queued)
            self._condition.notify_all()

    def wait_for(self, key: str) -> None:
        with self._condition:
            event = self._busy.get(key)
        if event is not None:
            event.wait()

    def wait_idle(self, timeout: float | None) -> bool:
        with self._condition:
            return self._condition.wait_for(lambda: not self._queue and not self._busy,
                                            timeout)

    def stop(self, wait: float = 0.0) -> None:
        with self._condition:
            self._stopped = True
            self._queue.clear()
            self._condition.notify_all()
        if wait:
            self._thread.join(wait)

    def _loop(self) -> None:
        with contextlib.suppress(OSError, AttributeError):  # Linux: this thread only
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 5)
        while True:
            _due_first.wait_clear()  # a line that is due renders first
            with self._condition:
                self._condition.wait_for(lambda: self._queue or self._stopped)
                if self._stopped:
                    return
                text = self._queue.popleft()
                key = self.voice.key(text)
                done = threading.Event()
                self._busy[key] = done
            try:
                if not self.voice.is_cached(text):
                    self.voice._render(text, ahead=True)
            except MissingPart as error:  # the line is rendered (or fails) when it is due
                log.debug("could not render %r ahead: %s", text[:40], error.message)
            finally:
                with self._condition:
                    self._busy.pop(key, None)
                    self._condition.notify_all()
                done.set()


_renderers: weakref.WeakSet[_Renderer] = weakref.WeakSet()


@atexit.register
def _stop_renderers() -> None:
    """Let a line being rendered ahead finish before the interpreter (and onnxruntime's
    session under it) goes away."""
    for renderer in list(_renderers):
        renderer.stop(wait=5.0)
    with _children_lock:
        children = list(_children.values())
    for child in children:
        child.close()


class DiskCache:
    """Rendered lines as 16-bit ``.npy`` files, kept across runs. Reading a line touches
    its file; past ``max_bytes`` the least recently used files are removed."""

    def __init__(self, folder: Path, max_bytes: int) -> None:
        self.folder = Path(folder)
        self.max_bytes = max_bytes
        self._size: int | None = None
        self._lock = threading.Lock()

    def path(self, key: str) -> Path:
        return self.folder / f"{key}.npy"

    def has(self, key: str) -> bool:
        return self.path(key).exists()

    def get(self, key: str) -> np.ndarray | None:
        path = self.path(key)
        try:
            data = np.load(path)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, EOFError):
            log.debug("speech cache entry %s unreadable; rendering again", path)
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # most recently used
        return _from_int16(data) if data.dtype == np.int16 else data.astype(np.float32)

    def put(self, key: str, samples: np.ndarray) -> None:
        """Write an entry atomically; a full disk only costs a re-render later."""
        path = self.path(key)
        temp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp.npy")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            np.save(temp, _to_int16(samples))
            os.replace(temp, path)
        except OSError as error:
            log.debug("could not cache speech in %s: %s", path, error)
            with contextlib.suppress(OSError):
                temp.unlink()  # a full disk: do not leave half an entry taking space
            return
        with self._lock:
            if self._size is None:
                self._size = self.size()
            else:
                self._size += path.stat().st_size
            if self._size > self.max_bytes:
                self._size = self.evict()

    def size(self) -> int:
        return sum(entry.stat().st_size for entry in self._entries())

    def _entries(self) -> list[Path]:
        try:
            return [p for p in self.folder.glob("*.npy") if ".tmp" not in p.name]
        except OSError:
            return []

    def evict(self) -> int:
        """Remove the least recently used entries until 90% of the cap; returns the size."""
        stats = []
        for entry in self._entries():
            with contextlib.suppress(OSError):
                info = entry.stat()
                stats.append((info.st_mtime, info.st_size, entry))
        stats.sort()
        total = sum(size for _, size, _ in stats)
        goal = int(self.max_bytes * 0.9)
        for _, size, entry in stats:
            if total <= goal:
                break
            with contextlib.suppress(OSError):
                entry.unlink()
                total -= size
        log.debug("speech cache trimmed to %.1f MB", total / 1e6)
        return total


def _to_int16(samples: np.ndarray) -> np.ndarray:
    return (np.clip(samples, -1.0, 1.0) * 32767.0).round().astype(np.int16)


def _from_int16(samples: np.ndarray) -> np.ndarray:
    return (samples.astype(np.float32) / 32767.0).astype(np.float32)


def _file_stamp(path: Path | None) -> str:
    """Size and modification time of a voice file: a replaced voice renders anew."""
    if path is None:
        return ""
    try:
        info = path.stat()
    except OSError:
        return ""
    return f"{info.st_size}:{int(info.st_mtime)}"


class _Espeak:
    """espeak-ng through pyttsx3 (one engine per Voice)."""

    def __init__(self, wanted: str | None, settings: SpeechSettings) -> None:
        self.wanted = wanted
        self.settings = settings
        self._engine = None
        self.voice_id: str | None = None
        self._lock = _espeak_lock
        self._finished = threading.Event()
        self._init_engine()

    def _init_engine(self):
        if self._engine is not None:
            return self._engine
        if shutil.which("espeak-ng") is None and not _espeak_library_present():
            raise MissingPart("espeak-ng is not installed, so the coach cannot speak",
                              INSTALL_ESPEAK)
        try:
            import pyttsx3
        except ImportError:
            raise MissingPart("the Python package pyttsx3 is missing",
                              "run ./scripts/run.sh, or pip install pyttsx3") from None
        try:
            engine = pyttsx3.init()
        except (RuntimeError, OSError, ImportError) as error:
            raise MissingPart(f"the speech engine did not start ({error})",
                              INSTALL_ESPEAK) from None
        self.voice_id = pick_voice(engine, self.wanted)
        if self.voice_id:
            engine.setProperty("voice", self.voice_id)
        engine.setProperty("volume", 1.0)
        engine.connect("finished-utterance", lambda name=None, completed=True: self._finished.set())
        self._engine = engine
        return engine

    def synthesise(self, text: str, rate: int) -> tuple[np.ndarray, int]:
        with self._lock:
            engine = self._init_engine()
            engine.setProperty("rate", rate)
            handle, name = tempfile.mkstemp(suffix=".wav", prefix="coach-say-")
            os.close(handle)
            try:
                # pyttsx3 prints "Audio saved to ..." on stdout: keep stdout for output.
                self._finished.clear()
                with contextlib.redirect_stdout(io.StringIO()):
                    engine.save_to_file(text, name)
                    engine.runAndWait()
                    # espeak may still be synthesising on its own thread
                    if not self._finished.wait(timeout=SYNTH_TIMEOUT):
                        raise MissingPart(f"espeak-ng did not finish speaking {text[:40]!r}",
                                          "check `espeak-ng 'hello'` works; " + INSTALL_ESPEAK)
                return read_wav(name)
            finally:
                with contextlib.suppress(OSError):
                    os.unlink(name)


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


def _espeak_library_present() -> bool:
    import ctypes.util

    return ctypes.util.find_library("espeak-ng") is not None


def pick_voice(engine, wanted: str | None) -> str | None:
    """The pyttsx3 voice id for ``wanted``; English (America) by default.

    ``wanted`` may be a voice id ("gmw/en-us"), a language code ("en-gb"), or part of a
    name ("Scotland"), optionally with an espeak-ng variant ("en-gb+m3").
    """
    voices = engine.getProperty("voices") or []
    if not wanted:
        wanted = "en-us"
    base, _, variant = wanted.partition("+")
    key = base.lower()

    def languages(voice) -> list[str]:
        return [str(lang).lower() for lang in (getattr(voice, "languages", None) or [])]

    tests = (
        lambda v: v.id.lower() == key,
        lambda v: key in languages(v),
        lambda v: v.id.lower().endswith("/" + key),
        lambda v: key in (v.name or "").lower(),
    )
    for test in tests:
        for voice in voices:
            if test(voice):
                return voice.id + (f"+{variant}" if variant else "")
    if wanted == "en-us":  # no English voice listed: leave the engine's default
        return None
    names = ", ".join(sorted({lang for v in voices for lang in languages(v)
                              if lang.startswith("en")}))
    raise MissingPart(f"no speech voice matches {wanted!r}",
                      f"pick one of: {names} (a variant may follow, e.g. en-gb+m3)")
