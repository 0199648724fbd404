"""Grammars for the recognizers, built from the answer language in ``coach.core.answers``.

No engine imports here: this module turns a list of phrases into

- a minimal word graph (``WordGraph``): a deterministic automaton with one start
  and one final state whose arcs carry words, used as a PocketSphinx FSG. (PocketSphinx
  compiles a nested JSGF grammar into a graph with many null arcs, and its search then
  often ends inside a phrase - "i did a" - so we build the graph ourselves);
- the JSON word list Vosk takes in grammar mode (``vosk_grammar``), with ``[unk]``.

It also holds pronunciations for the gym words CMUdict lacks ("glutes", "pecs").
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass

#: Words the answer language uses that PocketSphinx's CMUdict does not know (ARPAbet).
EXTRA_PRONUNCIATIONS: dict[str, str] = {
    "glute": "G L UW T",
    "glutes": "G L UW T S",
    "pec": "P EH K",
    "pecs": "P EH K S",
    "delts": "D EH L T S",
    "deltoids": "D EH L T OY D Z",
    "flexors": "F L EH K S ER Z",
    "obliques": "OW B L IY K S",
    "rhomboids": "R AA M B OY D Z",
    "tricep": "T R AY S EH P",
}


@dataclass(frozen=True)
class Arc:
    source: int
    target: int
    word: str | None
    """None: a null arc (to the final state)."""
    probability: float


@dataclass(frozen=True)
class WordGraph:
    """A deterministic word automaton: ``start`` to ``final`` along ``arcs``."""

    start: int
    final: int
    states: int
    arcs: tuple[Arc, ...]

    def accepts(self, words: Iterable[str]) -> bool:
        state = self.start
        for word in words:
            nxt = [a.target for a in self.arcs if a.source == state and a.word == word]
            if not nxt:
                return False
            state = nxt[0]
        return state == self.final or any(
            a.source == state and a.word is None and a.target == self.final for a in self.arcs)

    def transitions(self) -> list[tuple]:
        """(from, to, probability[, word]) tuples for ``Decoder.create_fsg``."""
        return [(a.source, a.target, a.probability) if a.word is None
                else (a.source, a.target, a.probability, a.word) for a in self.arcs]


def word_graph(phrases: Iterable[str], weighting: str = "state") -> WordGraph:
    """The minimal automaton accepting exactly ``phrases`` (each a space-separated word list).

    ``weighting`` sets arc probabilities: "state" shares each state's probability equally
    among its arcs; "phrase" gives every phrase the same prior (arcs weighted by how many
    phrases go through them).
    """
    # 1. a trie
    children: list[dict[str, int]] = [{}]
    ends: list[bool] = [False]
    for phrase in phrases:
        state = 0
        for word in phrase.split():
            nxt = children[state].get(word)
            if nxt is None:
                children.append({})
                ends.append(False)
                nxt = len(children) - 1
                children[state][word] = nxt
            state = nxt
        ends[state] = True
    # 2. merge states with equal futures, bottom-up (post-order)
    signature_to_class: dict[tuple, int] = {}
    klass: dict[int, int] = {}
    order: list[int] = []
    stack = [(0, False)]
    while stack:
        state, done = stack.pop()
        if done:
            order.append(state)
            continue
        stack.append((state, True))
        stack.extend((child, False) for child in children[state].values())
    for state in order:
        signature = (ends[state], tuple(sorted((w, klass[c]) for w, c in
                                               children[state].items())))
        klass[state] = signature_to_class.setdefault(signature, len(signature_to_class))
    # 3. renumber: start = 0, the accepting leaf class is the final state
    renumber: dict[int, int] = {}

    def number(k: int) -> int:
        return renumber.setdefault(k, len(renumber))

    number(klass[0])
    reps: dict[int, int] = {}
    for state in order:
        reps.setdefault(klass[state], state)
    leaf = signature_to_class.get((True, ()))
    final = number(leaf) if leaf is not None else None
    raw: list[tuple[int, int, str | None]] = []
    for k, state in sorted(reps.items(), key=lambda item: item[0]):
        for word, child in sorted(children[state].items()):
            raw.append((number(k), number(klass[child]), word))
    if final is None:
        final = len(renumber)
    for k, state in reps.items():
        if ends[state] and number(k) != final:
            raw.append((number(k), final, None))
    states = max(len(renumber), final + 1)
    # 4. probabilities
    if weighting == "phrase":
        paths = _paths_to_final(raw, final, states)
        arcs = tuple(Arc(s, t, w, paths[t] / max(1, paths[s])) for s, t, w in raw)
    else:
        outgoing = [0] * states
        for s, _, _ in raw:
            outgoing[s] += 1
        arcs = tuple(Arc(s, t, w, 1.0 / outgoing[s]) for s, t, w in raw)
    return WordGraph(start=0, final=final, states=states, arcs=arcs)


def _paths_to_final(raw: list[tuple[int, int, str | None]], final: int, states: int) -> list[int]:
    """How many complete phrases start at each state."""
    out: dict[int, list[int]] = {}
    for s, t, _ in raw:
        out.setdefault(s, []).append(t)
    memo: dict[int, int] = {final: 1}

    def count(state: int) -> int:
        if state not in memo:
            memo[state] = sum(count(t) for t in out.get(state, ())) or 1
        return memo[state]

    return [count(s) for s in range(states)]


def vosk_grammar(phrases: Iterable[str], unknown: bool = True) -> str:
    """The JSON Vosk's grammar mode takes. Non-ASCII stays as is: with escapes Vosk
    silently ignores those words."""
    items = sorted(set(phrases))
    if unknown:
        items.append("[unk]")
    return json.dumps(items, ensure_ascii=False)


def log_probability(probability: float) -> float:
    return math.log(max(probability, 1e-300))
