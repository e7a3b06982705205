"""Sign a test client in without the browser flow, and move its session through time.

The session is real: the emulator mints it (``Emulator.issue_session``), the
middleware's own sealer seals it in the middleware's own payload shape, and the
middleware verifies it with the emulator's JWKS exactly as it would after a sign-in.
So refresh, expiry, revocation and the protection rules all behave as in production.

Everything takes the app *or* the middleware *or* the ``AuthKitConfig`` (``target``)
and the emulator (an ``Emulator`` or the ``EmulatorServer`` the ``authkit_emulator``
fixture yields). Users, organisations and memberships that do not exist yet are
created on the fly, with the role and permissions asked for.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import TYPE_CHECKING, Any

from authkit_middleware.core.auth import Auth, User
from authkit_middleware.core.config import AuthKitConfig
from authkit_middleware.core.seal import Sealer
from authkit_middleware.core.session import TokenResponse, encode_session
from authkit_middleware.core.tokens import claims_to_auth_fields

if TYPE_CHECKING:
    from typing import TypeAlias

    from authkit_middleware.asgi import AuthKitMiddleware
    from authkit_middleware.emulator.emulator import Emulator
    from authkit_middleware.emulator.server import EmulatorServer
    from authkit_middleware.wsgi import AuthKitWSGIMiddleware

    Middleware: TypeAlias = AuthKitMiddleware | AuthKitWSGIMiddleware
    EmulatorLike: TypeAlias = Emulator | EmulatorServer

__all__ = [
    "ShiftedClock",
    "SignIn",
    "SignedInSession",
    "advance_clock",
    "clear_session_cookie",
    "expire_session",
    "find_middleware",
    "mint_session",
    "resolve_config",
    "revoke_session",
    "session_cookie",
    "set_session_cookie",
    "sign_in",
]

#: Attributes followed (breadth first) to find the middleware inside an app or a
#: test client: ASGI/WSGI wrappers (``app``), Starlette/FastAPI (``middleware_stack``),
#: Flask (``wsgi_app``), werkzeug and Flask test clients (``application``), httpx
#: clients (``_transport`` then ``app``).
_LINKS = ("middleware_stack", "app", "wsgi_app", "application", "_transport", "handler", "_app")
_MAX_VISITS = 64


@dataclass(frozen=True, slots=True)
class SignedInSession:
    """What :func:`sign_in` / :func:`mint_session` produced. Tokens stay out of ``repr``."""

    cookie_name: str
    cookie_value: str = field(repr=False)
    session_id: str
    user: User
    organization_id: str | None
    #: The ``Auth`` the middleware will attach to requests carrying this cookie.
    auth: Auth = field(repr=False)
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)

    @property
    def cookie(self) -> tuple[str, str]:
        """``(name, value)`` of the session cookie."""
        return self.cookie_name, self.cookie_value

    @property
    def cookie_header(self) -> str:
        """``name=value``, for a raw ``Cookie`` request header."""
        return f"{self.cookie_name}={self.cookie_value}"


# ---------------------------------------------------------------------- lookups


def _is_middleware(obj: Any) -> bool:
    from authkit_middleware.asgi import AuthKitMiddleware
    from authkit_middleware.wsgi import AuthKitWSGIMiddleware

    return isinstance(obj, (AuthKitMiddleware, AuthKitWSGIMiddleware))


def find_middleware(target: Any) -> Middleware:
    """The ``AuthKitMiddleware``/``AuthKitWSGIMiddleware`` in ``target``: the middleware
    itself, an app wrapping it (Starlette/FastAPI ``add_middleware``, Flask
    ``app.wsgi_app = ...``, any ``.app`` chain) or a test client of such an app.

    A Starlette app builds its middleware stack here if no request has done it yet
    (what its first request would do). Raises ``LookupError`` when there is none.
    """
    queue: deque[Any] = deque([target])
    seen: set[int] = set()
    while queue and len(seen) < _MAX_VISITS:
        obj = queue.popleft()
        if obj is None or id(obj) in seen:
            continue
        seen.add(id(obj))
        if _is_middleware(obj):
            return obj  # type: ignore[no-any-return]
        if getattr(obj, "middleware_stack", False) is None and hasattr(
            obj, "build_middleware_stack"
        ):
            obj.middleware_stack = obj.build_middleware_stack()
        for name in _LINKS:
            try:
                linked = getattr(obj, name, None)
            except Exception:  # noqa: S112 - a property that fails is just not a link
                continue
            if linked is not None and not isinstance(linked, (str, bytes, int, float)):
                queue.append(linked)
    raise LookupError(
        f"no AuthKitMiddleware or AuthKitWSGIMiddleware found in {type(target).__name__}; "
        "pass the middleware (or its AuthKitConfig) explicitly"
    )


def resolve_config(target: Any) -> AuthKitConfig:
    """The ``AuthKitConfig`` of ``target`` (a config, a middleware, an app, a client)."""
    if isinstance(target, AuthKitConfig):
        return target
    config = find_middleware(target).config
    return config


def _sealer(target: Any, config: AuthKitConfig) -> Sealer:
    if not isinstance(target, AuthKitConfig):
        try:
            return find_middleware(target).kit.sealer
        except LookupError:
            pass
    return Sealer(config.cookie_passwords, format=config.seal_format)


def _emulator(emulator: EmulatorLike) -> Emulator:
    """An ``Emulator`` from itself or from the ``EmulatorServer`` serving it."""
    inner = getattr(emulator, "emulator", None)
    return inner if inner is not None else emulator  # type: ignore[return-value]


def _check_same_environment(config: AuthKitConfig, emulator: Emulator) -> None:
    base = emulator.base_url
    if base is not None and config.base_url.rstrip("/") != base.rstrip("/"):
        raise ValueError(
            f"the app talks to {config.base_url}, not to this emulator ({base}); build the "
            "app after setting WORKOS_BASE_URL (the authkit_configured fixture does), or "
            "pass base_url=server.base_url"
        )
    if config.client_id != emulator.client_id:
        raise ValueError(
            f"the app's client id {config.client_id!r} is not the emulator's "
            f"{emulator.client_id!r}; use server.client_id (or the authkit_configured fixture)"
        )


# ---------------------------------------------------------------------- the emulator side


def _ensure_identity(
    emulator: Emulator,
    user: str,
    organization: str | None,
    role: str | None,
    permissions: Sequence[str] | None,
) -> tuple[str, str | None]:
    """Create the user, the organisation and the membership when missing; make an
    existing membership carry the role and permissions asked for. Returns ids."""
    if isinstance(permissions, str):
        permissions = (permissions,)
    found = emulator.get_user(user)
    if found is None:
        if "@" not in user:
            raise LookupError(f"no emulator user {user!r}; pass an email to create one")
        found = emulator.add_user(user)
    user_id = str(found["id"])
    if organization is None:
        if role is not None or permissions is not None:
            raise ValueError(
                "role and permissions belong to an organization membership; pass "
                "organization= (an organization id or name, created when missing)"
            )
        return user_id, None
    org = emulator.get_organization(organization)
    if org is None:
        org_id = organization if organization.startswith("org_") else None
        org = emulator.add_organization(organization, id=org_id)
    org_id = str(org["id"])
    store = emulator.store
    with store.lock:
        existing = [
            m
            for m in store.memberships_of(user_id, active_only=False)
            if m.organization_id == org_id
        ]
        if existing:
            membership = existing[0]
            membership.status = "active"
            if role is not None:
                membership.role = role
                membership.roles = (role,)
            if permissions is not None:
                membership.permissions = tuple(permissions)
            return user_id, org_id
    emulator.add_membership(user_id, org_id, role or "member", permissions=tuple(permissions or ()))
    return user_id, org_id


def _issue(
    emulator: Emulator,
    user_id: str,
    org_id: str | None,
    impersonator: str | None,
    expired_for: float | None,
) -> dict[str, Any]:
    if expired_for is None:
        return emulator.issue_session(user_id, org_id, impersonator)
    # Mint it "in the past": its access token expired ``expired_for`` seconds ago,
    # its refresh token still works, so the next request refreshes.
    service = emulator.service
    real = service.clock
    back = emulator.config.access_token_ttl + expired_for
    service.clock = lambda: real() - back
    try:
        return emulator.issue_session(user_id, org_id, impersonator)
    finally:
        service.clock = real


def _unverified_claims(token: str) -> dict[str, Any]:
    import jwt

    claims = jwt.decode(token, options={"verify_signature": False})
    return dict(claims)


# ---------------------------------------------------------------------- sessions


def mint_session(
    target: Any,
    emulator: EmulatorLike,
    user: str = "alice@example.com",
    *,
    organization: str | None = None,
    role: str | None = None,
    permissions: Sequence[str] | None = None,
    impersonator: str | None = None,
    expired: bool = False,
) -> SignedInSession:
    """A real session for ``user``, sealed as ``target``'s middleware seals its cookie.

    :param target: the app, the middleware, a test client of the app, or its
        ``AuthKitConfig``.
    :param emulator: the ``Emulator`` (or ``EmulatorServer``) the app talks to.
    :param user: an email (created when missing) or a user id.
    :param organization: an organisation id or name (created when missing); the
        session is scoped to it and the user becomes a member when needed.
    :param role: the membership's role (default ``"member"`` for a new membership;
        an existing membership keeps its role unless this is given).
    :param permissions: the membership's permissions (same rule as ``role``).
    :param impersonator: an email: the session is an impersonation by that person.
    :param expired: mint an access token that has already expired, so the next
        request refreshes the session.
    """
    config = resolve_config(target)
    emu = _emulator(emulator)
    _check_same_environment(config, emu)
    user_id, org_id = _ensure_identity(emu, user, organization, role, permissions)
    # Expired beyond the middleware's leeway, or it would still accept the token.
    expired_for = config.jwt_leeway + 60 if expired else None
    data = _issue(emu, user_id, org_id, impersonator, expired_for)
    tokens = TokenResponse.from_dict(data)
    session = tokens.to_session()
    payload = encode_session(session, camel=config.seal_format == "iron")
    value = _sealer(target, config).seal(payload, purpose="session")
    claims = _unverified_claims(tokens.access_token)
    fields = claims_to_auth_fields(claims)
    if session.impersonator is not None:
        fields["impersonator"] = session.impersonator
    auth = Auth(
        user=session.user,
        access_token=tokens.access_token,
        claims=claims,
        source="cookie",
        **fields,
    )
    return SignedInSession(
        cookie_name=config.cookie_name,
        cookie_value=value,
        session_id=str(claims.get("sid", "")),
        user=session.user,
        organization_id=auth.organization_id,
        auth=auth,
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
    )


def session_cookie(
    target: Any,
    emulator: EmulatorLike,
    user: str = "alice@example.com",
    **who: Any,
) -> tuple[str, str]:
    """``(cookie_name, value)`` of a fresh session (see :func:`mint_session`)."""
    return mint_session(target, emulator, user, **who).cookie


# ---------------------------------------------------------------------- test clients


def set_session_cookie(client: Any, name: str, value: str) -> None:
    """Put a cookie in a test client's jar: Starlette/FastAPI ``TestClient`` and any
    httpx client, Flask's (werkzeug's) test client, Django's test client."""
    cookies = getattr(client, "cookies", None)
    if isinstance(cookies, SimpleCookie):  # Django
        cookies[name] = value
        return
    if cookies is not None and hasattr(cookies, "jar") and hasattr(cookies, "set"):  # httpx
        cookies.delete(name)
        cookies.set(name, value, domain=_jar_domain(client))
        return
    if hasattr(client, "set_cookie"):  # werkzeug / Flask
        client.set_cookie(name, value)
        return
    raise TypeError(
        f"do not know how to set a cookie on {type(client).__name__}; use "
        "session_cookie() and send the Cookie header yourself"
    )


