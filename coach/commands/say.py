"""`coach say TEXT`: speak a line through the speaker, or write it to a WAV."""

from __future__ import annotations

from coach.audio.engine import Speaker
from coach.audio.speech import Voice
from coach.audio.wavio import write_wav
from coach.errors import CoachError, DeviceError
from coach.files import check_output
from coach.settings import Settings

NAME = "say"
HELP = "speak TEXT through the speaker (or write it to a WAV with --out)"


def add_arguments(parser) -> None:
    parser.add_argument("text", nargs="+", help="what to say")
    parser.add_argument("--out", help="write the speech to this WAV file instead of playing it")


def run(args, settings: Settings) -> int:
    text = " ".join(args.text).strip()
    if not text:
        raise CoachError("there is nothing to say", 'give the words, e.g. coach say "Ready?"',
                         exit_code=2)
    if args.out:
        check_output(args.out)
    voice = Voice(settings.speech, settings.audio.output_rate, settings.paths.speech_cache)
    samples = voice.render(text)
    if args.out:
        write_wav(args.out, samples, settings.audio.output_rate)
        print(f"{args.out}\t{len(samples) / settings.audio.output_rate:.2f} s")
        return 0
    with Speaker(settings.audio) as speaker:
        sound = speaker.play(samples, label="say")
        if not speaker.wait(sound) and not speaker.active:
            raise DeviceError("the speaker stopped before the line was said",
                              "check it is plugged in (see `coach devices`) and say it again")
        # let the device's own buffer drain before the stream closes
        speaker.wait_until(speaker.now() + speaker.samples(speaker.output_latency + 0.05))
    return 0
