"""The async driver: runs engine steps with ``workos.AsyncWorkOSClient`` (for ASGI).

Nothing here blocks the event loop: WorkOS calls are awaited, and concurrent
requests that need the same refresh (or the JWKS) await one shared task (E2, F8).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from workos import AsyncWorkOSClient

from authkit_middleware.core.caches import refresh_key
from authkit_middleware.core.coordination import AsyncRefreshCoordinator
from authkit_middleware.core.effects import (
    CallHook,
    Effect,
    ExchangeCode,
    FetchJWKS,
    RefreshTokens,
    Steps,
)
from authkit_middleware.core.engine import AuthKit, Decision, HeadStart
from authkit_middleware.core.errors import ProviderError
from authkit_middleware.core.hooks import call_hook_async
from authkit_middleware.core.http import RequestInfo
from authkit_middleware.core.organizations import SwitchResult
from authkit_middleware.core.provider_errors import classify
from authkit_middleware.core.session import TokenResponse
from authkit_middleware.drivers._common import (
    call_options,
    client_kwargs,
    jwks_dict,
    retry_delay,
    token_response,
)

T = TypeVar("T")


class _Flights:
    """Single-flight for tasks: the first caller's coroutine runs as a shared task.

    Shielded, so a follower whose client disconnected does not cancel the refresh
    the others are waiting for. Keyed per event loop implicitly: a driver belongs to
    one app, which runs in one loop.
    """

    def __init__(self) -> None:
        self._tasks: dict[str, asyncio.Future[Any]] = {}

    async def do(self, key: str, fn: Callable[[], Awaitable[T]]) -> T:
        task = self._tasks.get(key)
        if task is None:
            task = asyncio.ensure_future(fn())
            self._tasks[key] = task
            task.add_done_callback(lambda _t: self._tasks.pop(key, None))
        return await asyncio.shield(task)


class AsyncDriver:
    """Performs the core's effects with the async SDK; ``decide`` is the adapter's call."""

    def __init__(
        self,
        kit: AuthKit,
        client: AsyncWorkOSClient | None = None,
        *,
        refresh_coordinator: AsyncRefreshCoordinator | None = None,
        owns_coordinator: bool = False,
    ) -> None:
        self.kit = kit
        self.config = kit.config
        self._owns_client = client is None
        self.client = client or AsyncWorkOSClient(**client_kwargs(kit.config))
        self.urls = self.client.user_management
        self._flights = _Flights()
        #: Cross-process single-flight (E8), e.g. ``RedisCoordinator``; None: in-process.
        self.coordinator = refresh_coordinator
        self._owns_coordinator = owns_coordinator

    async def aclose(self) -> None:
        """Release the connections this driver opened (never a client or coordinator
        it was given). The SDK client is replaced by a fresh, unconnected one and a
        Redis coordinator reconnects on demand, so an app whose lifespan runs again
        (a second test client, a reload) keeps working."""
        if self._owns_client:
            client = self.client
            self.client = AsyncWorkOSClient(**client_kwargs(self.config))
            self.urls = self.client.user_management
            await client.close()
        aclose = getattr(self.coordinator, "aclose", None)
        if self._owns_coordinator and aclose is not None:
            await aclose()

    async def decide(self, request: RequestInfo) -> Decision:
        kit = self.kit
        now = kit.clock()
        if request.authorization or kit._debug:
            # Bearer tokens (cached under their header) and debug logging: ``fast``.
            # Otherwise ``attempt`` answers what ``fast`` would (a cached cookie, signed
            # out), and the adapter's fast lane has already missed on those.
            fast = kit.fast(request, now)
            if fast is not None:
                return fast
        # A first request whose token verifies with the cached keys: no generator.
        decided = kit.attempt(request, now)
        if decided is None or isinstance(decided, HeadStart):
            return await self.run(kit.handle(request, now, self.urls, decided))
        return decided

    async def switch_organization(
        self,
        request: RequestInfo,
        organization_id: str,
        *,
        return_to: str | None = None,
        require_same_origin: bool = True,
    ) -> SwitchResult:
        """Refresh the request's session into ``organization_id``; the caller adds
        ``result.set_cookies`` to its response (see ``core.organizations``)."""
        kit = self.kit
        steps = kit.switch_organization(
            request,
            organization_id,
            kit.clock(),
            return_to=return_to,
            require_same_origin=require_same_origin,
        )
        return await self.run(steps)

    async def run(self, steps: Steps[T]) -> T:
        value: Any = None
        error: BaseException | None = None
        while True:
            try:
                effect = steps.throw(error) if error is not None else steps.send(value)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            value, error = None, None
            try:
                value = await self.perform(effect)
            except ProviderError as exc:
                error = exc

    async def perform(self, effect: Effect) -> Any:
        if isinstance(effect, RefreshTokens):
            return await self._refresh(effect)
        if isinstance(effect, FetchJWKS):
            return await self._flights.do("jwks", self._fetch_jwks)
        if isinstance(effect, ExchangeCode):
            return await self._exchange(effect)
        if isinstance(effect, CallHook):
            return await call_hook_async(self.config, effect)
        raise TypeError(f"unknown effect {effect!r}")

    async def _fetch_jwks(self) -> dict[str, Any]:
        try:
            # Raw JSON through the SDK's transport: its JwksResponse model raises on
            # any key it cannot model (an EC key, say), which would lose the whole
            # set; KeySet skips unusable keys instead (F4, row 21).
            data = await self.client.request_raw(
                "GET",
                ("sso", "jwks", self.config.client_id),
                request_options=call_options(self.config),  # E9: one deadline, no retry
            )
        except Exception as exc:
            raise classify(exc, action="JWKS fetch") from exc
        return jwks_dict(data)

    async def _exchange(self, effect: ExchangeCode) -> TokenResponse:
        try:
            data = await self.urls.authenticate_with_code(
                code=effect.code,
                code_verifier=effect.code_verifier,
                request_options=call_options(self.config),
            )
        except Exception as exc:
            raise classify(exc, action="code exchange") from exc
        return token_response(data)

    async def _refresh(self, effect: RefreshTokens) -> TokenResponse:
        kit = self.kit
        key = refresh_key(effect.refresh_token, effect.organization_id)
        cached = kit.recent_refresh(key)
        if cached is not None:
            return cached
        return await self._flights.do(key, lambda: self._coordinated(effect, key))

    async def _coordinated(self, effect: RefreshTokens, key: str) -> TokenResponse:
        """The in-process leader's refresh, shared with other processes if configured."""
        coordinator = self.coordinator
        if coordinator is None:
            return await self._refresh_once(effect, key)
        kit = self.kit
        tokens = await coordinator.arefresh(
            key, kit.sealer, lambda: self._refresh_once(effect, key)
        )
        kit.remember_refresh(key, tokens)
        return tokens

    async def _refresh_once(self, effect: RefreshTokens, key: str) -> TokenResponse:
        kit = self.kit
        cached = kit.recent_refresh(key)
        if cached is not None:
            return cached
        for attempt in range(2):
            try:
                data = await self.urls.authenticate_with_refresh_token(
                    refresh_token=effect.refresh_token,
                    organization_id=effect.organization_id,
                    request_options=call_options(self.config),
                )
                break
            except Exception as exc:
                error = classify(exc, action="session refresh")
                delay = retry_delay(error, self.config)
                if attempt or delay is None:
                    raise error from exc
                await asyncio.sleep(delay)
        tokens = token_response(data)
        kit.remember_refresh(key, tokens)
        return tokens
