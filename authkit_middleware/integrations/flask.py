"""Flask helpers: ``current_auth`` and view decorators.

::

    from flask import Flask
    from authkit_middleware import AuthKitWSGIMiddleware
    from authkit_middleware.integrations.flask import (
        current_auth, login_required, permission_required, role_required,
    )

    app = Flask(__name__)
    app.wsgi_app = AuthKitWSGIMiddleware(app.wsgi_app)

    @app.get("/dashboard")
    @login_required
    def dashboard():
        return f"Hello {current_auth.user.display_name}"

    @app.post("/widgets")
    @permission_required("widgets:write")
    def create_widget(): ...

Refusals are decided by :mod:`authkit_middleware.core.guards` (the same rule as the
middleware's ``protected_paths``): browsers are redirected to the login route with
``returnTo``, API clients get ``401`` JSON, and a missing permission or role is a
``403``. The login route is read from the ``AuthKitWSGIMiddleware`` wrapping
``app.wsgi_app`` (``login_path=`` overrides it).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar, cast, overload

from flask import Response, current_app, request
from werkzeug.local import LocalProxy

from authkit_middleware.core.auth import Auth
from authkit_middleware.core.guards import (
    DEFAULT_LOGIN_PATH,
    Requirement,
    auth_from,
    refusal,
    requirement,
)
from authkit_middleware.core.http import Response as CoreResponse
from authkit_middleware.wsgi import AuthKitWSGIMiddleware, request_info

__all__ = [
    "current_auth",
    "entitlement_required",
    "feature_flag_required",
    "get_auth",
    "login_required",
    "permission_required",
    "requires",
    "role_required",
]

P = ParamSpec("P")
R = TypeVar("R")

#: How many ``.app`` links to follow from ``app.wsgi_app`` looking for the middleware.
_MAX_WRAPPERS = 16


def get_auth() -> Auth:
    """The current request's ``Auth`` (``ANONYMOUS`` when signed out)."""
    return auth_from(request.environ)


#: The current request's :class:`~authkit_middleware.Auth`, like ``flask.request``.
current_auth: Auth = cast(Auth, LocalProxy(get_auth))


def _login_path() -> str:
    """The ``login_path`` of the AuthKit middleware wrapping this app, else the default."""
    layer: object = current_app.wsgi_app
    for _ in range(_MAX_WRAPPERS):
        if isinstance(layer, AuthKitWSGIMiddleware):
            return layer.config.login_path
        layer = getattr(layer, "app", None)
        if layer is None:
            break
    return DEFAULT_LOGIN_PATH


def _to_flask(response: CoreResponse) -> Response:
    return Response(response.body, status=response.status, headers=response.headers)


def _refused(needed: Requirement, login_path: str | None) -> Response | None:
    answer = refusal(
        request_info(request.environ), get_auth(), needed, login_path=login_path or _login_path()
    )
    return None if answer is None else _to_flask(answer)


def requires(
    permissions: str | tuple[str, ...] = (),
    roles: str | tuple[str, ...] = (),
    *,
    login_path: str | None = None,
    entitlements: str | tuple[str, ...] = (),
    feature_flags: str | tuple[str, ...] = (),
) -> Callable[[Callable[P, R]], Callable[P, R | Response]]:
    """Decorator: signed in, every permission and any one of the roles (sync or async view),
    every entitlement and every feature flag."""
    needed = requirement(permissions, roles, entitlements=entitlements, feature_flags=feature_flags)

    def decorate(view: Callable[P, R]) -> Callable[P, R | Response]:
        if inspect.iscoroutinefunction(view):

            @functools.wraps(view)
            async def async_wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
                refused = _refused(needed, login_path)
                if refused is not None:
                    return refused
                return await view(*args, **kwargs)

            return cast(Callable[P, R | Response], async_wrapper)

        @functools.wraps(view)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R | Response:
            refused = _refused(needed, login_path)
            if refused is not None:
                return refused
            return view(*args, **kwargs)

        return wrapper

    return decorate


@overload
def login_required(view: Callable[P, R], /) -> Callable[P, R | Response]: ...
@overload
def login_required(
    *, login_path: str | None = None
) -> Callable[[Callable[P, R]], Callable[P, R | Response]]: ...
def login_required(
    view: Callable[P, R] | None = None, /, *, login_path: str | None = None
) -> Callable[P, R | Response] | Callable[[Callable[P, R]], Callable[P, R | Response]]:
    """``@login_required`` or ``@login_required(login_path="/signin")``."""
    decorate: Callable[[Callable[P, R]], Callable[P, R | Response]] = requires(
        login_path=login_path
    )
    return decorate if view is None else decorate(view)


def permission_required(
    *permissions: str, login_path: str | None = None
) -> Callable[[Callable[P, R]], Callable[P, R | Response]]:
    """Signed in and holding every one of ``permissions`` (else ``403``)."""
    if not permissions:
        raise ValueError("permission_required() needs at least one permission")
    return requires(permissions, login_path=login_path)


def role_required(
    *roles: str, login_path: str | None = None
) -> Callable[[Callable[P, R]], Callable[P, R | Response]]:
    """Signed in with any one of ``roles`` (else ``403``)."""
    if not roles:
        raise ValueError("role_required() needs at least one role")
    return requires(roles=roles, login_path=login_path)


# -- entitlements and feature flags (cookie and bearer requests alike) ---------------


def entitlement_required(
    *entitlements: str, login_path: str | None = None
) -> Callable[[Callable[P, R]], Callable[P, R | Response]]:
    """Signed in and the organisation has every one of ``entitlements`` (else ``403``)."""
    if not entitlements:
        raise ValueError("entitlement_required() needs at least one entitlement")
    return requires(login_path=login_path, entitlements=entitlements)


def feature_flag_required(
    *flags: str, login_path: str | None = None
) -> Callable[[Callable[P, R]], Callable[P, R | Response]]:
    """Signed in and every one of the feature ``flags`` is on (else ``403``)."""
    if not flags:
        raise ValueError("feature_flag_required() needs at least one feature flag")
    return requires(login_path=login_path, feature_flags=flags)
