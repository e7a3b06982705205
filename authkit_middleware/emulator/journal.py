"""The log of requests the emulator served, and counters over it.

Tests assert on what the app under test did ("exactly one refresh for 50
concurrent requests"), so each served request is recorded with its grant type.
The log is bounded; control-API calls are not recorded so they never skew counts.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

from authkit_middleware.emulator.faults import grant_matches

#: Entries kept; older ones are dropped (a long CLI session must not grow forever).
MAX_ENTRIES = 10_000


@dataclass(frozen=True)
class RequestRecord:
    """One served request."""

    method: str
    path: str
    status: int
    time: float
    duration: float
    request_id: str
    grant_type: str | None = None
    injected: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Journal:
    """Thread-safe bounded request log."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: deque[RequestRecord] = deque(maxlen=MAX_ENTRIES)

    def record(self, entry: RequestRecord) -> None:
        with self._lock:
            self._entries.append(entry)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def calls(
        self,
        *,
        path: str | None = None,
        grant_type: str | None = None,
        method: str | None = None,
        status: int | None = None,
    ) -> list[RequestRecord]:
        """Entries matching every given filter, oldest first.

        ``grant_type`` accepts short names (``"refresh_token"``,
        ``"organization-selection"``).
        """
        with self._lock:
            entries = list(self._entries)
        return [
            e
            for e in entries
            if (path is None or e.path == path)
            and (grant_type is None or grant_matches(grant_type, e.grant_type))
            and (method is None or e.method == method.upper())
            and (status is None or e.status == status)
        ]
