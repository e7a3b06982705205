"""What both drivers share: building the SDK client and per-call options.

Kept here (not in the core) because it is about the SDK's calling conventions, and
small on purpose: any rule about *what* to do lives in ``core.engine``.
"""

from __future__ import annotations

import math
from typing import Any

from workos._types import RequestOptions

from authkit_middleware.coordination import env as coordination_env
from authkit_middleware.coordination import resolve_coordinator
from authkit_middleware.core.config import AuthKitConfig
from authkit_middleware.core.engine import AuthKit
from authkit_middleware.core.errors import ProviderError
from authkit_middleware.core.session import TokenResponse


def middleware_setup(
    config: AuthKitConfig | None,
    options: dict[str, Any],
    coordinator: Any,
    redis_url: str | None,
) -> tuple[AuthKitConfig, AuthKit, Any, bool]:
    """What both middlewares do when built: the config, the core, the refresh
    coordinator, and whether that coordinator was built here (from ``redis_url`` or
    ``WORKOS_REDIS_URL``), so the middleware closes it; one passed in is the caller's.

    Without ``config`` everything comes from the environment with ``options`` winning
    (``WORKOS_REDIS_URL`` included); with one, ``options`` are applied over it and the
    environment is not read.
    """
    from_env = config is None
    if config is None:
        config = AuthKitConfig.from_env(**options)
    elif options:
        config = config.replace(**options)
    environ = coordination_env() if from_env else None
    resolved = resolve_coordinator(coordinator, redis_url, environ=environ)
    return config, AuthKit(config), resolved, coordinator is None and resolved is not None


def client_kwargs(config: AuthKitConfig) -> dict[str, Any]:
    """Arguments for ``WorkOSClient``/``AsyncWorkOSClient`` built from our config.

    ``max_retries=0``: retries are decided per call (E7, E9, B11), never blindly.
    """
    return {
        "api_key": config.api_key,
        "client_id": config.client_id,
        "base_url": config.base_url,
        "request_timeout": max(1, math.ceil(config.request_timeout)),
        "jwt_leeway": config.jwt_leeway,
        "max_retries": 0,
    }


def call_options(config: AuthKitConfig, *, retries: int = 0) -> RequestOptions:
    """Per-call deadline (E9: a user request never waits on WorkOS for minutes)."""
    return {"timeout": config.request_timeout, "max_retries": retries}


def retry_delay(error: ProviderError, config: AuthKitConfig) -> float | None:
    """How long to wait before the single 429 retry allowed (E7), or None for no retry."""
    if error.http_status != 429:
        return None
    wait = error.retry_after if error.retry_after is not None else 1.0
    return min(max(wait, 0.0), config.request_timeout)


def token_response(data: Any) -> TokenResponse:
    """An SDK ``AuthenticateResponse`` as the core's ``TokenResponse``."""
    try:
        return TokenResponse.from_dict(data.to_dict())
    except (ValueError, AttributeError, KeyError) as exc:
        raise ProviderError(
            "WorkOS returned an incomplete authentication response.", transient=False
        ) from exc


def jwks_dict(data: Any) -> dict[str, Any]:
    result = data.to_dict() if hasattr(data, "to_dict") else data
    if not isinstance(result, dict):
        raise ProviderError("WorkOS returned an unusable JWKS.", transient=True)
    return result
