"""Bearer access tokens: API clients authenticate with ``Authorization: Bearer <jwt>``.

The token is an AuthKit *user* access token (what ``authenticate_with_code`` /
``authenticate_with_refresh_token`` return as ``access_token``), verified exactly as a
session cookie's token is: RS256 with a key from the same JWKS cache (fetched through
the same ``FetchJWKS`` effect), ``exp``/``nbf``/``iat`` with the configured leeway,
``iss`` when ``issuer`` is configured, and the SDK's user-token rules
(:func:`~authkit_middleware.core.tokens.is_user_access_token`: agent and widget
tokens are refused). There is no refresh and no cookie on this path: the client owns
its tokens.

Decisions (documented in ``docs/api-clients.md``):

- **Which credential**: ``Authorization`` with another scheme (``Basic``...) is not
  ours and is ignored. With both a session cookie and a bearer token,
  ``AuthKitConfig.credential_precedence`` picks one by *presence*, before either is
  verified ("cookie" by default); the other is ignored entirely (a failing winner
  never falls back to the loser).
- **Failing loudly**: a bearer token that does not verify is ``401`` with
  ``WWW-Authenticate: Bearer error="invalid_token", error_description="..."``
  (RFC 6750 §3) and a JSON body, on *every* path except the middleware's auth routes
  (login, sign-up, callback, logout, organisation switch), never a redirect: a
  client that sends a credential wants to know it is bad. No verified keys at all
  is ``503`` with ``Retry-After`` (fail closed).
- **Caching**: a verified token is cached in the engine's ``SessionCache`` under
  ``"Bearer " + token`` until its ``exp``, so a repeated token is served by
  ``AuthKit.fast`` with one dict lookup, like a repeated cookie. Keys cannot collide
  with cookie values (a sealed cookie never contains a space).
- **What ``Auth`` holds**: the token carries no profile, so ``auth.user`` is
  ``User(id=sub, email=claims["email"] if present)`` and nothing else; session id,
  organisation, role(s), permissions, entitlements, feature flags, impersonator and
  expiry come from the claims exactly as for a cookie; ``auth.source == "bearer"``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from authkit_middleware.core.auth import Auth, User
from authkit_middleware.core.errors import AuthKitError, KeySetUnavailableError, TokenError
from authkit_middleware.core.http import RequestInfo, Response, json_response
from authkit_middleware.core.tokens import claims_to_auth_fields

if TYPE_CHECKING:
    from authkit_middleware.core.effects import Steps
    from authkit_middleware.core.engine import AuthKit

__all__ = [
    "BEARER_CACHE_PREFIX",
    "CODE_SESSION_ENDED",
    "bearer_auth",
    "bearer_token",
    "challenge",
    "failure_response",
    "invalid_token_response",
    "verify_bearer",
]

#: Prefix of bearer entries in the session cache (the canonical header value).
BEARER_CACHE_PREFIX = "Bearer "
CODE_SESSION_ENDED = "session_ended"
_MAX_DESCRIPTION = 200


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, else None.

    The scheme is case-insensitive (RFC 7235 §2.1); another scheme is not ours and
    gives None. ``Bearer`` with nothing after it gives ``""`` (an invalid token, not
    an absent one).
    """
    if not authorization:
        return None
    scheme, _, rest = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return rest.strip(" \t")


def _quoted(text: str) -> str:
    """An RFC 7230 quoted-string body: no quotes, backslashes or controls."""
    cleaned = "".join(c for c in text if c.isprintable() and c not in '"\\')
    return cleaned[:_MAX_DESCRIPTION]


def challenge(error: str | None = None, description: str | None = None) -> str:
    """A ``WWW-Authenticate`` value: ``Bearer`` or ``Bearer error="...", ...`` (RFC 6750 §3)."""
    if error is None:
        return "Bearer"
    value = f'Bearer error="{_quoted(error)}"'
    if description:
        value += f', error_description="{_quoted(description)}"'
    return value


def invalid_token_response(error: AuthKitError) -> Response:
    """``401`` for a bearer token that did not verify: header and JSON say why.

    ``error_description`` is the stable message of the ``TokenError`` (never the
    token); the JSON body adds the precise ``code`` (``token_expired``,
    ``bad_signature``, ``alg_not_allowed``, ``not_a_user_token``...).
    """
    body = {"error": "invalid_token", "error_description": error.message, "code": error.code}
    header = challenge("invalid_token", error.message)
    return json_response(body, status=401, extra=[("www-authenticate", header)])


def failure_response(kit: AuthKit, request: RequestInfo, error: AuthKitError) -> Response:
    """The answer to a request whose bearer token could not be used."""
    if isinstance(error, KeySetUnavailableError):
        response = kit.error_response(request, error)
        response.headers.append(("www-authenticate", challenge()))
        return response
    return invalid_token_response(error)


def bearer_auth(token: str, claims: Mapping[str, Any]) -> Auth:
    """The ``Auth`` of a verified bearer token (see the module doc for ``user``)."""
    email = claims.get("email")
    user = User(id=str(claims["sub"]), email=email if isinstance(email, str) else None)
    return Auth(
        user=user,
        access_token=token,
        claims=claims,
        source="bearer",
        **claims_to_auth_fields(claims),
    )


def cached_bearer(kit: AuthKit, key: str, now: float) -> Auth | None:
    """The cached ``Auth`` of a bearer token (``key``: ``"Bearer " + token``), unless
    its session was signed out through this process since it was cached."""
    cached: Auth | None = kit.sessions.get(key, now)
    if cached is None:
        return None
    sid = cached.session_id
    if sid is not None and kit._ended_sessions.get(sid, now):
        kit.sessions.pop(key)
        return None  # verified again: ``verify_bearer`` refuses it as session_ended
    return cached


def verify_bearer(kit: AuthKit, token: str, now: float) -> Steps[Auth]:
    """Verify ``token`` (cache first) and return its ``Auth``.

    Raises ``TokenError`` for a token that does not verify and
    ``KeySetUnavailableError`` when no signing keys can be had. Successes are cached
    until ``exp``; failures are not (there is nothing to gain: a forged token costs
    one signature check, and a cache of them would be an attacker-filled map).
    """
    key = BEARER_CACHE_PREFIX + token
    cached = cached_bearer(kit, key, now)
    if cached is not None:
        return cached
    claims = yield from kit._verify(token, now)  # RS256, JWKS, exp/iss, user-token rule
    sid = claims.get("sid")
    if isinstance(sid, str) and kit._ended_sessions.get(sid, now):
        raise TokenError("The session of this token has ended.", code=CODE_SESSION_ENDED)
    auth = bearer_auth(token, claims)
    kit.sessions.put(key, auth, float(claims["exp"]))
    return auth
