"""`coach tempo PATTERN --reps N`: play a lifting tempo's click track, or write it to a WAV."""

from __future__ import annotations

import logging
import sys

from coach.core.tempo import TempoError, parse_tempo
from coach.events import EventWriter
from coach.files import check_output
from coach.settings import Settings

log = logging.getLogger(__name__)

NAME = "tempo"
HELP = ("play a lifting tempo such as 3-1-2-1 (lower-pause-lift-pause seconds, X = explosive) "
        "as a click track with spoken phases")

MAX_REPS = 100


def add_arguments(parser) -> None:
    parser.add_argument("pattern", help="tempo, e.g. 3-1-2-1, 4-0-1-0 or 2-2-X-1 (also 31X0)")
    parser.add_argument("--reps", type=int, default=8, help="reps in the set (default 8)")
    parser.add_argument("--no-voice", action="store_true",
                        help="clicks only: no spoken phase words or rep numbers")
    parser.add_argument("--no-numbers", action="store_true",
                        help="say the phase words but not the rep numbers")
    parser.add_argument("--out", help="write the track to this WAV file instead of playing it")
    parser.add_argument("--events", help="write one JSON line per click to this file ('-': "
                        "stdout)")


def run(args, settings: Settings) -> int:
    tempo = parse_tempo(args.pattern)
    if not 1 <= args.reps <= MAX_REPS:
        raise TempoError(f"--reps {args.reps} is out of range", f"use 1 to {MAX_REPS} reps")
    for path in (args.out, args.events):
        if path and path != "-":
            check_output(path)
    return play_tempo(settings, tempo, args.reps, voice=not args.no_voice,
                      numbers=not args.no_numbers, out=args.out, events_path=args.events)


def play_tempo(settings: Settings, tempo, reps: int, voice: bool = True, numbers: bool = True,
               out: str | None = None, events_path: str | None = None) -> int:
    """Play (or with ``out`` render) ``reps`` reps at ``tempo``; events to ``events_path``."""
    from coach.audio.engine import OfflineSpeaker, Speaker
    from coach.workout.metronome import Metronome

    speech = None
    if voice:
        from coach.audio.speech import Voice

        speech = Voice(settings.speech, settings.audio.output_rate, settings.paths.speech_cache)
    rate = settings.audio.output_rate
    with EventWriter(events_path) as events:
        speaker = OfflineSpeaker(rate) if out else Speaker(settings.audio)
        with speaker:
            metronome = Metronome(speaker, voice=speech, events=events, words=voice,
                                  numbers=voice and numbers, lead_in=0.2 if out else 0.3)
            metronome.prepare(reps)
            log.info("tempo %s, %d reps, %.0f s", tempo, reps, reps * tempo.rep_seconds)
            result = metronome.play_set(tempo, reps)
            metronome.wait_tail()
            if out:
                seconds = speaker.save(out)
                out_stream = sys.stderr if events_path == "-" else sys.stdout
                print(f"{out}\t{seconds:.2f} s\t{result.clicks} clicks", file=out_stream)
            else:
                # let the device's own buffer drain before the stream closes
                speaker.wait_until(speaker.now()
                                   + speaker.samples(speaker.output_latency + 0.05))
    return 0
