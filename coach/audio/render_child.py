"""A short-lived speech renderer: ``python -m coach.audio.render_child SETTINGS.json``.

``coach device`` keeps Piper out of its own process (``SpeechSettings.render_apart``): a
line missing from the disk cache is rendered here, into that cache, and the device reads
it back. The child loads the model on its first line and exits when the device closes its
standard input (after a quiet spell, or at exit), so the model's memory goes back to the
system instead of staying in the device's peak.

Protocol, one JSON value per line: the device writes ``{"text": ..., "scene": [name,
length_scale, level, sentence_pause]}``; the child answers ``{"engine": "piper:NAME",
"why": null | "why it fell back to espeak-ng", "error": null | "..."}`` once the line is in
the cache. Logs go to standard error (the device's journal).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
from pathlib import Path


def settings_to_json(settings, output_rate: int, cache_dir: Path) -> str:
    """The child's one argument: what it needs to render exactly as the device would."""
    return json.dumps({
        "voice": settings.voice, "rate": settings.rate, "volume": settings.volume,
        "voices_dir": None if settings.voices_dir is None else str(settings.voices_dir),
        "cache_bytes": settings.cache_bytes, "output_rate": output_rate,
        "cache_dir": str(cache_dir), "parent": os.getpid(),
    })


#: How often the child checks that the device that started it is still there.
PARENT_POLL_SECONDS = 0.5


def _end_with_parent(parent: int | None) -> None:
    """Exit as soon as the device that started this child (``parent``, its process id) is
    gone (Ctrl-C, a crash, a kill): nobody would read what it renders, and it must not
    keep the device's standard error open. A thread, not PR_SET_PDEATHSIG, which follows
    the thread that started the child rather than the device."""
    import threading
    import time

    parent = os.getppid() if parent is None else parent

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_SECONDS)
        os._exit(0)
    threading.Thread(target=watch, name="coach-render-parent", daemon=True).start()


def main(argv: list[str] | None = None) -> int:
    from coach.audio.speech import Scene, Voice
    from coach.errors import MissingPart
    from coach.settings import SpeechSettings

    args = json.loads((argv or sys.argv[1:])[0])
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
    voices: dict[tuple, Voice] = {}
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        scene = Scene(*request["scene"])
        voice = voices.get(tuple(request["scene"]))
        if voice is None:
            voice = voices[tuple(request["scene"])] = Voice(
                settings, args["output_rate"], Path(args["cache_dir"]), scene=scene)
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


if __name__ == "__main__":
    raise SystemExit(main())
