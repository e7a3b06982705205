"""The request pipeline, written once, as generators over effects.

``AuthKit`` holds everything that lives as long as the app: the validated config, the
sealer, the JWKS cache, the cache of verified sessions and the refresh grace cache.
``handle(request, now, urls)`` is one generator per request: it routes the auth
endpoints, authenticates the session cookie (refreshing when needed), applies the
protection rules, and ends with a ``Decision``: either a complete ``Response`` or
``Continue`` (call the app with this ``Auth``, then add these cookies). Drivers run
it, performing the effects it yields; adapters translate the decision.

The hot path never enters the generator: ``fast(request, now)`` answers a request
whose exact session cookie was verified before, with one dict lookup.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, cast
from urllib.parse import quote

from workos.user_management._resource import AsyncUserManagement, UserManagement

from authkit_middleware.core import answers as _answers
from authkit_middleware.core import bearer as _bearer
from authkit_middleware.core import guards as _guards
from authkit_middleware.core import hooks as _hooks
from authkit_middleware.core import organizations as _organizations
from authkit_middleware.core import signin as _signin
from authkit_middleware.core import signout as _signout
from authkit_middleware.core.attestation import TokenAttestor
from authkit_middleware.core.auth import ANONYMOUS, Auth
from authkit_middleware.core.caches import SessionCache, TimedMap, refresh_key
from authkit_middleware.core.config import AuthKitConfig
from authkit_middleware.core.cookies import (
    CookieOptions,
    chunk_cookie,
    delete_cookie_and_chunks,
    get_cookie,
    join_cookie,
    parse_cookie_header,
    session_cookie_options,
    verifier_cookie_options,
)
from authkit_middleware.core.effects import (
    CallHook,
    FetchJWKS,
    RefreshTokens,
    Steps,
)
from authkit_middleware.core.errors import (
    AuthKitError,
    KeySetUnavailableError,
    ProviderError,
    SealError,
    TokenError,
)
from authkit_middleware.core.http import RequestInfo, Response, json_response
from authkit_middleware.core.jwks import JWKSCache
from authkit_middleware.core.lane import (
    UNREADABLE,
    Lane,
    LaneMiss,
    OpenedCookie,
    _Unreadable,
    memo_lane,
    no_lane,
)
from authkit_middleware.core.login_state import is_verifier_cookie_name
from authkit_middleware.core.rules import _MEMO_SIZE, _SIGNED_IN, _UNSEEN, ProtectionRules
from authkit_middleware.core.seal import Sealer, Unsealed
from authkit_middleware.core.session import (
    SessionData,
    TokenResponse,
    decode_session,
    encode_session,
)
from authkit_middleware.core.tokens import (
    TokenParts,
    attested_claims,
    auth_from_claims,
    ensure_user_access_token,
    key_for_token,
    split_token,
    token_kid,
    unverified_claims,
    verify_access_token,
)

logger = logging.getLogger("authkit_middleware")

#: Bearer tokens share the session cache under ``"Bearer " + token``. A cookie value
#: can hold a space ("wos-session=Bearer <token>"), so cookie lookups refuse values
#: with this prefix and bearer lookups use only keys with it: neither credential can
#: ever be answered from the other's cache entries.
_BEARER_KEY = _bearer.BEARER_CACHE_PREFIX

#: The most a remembered Cookie header may carry besides the session cookie's value.
#: One signed-in client could otherwise fill the header memo with copies of its
#: session padded by junk cookies up to the server's header limit (tens of KiB each);
#: a longer header is still answered, by value, just not remembered.
HEADER_MEMO_SLACK = 2048

#: How many Cookie headers without a session cookie are remembered (each at most
#: ``HEADER_MEMO_SLACK`` long: 2 MiB at most), so that signed-out visitors on open
#: paths skip the parse. Emptied when full, refilled by the headers that come back.
ANONYMOUS_HEADER_MEMO = 1024

#: How long a refresh result is remembered for requests still carrying the old cookie.
REFRESH_GRACE_SECONDS = 30.0
#: Bound of the grace, dead-token and ended-session maps (entries, not bytes).
SMALL_CACHE_SIZE = 4096


#: The SDK resource whose two URL builders (pure, no HTTP call) the routes use.
UrlBuilder = UserManagement | AsyncUserManagement


def _mount_suffixes(callback_path: str) -> frozenset[str | None]:
    """Every path that some mount (``root_path``) could make ``callback_path``:
    ``/app/auth/callback`` gives itself, ``/auth/callback`` and ``/callback``."""
    return frozenset(
        callback_path[i:] for i in range(len(callback_path)) if callback_path[i] == "/"
    )


@dataclass(slots=True)
class Continue:
    """Call the app with ``auth``; add ``set_cookies`` to its response."""

    auth: Auth
    set_cookies: list[str] = field(default_factory=list)
    #: Why a cookie-carrying request ended up signed out (``invalid_session``...).
    reason: str | None = None


@dataclass(slots=True)
class Respond:
    """Answer with this response; the app is not called."""

    response: Response


Decision = Continue | Respond


@dataclass(slots=True)
class SessionOutcome:
    """What authenticating the request's credentials produced."""

    auth: Auth
    set_cookies: list[str] = field(default_factory=list)
    #: A transient WorkOS failure left the request without a usable session (→ 503 if needed).
    provider_error: ProviderError | None = None
    reason: str | None = None
    #: An explicit credential (a bearer token) failed: the request ends with a 401/503.
    credential_error: AuthKitError | None = None


#: What ``attempt`` hands to ``handle`` when it could not decide alone.
HeadStart = SessionOutcome | OpenedCookie