def _jar_domain(client: Any) -> str:
    """The domain the client's cookie jar files the server's host-only cookies
    under (``http.cookiejar`` appends ``.local`` to dotless hosts such as
    ``testserver``), so the middleware's refreshed cookie replaces ours."""
    base_url = getattr(client, "base_url", None)
    host = str(getattr(base_url, "host", "") or "")
    if not host:
        return ""
    return host if "." in host else host + ".local"


def clear_session_cookie(client: Any, name: str = "wos-session") -> None:
    """Remove a cookie from a test client's jar (and Django's ``authkit`` default)."""
    cookies = getattr(client, "cookies", None)
    if isinstance(cookies, SimpleCookie):
        cookies.pop(name, None)
        getattr(client, "defaults", {}).pop("authkit", None)
        return
    if cookies is not None and hasattr(cookies, "jar") and hasattr(cookies, "delete"):
        cookies.delete(name)
        return
    if hasattr(client, "delete_cookie"):
        client.delete_cookie(name)
        return
    raise TypeError(f"do not know how to clear a cookie on {type(client).__name__}")


def _is_django_client(client: Any) -> bool:
    return isinstance(getattr(client, "cookies", None), SimpleCookie) and hasattr(
        client, "defaults"
    )


def _target_for(client: Any, target: Any) -> Any:
    """``target`` or, when None, the middleware found in the client, else the
    configuration from the environment (Django's test client holds no middleware)."""
    if target is not None:
        return target
    try:
        return find_middleware(client)
    except LookupError:
        return AuthKitConfig.from_env()


