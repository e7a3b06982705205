"""Sign a test client in without the browser flow, and move its session through time.

The session is real: the emulator mints it (``Emulator.issue_session``), the
middleware's own sealer seals it in the middleware's own payload shape, and the
middleware verifies it with the emulator's JWKS exactly as it would after a sign-in.
So refresh, expiry, revocation and the protection rules all behave as in production.

Everything takes the app *or* the middleware *or* the ``AuthKitConfig`` (``target``)
and the emulator: an ``Emulator``, the ``EmulatorServer`` the ``authkit_emulator``
fixture yields, or a :class:`RemoteEmulator`, the control API of an emulator running
in another process (``authkit-middleware emulator``, a docker-compose service). Users,
organisations and memberships that do not exist yet are created on the fly, with the
role and permissions asked for.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from authkit_middleware.core.auth import Auth, User
from authkit_middleware.core.config import AuthKitConfig
from authkit_middleware.core.seal import Sealer
from authkit_middleware.core.session import TokenResponse, encode_session
from authkit_middleware.core.tokens import claims_to_auth_fields

if TYPE_CHECKING:
    from typing import TypeAlias

    import httpx

    from authkit_middleware.asgi import AuthKitMiddleware
    from authkit_middleware.emulator.emulator import Emulator
    from authkit_middleware.emulator.server import EmulatorServer
    from authkit_middleware.wsgi import AuthKitWSGIMiddleware

    Middleware: TypeAlias = AuthKitMiddleware | AuthKitWSGIMiddleware
    EmulatorLike: TypeAlias = "Emulator | EmulatorServer | RemoteEmulator"

__all__ = [
    "RemoteEmulator",
    "RemoteEmulatorError",
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


def _emulator(emulator: EmulatorLike) -> Emulator | RemoteEmulator:
    """An ``Emulator`` from itself or from the ``EmulatorServer`` serving it; a
    ``RemoteEmulator`` as it is."""
    if isinstance(emulator, RemoteEmulator):
        return emulator
    if isinstance(emulator, str):
        raise TypeError(
            f"pass RemoteEmulator({emulator!r}) (with the emulator's api_key) for an "
            "emulator running in another process, not its URL"
        )
    inner = getattr(emulator, "emulator", None)
    return inner if inner is not None else emulator  # type: ignore[return-value]


def _check_same_environment(config: AuthKitConfig, emulator: Emulator | RemoteEmulator) -> None:
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
    emulator: Emulator | RemoteEmulator,
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
    if isinstance(emulator, RemoteEmulator):
        emulator.ensure_membership(user_id, org_id, role, permissions)
    else:
        from authkit_middleware.emulator.control import ensure_membership

        ensure_membership(emulator, user_id, org_id, role, permissions)
    return user_id, org_id


def _issue(
    emulator: Emulator | RemoteEmulator,
    user_id: str,
    org_id: str | None,
    impersonator: str | None,
    expired_for: float | None,
) -> dict[str, Any]:
    if isinstance(emulator, RemoteEmulator):
        return emulator.issue_session(user_id, org_id, impersonator, expired_for=expired_for)
    if expired_for is None:
        return emulator.issue_session(user_id, org_id, impersonator)
    # Mint it "in the past": its access token expired ``expired_for`` seconds ago,
    # its refresh token still works, so the next request refreshes.
    from authkit_middleware.emulator.control import issue_expired_session

    return issue_expired_session(emulator, user_id, org_id, impersonator, expired_for=expired_for)


def _app_now(target: Any) -> float:
    """The middleware's "now" (its clock may have been moved), else the real time."""
    if not isinstance(target, AuthKitConfig):
        try:
            return float(find_middleware(target).kit.clock())
        except LookupError:
            pass
    return time.time()


