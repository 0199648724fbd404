"""Rendering speech in a short-lived child process: the protocol, both directions.

``coach device`` keeps Piper out of its own process (``SpeechSettings.render_apart``): a
line missing from the disk cache is rendered by a child (``python -m
coach.audio.render_child SETTINGS.json``), into that cache, and the device reads it back.
The child loads the model on its first line and exits when the device closes its standard
input (after CHILD_IDLE_SECONDS without a line, or at exit), so the model's memory goes
back to the system instead of staying in the device's peak.

Protocol, one JSON value per line: the device writes ``{"text": ..., "scene": [name,
length_scale, level, sentence_pause]}``; the child answers ``{"engine": "piper:NAME",
"why": null | "why it fell back to espeak-ng", "error": null | "..."}`` once the line is in
the cache. The child's one argument is ``settings_to_json``. Logs go to standard error
(the device's journal).

The device's side is ``child_for(...).render(text, scene)``; the child's side is
``serve(argv, open_voice)``, given how to open a voice (``coach.audio.render_child``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from coach.errors import MissingPart
from coach.settings import SpeechSettings

log = logging.getLogger(__name__)

#: The module a render child runs (``python -m``).
CHILD_MODULE = "coach.audio.render_child"
#: Seconds a render child stays after its last line: a workout asks for lines in bursts
#: (a set's start, its count, the rest), so one child usually serves a whole set.
CHILD_IDLE_SECONDS = 20.0
#: How often the child checks that the device that started it is still there.
PARENT_POLL_SECONDS = 0.5


def settings_to_json(settings: SpeechSettings, output_rate: int, cache_dir: Path) -> str:
    """The child's one argument: what it needs to render exactly as the device would."""
    return json.dumps({
        "voice": settings.voice, "rate": settings.rate, "volume": settings.volume,
        "voices_dir": None if settings.voices_dir is None else str(settings.voices_dir),
        "cache_bytes": settings.cache_bytes, "output_rate": output_rate,
        "cache_dir": str(cache_dir), "parent": os.getpid(),
    })


# -- the device's side ------------------------------------------------------------------
class RenderChild:
    """A render child, started for the first missing line and ended after
    CHILD_IDLE_SECONDS without one (its memory goes back to the system). One per process
    and speech settings: the device, its session and its scan share it."""

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
                            [sys.executable, "-m", CHILD_MODULE, self.argument],
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


_children: dict[str, RenderChild] = {}
_children_lock = threading.Lock()


def child_for(settings: SpeechSettings, output_rate: int, cache_dir: Path) -> RenderChild:
    """The render child of this process for these settings (started when first used)."""
    argument = settings_to_json(settings, output_rate, cache_dir)
    with _children_lock:
        child = _children.get(argument)
        if child is None:
            child = _children[argument] = RenderChild(argument)
        return child


def children_started() -> int:
    """How many render children this process has started (all settings)."""
    with _children_lock:
        return sum(child.started for child in _children.values())


def close_children() -> None:
    """End every render child of this process (at exit)."""
    with _children_lock:
        children = list(_children.values())
    for child in children:
        child.close()


# -- the child's side -------------------------------------------------------------------
def _end_with_parent(parent: int | None) -> None:
    """Exit as soon as the device that started this child (``parent``, its process id) is
    gone (Ctrl-C, a crash, a kill): nobody would read what it renders, and it must not
    keep the device's standard error open. A thread, not PR_SET_PDEATHSIG, which follows
    the thread that started the child rather than the device."""
    import time

    parent = os.getppid() if parent is None else parent

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_SECONDS)
        os._exit(0)
    threading.Thread(target=watch, name="coach-render-parent", daemon=True).start()


def serve(argv: list[str], open_voice: Callable[[SpeechSettings, int, Path, list], object]
          ) -> int:
    """The child's loop: render each requested line into the cache and reply.
    ``open_voice(settings, output_rate, cache_dir, scene)`` gives a ``Voice`` (one per
    scene, kept for the child's life)."""
    args = json.loads(argv[0])
    _end_with_parent(args.get("parent"))
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, 0, 5)  # below the device's audio and recognizer
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # anything a library prints goes to the log, not into the replies
    settings = SpeechSettings(voice=args["voice"], rate=args["rate"], volume=args["volume"],
                              voices_dir=None if args["voices_dir"] is None
                              else Path(args["voices_dir"]),
                              cache_bytes=args["cache_bytes"])
    voices: dict[tuple, object] = {}
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        voice = voices.get(tuple(request["scene"]))
        if voice is None:
            voice = voices[tuple(request["scene"])] = open_voice(
                settings, args["output_rate"], Path(args["cache_dir"]), request["scene"])
        reply = {"engine": None, "why": None, "error": None}
        try:
            voice.render(request["text"])
        except MissingPart as error:
            reply["error"] = f"{error.message} ({error.fix})"
        reply["engine"] = voice.choice.label
        reply["why"] = voice.fell_back
        replies.write(json.dumps(reply) + "\n")
        replies.flush()
    return 0
