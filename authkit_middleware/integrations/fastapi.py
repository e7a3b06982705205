"""FastAPI dependencies over the request's :class:`~authkit_middleware.Auth`.

::

    from fastapi import Depends, FastAPI
    from authkit_middleware import AuthKitMiddleware
    from authkit_middleware.integrations.fastapi import (
        RequiredAuth, get_auth, require_auth, require_permission, require_role,
    )

    api = FastAPI()

    @api.get("/api/me")
    def me(auth: Auth = Depends(require_auth)): ...        # or: auth: RequiredAuth

    @api.post("/widgets", dependencies=[Depends(require_permission("widgets:write"))])
    def create_widget(): ...

    app = AuthKitMiddleware(api)

Signed out: API clients get ``401`` (``{"detail": "Sign-in required."}``, FastAPI's
error shape, with ``WWW-Authenticate: Bearer``); a browser navigation (``Accept:
text/html``) is redirected to the login route with ``returnTo``, as the middleware's
own ``protected_paths`` do. Signed in without the permission or role: ``403``. The
decision is :func:`authkit_middleware.core.guards.verdict`, shared by every
integration.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from authkit_middleware.asgi import request_info
from authkit_middleware.core.auth import Auth
from authkit_middleware.core.bearer import challenge
from authkit_middleware.core.guards import (
    DEFAULT_LOGIN_PATH,
    SIGNED_IN,
    Requirement,
    auth_from,
    login_url,
    requirement,
    verdict,
)
from authkit_middleware.core.http import NO_STORE

__all__ = [
    "OptionalAuth",
    "RequiredAuth",
    "get_auth",
    "require",
    "require_auth",
    "require_entitlement",
    "require_feature_flag",
    "require_permission",
    "require_role",
    "requires",
]


def get_auth(request: Request) -> Auth:
    """The request's ``Auth``; signed out is ``ANONYMOUS`` (``auth.is_authenticated``)."""
    return auth_from(request.scope)


def _check(request: Request, needed: Requirement, login_path: str) -> Auth:
    auth = get_auth(request)
    outcome = verdict(auth, needed)
    if outcome is None:
        return auth
    info = request_info(request.scope)
    if outcome == "forbidden":
        raise HTTPException(
            status_code=403,
            detail="You do not have access to this resource.",
            headers=(
                {"Cache-Control": NO_STORE, "WWW-Authenticate": challenge("insufficient_scope")}
                if auth.source == "bearer"
                else {"Cache-Control": NO_STORE}
            ),
        )
    if info.wants_html:
        target = login_url(info, login_path=login_path, return_to=info.full_path)
        raise HTTPException(
            status_code=307 if info.method in ("GET", "HEAD") else 303,
            detail="Sign-in required.",
            headers={"Location": target, "Cache-Control": NO_STORE},
        )
    raise HTTPException(
        status_code=401,
        detail="Sign-in required.",
        headers={"WWW-Authenticate": "Bearer", "Cache-Control": NO_STORE},
    )


def requires(
    permissions: str | tuple[str, ...] = (),
    roles: str | tuple[str, ...] = (),
    *,
    login_path: str = DEFAULT_LOGIN_PATH,
    entitlements: str | tuple[str, ...] = (),
    feature_flags: str | tuple[str, ...] = (),
) -> Callable[[Request], Auth]:
    """A dependency demanding sign-in, every permission, any one of the roles, every
    entitlement and every feature flag."""
    needed = requirement(permissions, roles, entitlements=entitlements, feature_flags=feature_flags)

    def dependency(request: Request) -> Auth:
        return _check(request, needed, login_path)

    return dependency


def require_auth(request: Request) -> Auth:
    """Dependency: the signed-in user's ``Auth`` (401 / redirect to sign in otherwise)."""
    return _check(request, SIGNED_IN, DEFAULT_LOGIN_PATH)


def require_permission(
    *permissions: str, login_path: str = DEFAULT_LOGIN_PATH
) -> Callable[[Request], Auth]:
    """Dependency factory: signed in and holding every one of ``permissions`` (else 403)."""
    if not permissions:
        raise ValueError("require_permission() needs at least one permission")
    return requires(permissions, login_path=login_path)


def require_role(*roles: str, login_path: str = DEFAULT_LOGIN_PATH) -> Callable[[Request], Auth]:
    """Dependency factory: signed in with any one of ``roles`` (else 403)."""
    if not roles:
        raise ValueError("require_role() needs at least one role")
    return requires(roles=roles, login_path=login_path)


#: ``auth: RequiredAuth`` in a path operation: signed in, or 401 / sign-in redirect.
RequiredAuth = Annotated[Auth, Depends(require_auth)]
#: ``auth: OptionalAuth``: the ``Auth`` whether signed in or not.
OptionalAuth = Annotated[Auth, Depends(get_auth)]


# -- entitlements and feature flags (cookie and bearer requests alike) ---------------


def require(
    *,
    permission: str | tuple[str, ...] = (),
    role: str | tuple[str, ...] = (),
    entitlement: str | tuple[str, ...] = (),
    feature_flag: str | tuple[str, ...] = (),
    login_path: str = DEFAULT_LOGIN_PATH,
) -> Callable[[Request], Auth]:
    """Dependency factory over every kind of claim, e.g.
    ``Depends(require(permission="widgets:write", entitlement="pro-plan"))``: every
    permission, any one role, every entitlement, every feature flag (else 403)."""
    return requires(
        permission,
        role,
        login_path=login_path,
        entitlements=entitlement,
        feature_flags=feature_flag,
    )


def require_entitlement(
    *entitlements: str, login_path: str = DEFAULT_LOGIN_PATH
) -> Callable[[Request], Auth]:
    """Dependency factory: signed in and the organisation has every one of ``entitlements``."""
    if not entitlements:
        raise ValueError("require_entitlement() needs at least one entitlement")
    return requires(login_path=login_path, entitlements=entitlements)


def require_feature_flag(
    *flags: str, login_path: str = DEFAULT_LOGIN_PATH
) -> Callable[[Request], Auth]:
    """Dependency factory: signed in and every one of the feature ``flags`` is on."""
    if not flags:
        raise ValueError("require_feature_flag() needs at least one feature flag")
    return requires(login_path=login_path, feature_flags=flags)