def _check_clocks(
    target: Any, config: AuthKitConfig, claims: Mapping[str, Any], expired_for: float | None
) -> None:
    """A remote emulator outlives a test: a clock an earlier test moved ahead (with
    ``advance_clock``/``expire_session``) mints tokens the app sees as not valid yet."""
    issued, expires = claims.get("iat"), claims.get("exp")
    if not isinstance(issued, (int, float)) or not isinstance(expires, (int, float)):
        return
    # The emulator's "now" when it minted: a backdated session expired ``expired_for`` ago.
    minted_at = float(issued) if expired_for is None else float(expires) + expired_for
    ahead = minted_at - _app_now(target)
    if ahead > config.jwt_leeway:
        raise ValueError(
            f"the emulator's clock runs {ahead:.0f} s ahead of the app's, so the app would "
            "refuse its tokens as not valid yet (an earlier advance_clock/expire_session "
            "moved it?): call remote.reset() or remote.set_clock_offset(0) between tests"
        )


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
    :param emulator: the ``Emulator``, ``EmulatorServer`` or ``RemoteEmulator`` the
        app talks to.
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
    if isinstance(emu, RemoteEmulator):
        _check_clocks(target, config, claims, expired_for)
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

    A ``RemoteEmulator``'s clock moves through its control API (``POST
    /_emulator/clock``) and stays moved after the test: ``remote.reset()`` (or
    ``remote.set_clock_offset(0)``) puts it back.
    """
    if isinstance(target, AuthKitConfig):
        raise TypeError("advance_clock needs the app or the middleware, not its config")
    middleware = find_middleware(target)
    if emulator is not None:  # first: if the emulator cannot be reached, nothing moved
        emu = _emulator(emulator)
        if isinstance(emu, RemoteEmulator):
            emu.advance_clock(seconds)
        else:
            clock = _shift(emu.service, "clock", seconds, None)
            emu.clock = clock
    _shift(middleware.kit, "clock", seconds, None)


def expire_session(target: Any, emulator: EmulatorLike) -> None:
    """Make every current access token expire: the middleware's and the emulator's
    clocks jump one token lifetime plus the middleware's ``jwt_leeway`` ahead, so the
    next request refreshes its session, or signs out when the session was revoked."""
    leeway = find_middleware(target).config.jwt_leeway
    emu = _emulator(emulator)
    ttl = emu.access_token_ttl if isinstance(emu, RemoteEmulator) else emu.config.access_token_ttl
    advance_clock(target, ttl + leeway + 1, emulator)


def revoke_session(emulator: EmulatorLike, session: SignedInSession | str) -> bool:
    """End the session at the emulator (as a sign-out elsewhere or an admin would).

    Its access token stays valid until it expires (no introspection per request);
    the next refresh is refused and the request is signed out. Combine with
    :func:`expire_session` to see that now. False when the emulator has no such
    session.
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


# ---------------------------------------------------------------------- a remote emulator


class RemoteEmulatorError(RuntimeError):
    """The remote emulator could not be reached, is not an emulator, or refused a call.

    ``status`` (None when no HTTP answer came), ``code`` and ``message`` are those of
    the control API's answer when there was one.
    """

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


#: Hosts ``RemoteEmulator`` refuses: its calls mint sessions and move clocks, which only
#: an emulator may be asked to do (WorkOS has no ``/_emulator`` anyway).
_WORKOS_DOMAIN = "workos.com"
_CONTROL = "/_emulator"


