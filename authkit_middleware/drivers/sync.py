"""The sync driver: runs engine steps with ``workos.WorkOSClient`` (for WSGI).

Concurrency is threads: ``_Flights`` lets one thread do a refresh (or a JWKS fetch)
while the others with the same key wait for its result, so N concurrent requests
carrying one expired cookie make one call to WorkOS (checklist E2).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from workos import WorkOSClient

from authkit_middleware.core.caches import refresh_key
from authkit_middleware.core.coordination import RefreshCoordinator
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
from authkit_middleware.core.hooks import call_hook, check_sync_hooks
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


class _Call:
    __slots__ = ("done", "error", "result")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None


class _Flights:
    """Single-flight for threads: one leader per key, followers wait for its outcome."""

    def __init__(self, wait_timeout: float) -> None:
        self._lock = threading.Lock()
        self._calls: dict[str, _Call] = {}
        self._wait_timeout = wait_timeout

    def do(self, key: str, fn: Callable[[], T]) -> T:
        with self._lock:
            call = self._calls.get(key)
            leader = call is None
            if call is None:
                call = self._calls[key] = _Call()
        if not leader:
            if not call.done.wait(self._wait_timeout):
                raise ProviderError("Timed out waiting for a WorkOS call.", transient=True)
            if call.error is not None:
                raise call.error
            return call.result  # type: ignore[no-any-return]
        try:
            call.result = fn()
            return call.result  # type: ignore[no-any-return]
        except BaseException as exc:
            call.error = exc
            raise
        finally:
            with self._lock:
                self._calls.pop(key, None)
            call.done.set()


class SyncDriver:
    """Performs the core's effects with the sync SDK; ``decide`` is the adapter's call."""

    def __init__(
        self,
        kit: AuthKit,
        client: WorkOSClient | None = None,
        *,
        refresh_coordinator: RefreshCoordinator | None = None,
        owns_coordinator: bool = False,
    ) -> None:
        check_sync_hooks(kit.config)  # async hooks cannot run here: say so at start-up
        self.kit = kit
        self.config = kit.config
        self._owns_client = client is None
        self.client = client or WorkOSClient(**client_kwargs(kit.config))
        self.urls = self.client.user_management
        self._flights = _Flights(wait_timeout=kit.config.request_timeout * 3 + 1)
        #: Cross-process single-flight (E8), e.g. ``RedisCoordinator``; None: in-process.
        self.coordinator = refresh_coordinator
        self._owns_coordinator = owns_coordinator

    def close(self) -> None:
        """Release the connections this driver opened (never a client or coordinator
        it was given). The SDK client is replaced by a fresh, unconnected one and a
        Redis coordinator reconnects on demand, so the app can keep serving."""
        if self._owns_client:
            client = self.client
            self.client = WorkOSClient(**client_kwargs(self.config))
            self.urls = self.client.user_management
            client.close()
        close = getattr(self.coordinator, "close", None)
        if self._owns_coordinator and close is not None:
            close()

    def decide(self, request: RequestInfo) -> Decision:
        """The decision for one request: from memory when possible, else the pipeline."""
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
            return self.run(kit.handle(request, now, self.urls, decided))
        return decided

    def switch_organization(
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
        return self.run(steps)

    def run(self, steps: Steps[T]) -> T:
        """Drive a core generator to completion, performing each effect it yields."""
        value: Any = None
        error: BaseException | None = None
        while True:
            try:
                effect = steps.throw(error) if error is not None else steps.send(value)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            value, error = None, None
            try:
                value = self.perform(effect)
            except ProviderError as exc:
                error = exc

    def perform(self, effect: Effect) -> Any:
        if isinstance(effect, RefreshTokens):
            return self._refresh(effect)
        if isinstance(effect, FetchJWKS):
            return self._flights.do("jwks", self._fetch_jwks)
        if isinstance(effect, ExchangeCode):
            return self._exchange(effect)
        if isinstance(effect, CallHook):
            return call_hook(self.config, effect)
        raise TypeError(f"unknown effect {effect!r}")

    def _fetch_jwks(self) -> dict[str, Any]:
        try:
            # Raw JSON through the SDK's transport: its JwksResponse model raises on
            # any key it cannot model (an EC key, say), which would lose the whole
            # set; KeySet skips unusable keys instead (F4, row 21).
            data = self.client.request_raw(
                "GET",
                ("sso", "jwks", self.config.client_id),
                request_options=call_options(self.config),  # E9: one deadline, no retry
            )
        except Exception as exc:
            raise classify(exc, action="JWKS fetch") from exc
        return jwks_dict(data)

    def _exchange(self, effect: ExchangeCode) -> TokenResponse:
        # B11: never retried, the code is single-use.
        try:
            data = self.urls.authenticate_with_code(
                code=effect.code,
                code_verifier=effect.code_verifier,
                request_options=call_options(self.config),
            )
        except Exception as exc:
            raise classify(exc, action="code exchange") from exc
        return token_response(data)

    def _refresh(self, effect: RefreshTokens) -> TokenResponse:
        kit = self.kit
        key = refresh_key(effect.refresh_token, effect.organization_id)
        cached = kit.recent_refresh(key)
        if cached is not None:
            return cached
        return self._flights.do(key, lambda: self._coordinated(effect, key))

    def _coordinated(self, effect: RefreshTokens, key: str) -> TokenResponse:
        """The in-process leader's refresh, shared with other processes if configured."""
        coordinator = self.coordinator
        if coordinator is None:
            return self._refresh_once(effect, key)
        kit = self.kit
        tokens = coordinator.refresh(key, kit.sealer, lambda: self._refresh_once(effect, key))
        kit.remember_refresh(key, tokens)
        return tokens

    def _refresh_once(self, effect: RefreshTokens, key: str) -> TokenResponse:
        kit = self.kit
        cached = kit.recent_refresh(key)
        if cached is not None:
            return cached
        for attempt in range(2):
            try:
                data = self.urls.authenticate_with_refresh_token(
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
                time.sleep(delay)
        tokens = token_response(data)
        kit.remember_refresh(key, tokens)
        return tokens
