"""Closed-set decoding: a question's phrases as token sequences in a prefix tree, and a
beam search over that tree with a step-by-step decoder.

Whisper writes what it hears as text: "14", "Fourteen.", "Yes, felt it." The phrases of
``coach.core.answers.phrases`` are lower-case words ("fourteen", "yes felt it"), so
each phrase gets a few *spellings* (``spellings``): numbers as digits, words or
hyphenated ("twenty-one"), the first word capitalised or not, "i" as "I", a comma
after a leading "yes"/"no". Any spelling may end with ".", "?" or "!" before the end
of text. All spellings of all phrases go into one token tree (``PhraseTree``), so a
decoder step at a shared prefix (" I", " I did") serves every phrase below it.

``search`` walks the tree a step at a time: the live hypotheses (at most ``beam``)
are decoded as one batch, each is extended by the tokens its node allows, and a
phrase is finished by scoring the end-of-text token at its last node. A loop such as
"12 12 12" cannot happen: no path in the tree repeats a number, and every path must
end with end-of-text to count. The same batch carries one free (unconstrained)
greedy hypothesis: the reference score for the log-likelihood ratio.

Pure: numpy only; the decoder is passed in (``coach.hearing.whisper_decoder``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from coach.core.answers import MAX_REPS, TENS, number_words

ENDINGS = (".", "?", "!")
_COMMA_AFTER = ("yes", "yeah", "yep", "no", "nope", "nah", "okay")
_CAPITAL = {"i": "I", "i'm": "I'm", "ok": "OK"}


#: "twenty one" -> 21, for every number an answer can hold (and "a hundred")
_VALUES = {number_words(n): n for n in range(MAX_REPS + 1)} | {"a hundred": 100}


def _numbers(words: Sequence[str]) -> list[tuple[int, int, int]]:
    """(start, end, value) of every spoken number in ``words``, left to right."""
    found = []
    index = 0
    while index < len(words):
        for size in (2, 1):
            value = _VALUES.get(" ".join(words[index:index + size]))
            if value is not None and index + size <= len(words):
                found.append((index, index + size, value))
                index += size
                break
        else:
            index += 1
    return found


def spellings(phrase: str) -> list[str]:
    """The ways Whisper may write ``phrase``, each with a leading space, no end mark.

    >>> spellings("i did twenty one")[:3]
    [' I did twenty one', ' I did twenty-one', ' I did 21']
    """
    words = phrase.split()
    if not words:
        return []
    numbers = _numbers(words)
    choices: list[list[str]] = []
    for start, end, value in numbers:
        spoken = words[start:end]
        options = [" ".join(spoken)]
        if len(spoken) == 2 and spoken[0] in TENS:
            options.append("-".join(spoken))
        options.append(str(value))
        choices.append(options)
    out: list[str] = []
    for chosen in itertools.product(*choices):
        pieces: list[str] = []
        position = 0
        for (start, end, _), text in zip(numbers, chosen, strict=True):
            pieces += [_CAPITAL.get(w, w) for w in words[position:start]]
            pieces.append(text)
            position = end
        pieces += [_CAPITAL.get(w, w) for w in words[position:]]
        forms = [pieces]
        if len(pieces) > 1 and words[0] in _COMMA_AFTER:
            forms.append([pieces[0] + ","] + pieces[1:])
        for form in forms:
            lower = " " + " ".join(form)
            upper = " " + form[0][:1].upper() + form[0][1:] + (
                " " + " ".join(form[1:]) if len(form) > 1 else "")
            for text in (lower, upper):
                if text not in out:
                    out.append(text)
    return out


@dataclass(frozen=True)
class PhraseTree:
    """Token prefix tree of every spelling of every phrase, stored as flat arrays.

    Node 0 is the root; the children of node ``n`` are ``tokens[offsets[n]:offsets[n+1]]``
    leading to ``nodes[...]`` (``children(n)``). ``phrase[n]``: index into ``phrases`` of
    the phrase ending at ``n`` (end of text may follow), -1 elsewhere. After a phrase
    an end mark (``endings``: ".", "?", "!") may come before end of text; that state has
    no node of its own: it is written ``-1 - phrase`` (``children`` gives none)."""

    phrases: tuple[str, ...]
    offsets: np.ndarray
    tokens: np.ndarray
    nodes: np.ndarray
    phrase: np.ndarray
    endings: np.ndarray

    def children(self, node: int) -> tuple[np.ndarray, np.ndarray]:
        if node < 0:
            return self.tokens[:0], self.nodes[:0]
        start, end = self.offsets[node], self.offsets[node + 1]
        if self.phrase[node] < 0:
            return self.tokens[start:end], self.nodes[start:end]
        ended = np.full(len(self.endings), -1 - int(self.phrase[node]), self.nodes.dtype)
        return (np.concatenate([self.tokens[start:end], self.endings]),
                np.concatenate([self.nodes[start:end], ended]))

    def ends(self, node: int) -> int:
        """The phrase that may end at ``node`` (-1: none)."""
        return -1 - node if node < 0 else int(self.phrase[node])

    @property
    def vocabulary(self) -> set[int]:
        return set(self.tokens.tolist()) | set(self.endings.tolist())

    @property
    def size(self) -> int:
        return len(self.phrase)

    @classmethod
    def build(cls, phrases: Sequence[str], encode: Callable[[str], list[int]]) -> PhraseTree:
        """``encode``: text -> token ids (a leading space is part of the text)."""
        edges: dict[tuple[int, int], int] = {}  # (node, token) -> child
        phrase_at = [-1]
        pieces: dict[str, tuple[int, ...]] = {}

        def tokens_of(text: str) -> tuple[int, ...]:
            # words are encoded one at a time and cached: Whisper's byte-pair
            # pre-tokenizer splits at spaces and punctuation, so the pieces add up to
            # the encoding of the whole text
            out: list[int] = []
            for word in text.split(" ")[1:]:
                if word not in pieces:
                    pieces[word] = tuple(encode(" " + word))
                out += pieces[word]
            return tuple(out)

        for index, text in enumerate(phrases):
            for spelling in spellings(text):
                node = 0
                for token in tokens_of(spelling):
                    child = edges.get((node, token))
                    if child is None:
                        child = edges[node, token] = len(phrase_at)
                        phrase_at.append(-1)
                    node = child
                if phrase_at[node] < 0:
                    phrase_at[node] = index
        # fromiter runs the generator as Python code, so other threads (the speaker's
        # callback) get the interpreter lock while a big tree is converted
        table = np.fromiter((v for (node, token), child in edges.items()
                             for v in (node, token, child)), np.int32, 3 * len(edges))
        table = table.reshape(-1, 3)
        table = table[np.argsort(table[:, 0], kind="stable")]
        offsets = np.searchsorted(table[:, 0], np.arange(len(phrase_at) + 1)).astype(np.int32)
        tokens, nodes = table[:, 1].copy(), table[:, 2].copy()
        marks = [encode(mark) for mark in ENDINGS]
        endings = np.array([m[0] for m in marks if len(m) == 1], np.int32)
        return cls(tuple(phrases), offsets, tokens, nodes, np.array(phrase_at, np.int32),
                   endings)


@dataclass(frozen=True)
class Finished:
    phrase: int
    """Index into the tree's phrases."""
    score: float
    """Sum of the log-probabilities of its tokens and of end of text (nats)."""
    tokens: tuple[int, ...]