def sign_in(
    client: Any,
    target: Any,
    emulator: EmulatorLike,
    user: str = "alice@example.com",
    **who: Any,
) -> SignedInSession:
    """Sign ``client`` in as ``user`` in one line: mint, seal and set the cookie.

    ``target`` is the app, the middleware or its config (None: found through the
    client, e.g. ``TestClient(app)``, else read from the environment). ``who`` takes
    :func:`mint_session`'s keywords (``organization``, ``role``, ``permissions``,
    ``impersonator``, ``expired``).

    Django's test client calls Django directly, without the WSGI/ASGI entry point the
    middleware wraps, so for it the request's ``Auth`` is also put in
    ``client.defaults["authkit"]`` (what ``get_auth(request)`` reads); path rules,
    refresh and the auth routes need a client of the wrapped application.
    """
    session = mint_session(_target_for(client, target), emulator, user, **who)
    set_session_cookie(client, session.cookie_name, session.cookie_value)
    if _is_django_client(client):
        client.defaults["authkit"] = session.auth
    return session


# ---------------------------------------------------------------------- time and revocation


class ShiftedClock:
    """A clock ``offset`` seconds ahead of ``base`` (``time.time`` by default)."""

    def __init__(self, base: Callable[[], float] = time.time, offset: float = 0.0) -> None:
        self.base = base
        self.offset = offset

    def __call__(self) -> float:
        return self.base() + self.offset

    def __repr__(self) -> str:
        return f"ShiftedClock(offset={self.offset})"


