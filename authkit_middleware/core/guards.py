"""Per-route guards the framework integrations share: one rule, one set of answers.

The middleware's path rules (``protected_paths``, ``permission_rules``...) are applied
in ``engine.AuthKit.guard``. Framework decorators and dependencies (Flask's
``login_required``, FastAPI's ``require_auth``, Django's ``permission_required``...)
ask the same questions of one route instead, so they all call into this module:

- :func:`verdict` decides: ``None`` (allowed), ``"unauthorized"`` or ``"forbidden"``,
  with the engine's semantics (every listed permission, any one of the roles).
- :func:`refusal` answers like the middleware does: a browser navigation is
  redirected to the login route with ``returnTo`` (307 for GET/HEAD, 303 otherwise),
  an API client gets ``401`` JSON, a signed-in user lacking a permission or role gets
  ``403`` (an HTML page for browsers, JSON otherwise).

Pure: no framework imports, no I/O. Integrations translate the neutral ``Response``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal
from urllib.parse import quote

from authkit_middleware.core.auth import Auth
from authkit_middleware.core.bearer import challenge
from authkit_middleware.core.errors import AuthKitError
from authkit_middleware.core.http import (
    RequestInfo,
    Response,
    error_page,
    html_response,
    json_response,
    redirect,
)
from authkit_middleware.core.rules import Requirement

__all__ = [
    "AUTH_KEY",
    "DEFAULT_LOGIN_PATH",
    "SIGNED_IN",
    "MiddlewareNotInstalledError",
    "Requirement",
    "Verdict",
    "auth_from",
    "forbidden_response",
    "login_url",
    "refusal",
    "requirement",
    "sign_in_required_response",
    "verdict",
]

#: Where the adapters put the request's ``Auth`` (``scope[...]`` / ``environ[...]``).
AUTH_KEY = "authkit"
#: ``AuthKitConfig.login_path``'s default; integrations take ``login_path=`` to change it.
DEFAULT_LOGIN_PATH = "/login"
#: Signed in, nothing more.
SIGNED_IN = Requirement()

Verdict = Literal["unauthorized", "forbidden"]

_SIGN_IN_REQUIRED = {"error": "unauthorized", "error_description": "Sign-in required."}
_FORBIDDEN_MESSAGE = "You do not have access to this page."


class MiddlewareNotInstalledError(AuthKitError):
    """A helper asked for the ``Auth`` of a request the middleware never saw.

    Loud on purpose: treating it as signed out would send every visitor round a
    sign-in loop with no hint of the real cause.
    """

    code = "middleware_not_installed"
    status = 500


def auth_from(carrier: Mapping[str, Any]) -> Auth:
    """The ``Auth`` an adapter attached to an ASGI ``scope`` or a WSGI ``environ``."""
    auth = carrier.get(AUTH_KEY)
    if isinstance(auth, Auth):
        return auth
    raise MiddlewareNotInstalledError(
        "No AuthKit state on this request: wrap the app with AuthKitMiddleware (ASGI) "
        "or AuthKitWSGIMiddleware (WSGI), e.g. app.wsgi_app = AuthKitWSGIMiddleware(app.wsgi_app)."
    )


def requirement(
    permissions: Iterable[str] = (),
    roles: Iterable[str] = (),
    *,
    entitlements: Iterable[str] = (),
    feature_flags: Iterable[str] = (),
) -> Requirement:
    """A requirement from names; a single ``str`` counts as one name, not its letters.

    Every permission, any one of the roles, every entitlement, every feature flag.
    """
    perms = (permissions,) if isinstance(permissions, str) else tuple(permissions)
    role_names = (roles,) if isinstance(roles, str) else tuple(roles)
    ents = (entitlements,) if isinstance(entitlements, str) else tuple(entitlements)
    flags = (feature_flags,) if isinstance(feature_flags, str) else tuple(feature_flags)
    for name in (*perms, *role_names, *ents, *flags):
        if not isinstance(name, str) or not name:
            raise ValueError(
                "permission, role, entitlement and feature flag names must be non-empty strings"
            )
    return Requirement(permissions=perms, roles=role_names, entitlements=ents, feature_flags=flags)


def verdict(auth: Auth, needed: Requirement = SIGNED_IN) -> Verdict | None:
    """None when ``auth`` meets ``needed``: every permission, and any one of the roles."""
    if not auth.is_authenticated:
        return "unauthorized"
    return None if needed.allows(auth) else "forbidden"


def login_url(
    request: RequestInfo, *, login_path: str = DEFAULT_LOGIN_PATH, return_to: str | None = None
) -> str:
    """The login route under the mount prefix, with ``returnTo`` (as the engine builds it)."""
    url = f"{request.root_path}{login_path}"
    if return_to:
        url += "?returnTo=" + quote(return_to, safe="/")
    return url


def sign_in_required_response(
    request: RequestInfo, *, login_path: str = DEFAULT_LOGIN_PATH, bearer: bool = True
) -> Response:
    """Browsers go to sign in and come back here; API clients get ``401`` JSON.

    The one answer for "sign-in required", whether a path rule (the engine) or a
    route guard (the integrations) asked. ``bearer``: the app accepts bearer tokens,
    so the 401 names the scheme (RFC 6750 §3.1: no error attribute without a token).
    """
    if request.wants_html:
        status = 307 if request.method in ("GET", "HEAD") else 303
        target = login_url(request, login_path=login_path, return_to=request.full_path)
        return redirect(target, status=status)
    extra = [("www-authenticate", challenge())] if bearer else []
    return json_response(_SIGN_IN_REQUIRED, status=401, extra=extra)


def forbidden_response(
    request: RequestInfo,
    *,
    message: str = _FORBIDDEN_MESSAGE,
    login_path: str = DEFAULT_LOGIN_PATH,
) -> Response:
    """``403``: a readable page for browsers (with a way to switch account), else JSON."""
    if request.wants_html:
        page = error_page(
            title="Access denied",
            message=message,
            code="forbidden",
            action_url=login_url(request, login_path=login_path, return_to=request.full_path),
            action_label="Sign in again",
        )
        return html_response(page, status=403)
    return json_response({"error": "forbidden", "error_description": message}, status=403)


def refusal(
    request: RequestInfo,
    auth: Auth,
    needed: Requirement = SIGNED_IN,
    *,
    login_path: str = DEFAULT_LOGIN_PATH,
) -> Response | None:
    """None to let the route run, else the complete answer (see module doc)."""
    outcome = verdict(auth, needed)
    if outcome is None:
        return None
    if outcome == "unauthorized":
        return sign_in_required_response(request, login_path=login_path)
    response = forbidden_response(request, login_path=login_path)
    if auth.source == "bearer":
        response.headers.append(("www-authenticate", challenge("insufficient_scope")))
    return response
