"""WorkOS AuthKit hosted sign-in in front of any ASGI or WSGI app, in one line.

>>> from authkit_middleware import AuthKitMiddleware, AuthKitWSGIMiddleware
>>> # app = AuthKitMiddleware(app)                      # Starlette, FastAPI, any ASGI app
>>> # app.wsgi_app = AuthKitWSGIMiddleware(app.wsgi_app)  # Flask, Django, any WSGI app

Names are imported on first use (PEP 562): ``import authkit_middleware.emulator``, the
CLI and the pytest plugin do not pay for the ``workos`` SDK and Starlette (about half a
second) until a middleware is actually built.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from authkit_middleware._version import __version__

if TYPE_CHECKING:
    from authkit_middleware.asgi import AuthKitMiddleware, AuthKitUser
    from authkit_middleware.core.auth import ANONYMOUS, Auth, Impersonator, User
    from authkit_middleware.core.config import AuthKitConfig
    from authkit_middleware.core.errors import (
        AuthKitError,
        CallbackError,
        ConfigError,
        CookieTooLargeError,
        ProviderError,
        SealError,
        TokenError,
    )
    from authkit_middleware.wsgi import AuthKitWSGIMiddleware

_EXPORTS: dict[str, str] = {
    "AuthKitMiddleware": "authkit_middleware.asgi",
    "AuthKitUser": "authkit_middleware.asgi",
    "AuthKitWSGIMiddleware": "authkit_middleware.wsgi",
    "ANONYMOUS": "authkit_middleware.core.auth",
    "Auth": "authkit_middleware.core.auth",
    "Impersonator": "authkit_middleware.core.auth",
    "User": "authkit_middleware.core.auth",
    "AuthKitConfig": "authkit_middleware.core.config",
    "AuthKitError": "authkit_middleware.core.errors",
    "CallbackError": "authkit_middleware.core.errors",
    "ConfigError": "authkit_middleware.core.errors",
    "CookieTooLargeError": "authkit_middleware.core.errors",
    "ProviderError": "authkit_middleware.core.errors",
    "SealError": "authkit_middleware.core.errors",
    "TokenError": "authkit_middleware.core.errors",
}

__all__ = [
    "ANONYMOUS",
    "Auth",
    "AuthKitConfig",
    "AuthKitError",
    "AuthKitMiddleware",
    "AuthKitUser",
    "AuthKitWSGIMiddleware",
    "CallbackError",
    "ConfigError",
    "CookieTooLargeError",
    "Impersonator",
    "ProviderError",
    "SealError",
    "TokenError",
    "User",
    "__version__",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'authkit_middleware' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
