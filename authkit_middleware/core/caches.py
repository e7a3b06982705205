"""The engine's bounded in-memory maps: verified sessions and the small timed maps.

Each map holds at most ``maxsize`` entries (FIFO eviction) and every entry carries its
own expiry, so nothing grows with the number of cookies or tokens seen and nothing is
served past its time. Refresh tokens never appear in clear as keys: ``refresh_key``
hashes them first.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from typing import Any

__all__ = ["SessionCache", "TimedMap", "refresh_key"]


class TimedMap:
    """A small bounded map with per-entry expiry (FIFO eviction). Thread-safe."""

    __slots__ = ("_data", "_lock", "_maxsize")

    def __init__(self, maxsize: int) -> None:
        self._data: dict[str, tuple[Any, float]] = {}
        self._maxsize = maxsize
        self._lock = threading.Lock()

    def get(self, key: str, now: float) -> Any:
        entry = self._data.get(key)
        if entry is None:
            return None
        value, until = entry
        if now < until:
            return value
        self._data.pop(key, None)
        return None

    def put(self, key: str, value: Any, until: float) -> None:
        with self._lock:
            data = self._data
            if key not in data and len(data) >= self._maxsize:
                # Evict the oldest insertion (dicts keep order). Expired or not, the
                # bound is what matters: memory never grows past maxsize entries.
                with contextlib.suppress(StopIteration, KeyError, RuntimeError):
                    del data[next(iter(data))]
            data[key] = (value, until)

    def pop(self, key: str) -> None:
        self._data.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)


class SessionCache(TimedMap):
    """Verified sessions keyed by the exact cookie value.

    Only successful verifications are stored, each until its access token's expiry
    minus the refresh buffer, so the cache can never serve a session past expiry and
    a refresh still happens on time. At most ``maxsize`` entries (each about the size
    of the cookie plus its ``Auth``: a few KiB), whatever the number of cookies seen.
    """


def refresh_key(token: str, organization_id: str | None = None) -> str:
    """Key for maps that must not hold refresh tokens in clear."""
    material = f"{token}\x00{organization_id or ''}".encode()
    return hashlib.sha256(material).hexdigest()
