"""Sign-in: the ``/login`` and ``/signup`` routes and the redirect URI (callback).

``login`` starts a flow (fresh state + PKCE, a verifier cookie per flow) and sends the
browser to WorkOS; ``callback`` checks what comes back (security checklist B1-B11),
exchanges the code through an effect, verifies the tokens and seals the session. Both
take the ``AuthKit`` that routes them; ``callback`` is a generator over effects that
the drivers run, like every step of the pipeline.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from authkit_middleware.core import hooks as _hooks
from authkit_middleware.core.cookies import delete_cookie, parse_cookie_header
from authkit_middleware.core.effects import CallHook, ExchangeCode
from authkit_middleware.core.errors import (
    AuthKitError,
    CallbackError,
    CookieTooLargeError,
    KeySetUnavailableError,
    ProviderError,
    TokenError,
)
from authkit_middleware.core.http import RequestInfo, Response, redirect
from authkit_middleware.core.login_state import (
    LEGACY_VERIFIER_COOKIE,
    LoginStateError,
    create_login_state,
    open_login_state,
    pkce_challenge,
    stale_verifier_cookies,
    verifier_cookie_name,
    verifier_set_cookie,
)
from authkit_middleware.core.redirects import resolve_return_to, safe_return_path
from authkit_middleware.core.session import TokenResponse
from authkit_middleware.core.tokens import MAX_TOKEN_LENGTH

if TYPE_CHECKING:
    from authkit_middleware.core.effects import Steps
    from authkit_middleware.core.engine import AuthKit, UrlBuilder

__all__ = ["callback", "login", "query_params"]

logger = logging.getLogger("authkit_middleware")

_MAX_QUERY_VALUE = 2048


def _first(query: Mapping[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


def query_params(request: RequestInfo) -> dict[str, list[str]]:
    try:
        return parse_qs(request.query_string, keep_blank_values=True, max_num_fields=64)
    except ValueError:
        return {}


def login(
    kit: AuthKit, request: RequestInfo, now: float, urls: UrlBuilder, *, signup: bool
) -> Response:
    """``GET /login`` and ``/signup``: start a flow with fresh state + PKCE (A1-A9)."""
    if request.method not in ("GET", "HEAD"):
        return kit.error_response(
            request, AuthKitError("Use GET to sign in.", code="method_not_allowed", status=405)
        )
    query = query_params(request)

    def one(name: str) -> str | None:
        values = query.get(name)
        if not values:
            return None
        value = values[0]
        return value[:_MAX_QUERY_VALUE] if value else None

    return_to = safe_return_path(one("returnTo"), default=kit.config.after_sign_in_path)
    try:
        state, sealed = create_login_state(
            kit.sealer,
            return_to=return_to,
            custom_state=_first(query, "state"),
            redirect_uri=kit.config.redirect_uri,
            now=now,
            max_custom_state_bytes=kit.config.max_custom_state_bytes,
        )
    except LoginStateError as exc:
        return kit.error_response(request, exc)
    params: dict[str, Any] = {
        "provider": "authkit",
        "redirect_uri": kit.config.redirect_uri,
        "state": sealed,
        "code_challenge": pkce_challenge(state.code_verifier),
        "code_challenge_method": "S256",
    }
    if signup:
        params["screen_hint"] = "sign-up"
    for name in ("login_hint", "organization_id", "prompt"):
        value = one(name)
        if value:
            params[name] = value
    max_age = one("max_age")
    if max_age is not None and max_age.isdigit() and len(max_age) < 10:
        params["max_age"] = int(max_age)
    location = urls.get_authorization_url(**params)

    cookie_name = verifier_cookie_name(sealed)
    try:
        # A9: refuse rather than emit a cookie the browser would drop.
        verifier_cookie = verifier_set_cookie(kit._verifier_options(cookie_name), sealed)
    except LoginStateError as exc:
        return kit.error_response(request, exc)
    stale = stale_verifier_cookies(
        kit._verifier_cookies(request),
        keep=cookie_name,
        max_pending=kit.config.max_pending_flows,
    )
    cookies = [verifier_cookie]
    cookies.extend(delete_cookie(kit._verifier_options(n)) for n in stale if n != cookie_name)
    return redirect(location, status=302).add_cookies(cookies)


def callback(kit: AuthKit, request: RequestInfo, now: float) -> Steps[Response]:
    """The redirect URI: the checks of the security checklist B1-B11, in order."""
    query = query_params(request)
    verifier_names = kit._verifier_cookies(request)
    state_values = query.get("state", [])
    # B3: whatever happens, this flow's verifier cookie is expired (and the legacy one).
    clear: list[str] = []
    if state_values and state_values[0]:
        own = verifier_cookie_name(state_values[0])
        clear = [
            delete_cookie(kit._verifier_options(n))
            for n in verifier_names
            if n in (own, LEGACY_VERIFIER_COOKIE)
        ]

    def fail(code: str, message: str, status: int = 400) -> Response:
        logger.info("sign-in callback refused: %s", code)
        return kit.error_response(
            request, CallbackError(message, code=code, status=status), set_cookies=clear
        )

    if request.method not in ("GET", "HEAD"):
        return fail("method_not_allowed", "The sign-in callback only accepts GET.", 405)
    for name in ("code", "state", "error", "iss"):
        if len(query.get(name, [])) > 1:
            return fail("duplicate_params", f"The callback has more than one {name!r}.")  # B5
    error = _first(query, "error")
    code = _first(query, "code")
    state = _first(query, "state")
    if error:
        description = (_first(query, "error_description") or "")[:300]
        message = f"WorkOS reported: {description or error}"
        return fail("authorization_error", message)  # B4: escaped by the page renderer
    if not code or not state:
        return fail("missing_auth_params", "Missing required auth parameter.")  # B1

    cookies = parse_cookie_header(request.cookie) if request.cookie else {}
    cookie_value = cookies.get(verifier_cookie_name(state)) or cookies.get(LEGACY_VERIFIER_COOKIE)
    if not cookie_value:
        return fail(
            "missing_pkce_cookie",
            "Sign-in session could not be verified. Please try signing in again.",
        )
    if not hmac.compare_digest(cookie_value.encode(), state.encode()):
        return fail("oauth_state_mismatch", "OAuth state mismatch.")
    try:
        login_state = open_login_state(kit.sealer, state, now=now)
    except LoginStateError:
        return fail("invalid_login_state", "The sign-in attempt expired. Please sign in again.")
    iss = _first(query, "iss")
    if iss is not None and kit.config.issuer is not None:
        allowed = (
            (kit.config.issuer,) if isinstance(kit.config.issuer, str) else tuple(kit.config.issuer)
        )
        if iss not in allowed:
            return fail("issuer_mismatch", "The callback came from an unexpected issuer.")  # B6

    try:
        tokens: TokenResponse = yield ExchangeCode(code, login_state.code_verifier)
    except ProviderError as exc:
        if exc.transient:
            return kit.error_response(
                request, exc, return_to=login_state.return_pathname, set_cookies=clear
            )
        logger.info("code exchange refused by WorkOS (%s)", exc.oauth_error)
        return fail(
            "code_exchange_failed",
            "The sign-in code was refused (it may have expired or been used already).",
        )
    if len(tokens.access_token) > MAX_TOKEN_LENGTH:
        # Hundreds of permissions: no browser would keep a session this large.
        return kit.error_response(
            request,
            CookieTooLargeError(
                "This account's session is too large to store in browser cookies.",
                code="cookie_too_large",
            ),
            set_cookies=clear,
        )
    try:
        claims = yield from kit._verify(tokens.access_token, now)
        session = tokens.to_session()
        if claims.get("sub") != session.user.id:
            raise TokenError("Token subject is not the user.", code="user_mismatch")
    except KeySetUnavailableError as exc:
        return kit.error_response(request, exc, set_cookies=clear)
    except (TokenError, ValueError):
        return fail("invalid_tokens", "WorkOS returned tokens that could not be verified.")  # B7
    auth = kit._auth(session, claims)
    target_path, answer, keep = login_state.return_pathname, None, True
    if kit.config.on_sign_in is not None:
        # Before the cookie is sealed: a failing hook leaves no session behind.
        event = _hooks.sign_in_event(request, tokens, session, auth, login_state)
        result = yield CallHook("on_sign_in", event)
        try:
            target_path, answer, keep = _hooks.sign_in_outcome(result, target_path)
        except _hooks.HookError as exc:
            return kit.error_response(request, exc, set_cookies=clear)
    try:
        session_cookies = (
            kit._write_session(request, session, auth=auth, claims=claims) if keep else []
        )
    except CookieTooLargeError as exc:
        return kit.error_response(request, exc, set_cookies=clear)
    if keep:
        logger.info("signed in user %s", session.user.id)
    else:
        logger.info("sign-in of user %s declined by on_sign_in", session.user.id)
    if kit._debug:
        logger.debug(
            "sign-in tokens: access %s, refresh %s",
            _hooks.tail(tokens.access_token),
            _hooks.tail(tokens.refresh_token),
        )
    if answer is not None:
        return answer.add_cookies([*session_cookies, *clear])
    target = resolve_return_to(kit.config.origin, request.root_path + target_path)
    return redirect(target, status=302).add_cookies([*session_cookies, *clear])
