"""Django helpers: ``get_auth``, view decorators and a template context processor.

Wrap the project's entry points (one line each)::

    # asgi.py
    application = AuthKitMiddleware(get_asgi_application())
    # wsgi.py
    application = AuthKitWSGIMiddleware(get_wsgi_application())

then, in views::

    from authkit_middleware.integrations.django import (
        get_auth, login_required, permission_required, role_required,
    )

    @login_required
    def dashboard(request):
        auth = get_auth(request)          # works under ASGI and WSGI
        ...

    @permission_required("widgets:write")
    def new_widget(request): ...

and in ``TEMPLATES[...]["OPTIONS"]["context_processors"]`` add
``"authkit_middleware.integrations.django.authkit"``: templates get ``auth``
(``{{ auth.user.display_name }}``, ``{% if auth.is_authenticated %}``...).

Refusals come from :mod:`authkit_middleware.core.guards` (browsers to the login route
with ``returnTo``, ``401`` JSON for API clients, ``403`` for a missing permission or
role), exactly as the middleware's own path rules answer. Sync and async views both
work. In tests with Django's test client (which bypasses the WSGI entry point), put
an ``Auth`` in the environ: ``client.get("/dashboard", authkit=auth)``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast, overload

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse  # type: ignore[import-untyped]

from authkit_middleware import asgi as _asgi
from authkit_middleware import wsgi as _wsgi
from authkit_middleware.core.auth import Auth
from authkit_middleware.core.guards import (
    AUTH_KEY,
    DEFAULT_LOGIN_PATH,
    Requirement,
    auth_from,
    refusal,
    requirement,
)
from authkit_middleware.core.http import RequestInfo
from authkit_middleware.core.http import Response as CoreResponse

__all__ = [
    "authkit",
    "entitlement_required",
    "feature_flag_required",
    "get_auth",
    "login_required",
    "permission_required",
    "requires",
    "role_required",
]

V = TypeVar("V", bound=Callable[..., Any])


def _carrier(request: HttpRequest) -> tuple[Mapping[str, Any], bool]:
    """The ASGI scope (ASGIRequest) or the WSGI environ (WSGIRequest), and which."""
    scope = getattr(request, "scope", None)
    if isinstance(scope, Mapping) and AUTH_KEY in scope:
        return scope, True
    environ = getattr(request, "environ", None)
    return (environ if isinstance(environ, Mapping) else request.META), False


def get_auth(request: HttpRequest) -> Auth:
    """The request's ``Auth``, under ASGI (``request.scope``) or WSGI (``request.environ``)."""
    carrier, _ = _carrier(request)
    return auth_from(carrier)


def _request_info(request: HttpRequest) -> RequestInfo:
    carrier, is_asgi = _carrier(request)
    return _asgi.request_info(carrier) if is_asgi else _wsgi.request_info(carrier)  # type: ignore[arg-type]


def _to_django(response: CoreResponse) -> HttpResponse:
    out = HttpResponse(response.body, status=response.status)
    for name, value in response.headers:
        out.headers[name] = value
    return out


def _refused(request: HttpRequest, needed: Requirement, login_path: str) -> HttpResponse | None:
    answer = refusal(_request_info(request), get_auth(request), needed, login_path=login_path)
    return None if answer is None else _to_django(answer)


def requires(
    permissions: str | tuple[str, ...] = (),
    roles: str | tuple[str, ...] = (),
    *,
    login_path: str = DEFAULT_LOGIN_PATH,
    entitlements: str | tuple[str, ...] = (),
    feature_flags: str | tuple[str, ...] = (),
) -> Callable[[V], V]:
    """Decorator: signed in, every permission and any one of the roles (sync or async view),
    every entitlement and every feature flag."""
    needed = requirement(permissions, roles, entitlements=entitlements, feature_flags=feature_flags)

    def decorate(view: V) -> V:
        if iscoroutinefunction(view):

            async def async_wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                refused = _refused(request, needed, login_path)
                if refused is not None:
                    return refused
                return await view(request, *args, **kwargs)

            wrapped = functools.wraps(view)(async_wrapper)
            return cast(V, markcoroutinefunction(wrapped))

        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            refused = _refused(request, needed, login_path)
            if refused is not None:
                return refused
            return view(request, *args, **kwargs)

        return cast(V, functools.wraps(view)(wrapper))

    return decorate


@overload
def login_required(view: V, /) -> V: ...
@overload
def login_required(*, login_path: str = DEFAULT_LOGIN_PATH) -> Callable[[V], V]: ...
def login_required(
    view: V | None = None, /, *, login_path: str = DEFAULT_LOGIN_PATH
) -> V | Callable[[V], V]:
    """``@login_required`` or ``@login_required(login_path="/signin")``."""
    decorate: Callable[[V], V] = requires(login_path=login_path)
    return decorate if view is None else decorate(view)


def permission_required(
    *permissions: str, login_path: str = DEFAULT_LOGIN_PATH
) -> Callable[[V], V]:
    """Signed in and holding every one of ``permissions`` (else ``403``)."""
    if not permissions:
        raise ValueError("permission_required() needs at least one permission")
    return requires(permissions, login_path=login_path)


def role_required(*roles: str, login_path: str = DEFAULT_LOGIN_PATH) -> Callable[[V], V]:
    """Signed in with any one of ``roles`` (else ``403``)."""
    if not roles:
        raise ValueError("role_required() needs at least one role")
    return requires(roles=roles, login_path=login_path)


def authkit(request: HttpRequest) -> dict[str, Auth]:
    """Template context processor: ``auth`` (the request's ``Auth``) in every template."""
    return {"auth": get_auth(request)}


# -- entitlements and feature flags (cookie and bearer requests alike) ---------------


def entitlement_required(
    *entitlements: str, login_path: str = DEFAULT_LOGIN_PATH
) -> Callable[[V], V]:
    """Signed in and the organisation has every one of ``entitlements`` (else ``403``)."""
    if not entitlements:
        raise ValueError("entitlement_required() needs at least one entitlement")
    return requires(login_path=login_path, entitlements=entitlements)


def feature_flag_required(*flags: str, login_path: str = DEFAULT_LOGIN_PATH) -> Callable[[V], V]:
    """Signed in and every one of the feature ``flags`` is on (else ``403``)."""
    if not flags:
        raise ValueError("feature_flag_required() needs at least one feature flag")
    return requires(login_path=login_path, feature_flags=flags)
