"""The I/O the core asks a driver to perform.

Engine steps are generators: they ``yield`` one of these and receive the result (or
have a ``ProviderError`` thrown in). The sync driver performs them with
``workos.WorkOSClient``, the async one with ``workos.AsyncWorkOSClient``; the rules
that decide what to do with the results exist once, in the engine.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class FetchJWKS:
    """Fetch the JWKS (``GET /sso/jwks/{client_id}``); result: the JSON as a dict."""


@dataclass(frozen=True, slots=True)
class ExchangeCode:
    """Exchange an authorization code with its PKCE verifier; result: ``TokenResponse``.

    Never retried by the driver (checklist B11): a code is single-use.
    """

    code: str = field(repr=False)
    code_verifier: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class RefreshTokens:
    """Trade a refresh token for new tokens; result: ``TokenResponse``.

    Drivers deduplicate concurrent refreshes of the same token (single-flight) and
    consult the grace cache, so a rotated refresh token is never replayed.
    """

    refresh_token: str = field(repr=False)
    organization_id: str | None = None


@dataclass(frozen=True, slots=True)
class CallHook:
    """Call the app's ``name`` hook (``on_sign_in``...) with ``event``; result: what the
    hook returned, or a ``HookFailed`` when it raised (see ``core.hooks``).

    The async driver awaits ``async def`` hooks and runs plain ones in a thread; the
    sync driver calls plain ones (async ones are refused when it is built).
    """

    name: str
    event: Any = field(repr=False)


Effect = FetchJWKS | ExchangeCode | RefreshTokens | CallHook
Steps = Generator[Effect, Any, T]
