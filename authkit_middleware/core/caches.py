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
    """Verified sessions keyed by the exact cookie value, plus a memo by Cookie header.

    Only successful verifications are stored, each until its access token's expiry
    minus the refresh buffer, so the cache can never serve a session past expiry and
    a refresh still happens on time. At most ``maxsize`` entries (each about the size
    of the cookie plus its ``Auth``: a few KiB), whatever the number of cookies seen.

    The header memo maps a whole ``Cookie`` header (bytes from ASGI, str from WSGI)
    to the entry its session cookie found, so a browser repeating the same header
    costs one dict lookup: no decoding, no cookie parsing, no copy of the value. It
    holds the *same* ``(auth, until)`` entry, so it expires with it; it is bounded
    by ``maxsize`` too, and emptied whenever an entry is removed or replaced (a
    sign-out), so it never answers for a session the value cache no longer holds.
    """

    __slots__ = ("_headers",)

    def __init__(self, maxsize: int) -> None:
        super().__init__(maxsize)
        self._headers: dict[str | bytes, tuple[Any, float]] = {}

    def put(self, key: str, value: Any, until: float) -> None:
        if self._maxsize <= 0:
            return  # size 0: the cache is off
        with self._lock:
            data = self._data
            if key in data:
                self._headers.clear()  # the header memo may hold the replaced entry
            elif len(data) >= self._maxsize:
                with contextlib.suppress(StopIteration, KeyError, RuntimeError):
                    del data[next(iter(data))]  # FIFO, as ``TimedMap.put``
            data[key] = (value, until)

    def entry(self, key: str, now: float) -> tuple[Any, float] | None:
        """The ``(auth, until)`` stored for ``key`` while it is valid, else None."""
        entry = self._data.get(key)
        if entry is None:
            return None
        if now < entry[1]:
            return entry
        self._data.pop(key, None)
        return None

    @property
    def header_memo(self) -> dict[str | bytes, tuple[Any, float]]:
        """The memo itself (header -> ``(auth, until)``), for a hot path that reads
        it inline as :meth:`by_header` does; never written to from outside."""
        return self._headers

    def by_header(self, header: str | bytes, now: float) -> Any:
        """The ``Auth`` remembered for this exact Cookie header, while valid."""
        entry = self._headers.get(header)
        if entry is None:
            return None
        if now < entry[1]:
            return entry[0]
        self._headers.pop(header, None)
        return None

    def remember_header(self, header: str | bytes, key: str, entry: tuple[Any, float]) -> None:
        """Map ``header`` to ``entry``, the one :meth:`entry` just returned for ``key``
        (nothing if it was removed meanwhile: a sign-out in another thread)."""
        with self._lock:
            headers = self._headers
            if self._data.get(key) is not entry:
                return
            if header not in headers and len(headers) >= self._maxsize:
                with contextlib.suppress(StopIteration, KeyError, RuntimeError):
                    del headers[next(iter(headers))]
            headers[header] = entry

    def pop(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)
            self._headers.clear()

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._headers.clear()

    def header_count(self) -> int:
        return len(self._headers)


def refresh_key(token: str, organization_id: str | None = None) -> str:
    """Key for maps that must not hold refresh tokens in clear."""
    material = f"{token}\x00{organization_id or ''}".encode()
    return hashlib.sha256(material).hexdigest()