class AuthKit:
    """The framework-neutral core of one configured middleware instance."""

    def __init__(
        self,
        config: AuthKitConfig,
        *,
        clock: Callable[[], float] = time.time,
        refresh_grace_seconds: float = REFRESH_GRACE_SECONDS,
    ) -> None:
        self.config = config
        self._clock = clock
        self.sealer = Sealer(config.cookie_passwords, format=config.seal_format)
        self._camel = config.seal_format == "iron"
        self.jwks = JWKSCache(
            ttl=config.jwks_cache_ttl, refetch_cooldown=config.jwks_refetch_cooldown
        )
        self.sessions = SessionCache(config.session_cache_size)
        #: Vouches for the tokens this middleware verified, in the cookies it seals
        #: (core.attestation); None: every new cookie's token is verified with RS256.
        self._attestor = TokenAttestor(config.api_key) if config.token_attestation else None
        #: The session cache's memo by whole Cookie header, read by ``lane``.
        self._header_memo = self.sessions.header_memo
        #: hash(old refresh token, org) -> TokenResponse, for late requests (checklist E3).
        self.refresh_grace = TimedMap(SMALL_CACHE_SIZE)
        self.refresh_grace_seconds = refresh_grace_seconds
        #: hash(refresh token) -> time WorkOS first refused it (two-strike clearing, E4).
        self._dead_refresh = TimedMap(SMALL_CACHE_SIZE)
        #: session ids signed out through this process: their old cookies stay dead.
        self._ended_sessions = TimedMap(SMALL_CACHE_SIZE)
        self.rules = ProtectionRules(
            protected=config.protected_paths,
            public=config.public_paths,
            permission_rules=config.permission_rules,
            role_rules=config.role_rules,
            entitlement_rules=config.entitlement_rules,
            feature_flag_rules=config.feature_flag_rules,
        )
        #: ``rules.requirement``'s memo, read directly by ``lane`` (one call less).
        self._requirements = self.rules.memo
        routes: dict[str, str] = {
            config.login_path: "login",
            config.signup_path: "signup",
            config.callback_path: "callback",
            config.logout_path: "logout",
        }
        if config.session_endpoint:
            routes[config.session_endpoint] = "me"
        if config.switch_organization_path:
            routes[config.switch_organization_path] = "switch_organization"
        self._bearer = config.accept_bearer_tokens
        self._bearer_first = config.credential_precedence == "bearer"
        self.routes = routes
        self._cookie_name = config.cookie_name
        self._chunk_marker = f"{config.cookie_name}.0="
        self._session_options = session_cookie_options(config)
        #: Decided once: debug lines cost one attribute test per request when off.
        self._debug = config.debug
        #: What ``core.lane.memo_lane`` answers from, filled by ``_lane``: the paths
        #: where a remembered session is the whole answer, those open to everyone
        #: (both bounded like the rules' memo; never an auth route, nor a path that a
        #: mount could make the callback's), and Cookie headers holding no session.
        #: Dicts used as sets: ``in`` on a dict runs the lookup code the app keeps hot.
        self._session_paths: dict[str | None, None] = {}
        self._open_paths: dict[str | None, None] = {}
        self._never_memo_paths = _mount_suffixes(config.callback_path)
        self._anonymous_headers: dict[str | bytes, None] = {}
        #: The adapters' entry (``core.lane``): rebuilt when the clock is replaced.
        self.lane: Lane = self._build_lane()
        if config.debug and logger.getEffectiveLevel() > logging.DEBUG:
            logger.setLevel(logging.DEBUG)
        #: Refresh results already announced to ``on_refresh`` (single-flight shares one).
        self._refresh_announced = _hooks.OnceSet(SMALL_CACHE_SIZE)

    @property
    def clock(self) -> Callable[[], float]:
        """Seconds since the epoch (``time.time``); tests put a fake clock here."""
        return self._clock

    @clock.setter
    def clock(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self.lane = self._build_lane()  # its closure holds the clock

    def _build_lane(self) -> Lane:
        if self._debug:
            return no_lane  # debug mode logs every request: the full path
        return memo_lane(
            self._session_paths,
            self._open_paths,
            self._header_memo,
            self._anonymous_headers,
            self._clock,
            ANONYMOUS,
            self._lane,
        )

    def body_limit(self, request: RequestInfo) -> int | None:
        """How many body bytes an adapter must read for this request, or None.

        Only the organisation switch reads a body (a small form or JSON); every other
        request's body is left untouched for the app.
        """
        if request.method == "POST" and self.routes.get(request.path) == "switch_organization":
            return _organizations.MAX_BODY
        return None

    # ------------------------------------------------------------------ refresh grace

    def recent_refresh(self, key: str) -> TokenResponse | None:
        """What refreshing this token (``refresh_key``) gave within the grace window.

        A request still carrying the old cookie adopts the rotation instead of
        replaying a single-use refresh token (checklist E3). Drivers ask before and
        after waiting for an in-flight refresh.
        """
        result: TokenResponse | None = self.refresh_grace.get(key, self._clock())
        return result

    def remember_refresh(self, key: str, tokens: TokenResponse) -> None:
        """Keep a refresh result for the grace window (see :meth:`recent_refresh`)."""
        self.refresh_grace.put(key, tokens, self._clock() + self.refresh_grace_seconds)

    # ------------------------------------------------------------------ hot path

    def fast_auth(
        self,
        path: str,
        root_path: str,
        cookie_header: str | bytes | None,
        now: float | None = None,
    ) -> Auth | None:
        """What the lane answers from memory alone: the ``Auth``, or None.

        The engine's lane (``_lane``) with ``verify=False``: no new cookie is
        verified, nothing is handed over. Called with only the path and the
        ``Cookie`` header (as the server gave it: bytes from ASGI, str from WSGI), it
        answers only the plainest cases, where its answer is the one
        ``fast``/``handle`` would give: not an auth route, no chunked session cookie,
        a path that is open or needs sign-in and nothing more. ``now`` defaults to
        ``self.clock()``, read only when a session is looked up. For tests and
        benchmarks; the adapters call :attr:`lane`.
        """
        found = self._lane(path, root_path, cookie_header, now, verify=False)
        return found if isinstance(found, Auth) else None

    def _lane(
        self,
        path: str | None,
        root_path: str | None,
        cookie_header: str | bytes | None,
        now: float | None = None,
        *,
        verify: bool = True,
    ) -> Auth | LaneMiss | None:
        """``lane`` when a remembered Cookie header alone does not answer
        (``core.lane.memo_lane`` is in front), telling what it found when it misses.

        An ``Auth``: the answer. A ``LaneMiss`` ``(header, value, opened)``: no
        answer here, but the Cookie header was decoded, its session cookie cut out
        and maybe opened; the adapter hands it to :meth:`seen_cookie` so that the
        full path does not do that again (no second parse or unseal, and the value's
        hash is already computed). None: no answer (an auth route, a chunked cookie,
        a bearer-prefixed value, a non-ASCII path...).

        The session cookie is looked up by value (and the header remembered on a
        hit). A value the cache does not hold is verified here when that is plain
        (``_first_sight``; ``verify=False``: memory only). A path where a remembered
        session is the whole answer joins ``_session_paths`` (and ``_open_paths`` if
        open to all), and a header holding no session cookie ``_anonymous_headers``:
        from these ``memo_lane`` answers the next requests alone.
        """
        if not path:
            path = "/"
        if not path.isascii():
            # A WSGI path is latin-1 decoded bytes: not what the rules would see
            # once it is decoded as UTF-8. The full path decodes it first.
            return None
        if self._is_auth_route(path, root_path):
            return None
        requirement = self.rules.requirement(path)
        plain = requirement is None or requirement is _SIGNED_IN
        if plain and path not in self._session_paths:
            self._remember_path(path, open_to_all=requirement is None)
        if cookie_header:
            if now is None:
                now = self._clock()
            memo = self._header_memo.get(cookie_header)
            auth: Auth | None = memo[0] if memo is not None and now < memo[1] else None
            if auth is None:
                sessions = self.sessions
                header = (
                    cookie_header.decode("latin-1")
                    if type(cookie_header) is bytes
                    else cast(str, cookie_header)
                )
                value = get_cookie(header, self._cookie_name)
                if value is None:
                    if self._chunk_marker in header:
                        return None
                    auth = ANONYMOUS
                    self._remember_anonymous(cookie_header)
                elif value.startswith(_BEARER_KEY):
                    return None  # never a bearer entry for a cookie (full path: unseal fails)
                else:
                    entry = sessions.entry(value, now)
                    if entry is not None:
                        auth = entry[0]
                        if len(cookie_header) <= len(value) + HEADER_MEMO_SLACK:
                            sessions.remember_header(cookie_header, value, entry)
                    else:
                        # First sight: verified here when plain, else the full path
                        # (from what was opened, handed over through the LaneMiss).
                        if not verify:
                            return LaneMiss(header, value, None)
                        first = self._first_sight(value, now)
                        if type(first) is not Auth:
                            return LaneMiss(header, value, first)  # type: ignore[arg-type]
                        auth = first
        else:
            auth = ANONYMOUS
        if requirement is None or (plain and auth.user is not None):
            return auth
        return None

    def _remember_path(self, path: str, *, open_to_all: bool) -> None:
        """Let ``memo_lane`` answer on ``path`` (one whose rules need at most sign-in)."""
        if path[0] != "/" or path in self._never_memo_paths:
            return
        session_paths, open_paths = self._session_paths, self._open_paths
        if len(session_paths) >= _MEMO_SIZE:
            # Client-chosen paths: bounded, then refilled by the ones that come back.
            session_paths.clear()
            open_paths.clear()
        if open_to_all:
            open_paths[path] = None
        session_paths[path] = None

    def _remember_anonymous(self, cookie_header: str | bytes) -> None:
        """Remember a Cookie header without any session cookie (analytics, a theme...):
        on an open path ``memo_lane`` answers it as signed out without parsing it."""
        anonymous = self._anonymous_headers
        if cookie_header in anonymous or len(cookie_header) > HEADER_MEMO_SLACK:
            return
        if len(anonymous) >= ANONYMOUS_HEADER_MEMO:
            anonymous.clear()
        anonymous[cookie_header] = None

    def bearer_lane(
        self,
        path: str,
        root_path: str,
        authorization: str,
        cookie_header: str | bytes | None,
        now: float | None = None,
    ) -> Auth | None:
        """The fast lane of an API client: a repeated bearer token, from memory.

        Only for a request whose only credential is ``Authorization``: with a
        ``Cookie`` header too, precedence rules apply and the full path decides.
        Answers only a token verified before (cached under its canonical ``Bearer
        <token>`` header, never past its ``exp``, never after its session was signed
        out here) on a path that is open or needs sign-in only; None sends it the
        full way.
        """
        if cookie_header is not None or not self._bearer:
            return None
        if not authorization.startswith(_BEARER_KEY):
            return None
        if self._is_auth_route(path, root_path):
            return None
        auth = _bearer.cached_bearer(self, authorization, self._clock() if now is None else now)
        if auth is None:
            return None
        requirement = self._requirements.get(path, _UNSEEN)
        if requirement is _UNSEEN:
            requirement = self.rules.requirement(path)
        if requirement is None or requirement is _SIGNED_IN:
            return auth
        return None

    def seen_cookie(self, request: RequestInfo, found: LaneMiss) -> None:
        """Give ``request`` what :meth:`lane` found: its decoded Cookie header, the
        session cookie's value (the memo ``_session_cookie`` reads) and the cookie
        opened, if it was (``_try_authenticate`` goes on from it)."""
        header, value, opened = found
        request.cookie = header
        request.session_cookie_memo = (header, self._cookie_name, value)
        if opened is not None:
            request.opened_cookie = (value, opened)

    def fast(self, request: RequestInfo, now: float) -> Continue | None:
        """Answer from memory when possible, else None (run ``handle``).

        Signed-out requests to open paths and repeat visits of a verified cookie end
        here: no crypto, no I/O, no generator.
        """
        if self._is_auth_route(request.path, request.root_path):
            return None
        cookie_header = request.cookie
        value = self._session_cookie(request, cookie_header) if cookie_header else None
        authorization = request.authorization if self._bearer else None
        if authorization and (value is None or self._bearer_first):
            # A repeated bearer token: cached under its canonical header ("Bearer " +
            # token), so ``Authorization: Bearer <t>`` is one lookup; anything else
            # (another scheme, odd spacing, a first sight) goes through ``handle``.
            if not authorization.startswith(_BEARER_KEY):
                return None  # only bearer keys: a raw cookie value is never looked up
            auth = _bearer.cached_bearer(self, authorization, now)
            if auth is None:
                return None
        elif value is None:
            if cookie_header and self._chunk_marker in cookie_header:
                return None
            auth = ANONYMOUS
        elif value.startswith(_BEARER_KEY):
            return None
        else:
            auth = self.sessions.get(value, now)
            if auth is None:
                return None
        requirement = self.rules.requirement(request.path)
        if requirement is not None and not requirement.allows(auth):
            return None
        if self._debug:
            logger.debug("fast path: %s (session cache hit or signed out)", request.path)
        return Continue(auth)

    def _session_cookie(self, request: RequestInfo, header: str) -> str | None:
        """``get_cookie(header, cookie_name)``, found once per request and header."""
        memo = request.session_cookie_memo
        name = self._cookie_name
        if memo is not None and memo[0] is header and memo[1] == name:
            return memo[2]
        value = get_cookie(header, name)
        request.session_cookie_memo = (header, name, value)
        return value

    def _is_auth_route(self, path: str, root_path: str | None) -> bool:
        """One of the middleware's own routes (``/login``, ``/callback``...), the
        callback under a mount included: no lane and no fast path answer those."""
        return path in self.routes or self._is_mounted_callback_path(path, root_path)

    def _is_mounted_callback(self, request: RequestInfo) -> bool:
        return self._is_mounted_callback_path(request.path, request.root_path)

    def _is_mounted_callback_path(self, path: str, root_path: str | None) -> bool:
        """The redirect URI's path is the full URL path: under a mount (``root_path``,
        ``SCRIPT_NAME``) the request's mount-relative path is only its tail."""
        if not root_path:
            return False
        return root_path + path == self.config.callback_path

    # ------------------------------------------------------------------ pipeline

    def attempt(self, request: RequestInfo, now: float) -> Decision | HeadStart | None:
        """The request decided without the generators, when no effect is needed.

        For a driver, after ``fast`` missed: a ``Decision`` is the answer; anything
        else goes through ``handle(request, now, urls, head)``: a ``SessionOutcome``
        (its answer is one the ``on_error`` hook may replace), an ``OpenedCookie`` (a
        JWKS fetch or a refresh is due) or None (an auth route, a bearer token, debug
        logging). It takes the same steps as ``authenticate`` and ``_route``, through
        the same helpers, stopping where those would yield.
        """
        if self._debug or self._is_auth_route(request.path, request.root_path):
            return None
        outcome = self._try_authenticate(request, now)
        if not isinstance(outcome, SessionOutcome):
            return outcome
        decision = self._conclude(request, None, outcome)
        if (
            self.config.on_error is not None
            and isinstance(decision, Respond)
            and decision.response.error_event is not None
        ):
            return outcome
        return decision

    def handle(
        self,
        request: RequestInfo,
        now: float,
        urls: UrlBuilder,
        head: HeadStart | None = None,
    ) -> Steps[Decision]:
        """The whole request, for a driver to run (see module doc).

        ``head``: what ``attempt`` already did for this request (only for a path that
        is not an auth route), so that nothing is done twice.
        """
        decision = yield from self._route(request, now, urls, head)
        if (
            self.config.on_error is not None
            and isinstance(decision, Respond)
            and decision.response.error_event is not None
        ):
            # The app may replace any standard error answer (core.hooks).
            decision.response = yield from _hooks.error_hook_steps(decision.response)
        return decision

    def _route(
        self,
        request: RequestInfo,
        now: float,
        urls: UrlBuilder,
        head: HeadStart | None = None,
    ) -> Steps[Decision]:
        kind = "callback" if self._is_mounted_callback(request) else self.routes.get(request.path)
        if kind == "callback":
            response = yield from _signin.callback(self, request, now)
            return Respond(response)
        if kind in ("login", "signup"):
            return Respond(_signin.login(self, request, now, urls, signup=kind == "signup"))
        if kind == "logout":
            return Respond((yield from _signout.logout(self, request, now, urls)))
        if kind == "switch_organization":
            response = yield from _organizations.switch_route(self, request, now)
            return Respond(response)
        if isinstance(head, SessionOutcome):
            outcome = head
        else:
            outcome = yield from self.authenticate(request, now, head)
        return self._conclude(request, kind, outcome)

    def _conclude(
        self, request: RequestInfo, kind: str | None, outcome: SessionOutcome
    ) -> Decision:
        """The decision once the credentials are authenticated (``kind``: ``"me"`` or
        None, a path that is not an auth route)."""
        if outcome.credential_error is not None:
            # An explicit credential that fails fails loudly, on every path (RFC 6750).
            return Respond(_bearer.failure_response(self, request, outcome.credential_error))
        if kind == "me":
            return Respond(self._me(request, outcome))
        refusal = self.guard(request, outcome)
        if refusal is not None:
            refusal.add_cookies(outcome.set_cookies)
            return Respond(refusal)
        return Continue(outcome.auth, outcome.set_cookies, outcome.reason)

    def _cookie_value(self, request: RequestInfo) -> str | None:
        """The session cookie's value, joined from its chunks when it was split."""
        header = request.cookie
        if not header:
            return None
        value = self._session_cookie(request, header)
        if value is None and self._chunk_marker in header:
            value = join_cookie(
                parse_cookie_header(header),
                self._cookie_name,
                max_chunks=self.config.max_cookie_chunks,
            )
        return value

    def _bearer_header(self, request: RequestInfo, value: str | None) -> str | None:
        """The ``Authorization`` header when it is the credential to authenticate."""
        authorization = request.authorization
        if self._bearer and authorization and (value is None or self._bearer_first):
            return authorization
        return None

    def _cached_cookie(self, value: str, now: float) -> Auth | None:
        """A verified session for this exact cookie value (never a bearer entry)."""
        return None if value.startswith(_BEARER_KEY) else self.sessions.get(value, now)

    def _try_authenticate(self, request: RequestInfo, now: float) -> HeadStart | None:
        """``authenticate`` without generators. Where it would need an effect: None
        (a bearer token), or the opened cookie (a JWKS fetch, a refresh)."""
        value = self._cookie_value(request)
        if self._bearer_header(request, value) is not None:
            return None
        if value is None:
            return SessionOutcome(ANONYMOUS)
        cached = self._cached_cookie(value, now)
        if cached is not None:
            return SessionOutcome(cached)
        seen = request.opened_cookie
        if seen is not None and seen[0] is value:
            # The fast lane opened this very value and could not finish: go on from
            # there (no second unseal), or answer the cookie it could not open.
            if seen[1] is UNREADABLE:
                return self._unreadable_cookie(request)
            return cast(OpenedCookie, seen[1])
        try:
            unsealed, session = self._open_session(value, now)
        except SealError:
            return self._unreadable_cookie(request)
        token = session.access_token
        try:
            parts, kid = self._token_parts(token)
            if self.jwks.should_fetch(kid, now):
                return OpenedCookie(value, unsealed, session)
            claims = self._verify_parts(token, parts, kid, now, session.attestation)
            ended = self._check_session_claims(request, session, claims, now)
        except (TokenError, KeySetUnavailableError):
            # A refresh, or the 503 of F10: the generator path decides (and verifies
            # again: a failed verification has no side effect to repeat).
            return OpenedCookie(value, unsealed, session)
        if ended is not None:
            return ended
        outcome = self._verified_session(request, value, unsealed, session, claims, now)
        return outcome if outcome is not None else OpenedCookie(value, unsealed, session)

    def authenticate(
        self, request: RequestInfo, now: float, opened: OpenedCookie | None = None
    ) -> Steps[SessionOutcome]:
        """Authenticate the session cookie, refreshing it when needed.

        ``opened``: the cookie ``attempt`` already unsealed (and found no bearer
        token to prefer and nothing cached for), so it is not unsealed twice.
        """
        if opened is not None:
            outcome = yield from self._authenticate_cookie(request, opened.value, now, opened)
            return outcome
        value = self._cookie_value(request)
        authorization = self._bearer_header(request, value)
        if authorization is not None:
            token = _bearer.bearer_token(authorization)
            if token is not None:
                try:
                    auth = yield from _bearer.verify_bearer(self, token, now)
                except (TokenError, KeySetUnavailableError) as exc:
                    return SessionOutcome(ANONYMOUS, reason=exc.code, credential_error=exc)
                return SessionOutcome(auth)
        if value is None:
            return SessionOutcome(ANONYMOUS)
        cached = self._cached_cookie(value, now)
        if cached is not None:
            return SessionOutcome(cached)
        if self._debug:
            logger.debug("session cache miss for cookie %s: verifying", _hooks.tail(value))
        outcome = yield from self._authenticate_cookie(request, value, now)
        return outcome

    def _authenticate_cookie(
        self, request: RequestInfo, value: str, now: float, opened: OpenedCookie | None = None
    ) -> Steps[SessionOutcome]:
        if opened is not None:
            unsealed, session = opened.unsealed, opened.session
        else:
            try:
                unsealed, session = self._open_session(value, now)
            except SealError:
                return self._unreadable_cookie(request)

        claims: dict[str, Any] | None = None
        try:
            claims = yield from self._verify(session.access_token, now, session.attestation)
            ended = self._check_session_claims(request, session, claims, now)
            if ended is not None:
                return ended
        except KeySetUnavailableError as exc:
            # F10: no verified keys at all. Fail closed, keep the cookie (transient).
            return SessionOutcome(ANONYMOUS, provider_error=exc, reason=exc.code)
        except TokenError:
            claims = None

        if claims is not None:
            outcome = self._verified_session(request, value, unsealed, session, claims, now)
            if outcome is not None:
                return outcome

        if self._debug:
            why = "access token invalid or expired" if claims is None else "within refresh buffer"
            logger.debug("refreshing session of user %s: %s", session.user.id, why)
        outcome = yield from self._refresh(request, session, claims, now)
        return outcome

    # The steps of a cookie's verification, shared by ``_authenticate_cookie`` (the
    # generator path) and ``_try_authenticate`` (the same, when no effect is needed).

    def _open_session(self, value: str, now: float) -> tuple[Unsealed, SessionData]:
        """Unseal and decode a session cookie (``SealError`` when it cannot be opened)."""
        unsealed = self.sealer.unseal_ex(value, purpose="session", now=now)
        return unsealed, decode_session(unsealed.data)

    def _unreadable_cookie(self, request: RequestInfo) -> SessionOutcome:
        """D11: a cookie we cannot open is anonymous plus a deletion, never a 500."""
        return SessionOutcome(
            ANONYMOUS, self._clear_session_cookies(request), reason="invalid_session_cookie"
        )

    def _check_session_claims(
        self, request: RequestInfo, session: SessionData, claims: Mapping[str, Any], now: float
    ) -> SessionOutcome | None:
        """A verified token of another user raises ``TokenError``; a session signed
        out through this process is the outcome (anonymous plus deletions)."""
        if self._session_ended(session, claims, now):
            return SessionOutcome(
                ANONYMOUS, self._clear_session_cookies(request), reason="session_ended"
            )
        return None

    def _session_ended(self, session: SessionData, claims: Mapping[str, Any], now: float) -> bool:
        """Whether the session was signed out through this process; ``TokenError``
        when the verified token belongs to another user than the sealed session."""
        if claims.get("sub") != session.user.id:
            raise TokenError("Token subject is not the session user.", code="user_mismatch")
        ended = claims.get("sid")
        return isinstance(ended, str) and bool(self._ended_sessions.get(ended, now))

    def _verified_session(
        self,
        request: RequestInfo,
        value: str,
        unsealed: Unsealed,
        session: SessionData,
        claims: Mapping[str, Any],
        now: float,
    ) -> SessionOutcome | None:
        """The outcome of a verified cookie, or None when a refresh is due."""
        if unsealed.stale_password:
            if self._needs_refresh(claims, now):
                return None
            # D5: opened with an old password: re-seal with the primary now.
            auth = self._auth(session, claims)
            return SessionOutcome(
                auth, self._write_session(request, session, auth=auth, claims=claims)
            )
        remembered = self._remember_verified(value, session, claims, now)
        return None if remembered is None else SessionOutcome(remembered)

    def _remember_verified(
        self, value: str, session: SessionData, claims: Mapping[str, Any], now: float
    ) -> Auth | None:
        """The ``Auth`` of a verified cookie opened with the primary password, cached
        until its refresh is due; None when the refresh is due now."""
        # ``_needs_refresh`` and ``_fresh_until`` with the buffer worked out once.
        exp = float(claims["exp"])
        fresh_until = min(exp - self._buffer(claims), exp)
        if fresh_until <= now:
            return None
        auth = self._auth(session, claims)
        self.sessions.put(value, auth, fresh_until)
        return auth

    def _first_sight(self, value: str, now: float) -> Auth | OpenedCookie | _Unreadable:
        """A session cookie the cache does not hold, verified for the fast lane.

        Its ``Auth`` (now cached) when everything is plain: it opens with the primary
        password, its token verifies with the keys already held, belongs to the
        session's user, whose session was not signed out here, and needs no refresh.
        Otherwise the full path decides, with the request it may need (deletions, a
        re-seal, a refresh, a JWKS fetch): from the ``OpenedCookie`` when the cookie
        opened (no second unseal), or knowing it is ``UNREADABLE``. The same steps
        and helpers as ``_try_authenticate``, without a ``RequestInfo``.
        """
        try:
            unsealed, session = self._open_session(value, now)
        except SealError:
            return UNREADABLE
        if not unsealed.stale_password:
            token = session.access_token
            try:
                parts, kid = self._token_parts(token)
                if not self.jwks.should_fetch(kid, now):
                    claims = self._verify_parts(token, parts, kid, now, session.attestation)
                    if not self._session_ended(session, claims, now):
                        auth = self._remember_verified(value, session, claims, now)
                        if auth is not None:
                            return auth
            except (TokenError, KeySetUnavailableError):
                pass
        return OpenedCookie(value, unsealed, session)

    def _refresh(
        self,
        request: RequestInfo,
        session: SessionData,
        claims: dict[str, Any] | None,
        now: float,
        organization_id: str | None = None,
    ) -> Steps[SessionOutcome]:
        """Refresh the session (E1-E7): transient failures keep it, terminal ones end it."""
        org = organization_id
        if org is None:
            source = claims if claims is not None else unverified_claims(session.access_token)
            raw_org = source.get("org_id")
            org = raw_org if isinstance(raw_org, str) else session.organization_id
        dead_key = refresh_key(session.refresh_token)
        first_refusal = self._dead_refresh.get(dead_key, now)
        if first_refusal is not None:
            return self._refresh_refused(request, session, claims, now, first_refusal)
        try:
            tokens: TokenResponse = yield RefreshTokens(session.refresh_token, org)
        except ProviderError as exc:
            if exc.transient:
                logger.warning("refresh failed transiently (%s); session kept", exc.code)
                if claims is not None:
                    # E5: the proactive refresh failed but the token is still valid.
                    return SessionOutcome(self._auth(session, claims))
                return SessionOutcome(ANONYMOUS, provider_error=exc, reason=exc.code)
            logger.info(
                "refresh refused by WorkOS (%s) for user %s", exc.oauth_error, session.user.id
            )
            self._dead_refresh.put(dead_key, now, now + self.refresh_grace_seconds * 20)
            return self._refresh_refused(request, session, claims, now, now)

        try:
            # The refresh took time (or came from another worker): a token minted after
            # this request's ``now`` must not fail as "not yet valid" with a small leeway.
            new_claims = yield from self._verify(tokens.access_token, max(now, self._clock()))
            new_session = tokens.to_session()
            ensure_user_access_token(new_claims)
        except (TokenError, ValueError, KeySetUnavailableError) as exc:
            # B7 / row 29: a refresh answer we cannot verify is a failure; nothing sealed.
            logger.warning("refresh returned an unusable token (%s)", getattr(exc, "code", exc))
            if claims is not None:
                return SessionOutcome(self._auth(session, claims))
            return SessionOutcome(ANONYMOUS, reason="refresh_unusable")
        auth = self._auth(new_session, new_claims)
        set_cookies = self._write_session(request, new_session, auth=auth, claims=new_claims)
        logger.info("session refreshed for user %s", new_session.user.id)
        if self.config.on_refresh is not None and self._refresh_announced.first(
            refresh_key(new_session.refresh_token)
        ):
            # An observer: WorkOS already rotated the token, so a failure is only logged.
            old = claims if claims is not None else unverified_claims(session.access_token)
            yield CallHook("on_refresh", _hooks.refresh_event(request, auth, old, new_claims))
        return SessionOutcome(auth, set_cookies)

    def _refresh_refused(
        self,
        request: RequestInfo,
        session: SessionData,
        claims: dict[str, Any] | None,
        now: float,
        first_refusal: float,
    ) -> SessionOutcome:
        """WorkOS refused this refresh token (``invalid_grant``...).

        The request is signed out, unless its access token is still valid and the
        refusal is recent (a proactive refresh that lost a race): then it is served.
        The cookie is deleted only when the refusal is older than the grace window: a
        refusal seen first *now* may be a race lost against
        another process whose fresh cookie is on its way to the browser, and sending a
        deletion could overwrite it (E4, next-auth#8897). A browser still sending this
        cookie after the window has no newer one, so then it goes.
        """
        recent = now - first_refusal < self.refresh_grace_seconds
        if recent and claims is not None:
            # A *proactive* refresh lost a race (another worker rotated the token) while
            # this access token is still valid: serve it, send nothing (E4, E5).
            return SessionOutcome(self._auth(session, claims))
        clear: list[str] = []
        if not recent:
            clear = self._clear_session_cookies(request)
        return SessionOutcome(ANONYMOUS, clear, reason="refresh_refused")

    def _verify(
        self, token: str, now: float, attestation: str | None = None
    ) -> Steps[dict[str, Any]]:
        """Verify an access token, fetching the JWKS when the cache says so (F3, F9, F10).

        ``attestation``: the one sealed with the token, if any (``_verify_parts``)."""
        parts, kid = self._token_parts(token)
        if self.jwks.should_fetch(kid, now):
            try:
                data = yield FetchJWKS()
                self.jwks.store(data, now)
            except ProviderError as exc:
                logger.warning("JWKS fetch failed (%s); keeping last-known-good keys", exc.code)
                self.jwks.record_failure(now)
        return self._verify_parts(token, parts, kid, now, attestation)

    @staticmethod
    def _token_parts(token: str) -> tuple[TokenParts, str | None]:
        """The token split once (for the kid and the verification) and its kid."""
        parts = split_token(token)
        return parts, token_kid(token, parts=parts)

    def _verify_parts(
        self,
        token: str,
        parts: TokenParts,
        kid: str | None,
        now: float,
        attestation: str | None = None,
    ) -> dict[str, Any]:
        """Verify a split token with the cached keys (after any JWKS fetch was done).

        A token sealed with this middleware's attestation for it and for the key its
        ``kid`` names now is not RS256-checked again (core.attestation); every other
        check runs. Anything else, a wrong attestation included, is RS256-verified.
        """
        key = key_for_token(self.jwks, kid, now)
        attestor = self._attestor
        if (
            attestation is not None
            and attestor is not None
            and attestor.check(token, key, attestation)
        ):
            config = self.config
            claims = attested_claims(
                token, now=now, leeway=config.jwt_leeway, issuer=config.issuer, parts=parts
            )
        else:
            claims = verify_access_token(
                token,
                key,
                now=now,
                leeway=self.config.jwt_leeway,
                issuer=self.config.issuer,
                parts=parts,
            )
        ensure_user_access_token(claims)
        return claims

    # ------------------------------------------------------------------ helpers

    def _buffer(self, claims: Mapping[str, Any]) -> float:
        configured = self.config.refresh_buffer
        if configured is not None:
            return float(configured)
        exp, iat = claims.get("exp"), claims.get("iat")
        if isinstance(exp, (int, float)) and isinstance(iat, (int, float)) and exp - iat <= 300:
            return 30.0
        return 60.0

    def _needs_refresh(self, claims: Mapping[str, Any], now: float) -> bool:
        exp = float(claims["exp"])
        return exp - now <= self._buffer(claims) or exp <= now

    def _fresh_until(self, claims: Mapping[str, Any]) -> float:
        exp = float(claims["exp"])
        return min(exp - self._buffer(claims), exp)

    def _auth(self, session: SessionData, claims: Mapping[str, Any]) -> Auth:
        return auth_from_claims(
            session.user, session.access_token, claims, "cookie", session.impersonator
        )

    def _existing_cookie_names(self, request: RequestInfo) -> list[str]:
        if not request.cookie:
            return []
        return list(parse_cookie_header(request.cookie))

    def _write_session(
        self,
        request: RequestInfo,
        session: SessionData,
        *,
        auth: Auth | None = None,
        claims: Mapping[str, Any] | None = None,
    ) -> list[str]:
        """Seal ``session`` into Set-Cookie values (chunked when needed) and cache it.

        ``claims``: its access token's, verified (then the token is attested too)."""
        value = self._seal(session, verified=claims is not None, now=self._clock())
        set_cookies = chunk_cookie(
            self._session_options,
            value,
            max_chunks=self.config.max_cookie_chunks,
            existing=self._existing_cookie_names(request),
        )
        if auth is not None and claims is not None:
            self.sessions.put(value, auth, self._fresh_until(claims))
        return set_cookies

    def _seal(self, session: SessionData, *, verified: bool, now: float) -> str:
        """The cookie value of ``session``, with an attestation of its access token
        when ``verified`` (it was, just now) and attestations are on."""
        attestor = self._attestor
        if verified and attestor is not None:
            token = session.access_token
            try:
                key = self.jwks.key_for(token_kid(token), now)
            except TokenError:  # pragma: no cover - a verified token has a header
                key = None
            if key is not None:
                session = replace(session, attestation=attestor.attest(token, key))
        elif session.attestation is not None:
            session = replace(session, attestation=None)
        return self.sealer.seal(encode_session(session, camel=self._camel), purpose="session")

    def seal_session(self, session: SessionData, *, now: float | None = None) -> str:
        """The cookie value this middleware would write for ``session``: sealed with
        the primary password and, when its access token verifies now with the keys
        held (RS256), attested (core.attestation). For tools and tests that issue
        cookies; the middleware's own routes seal through the same steps.
        """
        now = self._clock() if now is None else now
        try:
            parts, kid = self._token_parts(session.access_token)
            self._verify_parts(session.access_token, parts, kid, now)
            verified = True
        except (TokenError, KeySetUnavailableError):
            verified = False
        return self._seal(session, verified=verified, now=now)

    def _clear_session_cookies(self, request: RequestInfo) -> list[str]:
        """Deletions for the session cookie and any chunks of it the browser sent."""
        return delete_cookie_and_chunks(self._session_options, self._existing_cookie_names(request))

    def _verifier_options(self, name: str) -> CookieOptions:
        return verifier_cookie_options(self.config, name)

    def _verifier_cookies(self, request: RequestInfo) -> list[str]:
        return [n for n in self._existing_cookie_names(request) if is_verifier_cookie_name(n)]

    def _local_url(self, request: RequestInfo, path: str) -> str:
        """A path of this app, with the mount prefix (``root_path``/``SCRIPT_NAME``)."""
        return f"{request.root_path}{path}"

    def login_url(self, request: RequestInfo, return_to: str | None = None) -> str:
        url = self._local_url(request, self.config.login_path)
        if return_to:
            url += "?returnTo=" + quote(return_to, safe="/")
        return url

    # ------------------------------------------------------------------ guard

    def guard(self, request: RequestInfo, outcome: SessionOutcome) -> Response | None:
        """Apply the protection rules: None to continue, or the refusal."""
        requirement = self.rules.requirement(request.path)
        auth = outcome.auth
        if requirement is None or (requirement is _SIGNED_IN and auth.user is not None):
            return None  # open, or needs only a signed-in user who is
        if not auth.is_authenticated:
            if outcome.provider_error is not None:
                # A WorkOS outage is not a sign-out: say so, keep the session (H4).
                return self.error_response(request, outcome.provider_error)
            return _guards.sign_in_required_response(
                request, login_path=self.config.login_path, bearer=self._bearer
            )
        if not requirement.allows(auth):
            err = AuthKitError("You do not have access to this page.", code="forbidden", status=403)
            response = self.error_response(request, err)
            if auth.source == "bearer":
                scope_error = _bearer.challenge("insufficient_scope")
                response.headers.append(("www-authenticate", scope_error))
            return response
        return None

    def error_response(
        self,
        request: RequestInfo,
        error: AuthKitError,
        *,
        return_to: str | None = None,
        set_cookies: list[str] | None = None,
    ) -> Response:
        """The standard error answer, built by :func:`core.answers.error_response`."""
        return _answers.error_response(
            self, request, error, return_to=return_to, set_cookies=set_cookies
        )

    def switch_organization(
        self,
        request: RequestInfo,
        organization_id: str,
        now: float,
        *,
        return_to: str | None = None,
        require_same_origin: bool = True,
    ) -> Steps[_organizations.SwitchResult]:
        """Refresh the request's session into another organisation (for frameworks).

        See :func:`authkit_middleware.core.organizations.switch_organization`; drivers
        run it as ``driver.switch_organization(request, organization_id)``.
        """
        result = yield from _organizations.switch_organization(
            self,
            request,
            organization_id,
            now,
            return_to=return_to,
            require_same_origin=require_same_origin,
        )
        return result

    # ------------------------------------------------------------------ routes

    def _me(self, request: RequestInfo, outcome: SessionOutcome) -> Response:
        """``GET /auth/me``: who is signed in, never the tokens."""
        if outcome.provider_error is not None and not outcome.auth.is_authenticated:
            return self.error_response(request, outcome.provider_error)
        return json_response(outcome.auth.to_public_dict()).add_cookies(outcome.set_cookies)
