"""Organisation switching: refresh the session into another organisation.

AuthKit scopes a session to one organisation; the access token's ``org_id``,
``role``, ``permissions``, ``entitlements`` and ``feature_flags`` are that
organisation's. Switching is a refresh with ``organization_id`` (the same
``RefreshTokens`` effect the engine yields, so the drivers' single-flight, grace
cache and refresh coordinator apply, keyed by token *and* organisation). WorkOS
rotates the refresh token: the old one is spent.

Two entry points, one rule set:

- the mounted route ``POST {switch_organization_path}`` (default
  ``/auth/switch-organization``): form (``application/x-www-form-urlencoded``) or
  JSON body with ``organization_id`` and optional ``returnTo``, at most
  :data:`MAX_BODY` bytes. Same-origin only (CSRF): the ``Origin`` header must be
  the configured origin, or, without ``Origin``, ``Sec-Fetch-Site: same-origin``;
  anything else is ``403``. Browsers get a ``303`` to ``returnTo`` (made safe by
  ``safe_return_path``), API clients JSON;
- :func:`switch_organization` (``AuthKit.switch_organization``, and
  ``driver.switch_organization(request, organization_id)``) for framework code: it
  returns a :class:`SwitchResult` and leaves the response to the caller.

What WorkOS may answer instead of tokens:

- ``sso_required`` / ``mfa_enrollment``: the organisation needs a step-up sign-in.
  The session is untouched (the refresh token was not spent); the user is sent
  through sign-in for that organisation: ``{login_path}?organization_id=...&
  returnTo=...&login_hint=...`` (``303`` for browsers, ``403`` JSON with
  ``login_url`` for API clients).
- ``organization_not_found`` / ``organization_membership_not_found``: ``403``
  ``organization_not_available`` for both, so the route is no oracle for which
  organisation ids exist.
- ``invalid_grant`` (session revoked, refresh token spent): ``401``
  ``session_expired``; the cookie is left to the normal pipeline (two-strike, E4).
- transient failures (timeouts, 5xx): ``503``, session kept.

Pure: no I/O; the adapters read the (bounded) body into ``RequestInfo.body``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode

from authkit_middleware.core.auth import ANONYMOUS, Auth
from authkit_middleware.core.cookies import join_cookie, parse_cookie_header
from authkit_middleware.core.effects import RefreshTokens
from authkit_middleware.core.errors import (
    AuthKitError,
    KeySetUnavailableError,
    ProviderError,
    SealError,
    TokenError,
)
from authkit_middleware.core.http import RequestInfo, Response, json_response, redirect
from authkit_middleware.core.redirects import safe_return_path
from authkit_middleware.core.session import TokenResponse, decode_session

if TYPE_CHECKING:
    from authkit_middleware.core.effects import Steps
    from authkit_middleware.core.engine import AuthKit

__all__ = [
    "MAX_BODY",
    "STEP_UP_ERRORS",
    "SwitchError",
    "SwitchResult",
    "is_same_origin",
    "parse_switch_body",
    "switch_organization",
    "switch_response",
    "switch_route",
]

#: Largest request body the switch route reads (bytes); larger is ``413``.
MAX_BODY = 4096
#: WorkOS answers that send the user through sign-in for the target organisation.
STEP_UP_ERRORS = frozenset({"sso_required", "mfa_enrollment"})
_NO_ACCESS_ERRORS = frozenset({"organization_not_found", "organization_membership_not_found"})
# WorkOS ids are ``org_`` + ULID; accept any short token-like id, nothing else.
_ORG_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
_MAX_RETURN_TO = 2048


class SwitchError(AuthKitError):
    """An organisation switch was refused; ``code`` says why."""

    code = "switch_organization_failed"
    status = 400


@dataclass(slots=True)
class SwitchResult:
    """What a switch produced. ``ok``: ``auth`` is the new session, ``set_cookies`` its cookie."""

    ok: bool
    organization_id: str
    auth: Auth = ANONYMOUS
    set_cookies: list[str] = field(default_factory=list)
    error: AuthKitError | None = None
    #: For a step-up answer (``sso_required``...): sign in to the organisation here.
    login_url: str | None = None


def is_same_origin(request: RequestInfo, origin: str) -> bool:
    """CSRF check for state-changing auth routes.

    ``Origin`` decides when present (``null`` never matches); without it, Fetch
    Metadata must say ``same-origin`` (``same-site`` is not enough: a sibling
    subdomain is another origin). A request with neither is refused.
    """
    if request.origin is not None:
        return request.origin.strip().lower() == origin.lower()
    return (request.sec_fetch_site or "").strip().lower() == "same-origin"


def parse_switch_body(content_type: str | None, body: bytes | None) -> dict[str, str]:
    """``organization_id`` / ``returnTo`` from a form or JSON body (strings only)."""
    data = body or b""
    if len(data) > MAX_BODY:
        raise SwitchError("The request body is too large.", code="request_too_large", status=413)
    media = (content_type or "").split(";", 1)[0].strip().lower()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise SwitchError("The request body is not UTF-8.", code="invalid_request") from None
    fields: Mapping[str, Any]
    if media == "application/x-www-form-urlencoded" or (media == "" and not text):
        try:
            parsed = parse_qs(text, keep_blank_values=True, max_num_fields=16)
        except ValueError:
            raise SwitchError("The form has too many fields.", code="invalid_request") from None
        fields = {k: v[0] for k, v in parsed.items() if v}
    elif media == "application/json" or media.endswith("+json"):
        try:
            value = json.loads(text) if text else {}
        except (ValueError, RecursionError):
            raise SwitchError("The request body is not JSON.", code="invalid_request") from None
        if not isinstance(value, dict):
            raise SwitchError("The JSON body must be an object.", code="invalid_request")
        fields = value
    else:
        raise SwitchError(
            "Send application/x-www-form-urlencoded or application/json.",
            code="unsupported_media_type",
            status=415,
        )
    return {k: v for k, v in fields.items() if isinstance(k, str) and isinstance(v, str)}


def _fail(organization_id: str, message: str, code: str, status: int) -> SwitchResult:
    return SwitchResult(
        False, organization_id, error=SwitchError(message, code=code, status=status)
    )


def _step_up_url(
    kit: AuthKit, request: RequestInfo, organization_id: str, return_to: str, email: str | None
) -> str:
    params = {"organization_id": organization_id, "returnTo": return_to}
    if email:
        params["login_hint"] = email
    return f"{request.root_path}{kit.config.login_path}?{urlencode(params)}"


def switch_organization(
    kit: AuthKit,
    request: RequestInfo,
    organization_id: str,
    now: float,
    *,
    return_to: str | None = None,
    require_same_origin: bool = True,
) -> Steps[SwitchResult]:
    """Refresh the request's session into ``organization_id`` (see the module doc).

    ``require_same_origin`` (default) applies :func:`is_same_origin`; turn it off
    only when the framework already enforces CSRF protection on the calling route.
    """
    target = safe_return_path(
        (return_to or "")[:_MAX_RETURN_TO] or None, default=kit.config.after_sign_in_path
    )
    if require_same_origin and not is_same_origin(request, kit.config.origin):
        return _fail(
            organization_id,
            "Switching organization must start from this site.",
            "cross_site_request",
            403,
        )
    if not isinstance(organization_id, str) or not _ORG_ID.fullmatch(organization_id):
        return _fail(
            str(organization_id)[:128],
            "organization_id is missing or malformed.",
            "invalid_request",
            400,
        )
    cookies = parse_cookie_header(request.cookie) if request.cookie else {}
    value = join_cookie(cookies, kit.config.cookie_name, max_chunks=kit.config.max_cookie_chunks)
    if value is None:
        return _fail(organization_id, "Sign-in required.", "unauthorized", 401)
    try:
        session = decode_session(kit.sealer.unseal(value, purpose="session", now=now))
    except SealError:
        return _fail(organization_id, "Sign-in required.", "unauthorized", 401)

    try:
        tokens: TokenResponse = yield RefreshTokens(session.refresh_token, organization_id)
    except ProviderError as exc:
        if exc.transient:
            return SwitchResult(False, organization_id, error=exc)
        reason = exc.oauth_error or ""
        if reason in STEP_UP_ERRORS:
            url = _step_up_url(kit, request, organization_id, target, session.user.email)
            message = (
                "This organization requires single sign-on."
                if reason == "sso_required"
                else "This organization requires multi-factor authentication enrollment."
            )
            error = SwitchError(message, code=reason, status=403)
            return SwitchResult(False, organization_id, error=error, login_url=url)
        if reason in _NO_ACCESS_ERRORS:
            return _fail(
                organization_id,
                "You are not a member of this organization, or it does not exist.",
                "organization_not_available",
                403,
            )
        return _fail(
            organization_id, "The session has ended; sign in again.", "session_expired", 401
        )

    try:
        claims = yield from kit._verify(tokens.access_token, now)
        new_session = tokens.to_session()
        if claims.get("sub") != session.user.id:
            raise TokenError("Token subject is not the session user.", code="user_mismatch")
    except KeySetUnavailableError as exc:
        return SwitchResult(False, organization_id, error=exc)
    except (TokenError, ValueError):
        return _fail(
            organization_id,
            "WorkOS returned tokens that could not be verified.",
            "invalid_tokens",
            502,
        )
    if claims.get("org_id") != organization_id:
        return _fail(
            organization_id, "WorkOS did not switch the organization.", "switch_not_applied", 502
        )
    auth = kit._auth(new_session, claims)
    set_cookies = kit._write_session(request, new_session, auth=auth, claims=claims)
    kit.sessions.pop(value)  # its refresh token is spent; never serve it from memory again
    return SwitchResult(True, organization_id, auth=auth, set_cookies=set_cookies)


def switch_response(
    kit: AuthKit, request: RequestInfo, result: SwitchResult, return_to: str
) -> Response:
    """The mounted route's answer for ``result`` (303/JSON, step-up, errors)."""
    if result.ok:
        auth = result.auth
        location = f"{request.root_path}{return_to}"
        if request.wants_html:
            return redirect(location, status=303).add_cookies(result.set_cookies)
        body = {
            "organization_id": auth.organization_id,
            "role": auth.role,
            "roles": list(auth.roles),
            "permissions": list(auth.permissions),
            "entitlements": list(auth.entitlements),
            "feature_flags": list(auth.feature_flags),
            "redirect_to": location,
        }
        return json_response(body).add_cookies(result.set_cookies)
    error = result.error or SwitchError("The organization could not be switched.")
    if result.login_url is not None:
        if request.wants_html:
            return redirect(result.login_url, status=303)
        body = {
            "error": error.code,
            "error_description": error.message,
            "login_url": result.login_url,
        }
        return json_response(body, status=error.status)
    if error.code == "unauthorized" and request.wants_html:
        return redirect(kit.login_url(request, return_to), status=303)
    return kit.error_response(request, error, return_to=return_to)


def switch_route(kit: AuthKit, request: RequestInfo, now: float) -> Steps[Response]:
    """``POST {switch_organization_path}``: parse, check, switch, answer."""
    if request.method != "POST":
        error = SwitchError(
            "Use POST to switch organization.", code="method_not_allowed", status=405
        )
        response = kit.error_response(request, error)
        response.headers.append(("allow", "POST"))
        return response
    if not is_same_origin(request, kit.config.origin):
        error = SwitchError(
            "Switching organization must start from this site.",
            code="cross_site_request",
            status=403,
        )
        return kit.error_response(request, error)
    try:
        fields = parse_switch_body(request.content_type, request.body)
    except SwitchError as exc:
        return kit.error_response(request, exc)
    return_to = safe_return_path(
        fields.get("returnTo", fields.get("return_to", ""))[:_MAX_RETURN_TO] or None,
        default=kit.config.after_sign_in_path,
    )
    result = yield from switch_organization(
        kit, request, fields.get("organization_id", ""), now, return_to=return_to
    )
    return switch_response(kit, request, result, return_to)
