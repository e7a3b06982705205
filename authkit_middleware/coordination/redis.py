"""``RedisCoordinator``: one WorkOS refresh per refresh token across workers and hosts.

Usage (``pip install 'authkit-middleware[redis]'``)::

    from authkit_middleware.coordination.redis import RedisCoordinator

    app = AuthKitMiddleware(app, coordinator=RedisCoordinator("redis://cache:6379/0"))
    app = AuthKitWSGIMiddleware(app, coordinator=RedisCoordinator("redis://cache:6379/0"))

or set ``WORKOS_REDIS_URL``. Per refresh (see :mod:`authkit_middleware.core.coordination`):

1. ``GET result``: another worker already refreshed this token → use its result.
2. ``SET lock <random> NX PX lock_timeout``: the winner calls WorkOS, then one Lua
   script publishes the sealed result (``PX result_ttl``) and deletes the lock only if
   it still holds it (compare-and-delete).
3. The others poll ``result`` (5 → 50 ms back-off) until it appears, the lock frees
   up (then they try to take it), or ``wait_timeout`` passes (a transient error:
   the cookie is kept).

Keys are hashes (``authkit:refresh:{<sha256>}:lock|result``) and values are sealed
with the ``"coordinator"`` purpose: the store never holds a token in clear. Any
Redis error (down, slow, refused) is logged at most once per ``log_interval`` and the
refresh goes ahead in-process: the coordinator never fails a request.
"""

from __future__ import annotations

import asyncio
import importlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

from authkit_middleware.core.coordination import (
    BACKOFF_SECONDS,
    DEFAULT_LOCK_TIMEOUT,
    DEFAULT_RESULT_TTL,
    LOG_INTERVAL,
    CoordinatorKeys,
    FailureLog,
    StoredOutcome,
    error_ttl,
    new_lock_token,
    open_outcome,
    poll_delays,
    seal_outcome,
)
from authkit_middleware.core.errors import ProviderError
from authkit_middleware.core.seal import Sealer
from authkit_middleware.core.session import TokenResponse

__all__ = ["RedisCoordinator"]

_MISSING = "RedisCoordinator needs the 'redis' package: pip install 'authkit-middleware[redis]'"

#: KEYS: lock. ARGV: owner token. Deletes the lock only if we still own it.
RELEASE_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

#: KEYS: result, lock. ARGV: sealed outcome, ttl ms, owner token, "nx" flag.
#: An error is published only where no result exists (NX): it never hides a success.
PUBLISH_SCRIPT = """
if ARGV[4] == '1' then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX')
else
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
if redis.call('GET', KEYS[2]) == ARGV[3] then
  redis.call('DEL', KEYS[2])
  return 1
end
return 0
"""


def _redis_module(name: str = "redis") -> Any:
    try:
        return importlib.import_module(name)
    except ImportError as exc:  # pragma: no cover - exercised without the extra
        raise ImportError(_MISSING) from exc


def _wait_timeout_error() -> ProviderError:
    return ProviderError(
        "Timed out waiting for another worker's session refresh.",
        transient=True,
        code="refresh_wait_timeout",
    )


