"""Where the session's answers come from: the microphone, the keyboard, or a script.

Every source has the same two calls:

- ``listen(expect, timeout, on_open, optional=False) -> Answer``: one answer to a
  question that has finished playing. ``on_open`` is called the moment the source
  starts listening (the session writes the ``listen`` event then). ``optional`` marks
  a prompt that needs no answer ("Ready?"): only a command is taken there, and a
  script or typed line that is not a command is left for the next question.
- ``watch() -> CommandWatch``: commands heard while a set is counted or during rest;
  ``poll()`` returns a command ``Answer`` or None without blocking; ``close()`` ends it.

A script or typed input that runs out (end of file, Ctrl-D) answers "stop", so the
session ends and saves instead of waiting for ever.
"""

from __future__ import annotations

import logging
import queue
import sys
import threading
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import IO, Protocol

from coach.core.answers import Answer, parse
from coach.errors import CoachError
from coach.files import read_text

log = logging.getLogger(__name__)

#: Typed or scripted words that mean "go" at an optional prompt.
GO_WORDS = {"", "go", "ready", "yes", "ok", "okay", "start", "let's go"}

_EOF = object()


def end_of_input(text: str = "") -> Answer:
    return Answer("command", "stop", text, 1.0, {"end_of_input": True})


class CommandWatch(Protocol):
    def poll(self) -> Answer | None: ...

    def close(self) -> None: ...


class AnswerSource(Protocol):
    engine: str | None
    """The recognizer that produced the answers (None: typed text)."""

    def listen(self, expect: str, timeout: float | None, on_open: Callable[[], None],
               optional: bool = False) -> Answer: ...

    def watch(self) -> CommandWatch: ...

    def close(self) -> None: ...


class _NoCommands:
    def poll(self) -> Answer | None:
        return None

    def close(self) -> None:
        pass


# -- lines: a script file, or the keyboard --------------------------------------------

class _LineSource:
    """Answers from lines of text; a line that names a .wav file is decoded instead."""

    def __init__(self, recognizer_factory: Callable[[], object] | None = None) -> None:
        self._recognizer_factory = recognizer_factory
        self._recognizer = None
        self.engine: str | None = None

    # subclasses give lines
    def _peek(self, timeout: float | None):
        raise NotImplementedError

    def _take(self) -> None:
        raise NotImplementedError

    def _recognizer_for_wav(self):
        if self._recognizer is None:
            if self._recognizer_factory is None:
                raise CoachError("a WAV answer needs a recognizer",
                                 "install the hearing part, or write the answer as text")
            self._recognizer = self._recognizer_factory()
            self.engine = getattr(self._recognizer, "name", None) or self.engine
        return self._recognizer

    def _interpret(self, line: str, expect: str) -> Answer:
        text = line.strip()
        if text.lower().endswith(".wav"):
            path = Path(text).expanduser()
            if not path.is_file():
                raise CoachError(f"the answers file names {text}, which does not exist",
                                 "give one answer or one WAV path per line")
            return self._recognizer_for_wav().decode_wav(path, expect)
        return parse(text, expect)

    def listen(self, expect: str, timeout: float | None, on_open: Callable[[], None],
               optional: bool = False) -> Answer:
        on_open()
        line = self._peek(timeout)
        if line is None:  # nothing typed in time
            return Answer("unknown", None, "", 0.0)
        if line is _EOF:
            return end_of_input()
        if optional:
            if line.strip().lower() in GO_WORDS:
                self._take()
                return Answer("unknown", None, line.strip().lower(), 1.0)
            answer = self._interpret(line, "command")
            if answer.kind == "command":
                self._take()
                return answer
            return Answer("unknown", None, "", 0.0)  # leave the line for the next question
        self._take()
        return self._interpret(line, expect)

    def close(self) -> None:
        pass