class RemoteEmulator:
    """The control API of an emulator running in another process, for the helpers.

    ``RemoteEmulator("http://127.0.0.1:8484")`` (or ``RemoteEmulator.from_env()``)
    goes wherever an emulator is accepted: ``sign_in``, ``mint_session``,
    ``expire_session``, ``advance_clock``, ``revoke_session``, ``SignIn`` and, by
    overriding the ``authkit_emulator`` fixture, ``authkit_configured`` and
    ``authkit_sign_in``. It speaks HTTP to ``<base_url>/_emulator`` (Bearer
    ``api_key``, default the emulator's default ``sk_test_emulator``), with short
    timeouts and without proxies from the environment. Nothing is sent until the
    first call, which checks that ``base_url`` serves an emulator's control API.

    Unlike a fresh in-process emulator, a remote one outlives each test: call
    :meth:`reset` between tests (seed data, no sessions, failures cleared, real
    time). The app under test still runs in the test process (the helpers seal its
    cookie and move its clock); only the emulator is remote.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: float = 5.0,
        connect_timeout: float = 2.0,
    ) -> None:
        from authkit_middleware.emulator.config import DEFAULT_API_KEY

        self.base_url = _emulator_url(base_url)
        self.api_key = api_key or DEFAULT_API_KEY
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self._client: httpx.Client | None = None
        self._state: dict[str, Any] | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **options: Any) -> RemoteEmulator:
        """From ``WORKOS_BASE_URL`` and ``WORKOS_API_KEY`` (what the app reads too)."""
        env = os.environ if environ is None else environ
        base_url = env.get("WORKOS_BASE_URL")
        if not base_url:
            raise ValueError("WORKOS_BASE_URL is not set: where does the emulator run?")
        return cls(base_url, env.get("WORKOS_API_KEY"), **options)

    # ---------------------------------------------------------------- identity

    @property
    def client_id(self) -> str:
        """The client id the emulator accepts (read once from ``GET /_emulator``)."""
        return str(self._probe()["client_id"])

    def env(self) -> dict[str, str]:
        """The ``WORKOS_*`` an app needs to use this emulator (``configure_environment``)."""
        return {
            "WORKOS_BASE_URL": self.base_url,
            "WORKOS_API_KEY": self.api_key,
            "WORKOS_CLIENT_ID": self.client_id,
        }

    def describe(self) -> dict[str, Any]:
        """``GET /_emulator``: client id, issuer, settings, counts, users."""
        return self._dict(self._call("GET", ""))

    @property
    def access_token_ttl(self) -> int:
        """Lifetime of the access tokens it mints now (read at each use)."""
        return int(self.describe()["config"]["access_token_ttl"])

    # ---------------------------------------------------------------- data

    def get_user(self, ref: str) -> dict[str, Any] | None:
        """A user object by id or email (None when unknown)."""
        return self._optional(self._call("GET", "/users/" + _segment(ref), missing_ok=True))

    def add_user(
        self,
        email: str,
        password: str | None = "password",
        first_name: str | None = None,
        last_name: str | None = None,
        *,
        id: str | None = None,
    ) -> dict[str, Any]:
        """Add a user; returns the API user object."""
        body = {
            "email": email,
            "password": password,
            "first_name": first_name,
            "last_name": last_name,
            "id": id,
        }
        return self._dict(self._call("POST", "/users", body))

    def get_organization(self, ref: str) -> dict[str, Any] | None:
        """An organisation object by id or name (None when unknown)."""
        found = self._call("GET", "/organizations/" + _segment(ref), missing_ok=True)
        return self._optional(found)

    def add_organization(self, name: str, *, id: str | None = None) -> dict[str, Any]:
        """Add an organisation; returns the API organisation object."""
        return self._dict(self._call("POST", "/organizations", {"name": name, "id": id}))

    def ensure_membership(
        self,
        user: str,
        organization: str,
        role: str | None = None,
        permissions: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        """Make ``user`` an active member of ``organization``; an existing membership
        takes ``role``/``permissions`` only when given (``PUT /_emulator/memberships``)."""
        body: dict[str, Any] = {"user": user, "organization": organization, "role": role}
        if permissions is not None:
            body["permissions"] = list(permissions)
        return self._dict(self._call("PUT", "/memberships", body))

    # ---------------------------------------------------------------- sessions

    def issue_session(
        self,
        user: str,
        organization_id: str | None = None,
        impersonator: str | None = None,
        *,
        expired_for: float | None = None,
    ) -> dict[str, Any]:
        """Mint a real session (what ``POST /user_management/authenticate`` returns);
        ``expired_for``: its access token expired that many seconds ago."""
        body = {
            "user": user,
            "organization_id": organization_id,
            "impersonator": impersonator,
            "expired_for": expired_for,
        }
        return self._dict(self._call("POST", "/sessions", body))

    def revoke_session(self, session_id: str) -> bool:
        """End a session (its refresh tokens stop working). False when unknown."""
        path = f"/sessions/{_segment(session_id)}/revoke"
        return self._call("POST", path, {}, missing_ok=True) is not None

    def count(self, what: str | None = None, *, status: int | None = None) -> int:
        """How many requests it served: ``count("refresh_token")`` (a grant type) or
        ``count("/user_management/authenticate")`` (a path), as ``Emulator.count``."""
        params: dict[str, str] = {}
        if what is not None:
            params["path" if what.startswith("/") else "grant_type"] = what
        if status is not None:
            params["status"] = str(status)
        return int(self._dict(self._call("GET", "/requests", params=params))["count"])

    # ---------------------------------------------------------------- time and lifecycle

    def clock_offset(self) -> float:
        """How many seconds ahead of real time the emulator's clock runs."""
        return float(self._dict(self._call("GET", "/clock"))["offset"])

    def advance_clock(self, seconds: float) -> float:
        """Move the emulator's clock ``seconds`` ahead; returns the new offset.
        :func:`advance_clock` and :func:`expire_session` call this."""
        return float(self._dict(self._call("POST", "/clock", {"advance": seconds}))["offset"])

    def set_clock_offset(self, seconds: float) -> None:
        """Run the emulator's clock ``seconds`` ahead of real time (0: real time)."""
        self._call("POST", "/clock", {"offset": seconds})

    def reset(self) -> None:
        """Back to the seed: data, sessions, failures, journal, settings, real time."""
        self._call("POST", "/reset", {})

    def close(self) -> None:
        """Close the HTTP connections (the emulator keeps running)."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> RemoteEmulator:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RemoteEmulator(base_url={self.base_url!r})"

    # ---------------------------------------------------------------- HTTP

    def _http(self) -> httpx.Client:
        if self._client is None:
            import httpx

            self._client = httpx.Client(
                timeout=httpx.Timeout(self.timeout, connect=self.connect_timeout),
                headers={"Authorization": f"Bearer {self.api_key}"},
                follow_redirects=False,
                trust_env=False,  # no proxy from the environment sees the API key
            )
        return self._client

    def _probe(self) -> dict[str, Any]:
        """``GET /_emulator`` once: is there an emulator's control API at ``base_url``?"""
        if self._state is None:
            self._state = self._dict(self._call("GET", "", probe=True))
        return self._state

    def _call(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        params: Mapping[str, str] | None = None,
        missing_ok: bool = False,
        probe: bool = False,
    ) -> Any:
        import httpx

        if not probe:
            self._probe()
        url = self.base_url + _CONTROL + path
        what = f"{method} {_CONTROL}{path}"
        try:
            response = self._http().request(method, url, json=body, params=params)
        except httpx.TimeoutException:
            raise RemoteEmulatorError(
                f"the emulator at {self.base_url} did not answer {what} within {self.timeout:g} s"
            ) from None
        except httpx.HTTPError as exc:
            raise RemoteEmulatorError(
                f"cannot reach the emulator at {self.base_url} ({type(exc).__name__}: {exc}): "
                "is `authkit-middleware emulator` running there?"
            ) from None
        status = response.status_code
        answer = _json_or_none(response)
        fields = answer if isinstance(answer, dict) else {}
        code = fields.get("code")
        code = code if isinstance(code, str) else None
        message = fields.get("message") or fields.get("error_description") or ""
        if probe and not (
            status == 200 and isinstance(answer, dict) and {"client_id", "kids"} <= answer.keys()
        ):
            if status == 401 and fields.get("message") == "Unauthorized":
                raise RemoteEmulatorError(
                    f"the emulator at {self.base_url} refused the API key (HTTP 401): pass "
                    "RemoteEmulator(url, api_key=...) with its WORKOS_API_KEY",
                    status=status,
                )
            raise RemoteEmulatorError(
                f"no emulator control API at {url} (HTTP {status}): is it an "
                "authkit-middleware emulator?",
                status=status,
            )
        if status == 200 and answer is not None:
            return answer
        if missing_ok and status == 404 and code == "not_found":
            return None
        if status == 404 and code == "emulator_not_implemented":
            raise RemoteEmulatorError(
                f"the emulator at {self.base_url} has no control endpoint {what}: it runs an "
                "older authkit-middleware than these helpers; upgrade it",
                status=status,
                code=code,
            )
        if answer is None:
            raise RemoteEmulatorError(
                f"{what} at {self.base_url}: HTTP {status} without a JSON body "
                "(is it an authkit-middleware emulator?)",
                status=status,
            )
        label = f" {code}" if code else ""
        raise RemoteEmulatorError(
            f"{what} at {self.base_url}: HTTP {status}{label}: {message or answer}",
            status=status,
            code=code,
        )

    @staticmethod
    def _dict(value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise RemoteEmulatorError(
                f"the emulator answered {type(value).__name__}, not an object"
            )
        return value

    @classmethod
    def _optional(cls, value: Any) -> dict[str, Any] | None:
        return None if value is None else cls._dict(value)


def _emulator_url(base_url: str) -> str:
    """``base_url`` checked: absolute http(s), no credentials, query or fragment, and
    not WorkOS itself."""
    if not isinstance(base_url, str):
        raise TypeError(f"base_url must be a URL string, not {type(base_url).__name__}")
    parts = urlsplit(base_url.strip())
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise ValueError(f"not a valid emulator URL: {base_url!r}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"the emulator URL must be http(s)://host[:port], not {base_url!r}")
    if "@" in parts.netloc or parts.query or parts.fragment:
        raise ValueError("the emulator URL takes no credentials, query or fragment (pass api_key=)")
    host = parts.hostname.lower().rstrip(".")
    if host == _WORKOS_DOMAIN or host.endswith("." + _WORKOS_DOMAIN):
        raise ValueError(
            f"{base_url} is WorkOS itself: RemoteEmulator only talks to an "
            "authkit-middleware emulator (authkit-middleware emulator)"
        )
    return f"{parts.scheme}://{parts.netloc}{parts.path}".rstrip("/")


def _segment(value: str) -> str:
    """One URL path segment (emails, names with spaces or slashes)."""
    return quote(value, safe="")


def _json_or_none(response: httpx.Response) -> Any:
    """The JSON body, or None when there is none (an HTML 404, a proxy's page...)."""
    if "json" not in response.headers.get("content-type", ""):
        return None
    try:
        return response.json()
    except ValueError:
        return None
