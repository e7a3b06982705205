"""Starlette helpers. Starlette needs almost nothing: the middleware speaks its conventions.

``AuthKitMiddleware`` sets ``scope["user"]`` (an :class:`~authkit_middleware.AuthKitUser`,
so ``request.user.is_authenticated``, ``.display_name``, ``.email`` work) and
``scope["auth"]`` (``AuthCredentials`` whose scopes are ``"authenticated"`` plus the
user's WorkOS permissions). Starlette's own :func:`requires` therefore works as is::

    from authkit_middleware.integrations.starlette import get_auth, requires

    @requires("authenticated")                      # 403 when signed out
    async def dashboard(request): ...

    @requires(["authenticated", "widgets:write"])   # a WorkOS permission is a scope
    async def new_widget(request): ...

Notes:

- ``requires`` answers a signed-out request with ``403`` (``status_code=`` changes it)
  or redirects to a *named route* (``redirect=``). The sign-in route belongs to the
  middleware, not the router, so for "browsers go to sign in, API clients get 401
  JSON" list the paths in ``protected_paths`` (and ``permission_rules``) instead and
  keep ``requires`` as a second line of defence.
- :func:`get_auth` returns the full :class:`~authkit_middleware.Auth` (organisation,
  role, permissions, access token...).
"""

from __future__ import annotations

from starlette.authentication import requires
from starlette.requests import HTTPConnection

from authkit_middleware.core.auth import Auth
from authkit_middleware.core.guards import auth_from

__all__ = ["get_auth", "requires"]


def get_auth(request: HTTPConnection) -> Auth:
    """The request's ``Auth`` (signed out is ``ANONYMOUS``, never None)."""
    return auth_from(request.scope)