@dataclass(frozen=True)
class SearchResult:
    finished: list[Finished]
    """Every phrase finished during the search, best first (one entry per phrase)."""
    free_tokens: tuple[int, ...]
    free_score: float
    """The free greedy decode and its log-probability, as far as it went while the
    search ran (end of text included when it ended by then)."""
    steps: int
    hypotheses: int
    """Decoder steps taken and hypothesis-steps decoded (the work done)."""


def search(tree: PhraseTree, decoder, cache, first: np.ndarray, eot: int, *,
           beam: int = 8, width: float = 8.0, max_steps: int = 14,
           blocked: np.ndarray | None = None) -> SearchResult:
    """Beam search of ``tree`` with ``decoder.step(tokens, cache) -> logprobs``.

    ``first``: the log-probabilities (columns as ``decoder.index``) after the prompt,
    for the single row in ``cache``. ``blocked``: columns the free decode may not
    choose (special tokens other than end of text).

    At most ``beam`` hypotheses live per step, none more than ``width`` nats below the
    best of the step or below the best finished phrase: they could neither become the
    answer nor a close runner-up (the margin is capped at ``width``). The free decode
    runs only while the search does (its score is that of its prefix, an upper bound
    for any text that starts with it), so it adds no steps.
    """
    index = decoder.index
    eot_column = int(index[eot])
    best: dict[int, Finished] = {}
    # live hypotheses: (score, node, tokens, row of ``logprobs`` to read)
    live: list[tuple[float, int, tuple[int, ...], int]] = [(0.0, 0, (), 0)]
    free_tokens: list[int] = []
    free_score, free_done, free_row = 0.0, False, 0
    logprobs = first
    steps = hypotheses = 0
    for _ in range(max_steps):
        top = max((f.score for f in best.values()), default=-np.inf)
        scores, owners, nodes, tokens = [], [], [], []
        for number, (score, node, path, row) in enumerate(live):
            values = logprobs[row]
            phrase = tree.ends(node)
            if phrase >= 0:
                total = score + float(values[eot_column])
                known = best.get(phrase)
                if known is None or total > known.score:
                    best[phrase] = Finished(phrase, total, path)
                top = max(top, total)
            kids, below = tree.children(node)
            if len(kids):
                scores.append(score + values[index[kids]])
                owners.append(np.full(len(kids), number))
                nodes.append(below)
                tokens.append(kids)
        if not free_done:
            values = logprobs[free_row].copy()
            if blocked is not None:
                values[blocked] = -np.inf
            column = int(values.argmax())
            free_score += float(values[column])
            token = int(decoder.shortlist[column])
            free_done = token == eot
            if token != eot:
                free_tokens.append(token)
        chosen: list[tuple[float, int, int, int]] = []  # score, owner, node, token
        if scores:
            all_scores = np.concatenate(scores)
            keep = np.flatnonzero(all_scores > max(top, all_scores.max()) - width)
            if len(keep) > beam:
                keep = keep[np.argpartition(-all_scores[keep], beam - 1)[:beam]]
            all_owners, all_nodes = np.concatenate(owners), np.concatenate(nodes)
            all_tokens = np.concatenate(tokens)
            chosen = [(float(all_scores[k]), int(all_owners[k]), int(all_nodes[k]),
                       int(all_tokens[k])) for k in keep]
        feed_rows = [] if free_done else [free_row]
        feed_tokens = [] if free_done else [free_tokens[-1]]
        offset = len(feed_rows)
        next_live = []
        for number, (score, owner, node, token) in enumerate(chosen):
            _, _, path, row = live[owner]
            feed_rows.append(row)
            feed_tokens.append(token)
            next_live.append((score, node, path + (token,), offset + number))
        if not next_live:  # the search is over; the free decode stops with it
            break
        cache.select(np.asarray(feed_rows, np.int64))
        logprobs = decoder.step(np.asarray(feed_tokens, np.int64), cache)
        steps += 1
        hypotheses += len(feed_rows)
        live, free_row = next_live, 0
    finished = sorted(best.values(), key=lambda f: -f.score)
    return SearchResult(finished, tuple(free_tokens), free_score, steps, hypotheses)
