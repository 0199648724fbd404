"""Hearing answers: one recognizer interface over Whisper, Vosk and PocketSphinx.

Use::

    from coach.hearing import open_recognizer, BackgroundListener
    recognizer = open_recognizer("auto", settings.paths)      # loads the model once
    answer = recognizer.listen(mic, "reps", timeout=8.0)      # -> coach.core.answers.Answer
    answer = recognizer.decode_wav("take.wav", "felt")
    answer = recognizer.decode(int16_16k_mono, "where")

``open_recognizer(engine, paths, model)``: engine "auto", "whisper", "vosk" or
"pocketsphinx" (see its docstring for how "auto" chooses); logs its choice and the
reason to stderr. Every question (``expect``: reps, felt, where, sore, feeling, start,
command, any - see ``coach.core.answers``) gets its own grammar, built once and cached.

The voice gate (``coach.hearing.vad``, Silero VAD) decides what is speech: ``decode``
runs it once over a clip and decodes only when it finds speech, passing the engine
where the speech lies; ``listen`` runs it on the microphone stream (when it returns:
``coach.hearing.recognizer``).

``BackgroundListener(recognizer, mic, expect="command")``: a thread that listens
continuously (while a metronome or a scan plays) and queues what it understood;
``start()``, ``poll() -> Answer | None``, ``stop()``. It survives any error (logged,
retried after a second). Only one listener may read a microphone at a time: stop the
background listener before calling ``listen``.
"""

from coach.core.answers import Answer
from coach.hearing.choice import open_recognizer, whisper_available
from coach.hearing.listener import BackgroundListener
from coach.hearing.recognizer import Recognizer, to_int16_16k
from coach.hearing.vad import GateSettings
from coach.settings import ENGINES

__all__ = ["Answer", "BackgroundListener", "ENGINES", "GateSettings", "Recognizer",
           "open_recognizer", "to_int16_16k", "whisper_available"]