def _shift(holder: Any, attr: str, seconds: float, clock: ShiftedClock | None) -> ShiftedClock:
    current = getattr(holder, attr)
    if clock is None:
        clock = current if isinstance(current, ShiftedClock) else ShiftedClock(current)
        clock.offset += seconds
    setattr(holder, attr, clock)
    return clock


def advance_clock(target: Any, seconds: float, emulator: EmulatorLike | None = None) -> None:
    """Move the middleware's clock (and the emulator's, when given) ``seconds`` ahead.

    Moving both keeps them in step: the emulator then mints tokens that are valid at
    the middleware's new "now", so a refresh after the jump succeeds. Moving only the
    middleware makes every token the emulator mints look expired.
    """
    if not isinstance(target, AuthKitConfig):
        _shift(find_middleware(target).kit, "clock", seconds, None)
    else:
        raise TypeError("advance_clock needs the app or the middleware, not its config")
    if emulator is not None:
        emu = _emulator(emulator)
        clock = _shift(emu.service, "clock", seconds, None)
        emu.clock = clock


def expire_session(target: Any, emulator: EmulatorLike) -> None:
    """Make every current access token expire: the middleware's and the emulator's
    clocks jump one token lifetime plus the middleware's ``jwt_leeway`` ahead, so the
    next request refreshes its session, or signs out when the session was revoked."""
    leeway = find_middleware(target).config.jwt_leeway
    advance_clock(target, _emulator(emulator).config.access_token_ttl + leeway + 1, emulator)


def revoke_session(emulator: EmulatorLike, session: SignedInSession | str) -> bool:
    """End the session at the emulator (as a sign-out elsewhere or an admin would).

    Its access token stays valid until it expires (no introspection per request);
    the next refresh is refused and the request is signed out. Combine with
    :func:`expire_session` to see that now.
    """
    session_id = session if isinstance(session, str) else session.session_id
    return _emulator(emulator).revoke_session(session_id)


class SignIn:
    """What the ``authkit_sign_in`` fixture is: :func:`sign_in` bound to an emulator.

    ``authkit_sign_in(client, app, user="alice@example.com", organization="Acme Inc",
    role="admin", permissions=["widgets:write"])``; ``app`` may be omitted when the
    client holds it (``TestClient(app)``, ``flask_app.test_client()``).
    """

    def __init__(self, emulator: EmulatorLike) -> None:
        self.emulator = emulator

    def __call__(
        self, client: Any, target: Any = None, user: str = "alice@example.com", **who: Any
    ) -> SignedInSession:
        return sign_in(client, target, self.emulator, user, **who)

    def cookie(self, target: Any, user: str = "alice@example.com", **who: Any) -> tuple[str, str]:
        """``(name, value)`` without a client."""
        return session_cookie(target, self.emulator, user, **who)

    def expire(self, target: Any) -> None:
        """See :func:`expire_session`."""
        expire_session(target, self.emulator)

    def revoke(self, session: SignedInSession | str) -> bool:
        """See :func:`revoke_session`."""
        return revoke_session(self.emulator, session)
