"""What an answer means: the words each question allows and how they parse. Pure, no audio.

The coach asks short questions; each has an *expect* value that says which answers
make sense. The same description serves three purposes:

- ``phrases(expect, plans)``: every phrase a recognizer grammar should allow (Vosk
  takes the list as is; PocketSphinx gets it as a word graph, see
  ``coach.hearing.grammar``; ``jsgf(expect, plans)`` writes the same language as JSGF);
- ``parse(text, expect, plans)``: the words heard (or typed) -> a typed ``Answer``;
- ``REGIONS`` / ``normalise_region``: one canonical name per body region.

Expect values and the answers they give (``Answer.kind`` / ``Answer.value``):

=========  ===================================================================
reps       kind "reps", int 0..100 ("twelve", "I did 12", "twenty one reps")
felt       kind "felt", bool ("yes, felt it", "yeah" -> True; "not really" -> False)
where      kind "where", canonical region ("my lower back" -> "lower back");
           "nowhere" / "didn't feel it" -> kind "felt", False
sore       kind "where", region; "no" / "nothing" / "nowhere" -> kind "where", None
feeling    kind "feeling", "calm" | "okay" | "tense" (body-scan check-in)
start      kind "start", a dict: {"action": "workout", "plan": None | plan name},
           {"action": "scan", "minutes": int | None}, {"action": "plan"}
command    only the commands below
any        all of the above that do not clash (reps, felt, where, feeling, start)
=========  ===================================================================

Commands are accepted at *every* question and give kind "command" with the command
word as value: pause, resume, repeat, skip, "skip exercise", stop, slower, faster,
next, done. Anything else is kind "unknown" with value None: a misheard answer
logged as truth does more harm than asking again, so the parser is strict (every
word must belong to the answer) rather than keyword-spotting.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from coach.core import regions

EXPECTS = ("reps", "felt", "where", "sore", "feeling", "start", "command", "any")
KINDS = ("reps", "felt", "where", "command", "feeling", "start", "unknown")
COMMANDS = ("pause", "resume", "repeat", "skip", "skip exercise", "stop", "slower", "faster",
            "next", "done")
FEELINGS = ("calm", "okay", "tense")
MAX_REPS = 100


@dataclass(frozen=True)
class Answer:
    """One answer, typed."""

    kind: str
    """"reps" | "felt" | "where" | "command" | "feeling" | "start" | "unknown"."""
    value: int | bool | str | dict | None
    """int reps, bool felt, region name (or None: "nowhere"), command word, feeling word,
    start request dict; None for unknown."""
    text: str = ""
    """The words heard (lower case), "" when nothing was heard."""
    confidence: float = 0.0
    """0..1: how sure the recognizer is that these words were said (1.0 for typed text)."""
    details: dict = field(default_factory=dict, compare=False, repr=False)
    """Engine-specific diagnostics (scores, timings); not part of the answer."""
    maybe: Answer | None = field(default=None, compare=False, repr=False)
    """For an unclear answer: the allowed answer the recognizer found, with a confidence
    too low to take without asking ("Twelve, right?"); None when it has no such guess."""

    @property
    def understood(self) -> bool:
        return self.kind != "unknown"

    def to_json(self) -> dict:
        return {"kind": self.kind, "value": self.value, "text": self.text,
                "confidence": round(float(self.confidence), 3)}


UNKNOWN = Answer("unknown", None, "", 0.0)


def unknown(text: str = "", confidence: float = 0.0, **details) -> Answer:
    return Answer("unknown", None, text, confidence, dict(details))


# -- numbers ---------------------------------------------------------------------------
UNITS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
TEENS = ("ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
         "seventeen", "eighteen", "nineteen")
TENS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_NUMBER_WORDS = {"zero": 0, **{w: i + 1 for i, w in enumerate(UNITS)},
                 **{w: i + 10 for i, w in enumerate(TEENS)},
                 **{w: (i + 2) * 10 for i, w in enumerate(TENS)}}


def number_words(n: int) -> str:
    """0..100 as the words a person says ("twenty one", "one hundred")."""
    if not 0 <= n <= MAX_REPS:
        raise ValueError(f"{n} is outside 0..{MAX_REPS}")
    if n == 100:
        return "one hundred"
    if n == 0:
        return "zero"
    if n < 10:
        return UNITS[n - 1]
    if n < 20:
        return TEENS[n - 10]
    tens, unit = divmod(n, 10)
    return TENS[tens - 2] + ("" if unit == 0 else " " + UNITS[unit - 1])


def _parse_number(tokens: Sequence[str]) -> int | None:
    """Whole token run -> 0..100, or None if it is not exactly one number."""
    if len(tokens) == 1 and tokens[0].isdigit():
        value = int(tokens[0])
        return value if value <= MAX_REPS else None
    words = list(tokens)
    if not words:
        return None
    if words in (["hundred"], ["a", "hundred"], ["one", "hundred"]):
        return 100
    if words in (["none"], ["nothing"], ["zero"], ["no", "reps"]):
        return 0
    if len(words) == 1:
        return _NUMBER_WORDS.get(words[0])
    if len(words) == 2 and words[0] in TENS and words[1] in UNITS:
        return _NUMBER_WORDS[words[0]] + _NUMBER_WORDS[words[1]]
    return None


# -- body regions ------------------------------------------------------------------------
#: Region name -> the other spoken names the recognizer listens for, from the one
#: vocabulary (``coach/data/regions.toml``, read by ``coach.core.regions``).
REGIONS: dict[str, tuple[str, ...]] = {r.name: r.heard for r in regions.body().regions}
_REGION_BY_NAME = regions.spoken_names()


def normalise_region(words: str) -> str | None:
    """A region said in any common way -> its canonical name, or None if not a region.

    >>> normalise_region("my Lower-back")
    'lower back'
    """
    return regions.normalise(words)


# -- the language: JSGF-like templates, one rule set for grammar and parser ---------------
#: Rule name -> right-hand side in JSGF syntax (word, <rule>, (a | b), [optional]).
RULES: dict[str, str] = {
    "units": " | ".join(UNITS),
    "teens": " | ".join(TEENS),
    "tens": " | ".join(TENS),
    "number": "zero | <units> | <teens> | <tens> [<units>] | (one | a) hundred",
    # "did ten", "that was ten" and the commands "wait", "again", "go on" are left out:
    # PocketSphinx made them steal the start of a number ("six" -> "did eight", "eight" ->
    # "again"); dropping them gained 2-3 points on espeak-ng answers (docs/notes/hearing.md).
    "reps": "[i did | i got | got | i managed] <number> [reps | times]",
    "yes": "yes | yeah | yep | yup | sure"
           " | [yes | yeah] (definitely | a bit | a little | i did | [i] felt it"
           " | i could feel it)",
    "no": "no | nope | nah | no i did not | no i didn't | [i felt] nothing"
          " | [no] (not really | not at all | [i] didn't feel it"
          " | [i] did not feel it | i couldn't feel it)",
    "region": "",  # filled in below from REGIONS
    "where": "[in] [my | the] <region> | [mostly] [in] [my | the] <region>",
    "nowhere": "nowhere | nothing | no | nope | [i] didn't feel it | not really | none",
    "sore": "[my] <region> [is sore | are sore | hurts | hurt] | <nowhere>",
    "feeling": "calm | relaxed | okay | ok | fine | alright | tense | stressed | tight"
               " | [i feel | i'm | i am] (calm | relaxed | okay | fine | tense | stressed)",
    "minutes": "<number> (minutes | minute)",
    "start": "<start_workout> | <start_plan> | <start_scan> | <ask_plan>",
    "start_workout": "(start | begin) [my | the] workout",
    "start_plan": "(start | begin) <plan>",
    "start_scan": "[start | begin | do] [a] body scan [for] [<minutes>]"
                  " | [start | begin | do] [a] <number> minute body scan",
    "ask_plan": "what's my plan | what is my plan | what's the plan"
                " | (what's | what is) today's plan",
    "command": "pause | hold on | resume | continue | carry on | repeat"
               " | say again | say that again | skip | skip exercise"
               " | skip this exercise | stop | quit | slower | slow down | faster | speed up"
               " | next | done | i'm done | finished",
}
RULES["region"] = " | ".join(sorted(_REGION_BY_NAME, key=lambda s: (-len(s), s)))

#: Which top-level rules each expect allows (commands are added to every one).
ALLOWED: dict[str, tuple[str, ...]] = {
    "reps": ("reps",),
    "felt": ("yes", "no"),
    "where": ("where", "nowhere"),
    "sore": ("sore",),
    "feeling": ("feeling",),
    "start": ("start",),
    "command": (),
    "any": ("reps", "yes", "no", "where", "feeling", "start"),
}

_COMMAND_VALUE = {
    "hold on": "pause", "continue": "resume",
    "carry on": "resume", "say again": "repeat", "say that again": "repeat",
    "skip this exercise": "skip exercise", "quit": "stop", "slow down": "slower",
    "speed up": "faster", "i'm done": "done", "finished": "done",
}
_FEELING_VALUE = {"relaxed": "calm", "ok": "okay", "fine": "okay", "alright": "okay",
                  "stressed": "tense", "tight": "tense"}


def check_expect(expect: str) -> str:
    if expect not in EXPECTS:
        raise ValueError(f"unknown expect {expect!r}; one of {', '.join(EXPECTS)}")
    return expect


# -- text normalisation ----------------------------------------------------------------
_CONTRACTIONS = {"didnt": "didn't", "couldnt": "couldn't", "im": "i'm", "whats": "what's",
                 "todays": "today's", "okay.": "okay"}
_NOISE_WORDS = {"um", "uh", "erm", "er", "hmm", "mm", "like", "please", "coach", "[unk]",
                "<unk>", "so", "well", "oh", "just", "ah"}


def tokenize(text: str) -> list[str]:
    """Lower-case words; hyphens split ("twenty-one"), apostrophes kept ("didn't")."""
    text = text.lower().replace("’", "'").replace("-", " ")
    tokens = re.findall(r"[a-z0-9']+|\[unk\]|<unk>", text)
    out = []
    for token in tokens:
        token = token.strip("'")
        if not token:
            continue
        out.append(_CONTRACTIONS.get(token, token))
    return out


def plan_words(name: str) -> str:
    """A plan name as spoken words ("Push day 2" -> "push day two")."""
    words = []
    for token in tokenize(name):
        if token.isdigit() and int(token) <= MAX_REPS:
            words.append(number_words(int(token)))
        else:
            words.append(token)
    return " ".join(words)


# -- template expansion ----------------------------------------------------------------
def _lex(template: str) -> list[str]:
    return re.findall(r"<[a-z_]+>|[()\[\]|]|[^\s()\[\]|<>]+", template)


def _expand(template: str, rules: dict[str, str]) -> list[tuple[str, ...]]:
    """All word sequences a template allows (small languages only)."""
    tokens = _lex(template)
    position = 0

    def alternatives() -> list[tuple[str, ...]]:
        nonlocal position
        options = sequence()
        while position < len(tokens) and tokens[position] == "|":
            position += 1
            options += sequence()
        return options

    def sequence() -> list[tuple[str, ...]]:
        nonlocal position
        results: list[tuple[str, ...]] = [()]
        while position < len(tokens) and tokens[position] not in ("|", ")", "]"):
            token = tokens[position]
            position += 1
            if token in ("(", "["):
                inner = alternatives()
                position += 1  # the closing bracket
                if token == "[":
                    inner = [(), *inner]
            elif token.startswith("<"):
                inner = _expand(rules[token[1:-1]], rules)
            else:
                inner = [(token,)]
            results = [a + b for a in results for b in inner]
        return results

    return alternatives()


def _rules_for(plans: Sequence[str]) -> dict[str, str]:
    rules = dict(RULES)
    names = sorted({plan_words(p) for p in plans if plan_words(p)})
    rules["plan"] = " | ".join(f"( {n} )" for n in names)
    if not names:  # no plans: "start <plan>" disappears
        rules["start"] = rules["start"].replace("<start_plan> | ", "")
    return rules


@lru_cache(maxsize=64)
def _language(expect: str, plans: tuple[str, ...]) -> dict[tuple[str, ...], tuple[str, str]]:
    """Word sequence -> (top rule, phrase) for everything ``expect`` allows."""
    rules = _rules_for(plans)
    language: dict[tuple[str, ...], tuple[str, str]] = {}
    for rule in ("command", *ALLOWED[check_expect(expect)]):
        for words in _expand(rules[rule], rules):
            if words:
                language.setdefault(words, (rule, " ".join(words)))
    return language


def phrases(expect: str, plans: Sequence[str] = ()) -> list[str]:
    """Every phrase the grammar for this question allows, commands included."""
    return sorted(phrase for _, phrase in _language(expect, tuple(plans)).values())


def vocabulary(expect: str, plans: Sequence[str] = ()) -> list[str]:
    """Every word that can occur in an answer to this question."""
    return sorted({w for words in _language(expect, tuple(plans)) for w in words})


def jsgf(expect: str, plans: Sequence[str] = (), name: str = "answer") -> str:
    """The same language as ``phrases`` as a JSGF grammar with public rule ``<answer>``."""
    rules = _rules_for(plans)
    top = ("command", *ALLOWED[check_expect(expect)])
    needed: list[str] = []

    def visit(rule: str) -> None:
        if rule in needed:
            return
        needed.append(rule)
        for ref in re.findall(r"<([a-z_]+)>", rules[rule]):
            visit(ref)

    for rule in top:
        visit(rule)
    lines = ["#JSGF V1.0;", f"grammar {name};",
             f"public <answer> = {' | '.join(f'<{r}>' for r in top)};"]
    lines += [f"<{rule}> = {rules[rule]};" for rule in needed]
    return "\n".join(lines) + "\n"


# -- parsing ---------------------------------------------------------------------------
def _value(rule: str, words: tuple[str, ...], expect: str, plans: Sequence[str]) -> Answer | None:
    text = " ".join(words)
    if rule == "command":
        return Answer("command", _COMMAND_VALUE.get(text, text), text, 1.0)
    if rule == "reps":
        for start in range(len(words)):
            for end in range(len(words), start, -1):
                number = _parse_number(words[start:end])
                if number is not None and _expand_check(words, start, end):
                    return Answer("reps", number, text, 1.0)
        return None
    if rule == "yes":
        return Answer("felt", True, text, 1.0)
    if rule == "no":
        return Answer("felt", False, text, 1.0)
    if rule in ("where", "sore"):
        region = _find_region(words)
        if region is not None:
            return Answer("where", region, text, 1.0)
        return Answer("where", None, text, 1.0) if rule == "sore" else None
    if rule == "nowhere":
        return Answer("where", None, text, 1.0) if expect == "sore" else \
            Answer("felt", False, text, 1.0)
    if rule == "feeling":
        word = next(w for w in reversed(words) if w in (*FEELINGS, *_FEELING_VALUE))
        return Answer("feeling", _FEELING_VALUE.get(word, word), text, 1.0)
    if rule == "start":
        return _start_value(words, text, plans)
    return None


def _expand_check(words: tuple[str, ...], start: int, end: int) -> bool:
    """The number is the only numeric part of a reps phrase (no "a" left over from "a hundred")."""
    return not any(w in _NUMBER_WORDS or w == "hundred" for w in words[:start] + words[end:])


def _find_region(words: tuple[str, ...]) -> str | None:
    for length in range(len(words), 0, -1):
        for start in range(len(words) - length + 1):
            region = _REGION_BY_NAME.get(" ".join(words[start:start + length]))
            if region is not None:
                return region
    return None


def _start_value(words: tuple[str, ...], text: str, plans: Sequence[str]) -> Answer:
    if "plan" in words and words[0] in ("what's", "what"):
        return Answer("start", {"action": "plan"}, text, 1.0)
    if "scan" in words:
        minutes = None
        for start in range(len(words)):
            for end in range(len(words), start, -1):
                number = _parse_number(words[start:end])
                if number is not None and words[end - 1] not in ("a",):
                    minutes = number
                    break
            if minutes is not None:
                break
        return Answer("start", {"action": "scan", "minutes": minutes}, text, 1.0)
    spoken = " ".join(w for w in words if w not in ("start", "begin"))
    for plan in plans:
        if plan_words(plan) == spoken:
            return Answer("start", {"action": "workout", "plan": plan}, text, 1.0)
    return Answer("start", {"action": "workout", "plan": None}, text, 1.0)


def _typed_forms(tokens: list[str]) -> tuple[str, ...]:
    """Digits typed or transcribed ("12", "21") -> number words the grammar knows."""
    out: list[str] = []
    for token in tokens:
        if token.isdigit() and int(token) <= MAX_REPS:
            out.extend(number_words(int(token)).split())
        else:
            out.append(token)
    return tuple(out)


def parse(text: str, expect: str, plans: Sequence[str] = ()) -> Answer:
    """The words of one answer -> a typed ``Answer`` (confidence 1.0, or "unknown" 0.0).

    Every word must belong to a phrase the question allows (after dropping hesitations
    such as "um" and a leading "so"/"well"); otherwise the answer is "unknown".
    """
    check_expect(expect)
    tokens = [t for t in tokenize(text) if t not in _NOISE_WORDS]
    words = _typed_forms(tokens)
    if not words:
        return unknown(" ".join(tokens))
    language = _language(expect, tuple(plans))
    found = language.get(words)
    if found is None and words[-1] == "okay" and len(words) > 1:  # "ten okay"
        found = language.get(words[:-1])
        words = words[:-1] if found else words
    if found is None:
        return unknown(" ".join(tokenize(text)))
    rule, _ = found
    answer = _value(rule, words, expect, plans)
    if answer is None:
        return unknown(" ".join(words))
    return answer


def is_complete(text: str, expect: str, plans: Sequence[str] = ()) -> bool:
    """True when ``text`` is a whole answer that no allowed phrase extends.

    "twelve reps" is complete; "twenty" is not ("twenty one"), nor is "twelve"
    ("twelve reps"): a recognizer may stop listening after a short pause only when
    this is True.
    """
    words = _typed_forms([t for t in tokenize(text) if t not in _NOISE_WORDS])
    language = _language(check_expect(expect), tuple(plans))
    if words not in language:
        return False
    return _prefixes(expect, tuple(plans)).get(words, 0) <= 1


def is_settled(text: str, expect: str, plans: Sequence[str] = ()) -> bool:
    """True when ``text`` is a whole answer and every allowed phrase that extends it means
    the same thing: "twelve" (only "twelve reps" extends it) and "yes" ("yes, felt it")
    are settled, "twenty" ("twenty one") is not. A listener may stop after a short pause
    on a settled answer: saying the rest would not change what is logged."""
    words = _typed_forms([t for t in tokenize(text) if t not in _NOISE_WORDS])
    return _settled(words, check_expect(expect), tuple(plans))


@lru_cache(maxsize=512)
def _settled(words: tuple[str, ...], expect: str, plans: tuple[str, ...]) -> bool:
    language = _language(expect, plans)
    if words not in language:
        return False
    if _prefixes(expect, plans).get(words, 0) <= 1:
        return True
    meaning = parse(" ".join(words), expect, plans)
    if not meaning.understood:
        return False
    size = len(words)
    for longer in language:
        if len(longer) > size and longer[:size] == words:
            other = parse(" ".join(longer), expect, plans)
            if (other.kind, other.value) != (meaning.kind, meaning.value):
                return False
    return True


@lru_cache(maxsize=64)
def _prefixes(expect: str, plans: tuple[str, ...]) -> dict[tuple[str, ...], int]:
    """Word prefix -> how many phrases start with it (itself included)."""
    counts: dict[tuple[str, ...], int] = {}
    for words in _language(expect, plans):
        for end in range(1, len(words) + 1):
            counts[words[:end]] = counts.get(words[:end], 0) + 1
    return counts
