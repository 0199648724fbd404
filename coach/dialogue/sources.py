"""Where answers come from: the microphone, the keyboard, or a script (one interface for
the workout, the body scan and device mode).

Every source has the same calls:

- ``listen(expect, timeout, on_open, optional=False) -> Answer``: one answer to a
  question that has finished playing. ``on_open`` is called the moment the source
  starts listening (the loop writes the ``listen`` event then). ``optional`` marks
  a prompt that needs no answer ("Ready?"): only a command is taken there, and a
  script or typed line that is not a command is left for the next question.
- ``watch() -> CommandWatch``: commands heard while a set is counted, during rest or
  while a scan plays; ``poll(elapsed)`` returns a command ``Answer`` or None without
  blocking (``elapsed``: seconds of the scan's clock, for a script's timed commands);
  ``close()`` ends it.
- ``exhausted``: no command can come any more; ``available``: someone can still answer
  a question (a script with lines left, a keyboard not closed, a microphone).

A script or typed input that runs out (end of file, Ctrl-D) answers "stop", so the
loop ends and saves instead of waiting for ever. A script line ``@SECONDS WORDS`` is a
command given that many seconds into a scan (``@20 pause``).

``open_recognizer`` and ``microphone_source`` are the one way to open a recognizer and
the microphone for any loop.
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
from coach.errors import CoachError, MissingPart
from coach.files import read_text
from coach.settings import INPUT_RATE, Settings

log = logging.getLogger(__name__)

#: An answer's details key: a line the coach says once about its hearing.
NOTICE = "notice"
#: Typed or scripted words that mean "go" at an optional prompt.
GO_WORDS = {"", "go", "ready", "yes", "ok", "okay", "start", "let's go"}

_EOF = object()


def end_of_input(text: str = "") -> Answer:
    return Answer("command", "stop", text, 1.0, {"end_of_input": True})


class CommandWatch(Protocol):
    def poll(self, elapsed: float | None = None) -> Answer | None: ...

    def close(self) -> None: ...


class AnswerSource(Protocol):
    engine: str | None
    """The recognizer that produced the answers (None: typed text)."""

    def listen(self, expect: str, timeout: float | None, on_open: Callable[[], None],
               optional: bool = False) -> Answer: ...

    def watch(self) -> CommandWatch: ...

    @property
    def exhausted(self) -> bool: ...

    @property
    def available(self) -> bool: ...

    def close(self) -> None: ...


class _NoCommands:
    def poll(self, elapsed: float | None = None) -> Answer | None:
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

    label = "script"
    """How a scan's history names where its answers came from (``engine`` is the
    recognizer, None for text)."""

    def __init__(self, path: str | Path,
                 recognizer_factory: Callable[[], object] | None = None) -> None:
        super().__init__(recognizer_factory)
        text = read_text(path, "answers file", "give a text file with one answer or one WAV "
                         "path per line")
        base = Path(path).resolve().parent
        lines = []
        self._timed: list[tuple[float, str]] = []
        for number, raw in enumerate(text.splitlines(), start=1):
            if raw.strip().startswith("#"):
                continue
            line = raw.split("#", 1)[0].strip()
            if line.lower().endswith(".wav"):
                if not Path(line).is_absolute():
                    line = str(base / line)
                _check_wav(f"{path}:{number}", line)
            if line.startswith("@"):
                head, _, rest = line[1:].partition(" ")
                try:
                    self._timed.append((float(head), rest.strip()))
                except ValueError:
                    raise CoachError(f"{path}:{number}: {line!r} has no time after @",
                                     "write a timed command as @SECONDS WORDS, e.g. @20 pause",
                                     exit_code=2) from None
                continue
            lines.append(line)
        self._timed.sort(key=lambda timed: timed[0])
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
        return _ScriptWatch(self)

    @property
    def remaining(self) -> int:
        return len(self._lines)

    @property
    def exhausted(self) -> bool:
        return not self._timed

    @property
    def available(self) -> bool:
        return bool(self._lines)


class _ScriptWatch:
    """A script's timed commands (``@SECONDS WORDS``), given when the clock passes them."""

    def __init__(self, source: ScriptSource) -> None:
        self.source = source

    def poll(self, elapsed: float | None = None) -> Answer | None:
        timed = self.source._timed
        if elapsed is None or not timed or timed[0][0] > elapsed + 1e-9:
            return None
        return self.source._interpret(timed.pop(0)[1], "command")

    def close(self) -> None:
        pass


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

    label = "typed"

    def __init__(self, stream: IO[str] | None = None, prompt: IO[str] | None = None,
                 recognizer_factory: Callable[[], object] | None = None) -> None:
        super().__init__(recognizer_factory)
        self._stream = stream or sys.stdin
        self._prompt = prompt if prompt is not None else sys.stderr
        self._queue: queue.Queue = queue.Queue()
        self._head = None
        self._closed = False
        self._reader = threading.Thread(target=self._read, name="typed-answers", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self._stream:
            self._queue.put(line.rstrip("\n"))
        self._closed = True
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

    @property
    def available(self) -> bool:
        return not (self._closed and self._queue.empty() and self._head in (None, _EOF))

    @property
    def exhausted(self) -> bool:
        return not self.available


class _TypedWatch:
    def __init__(self, source: TypedSource) -> None:
        self.source = source

    def poll(self, elapsed: float | None = None) -> Answer | None:
        line = self.source._peek(0.0)
        if line is None:
            return None
        if line is _EOF:
            return end_of_input()
        if not line.strip():  # Enter on its own while something plays: nothing
            self.source._take()
            return None
        answer = parse(line, "command")
        if answer.kind != "command":
            return None  # an answer typed ahead: left for the next question
        self.source._take()
        return answer

    def close(self) -> None:
        pass


# -- the microphone ---------------------------------------------------------------------

#: Seconds heard before a question ends that its answer may start in, once the echo is
#: cancelled (without it, what came before is the coach's own voice and is dropped).
ANSWER_LEAD_SECONDS = 1.0


def hear_through(source, speaker, enabled: bool = True) -> None:
    """Cancel ``speaker``'s sound in the source's microphone (a spoken source only)."""
    microphone = getattr(source, "microphone", None)
    if microphone is not None and hasattr(microphone, "cancel_echo"):
        log.info("coach: echo cancellation: %s", microphone.cancel_echo(speaker, enabled))


class ListenerWatch:
    """A ``CommandWatch`` over ``coach.hearing.BackgroundListener``: commands heard on the
    microphone while a set, a rest or a line plays. Closed, it gives the microphone back
    the last ``ANSWER_LEAD_SECONDS`` it read (``Microphone.unread``, when it has it): an
    answer begun over a watched question is still there for ``listen``."""

    def __init__(self, recognizer, microphone) -> None:
        from coach.hearing import BackgroundListener
        from coach.hearing.listener import RecentReads

        # the coach's own voice so far is not a command; with its echo cancelled, a word
        # begun just before the line is kept (the athlete talked over its start)
        microphone.flush(ANSWER_LEAD_SECONDS)
        self._microphone = microphone
        self._tap = RecentReads(microphone, int(ANSWER_LEAD_SECONDS * INPUT_RATE))
        self._listener = BackgroundListener(recognizer, self._tap, "command").start()

    def poll(self, elapsed: float | None = None) -> Answer | None:
        answer = self._listener.poll()
        if answer is not None:  # its words are taken: not handed on to the next listen
            self._tap.clear()
        return answer

    def heard(self) -> int:
        """Microphone samples the listener has taken in so far (it decodes as it reads:
        a word that ended well before the last of them has been understood)."""
        return self._tap.total

    def close(self) -> None:
        self._listener.stop()
        unread = getattr(self._microphone, "unread", None)
        if unread is not None:
            unread(self._tap.recent())


class MicrophoneSource:
    """Spoken answers: the recognizer listens on the microphone after each question."""

    exhausted = False
    available = True

    def __init__(self, microphone, recognizer,
                 make_watch: Callable[[], CommandWatch] | None = None,
                 owns_microphone: bool = True) -> None:
        self.microphone = microphone
        self.recognizer = recognizer
        self.engine = getattr(recognizer, "name", None)
        self._make_watch = make_watch or (lambda: ListenerWatch(recognizer, microphone))
        self._owns = owns_microphone

    def listen(self, expect: str, timeout: float | None, on_open: Callable[[], None],
               optional: bool = False) -> Answer:
        # drop the coach's own voice before the question (with the echo cancelled: all but
        # the last moment, where an answer given over the question's end begins)
        self.microphone.flush(ANSWER_LEAD_SECONDS)
        on_open()
        answer = self.recognizer.listen(self.microphone, "command" if optional else expect,
                                        timeout)
        notice = self.recognizer.take_notice()
        if notice:
            answer.details[NOTICE] = notice
        return answer

    def watch(self) -> CommandWatch:
        return self._make_watch()

    def talked_over(self) -> int:
        """How often the athlete has talked over the coach so far (0: nothing tells)."""
        return getattr(self.microphone, "talked_over", 0)

    def close(self) -> None:
        if self._owns:
            self.microphone.close()


class NoSource:
    """Nobody answers: a scan rendered with ``--out`` and no script."""

    engine = None
    exhausted = True
    available = False

    def listen(self, expect: str, timeout: float | None, on_open: Callable[[], None],
               optional: bool = False) -> Answer:
        return end_of_input()

    def watch(self) -> CommandWatch:
        return _NoCommands()

    def close(self) -> None:
        pass


# -- opening the hearing side -------------------------------------------------------------

def open_recognizer(settings: Settings):
    """The recognizer ``settings.hearing`` names (loads its model), behind the Wyoming
    server ``settings.remote`` names, if any; a missing hearing part is one line with a
    fix."""
    try:
        from coach.hearing import open_recognizer as open_it
    except ImportError:
        raise MissingPart("speech recognition (coach.hearing) is not available",
                          "answer with --typed, or with text lines in --answers") from None
    from coach.remote.hearing import with_server

    hearing = settings.hearing
    return with_server(open_it(hearing.engine, settings.paths, hearing.model), settings.remote)


def recognizer_factory(settings: Settings):
    """A function that opens the recognizer when first needed (WAV lines of a script)."""
    return lambda: open_recognizer(settings)


def microphone_source(settings: Settings) -> MicrophoneSource:
    """Spoken answers: the recognizer on a newly opened microphone, with a background
    listener for commands while something plays."""
    from coach.audio.engine import Microphone

    recognizer = open_recognizer(settings)
    log.info("coach: listening with %s", recognizer.name)
    return MicrophoneSource(Microphone(settings.audio).start(), recognizer)
