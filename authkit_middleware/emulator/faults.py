"""Failure injection: make chosen requests fail, or answer slowly, a set number of times.

Rules match on method, path (exact or ``fnmatch`` pattern) and, for
``/user_management/authenticate``, the grant type, so a test can fail *only* the
refresh calls. Retryable statuses (429/5xx) carry ``Retry-After: 0`` by default so
the SDK's retries happen instantly instead of sleeping 1, 2, 4 seconds.
"""

from __future__ import annotations

import fnmatch
import threading
from dataclasses import dataclass, field
from typing import Any

from authkit_middleware.emulator.ids import random_id

#: A latency longer than this is refused: injected slowness must stay bounded.
MAX_LATENCY = 120.0

_RETRYABLE = frozenset({429, 500, 502, 503, 504})


@dataclass
class FailureRule:
    """One injected failure.

    ``status=None`` only delays (``latency`` seconds) and then answers normally:
    with a client timeout below the latency that is a "dropped connection".
    ``count=None`` means every matching request until the rule is cleared.
    """

    path: str
    method: str = "*"
    status: int | None = 500
    count: int | None = 1
    latency: float = 0.0
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    retry_after: str | None = "0"
    grant_type: str | None = None
    id: str = field(default_factory=lambda: random_id("fault"))
    hits: int = 0

    def __post_init__(self) -> None:
        if self.status is not None and not 100 <= self.status <= 599:
            raise ValueError("status must be an HTTP status (100-599) or None")
        if not 0 <= self.latency <= MAX_LATENCY:
            raise ValueError(f"latency must be between 0 and {MAX_LATENCY} seconds")
        if self.count is not None and self.count < 1:
            raise ValueError("count must be at least 1 (or None for unlimited)")
        self.method = self.method.upper()

    def matches(self, method: str, path: str, grant_type: str | None) -> bool:
        """Whether this rule applies to the request."""
        if self.method not in ("*", method.upper()):
            return False
        if path != self.path and not fnmatch.fnmatchcase(path, self.path):
            return False
        return self.grant_type is None or grant_matches(self.grant_type, grant_type)

    def response_body(self) -> dict[str, Any]:
        """The body to answer with: the given one, else a shape the SDK parses."""
        if self.body is not None:
            return self.body
        if self.status == 429:
            return {
                "error": "too_many_requests",
                "error_description": "Too many requests (injected by the emulator).",
            }
        return {"message": f"Injected failure {self.status} (authkit-middleware emulator)."}

    def response_headers(self) -> dict[str, str]:
        """``Retry-After`` on retryable statuses unless disabled, plus given headers."""
        headers: dict[str, str] = {}
        if self.status in _RETRYABLE and self.retry_after is not None:
            headers["Retry-After"] = self.retry_after
        headers.update(self.headers)
        return headers

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "count": self.count,
            "latency": self.latency,
            "grant_type": self.grant_type,
            "retry_after": self.retry_after,
            "hits": self.hits,
        }


def grant_matches(wanted: str, actual: str | None) -> bool:
    """``"organization-selection"`` matches the full URN grant type, etc."""
    if actual is None:
        return False
    return actual == wanted or actual.endswith(":" + wanted)


class Faults:
    """The active rules, consumed first-match in insertion order (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FailureRule] = []

    def add(self, rule: FailureRule) -> FailureRule:
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def rules(self) -> list[FailureRule]:
        with self._lock:
            return list(self._rules)

    def take(self, method: str, path: str, grant_type: str | None) -> FailureRule | None:
        """The first matching rule, consuming one of its uses."""
        with self._lock:
            for rule in self._rules:
                if rule.matches(method, path, grant_type):
                    rule.hits += 1
                    if rule.count is not None:
                        rule.count -= 1
                        if rule.count == 0:
                            self._rules.remove(rule)
                    return rule
        return None