class RedisCoordinator:
    """Refresh coordination over Redis, for the sync and the async driver.

    :param url_or_client: a ``redis://`` / ``rediss://`` / ``unix://`` URL (sync and
        async clients are built lazily from it, with short socket timeouts and no
        retries), or a ready ``redis.Redis`` (sync driver only) or
        ``redis.asyncio.Redis`` (async driver only).
    :param lock_timeout: seconds the lock lives if its owner dies mid-refresh.
    :param result_ttl: seconds a published result stays (≈ the grace window).
    :param wait_timeout: seconds a waiter waits for the winner (default ``lock_timeout``).
    :param key_prefix: prefix of every key (share one Redis between apps safely).
    :param socket_timeout: connect/read timeout of clients built from a URL.
    :param log_interval: at most one "unavailable" warning per this many seconds.
    :param backoff: after a Redis error, go in-process for this many seconds.
    """

    def __init__(
        self,
        url_or_client: Any,
        *,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
        result_ttl: float = DEFAULT_RESULT_TTL,
        wait_timeout: float | None = None,
        key_prefix: str = "authkit:",
        socket_timeout: float = 0.5,
        log_interval: float = LOG_INTERVAL,
        backoff: float = BACKOFF_SECONDS,
    ) -> None:
        redis = _redis_module()
        aioredis = _redis_module("redis.asyncio")
        if lock_timeout <= 0 or result_ttl <= 0:
            raise ValueError("lock_timeout and result_ttl must be > 0 seconds")
        self.lock_timeout = float(lock_timeout)
        self.result_ttl = float(result_ttl)
        self.wait_timeout = float(lock_timeout if wait_timeout is None else wait_timeout)
        self.key_prefix = key_prefix
        self.socket_timeout = socket_timeout
        self.failures = FailureLog(interval=log_interval, backoff=backoff)
        self._errors: tuple[type[BaseException], ...] = (
            redis.exceptions.RedisError,
            OSError,
            asyncio.TimeoutError,
        )
        self._url: str | None = None
        self._client: Any = None
        self._aclient: Any = None
        self._aloop: asyncio.AbstractEventLoop | None = None
        if isinstance(url_or_client, str):
            self._url = url_or_client
        elif isinstance(url_or_client, aioredis.Redis):
            self._aclient = url_or_client
        elif isinstance(url_or_client, redis.Redis):
            self._client = url_or_client
        else:
            raise TypeError(
                "RedisCoordinator takes a Redis URL, a redis.Redis or a redis.asyncio.Redis"
            )

    def __repr__(self) -> str:
        # The URL may hold a password: never shown.
        return f"RedisCoordinator(key_prefix={self.key_prefix!r})"

    @property
    def supports_sync(self) -> bool:
        return self._url is not None or self._client is not None

    @property
    def supports_async(self) -> bool:
        return self._url is not None or self._aclient is not None

    # ------------------------------------------------------------------ clients

    def _client_options(self, retry_module: str) -> dict[str, Any]:
        retry = _redis_module(retry_module)
        backoff = _redis_module("redis.backoff")
        return {
            "socket_timeout": self.socket_timeout,
            "socket_connect_timeout": self.socket_timeout,
            # Retrying is our decision (fall back in-process), not the client's.
            "retry": retry.Retry(backoff.NoBackoff(), 0),
        }

    def sync_client(self) -> Any:
        if self._client is None:
            if self._url is None:
                raise TypeError("this RedisCoordinator was given an async client")
            redis = _redis_module()
            self._client = redis.Redis.from_url(self._url, **self._client_options("redis.retry"))
        return self._client

    def async_client(self) -> Any:
        if self._url is None:
            if self._aclient is None:
                raise TypeError("this RedisCoordinator was given a sync client")
            return self._aclient
        loop = asyncio.get_running_loop()
        if self._aclient is None or self._aloop is not loop:
            # redis.asyncio connections belong to one event loop.
            aioredis = _redis_module("redis.asyncio")
            self._aclient = aioredis.Redis.from_url(
                self._url, **self._client_options("redis.asyncio.retry")
            )
            self._aloop = loop
        return self._aclient

    def close(self) -> None:
        """Close the sync client this coordinator built (not one it was given)."""
        if self._url is not None and self._client is not None:
            self._client.close()
            self._client = None

    async def aclose(self) -> None:
        """Close the async client this coordinator built (not one it was given)."""
        if self._url is not None and self._aclient is not None:
            await self._aclient.aclose()
            self._aclient = None

    # ------------------------------------------------------------------ sync

    def refresh(
        self, key: str, sealer: Sealer, do_refresh: Callable[[], TokenResponse]
    ) -> TokenResponse:
        """One refresh for ``key`` across every process using this Redis."""
        if not self.failures.available():
            return do_refresh()
        keys = CoordinatorKeys.build(self.key_prefix, key)
        try:
            client = self.sync_client()
            outcome, token = self._acquire_or_wait(client, keys, sealer)
        except self._errors as exc:
            self.failures.failed("lock", exc)
            return do_refresh()
        if outcome is not None:
            return outcome.unwrap()
        try:
            tokens = do_refresh()
        except ProviderError as exc:
            self._publish(client, keys, token, sealer, StoredOutcome(error=exc), error=exc)
            raise
        except BaseException:
            self._release(client, keys, token)
            raise
        self._publish(client, keys, token, sealer, StoredOutcome(tokens=tokens))
        return tokens

    def _acquire_or_wait(
        self, client: Any, keys: CoordinatorKeys, sealer: Sealer
    ) -> tuple[StoredOutcome | None, str]:
        deadline = time.monotonic() + self.wait_timeout
        delay = poll_delays()
        lock_ms = max(1, int(self.lock_timeout * 1000))
        while True:
            outcome = self._read(client.get(keys.result), keys, sealer)
            if outcome is not None:
                return outcome, ""
            token = new_lock_token()
            if client.set(keys.lock, token, nx=True, px=lock_ms):
                # Double-check: the previous owner may have published between our
                # GET and SET (it released the lock right after publishing).
                outcome = self._read(client.get(keys.result), keys, sealer)
                if outcome is not None:
                    client.eval(RELEASE_SCRIPT, 1, keys.lock, token)
                    return outcome, ""
                return None, token
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _wait_timeout_error()
            time.sleep(min(delay(), remaining))

    def _publish(
        self,
        client: Any,
        keys: CoordinatorKeys,
        token: str,
        sealer: Sealer,
        outcome: StoredOutcome,
        *,
        error: ProviderError | None = None,
    ) -> None:
        args = self._publish_args(keys, token, sealer, outcome, error)
        try:
            client.eval(PUBLISH_SCRIPT, 2, *args)
        except self._errors as exc:
            self.failures.failed("publish", exc)

    def _release(self, client: Any, keys: CoordinatorKeys, token: str) -> None:
        try:
            client.eval(RELEASE_SCRIPT, 1, keys.lock, token)
        except self._errors as exc:
            self.failures.failed("release", exc)

    # ------------------------------------------------------------------ async

    async def arefresh(
        self, key: str, sealer: Sealer, do_refresh: Callable[[], Awaitable[TokenResponse]]
    ) -> TokenResponse:
        """The async flavour of :meth:`refresh` (``redis.asyncio``)."""
        if not self.failures.available():
            return await do_refresh()
        keys = CoordinatorKeys.build(self.key_prefix, key)
        try:
            client = self.async_client()
            outcome, token = await self._aacquire_or_wait(client, keys, sealer)
        except self._errors as exc:
            self.failures.failed("lock", exc)
            return await do_refresh()
        if outcome is not None:
            return outcome.unwrap()
        try:
            tokens = await do_refresh()
        except ProviderError as exc:
            await self._apublish(client, keys, token, sealer, StoredOutcome(error=exc), error=exc)
            raise
        except BaseException:
            await asyncio.shield(self._arelease(client, keys, token))
            raise
        await self._apublish(client, keys, token, sealer, StoredOutcome(tokens=tokens))
        return tokens

    async def _aacquire_or_wait(
        self, client: Any, keys: CoordinatorKeys, sealer: Sealer
    ) -> tuple[StoredOutcome | None, str]:
        deadline = time.monotonic() + self.wait_timeout
        delay = poll_delays()
        lock_ms = max(1, int(self.lock_timeout * 1000))
        while True:
            outcome = self._read(await client.get(keys.result), keys, sealer)
            if outcome is not None:
                return outcome, ""
            token = new_lock_token()
            if await client.set(keys.lock, token, nx=True, px=lock_ms):
                outcome = self._read(await client.get(keys.result), keys, sealer)
                if outcome is not None:
                    await client.eval(RELEASE_SCRIPT, 1, keys.lock, token)
                    return outcome, ""
                return None, token
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _wait_timeout_error()
            await asyncio.sleep(min(delay(), remaining))

    async def _apublish(
        self,
        client: Any,
        keys: CoordinatorKeys,
        token: str,
        sealer: Sealer,
        outcome: StoredOutcome,
        *,
        error: ProviderError | None = None,
    ) -> None:
        args = self._publish_args(keys, token, sealer, outcome, error)
        try:
            await client.eval(PUBLISH_SCRIPT, 2, *args)
        except self._errors as exc:
            self.failures.failed("publish", exc)

    async def _arelease(self, client: Any, keys: CoordinatorKeys, token: str) -> None:
        try:
            await client.eval(RELEASE_SCRIPT, 1, keys.lock, token)
        except self._errors as exc:
            self.failures.failed("release", exc)

    # ------------------------------------------------------------------ shared

    def _read(self, raw: Any, keys: CoordinatorKeys, sealer: Sealer) -> StoredOutcome | None:
        if raw is None:
            return None
        return open_outcome(sealer, keys.digest, raw)

    def _publish_args(
        self,
        keys: CoordinatorKeys,
        token: str,
        sealer: Sealer,
        outcome: StoredOutcome,
        error: ProviderError | None,
    ) -> tuple[str, ...]:
        ttl = self.result_ttl if error is None else error_ttl(error, self.result_ttl)
        sealed = seal_outcome(sealer, keys.digest, outcome, ttl=ttl)
        return (
            keys.result,
            keys.lock,
            sealed,
            str(max(1, int(ttl * 1000))),
            token,
            "1" if error is not None else "0",
        )
