"""Refresh coordinators: one WorkOS refresh per refresh token across processes (E8).

The protocols and the pure logic are in :mod:`authkit_middleware.core.coordination`;
implementations live here (``redis``: :class:`~.redis.RedisCoordinator`, needs the
``authkit-middleware[redis]`` extra). Nothing here is imported by the middleware
unless a coordinator is configured.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from authkit_middleware.core.coordination import AsyncRefreshCoordinator, RefreshCoordinator

__all__ = [
    "REDIS_URL_ENV",
    "AsyncRefreshCoordinator",
    "RefreshCoordinator",
    "resolve_coordinator",
]

#: Environment variable naming the Redis of the refresh coordinator.
REDIS_URL_ENV = "WORKOS_REDIS_URL"


def resolve_coordinator(
    coordinator: Any = None,
    redis_url: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> Any:
    """The coordinator an adapter should use: given > ``redis_url`` > ``WORKOS_REDIS_URL``.

    ``environ`` is consulted only when given (adapters pass ``os.environ`` when their
    config comes from the environment). Returns None for in-process behaviour.
    """
    if coordinator is not None:
        return coordinator
    url = redis_url
    if url is None and environ is not None:
        url = (environ.get(REDIS_URL_ENV) or "").strip() or None
    if url is None:
        return None
    from authkit_middleware.coordination.redis import RedisCoordinator

    return RedisCoordinator(url)


def env() -> Mapping[str, str]:
    """``os.environ`` (a function so tests can patch it)."""
    return os.environ
