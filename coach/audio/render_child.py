"""A short-lived speech renderer: ``python -m coach.audio.render_child SETTINGS.json``.

The program of a render child; what it reads and answers is ``coach.audio.render_apart``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from coach.audio.render_apart import serve
from coach.audio.speech import Scene, Voice
from coach.settings import SpeechSettings


def open_voice(settings: SpeechSettings, output_rate: int, cache_dir: Path,
               scene: list) -> Voice:
    return Voice(settings, output_rate, cache_dir, scene=Scene(*scene))


def main(argv: list[str] | None = None) -> int:
    return serve(argv or sys.argv[1:], open_voice)


if __name__ == "__main__":
    raise SystemExit(main())