class ScriptSource(_LineSource):
    """``--answers FILE``: one answer per line, text or a WAV path; # starts a comment."""

    def __init__(self, path: str | Path,
                 recognizer_factory: Callable[[], object] | None = None) -> None:
        super().__init__(recognizer_factory)
        text = read_text(path, "answers file", "give a text file with one answer or one WAV "
                         "path per line")
        base = Path(path).resolve().parent
        lines = []
        for number, raw in enumerate(text.splitlines(), start=1):
            if raw.strip().startswith("#"):
                continue
            line = raw.split("#", 1)[0].strip()
            if line.lower().endswith(".wav"):
                if not Path(line).is_absolute():
                    line = str(base / line)
                _check_wav(f"{path}:{number}", line)
            lines.append(line)
        while lines and lines[-1] == "":
            lines.pop()
        self._lines: deque[str] = deque(lines)
        self.engine = None

    def _peek(self, timeout):
        return self._lines[0] if self._lines else _EOF

    def _take(self) -> None:
        if self._lines:
            self._lines.popleft()

    def watch(self) -> CommandWatch:
        return _NoCommands()

    @property
    def remaining(self) -> int:
        return len(self._lines)


def _check_wav(where: str, path: str) -> None:
    """A WAV answer is checked before the session starts, not when its set is asked."""
    import wave

    try:
        with wave.open(path, "rb"):
            pass
    except (OSError, wave.Error, EOFError) as error:
        reason = getattr(error, "strerror", None) or str(error) or "empty"
        raise CoachError(f"{where}: the answer {path} is not a readable WAV file ({reason})",
                         "give one answer or one WAV path per line", exit_code=2) from None


class TypedSource(_LineSource):
    """``--typed``: answers from the keyboard (or a pipe); commands can be typed any time."""

    def __init__(self, stream: IO[str] | None = None, prompt: IO[str] | None = None,
                 recognizer_factory: Callable[[], object] | None = None) -> None:
        super().__init__(recognizer_factory)
        self._stream = stream or sys.stdin
        self._prompt = prompt if prompt is not None else sys.stderr
        self._queue: queue.Queue = queue.Queue()
        self._head = None
        self._reader = threading.Thread(target=self._read, name="typed-answers", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self._stream:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(_EOF)

    def _peek(self, timeout):
        if self._head is None:
            try:
                self._head = self._queue.get(timeout=timeout) if timeout is not None \
                    else self._queue.get()
            except queue.Empty:
                return None
        return self._head

    def _take(self) -> None:
        if self._head is not _EOF:
            self._head = None

    def listen(self, expect: str, timeout: float | None, on_open: Callable[[], None],
               optional: bool = False) -> Answer:
        if self._prompt is not None:
            print("> ", end="", file=self._prompt, flush=True)
        # a typed answer waits for the typist; only the optional "Ready?" times out
        return super().listen(expect, timeout if optional else None, on_open, optional)

    def watch(self) -> CommandWatch:
        return _TypedWatch(self)


class _TypedWatch:
    def __init__(self, source: TypedSource) -> None:
        self.source = source

    def poll(self) -> Answer | None:
        line = self.source._peek(0.0)
        if line is None:
            return None
        if line is _EOF:
            return end_of_input()
        answer = parse(line, "command")
        if answer.kind != "command":
            return None  # an answer typed ahead: left for the next question
        self.source._take()
        return answer

    def close(self) -> None:
        pass


# -- the microphone ---------------------------------------------------------------------

class ListenerWatch:
    """A ``CommandWatch`` over ``coach.hearing.BackgroundListener``: commands heard on the
    microphone while a set or a rest plays."""

    def __init__(self, recognizer, microphone) -> None:
        from coach.hearing import BackgroundListener

        self._listener = BackgroundListener(recognizer, microphone, "command").start()

    def poll(self) -> Answer | None:
        return self._listener.poll()

    def close(self) -> None:
        self._listener.stop()


class MicrophoneSource:
    """Spoken answers: the recognizer listens on the microphone after each question."""

    def __init__(self, microphone, recognizer, make_watch: Callable[[], CommandWatch]) -> None:
        self.microphone = microphone
        self.recognizer = recognizer
        self.engine = getattr(recognizer, "name", None)
        self._make_watch = make_watch

    def listen(self, expect: str, timeout: float | None, on_open: Callable[[], None],
               optional: bool = False) -> Answer:
        self.microphone.flush()  # drop the coach's own voice and anything before the question
        on_open()
        return self.recognizer.listen(self.microphone, "command" if optional else expect,
                                      timeout)

    def watch(self) -> CommandWatch:
        return self._make_watch()

    def close(self) -> None:
        self.microphone.close()
