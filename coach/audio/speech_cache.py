"""The disk cache of rendered speech: 16-bit ``.npy`` files, size-capped, kept across runs."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)


class DiskCache:
    """Rendered lines as 16-bit ``.npy`` files, kept across runs. Reading a line touches
    its file; past ``max_bytes`` the least recently used files are removed."""

    def __init__(self, folder: Path, max_bytes: int) -> None:
        self.folder = Path(folder)
        self.max_bytes = max_bytes
        self._size: int | None = None
        self._lock = threading.Lock()

    def path(self, key: str) -> Path:
        return self.folder / f"{key}.npy"

    def has(self, key: str) -> bool:
        return self.path(key).exists()

    def get(self, key: str) -> np.ndarray | None:
        path = self.path(key)
        try:
            data = np.load(path)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, EOFError):
            log.debug("speech cache entry %s unreadable; rendering again", path)
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # most recently used
        return from_int16(data) if data.dtype == np.int16 else data.astype(np.float32)

    def put(self, key: str, samples: np.ndarray) -> None:
        """Write an entry atomically; a full disk only costs a re-render later."""
        path = self.path(key)
        temp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp.npy")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            np.save(temp, to_int16(samples))
            os.replace(temp, path)
        except OSError as error:
            log.debug("could not cache speech in %s: %s", path, error)
            with contextlib.suppress(OSError):
                temp.unlink()  # a full disk: do not leave half an entry taking space
            return
        with self._lock:
            if self._size is None:
                self._size = self.size()
            else:
                self._size += path.stat().st_size
            if self._size > self.max_bytes:
                self._size = self.evict()

    def size(self) -> int:
        return sum(entry.stat().st_size for entry in self._entries())

    def _entries(self) -> list[Path]:
        try:
            return [p for p in self.folder.glob("*.npy") if ".tmp" not in p.name]
        except OSError:
            return []

    def evict(self) -> int:
        """Remove the least recently used entries until 90% of the cap; returns the size."""
        stats = []
        for entry in self._entries():
            with contextlib.suppress(OSError):
                info = entry.stat()
                stats.append((info.st_mtime, info.st_size, entry))
        stats.sort()
        total = sum(size for _, size, _ in stats)
        goal = int(self.max_bytes * 0.9)
        for _, size, entry in stats:
            if total <= goal:
                break
            with contextlib.suppress(OSError):
                entry.unlink()
                total -= size
        log.debug("speech cache trimmed to %.1f MB", total / 1e6)
        return total


def to_int16(samples: np.ndarray) -> np.ndarray:
    """Float samples as the cache keeps them (16 bits)."""
    return (np.clip(samples, -1.0, 1.0) * 32767.0).round().astype(np.int16)


def from_int16(samples: np.ndarray) -> np.ndarray:
    return (samples.astype(np.float32) / 32767.0).astype(np.float32)
