"""Whisper's text decoder in numpy, with a key/value cache that hypotheses share.

CTranslate2 runs Whisper's encoder (int8, fast); its ``generate`` cannot score many
prefixes of one utterance cheaply: every batch item recomputes the cross-attention
keys and values and its whole prompt (about 5 ms per item for a one-second clip,
docs/notes/hearing.md). The closed-set search needs the next-token distribution
at a few dozen prefixes of a token tree, so the decoder runs here instead:

- the cross-attention keys and values of the utterance are computed once;
- every hypothesis extends its parent's self-attention cache by one token;
- the output layer scores only a *shortlist* of the vocabulary: the most frequent
  tokens (byte-pair ids are in merge order, low ids are common words), the special
  tokens and every token the question's phrases use. The softmax is normalised
  over that shortlist: about a quarter of the work and the memory of the full
  51,864-token layer, and the mass the rare tokens carry is small for speech.
  Only shortlisted tokens are ever fed back, so only their embedding rows are kept.

Weights are read from CTranslate2's ``model.bin`` (float16, converted to float32
once). Pure numpy: no torch, no CTranslate2 import here.
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_DTYPES = (np.float32, np.int8, np.int16, np.int32, np.float16)


def read_model_bin(path: Path, prefix: str = "decoder/") -> dict[str, np.ndarray]:
    """The variables of a CTranslate2 model file whose names start with ``prefix``
    (format: ctranslate2/specs/model_spec.py, binary version 6), in their stored type
    (float16 for faster-whisper's conversions), as read-only maps of the file: only
    the parts read later take memory (the shortlist's rows of the 40 MB embedding
    table, not the table), and only while the arrays live."""
    with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        position = 0

        def number(fmt: str) -> int:
            nonlocal position
            (value,) = struct.unpack_from(fmt, data, position)
            position += struct.calcsize(fmt)
            return value

        def text() -> str:
            nonlocal position
            size = number("H")
            value = bytes(data[position:position + size - 1]).decode()
            position += size
            return value

        version = number("I")
        if version < 5:
            raise ValueError(f"{path}: CTranslate2 model version {version} is too old")
        text()  # spec name
        number("I")  # spec revision
        out: dict[str, np.ndarray] = {}
        for _ in range(number("I")):
            name = text()
            shape = [number("I") for _ in range(number("B"))]
            dtype = _DTYPES[number("B")]
            size = number("I")
            if name.startswith(prefix):
                out[name[len(prefix):]] = np.memmap(path, dtype, "r", position, tuple(shape))
            position += size
        for _ in range(number("I")):  # aliases, e.g. projection -> embeddings
            alias, target = text(), text()
            if alias.startswith(prefix) and target.startswith(prefix):
                out[alias[len(prefix):]] = out[target[len(prefix):]]
        return out


def _layer_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    centred = x - mean
    variance = (centred * centred).mean(-1, keepdims=True)
    return centred / np.sqrt(variance + 1e-5) * gamma + beta


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + np.tanh(0.7978845608 * (x + 0.044715 * x * x * x)))


def _softmax_rows(x: np.ndarray) -> np.ndarray:
    x = x - x.max(-1, keepdims=True)
    np.exp(x, out=x)
    x /= x.sum(-1, keepdims=True)
    return x


@dataclass
class Layer:
    norm1: tuple[np.ndarray, np.ndarray]
    qkv: tuple[np.ndarray, np.ndarray]
    out1: tuple[np.ndarray, np.ndarray]
    norm2: tuple[np.ndarray, np.ndarray]
    query: tuple[np.ndarray, np.ndarray]
    key_value: tuple[np.ndarray, np.ndarray]
    out2: tuple[np.ndarray, np.ndarray]
    norm3: tuple[np.ndarray, np.ndarray]
    ffn1: tuple[np.ndarray, np.ndarray]
    ffn2: tuple[np.ndarray, np.ndarray]


def _layer(weights: dict[str, np.ndarray], base: str) -> Layer:
    def linear(name: str) -> tuple[np.ndarray, np.ndarray]:
        return (np.ascontiguousarray(weights[f"{base}{name}/weight"].T, np.float32),
                weights[f"{base}{name}/bias"].astype(np.float32))

    def norm(name: str) -> tuple[np.ndarray, np.ndarray]:
        return (weights[f"{base}{name}/gamma"].astype(np.float32),
                weights[f"{base}{name}/beta"].astype(np.float32))

    return Layer(
        norm1=norm("self_attention/layer_norm"), qkv=linear("self_attention/linear_0"),
        out1=linear("self_attention/linear_1"), norm2=norm("attention/layer_norm"),
        query=linear("attention/linear_0"), key_value=linear("attention/linear_1"),
        out2=linear("attention/linear_2"), norm3=norm("ffn/layer_norm"),
        ffn1=linear("ffn/linear_0"), ffn2=linear("ffn/linear_1"))


class Cache:
    """Self-attention keys and values of a batch of hypotheses of one length, and
    the cross-attention keys and values of the utterance (shared by all)."""

    def __init__(self, cross: list[tuple[np.ndarray, np.ndarray]], dim: int, layers: int) -> None:
        self.cross = cross
        self.keys = [np.zeros((1, 0, dim), np.float32) for _ in range(layers)]
        self.values = [np.zeros((1, 0, dim), np.float32) for _ in range(layers)]
        self.length = 0

    def select(self, rows: np.ndarray) -> None:
        """Keep (and repeat) the hypotheses ``rows`` in this order."""
        self.keys = [k[rows] for k in self.keys]
        self.values = [v[rows] for v in self.values]


class WhisperDecoder:
    """``start(encoded)`` -> Cache; ``step(tokens, cache)`` -> log-probabilities over the
    shortlist (``shortlist`` token ids, ``index`` maps a token id to its column)."""

    def __init__(self, weights: dict[str, np.ndarray], shortlist: np.ndarray) -> None:
        self.heads = int(weights["num_heads"])
        self.positions = weights["position_encodings/encodings"].astype(np.float32)
        self.dim = self.positions.shape[1]
        self.head_dim = self.dim // self.heads
        self.final_norm = (weights["layer_norm/gamma"].astype(np.float32),
                           weights["layer_norm/beta"].astype(np.float32))
        self.layers: list[Layer] = []
        while f"layer_{len(self.layers)}/ffn/linear_0/weight" in weights:
            self.layers.append(_layer(weights, f"layer_{len(self.layers)}/"))
        self.set_shortlist(shortlist, weights["embeddings/weight"])

    def set_shortlist(self, shortlist: np.ndarray, embedding: np.ndarray) -> None:
        """Score (and feed) only these token ids; ``embedding``: the whole table
        (vocabulary, dim). Input and output embeddings are the same in Whisper, so
        only the shortlist's rows are kept, as float32 (dim, len(shortlist))."""
        self.shortlist = np.unique(np.asarray(shortlist, dtype=np.int64))
        self.output = np.ascontiguousarray(embedding[self.shortlist].T, np.float32)
        self.index = np.full(len(embedding), -1, np.int64)
        self.index[self.shortlist] = np.arange(len(self.shortlist))

    def start(self, encoded: np.ndarray) -> Cache:
        """``encoded``: the encoder output of one utterance, (frames, dim)."""
        cross = []
        for layer in self.layers:
            weight, bias = layer.key_value
            kv = encoded @ weight + bias
            keys = kv[:, :self.dim].reshape(-1, self.heads, self.head_dim).transpose(1, 2, 0)
            values = kv[:, self.dim:].reshape(-1, self.heads, self.head_dim).transpose(1, 0, 2)
            cross.append((np.ascontiguousarray(keys), np.ascontiguousarray(values)))
        return Cache(cross, self.dim, len(self.layers))

    def _attend(self, query: np.ndarray, keys: np.ndarray, values: np.ndarray) -> np.ndarray:
        """query (B, H, 1, d), keys (B, H, d, T) or (H, d, T), values (.., T, d)."""
        scores = (query @ keys) * (self.head_dim ** -0.5)
        return _softmax_rows(scores) @ values

    def step(self, tokens: np.ndarray, cache: Cache) -> np.ndarray:
        """One token per hypothesis -> log-probabilities (B, len(shortlist)) of the next."""
        batch = len(tokens)
        heads, head_dim = self.heads, self.head_dim
        x = self.output[:, self.index[tokens]].T + self.positions[cache.length]
        for number, layer in enumerate(self.layers):
            h = _layer_norm(x, *layer.norm1)
            qkv = h @ layer.qkv[0] + layer.qkv[1]
            query, key, value = np.split(qkv, 3, axis=1)
            keys = np.concatenate([cache.keys[number], key[:, None]], axis=1)
            values = np.concatenate([cache.values[number], value[:, None]], axis=1)
            cache.keys[number], cache.values[number] = keys, values
            q = query.reshape(batch, heads, 1, head_dim)
            k = keys.reshape(batch, -1, heads, head_dim).transpose(0, 2, 3, 1)
            v = values.reshape(batch, -1, heads, head_dim).transpose(0, 2, 1, 3)
            attended = self._attend(q, k, v).reshape(batch, self.dim)
            x = x + attended @ layer.out1[0] + layer.out1[1]
            h = _layer_norm(x, *layer.norm2)
            q = (h @ layer.query[0] + layer.query[1]).reshape(batch, heads, 1, head_dim)
            cross_keys, cross_values = cache.cross[number]
            attended = self._attend(q, cross_keys, cross_values).reshape(batch, self.dim)
            x = x + attended @ layer.out2[0] + layer.out2[1]
            h = _layer_norm(x, *layer.norm3)
            x = x + _gelu(h @ layer.ffn1[0] + layer.ffn1[1]) @ layer.ffn2[0] + layer.ffn2[1]
        cache.length += 1
        logits = _layer_norm(x, *self.final_norm) @ self.output
        top = logits.max(-1, keepdims=True)
        return logits - top - np.log(np.exp(logits - top).sum(-1, keepdims=True))
