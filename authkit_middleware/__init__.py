"""WorkOS AuthKit hosted sign-in in front of any ASGI or WSGI app, in one line.

>>> from authkit_middleware import AuthKitMiddleware, AuthKitWSGIMiddleware
>>> # app = AuthKitMiddleware(app)                      # Starlette, FastAPI, any ASGI app
>>> # app.wsgi_app = AuthKitWSGIMiddleware(app.wsgi_app)  # Flask, Django, any WSGI app
"""

from authkit_middleware._version import __version__
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
