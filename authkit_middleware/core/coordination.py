"""Refresh coordination across processes and hosts: the pure part (checklist E8).

In-process single-flight (the drivers' ``_Flights``) makes one WorkOS call per refresh
token *per process*. With several workers or hosts each process would still refresh
once, and all but the first get ``invalid_grant`` (WorkOS refresh tokens are single
use). A *refresh coordinator* closes that gap with a shared store: before calling
WorkOS, take a short lock named after a hash of the refresh token; the winner
refreshes and publishes the result, sealed, under a second hashed name; the others
wait for it and use it.

This module holds what does not depend on the store: the protocols the drivers call,
the key derivation (hashes only: a store never sees a token), the sealed result
format (with the ``"coordinator"`` seal purpose, so nothing in the store is in clear
and nothing there opens as a cookie), lock tokens and the timing defaults. The Redis
implementation lives in :mod:`authkit_middleware.coordination.redis`.

Guarantees a coordinator must give (the drivers rely on them):

- ``refresh(key, sealer, do_refresh)`` returns what one ``do_refresh()`` somewhere
  returned for this key, or raises the ``ProviderError`` it raised.
- It never turns a store failure into a request failure: when the store is down or
  slow it calls ``do_refresh()`` itself (in-process behaviour) and logs, rate-limited.
- Waiting is bounded: a waiter gives up with a *transient* ``ProviderError``
  (keeps the cookie), never with a sign-out.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from authkit_middleware.core.errors import ProviderError, SealError
from authkit_middleware.core.seal import Sealer
from authkit_middleware.core.session import TokenResponse

__all__ = [
    "DEFAULT_LOCK_TIMEOUT",
    "DEFAULT_RESULT_TTL",
    "DEFAULT_WAIT_TIMEOUT",
    "AsyncRefreshCoordinator",
    "CoordinatorKeys",
    "FailureLog",
    "RefreshCoordinator",
    "StoredOutcome",
    "new_lock_token",
    "open_outcome",
    "poll_delays",
    "seal_outcome",
    "store_key_hash",
]

logger = logging.getLogger("authkit_middleware.coordination")

#: How long the refresh lock lives if its owner dies (ms precision in the store).
#: Longer than one refresh (request_timeout 5 s + one 429 retry), short enough that a
#: crashed worker delays the others by seconds, not minutes.
DEFAULT_LOCK_TIMEOUT = 12.0
#: How long a published result stays: the grace window (``REFRESH_GRACE_SECONDS``).
DEFAULT_RESULT_TTL = 30.0
#: How long a waiter waits for the winner before giving up (transiently).
DEFAULT_WAIT_TIMEOUT = 12.0
#: A transient failure is shared with the waiters of the same storm, then forgotten,
#: so the next request tries again.
TRANSIENT_ERROR_TTL = 2.0
#: At most one "coordinator unavailable" warning per this many seconds.
LOG_INTERVAL = 60.0
#: After a store failure, skip the store for this long (no connect timeout per request).
BACKOFF_SECONDS = 5.0

_RESULT_VERSION = 1
_KEY_LABEL = b"authkit-middleware/v1/refresh-coordination\x00"
_TOKEN_FIELDS = ("access_token", "refresh_token", "user")


def store_key_hash(refresh_key: str) -> str:
    """The name fragment used in the store for one refresh (hex SHA-256).

    ``refresh_key`` is already ``sha256(refresh token, org)`` (``caches.refresh_key``);
    hashing it again under a label keeps store names unrelated to any other hash of
    the token this library computes. Never contains the token: it is a digest.
    """
    return hashlib.sha256(_KEY_LABEL + refresh_key.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class CoordinatorKeys:
    """The store names for one refresh: the lock and the published result."""

    lock: str
    result: str
    digest: str

    @classmethod
    def build(cls, prefix: str, refresh_key: str) -> CoordinatorKeys:
        digest = store_key_hash(refresh_key)
        # The {hash tag} puts both keys in one Redis Cluster slot (one Lua script).
        return cls(
            lock=f"{prefix}refresh:{{{digest}}}:lock",
            result=f"{prefix}refresh:{{{digest}}}:result",
            digest=digest,
        )


def new_lock_token() -> str:
    """A random owner token for the lock: only its holder may release it."""
    return secrets.token_urlsafe(18)


def owns(stored: str | bytes | None, token: str) -> bool:
    """Whether the lock value ``stored`` is ``token`` (what the release script checks)."""
    if stored is None:
        return False
    raw = stored if isinstance(stored, bytes) else stored.encode("utf-8")
    return hmac.compare_digest(raw, token.encode("utf-8"))


# ---------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class StoredOutcome:
    """A published refresh outcome: the tokens, or the error every waiter re-raises."""

    tokens: TokenResponse | None = None
    error: ProviderError | None = None

    def unwrap(self) -> TokenResponse:
        if self.tokens is not None:
            return self.tokens
        assert self.error is not None
        raise self.error


def _token_dict(tokens: TokenResponse) -> dict[str, Any]:
    data: dict[str, Any] = {
        "access_token": tokens.access_token,
        "refresh_token": tokens.refresh_token,
        "user": dict(tokens.user),
    }
    if tokens.organization_id is not None:
        data["organization_id"] = tokens.organization_id
    if tokens.authentication_method is not None:
        data["authentication_method"] = tokens.authentication_method
    if tokens.impersonator is not None:
        data["impersonator"] = dict(tokens.impersonator)
    return data


def seal_outcome(
    sealer: Sealer,
    digest: str,
    outcome: StoredOutcome,
    *,
    ttl: float,
    now: float | None = None,
) -> str:
    """Seal an outcome for the store, bound to ``digest`` (its key) and expiring.

    The binding means a value copied to another key does not open there: a store
    writer cannot hand one user's refreshed session to requests of another.
    """
    payload: dict[str, Any] = {"v": _RESULT_VERSION, "k": digest}
    if outcome.tokens is not None:
        payload["t"] = _token_dict(outcome.tokens)
    else:
        err = outcome.error
        if err is None:
            raise ValueError("an outcome holds tokens or an error")
        payload["e"] = {
            "transient": err.transient,
            "oauth_error": err.oauth_error,
            "http_status": err.http_status,
            "code": err.code,
        }
    return sealer.seal(payload, purpose="coordinator", ttl=max(1, int(ttl + 0.999)), now=now)


def open_outcome(
    sealer: Sealer, digest: str, sealed: str | bytes, *, now: float | None = None
) -> StoredOutcome | None:
    """Open a stored outcome; None when it is not a valid one for ``digest``.

    An unreadable value (another password, tampered, expired, another key) is treated
    as absent: the caller then refreshes or waits as if nothing had been published.
    """
    text = sealed.decode("ascii", "replace") if isinstance(sealed, bytes) else sealed
    try:
        data = sealer.unseal(text, purpose="coordinator", now=now)
    except (SealError, ValueError, TypeError):
        return None
    if data.get("v") != _RESULT_VERSION or not isinstance(data.get("k"), str):
        return None
    if not hmac.compare_digest(data["k"].encode(), digest.encode()):
        return None
    tokens = data.get("t")
    if isinstance(tokens, dict):
        if not all(isinstance(tokens.get(f), str | dict) for f in _TOKEN_FIELDS):
            return None
        try:
            return StoredOutcome(tokens=TokenResponse.from_dict(tokens))
        except ValueError:
            return None
    err = data.get("e")
    if isinstance(err, dict):
        oauth = err.get("oauth_error")
        status = err.get("http_status")
        code = err.get("code")
        return StoredOutcome(
            error=ProviderError(
                "WorkOS refused the session refresh (seen by another worker)."
                if not err.get("transient")
                else "WorkOS could not refresh the session (seen by another worker).",
                transient=bool(err.get("transient")),
                oauth_error=oauth if isinstance(oauth, str) else None,
                http_status=status if isinstance(status, int) else None,
                code=code if isinstance(code, str) else None,
            )
        )
    return None


def error_ttl(error: ProviderError, result_ttl: float) -> float:
    """How long a failure is shared: terminal ones for the grace window, transient briefly."""
    return min(result_ttl, TRANSIENT_ERROR_TTL) if error.transient else result_ttl


def poll_delays(
    first: float = 0.005, factor: float = 1.5, cap: float = 0.05
) -> Callable[[], float]:
    """Waiters poll the store with a short, capped back-off (5 ms → 50 ms)."""
    state = [first]

    def next_delay() -> float:
        delay = state[0]
        state[0] = min(delay * factor, cap)
        return delay

    return next_delay


class FailureLog:
    """Rate-limited warnings and a short back-off after a store failure. Thread-safe.

    ``available(now)`` is False for ``backoff`` seconds after a failure so requests
    go straight to in-process behaviour instead of each paying a connect timeout.
    """

    def __init__(
        self,
        *,
        interval: float = LOG_INTERVAL,
        backoff: float = BACKOFF_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.interval = interval
        self.backoff = backoff
        self.clock = clock
        self._lock = threading.Lock()
        self._last_log: float | None = None
        self._down_until = 0.0
        self.failures = 0

    def available(self) -> bool:
        return self.clock() >= self._down_until

    def failed(self, what: str, exc: BaseException) -> None:
        now = self.clock()
        with self._lock:
            self.failures += 1
            self._down_until = now + self.backoff
            if self._last_log is not None and now - self._last_log < self.interval:
                return
            self._last_log = now
            count = self.failures
        logger.warning(
            "refresh coordinator unavailable (%s: %s); falling back to in-process "
            "single-flight (%d failure(s) so far)",
            what,
            type(exc).__name__,
            count,
        )


# ---------------------------------------------------------------------- protocols


@runtime_checkable
class RefreshCoordinator(Protocol):
    """What the sync driver calls, inside its in-process single-flight."""

    def refresh(
        self, key: str, sealer: Sealer, do_refresh: Callable[[], TokenResponse]
    ) -> TokenResponse:
        """One refresh for ``key`` across every process sharing the coordinator."""
        ...


@runtime_checkable
class AsyncRefreshCoordinator(Protocol):
    """What the async driver awaits, inside its in-process single-flight."""

    async def arefresh(
        self, key: str, sealer: Sealer, do_refresh: Callable[[], Awaitable[TokenResponse]]
    ) -> TokenResponse:
        """One refresh for ``key`` across every process sharing the coordinator."""
        ...
