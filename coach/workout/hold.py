"""An isometric hold (plank): a click every second on the sample clock, interruptible.

The metronome counts reps of a tempo; a hold has no reps, so it gets this small timer:
"Hold." at the start, a click each second (an accent every ten), the seconds left
spoken ten seconds before the end, and "Time." at the end. Every sound is scheduled at
its sample; ``interrupt()`` is asked at least every ``poll`` seconds, like the
metronome's, and a non-None answer cancels the sounds not yet started.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from coach.audio.engine import Playback
from coach.events import COMPLETED
from coach.sounds import ACCENT, CLICK, load_sound
from coach.workout.lines import HOLD, TEN_SECONDS, TIME


@dataclass(frozen=True)
class HoldResult:
    seconds_done: int
    """Whole seconds held before the end or the interruption."""
    reason: str
    """"completed", or what interrupt() returned."""


def hold(speaker: Playback, voice, seconds: int, interrupt: Callable[[], str | None],
         poll: float = 0.05, lead_in: float = 0.2) -> HoldResult:
    rate = int(speaker.rate)
    click = load_sound(CLICK, rate)
    accent = load_sound(ACCENT, rate)
    start = speaker.now() + speaker.samples(lead_in)
    end = start + seconds * rate
    sounds = []
    if voice is not None:
        sounds.append(speaker.play(voice.render(HOLD), at=start, label="say:hold"))
    for k in range(1, seconds):
        sounds.append(speaker.play(accent if k % 10 == 0 else click, at=start + k * rate,
                                   label="hold"))
    if voice is not None and seconds > 15:
        sounds.append(speaker.play(voice.render(TEN_SECONDS), at=end - 10 * rate,
                                   label="say:ten"))
    if voice is not None:
        sounds.append(speaker.play(voice.render(TIME), at=end, label="say:time"))
    step = max(1, speaker.samples(poll))
    guard = 2 * speaker.block_frames
    while True:
        now = speaker.now()
        if now >= end:
            tail = max(s.end or now for s in sounds) if sounds else now
            speaker.wait_until(tail)
            return HoldResult(seconds, COMPLETED)
        answer = interrupt()
        if answer is not None:
            limit = speaker.now() + guard
            for sound in sounds:
                if sound.start is not None and sound.start >= limit:
                    speaker.cancel(sound)
            return HoldResult(max(0, (now - start) // rate), str(answer))
        speaker.wait_until(min(end, now + step))
