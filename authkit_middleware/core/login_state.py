"""Sign-in flow state + PKCE, verifier cookie names (FNV-1a 32) and their eviction.

One sign-in = one sealed ``LoginState``. The *same* sealed string is the OAuth
``state`` query parameter and the value of a per-flow HttpOnly verifier cookie, so
the callback can check that the browser coming back is the one that left (B1/B2,
login CSRF) and recover the PKCE verifier without server storage. The layout
matches authkit-session / authkit-nextjs so behaviour (and limits) line up:

- **A2/A3** - a fresh 32-octet PKCE verifier per flow, S256 only.
- **A4** - cookie ``wos-auth-verifier-<fnv1a32(state) hex>``: parallel tabs do not
  overwrite each other; :func:`stale_verifier_cookies` caps pending flows (HTTP 431).
- **A5** - age enforced twice: the seal's 600 s TTL and ``issuedAt`` in the payload
  (600 s, at most 60 s in the future), whatever the sealer does with ``ttl``.
- **A7** - sealed with ``purpose="login_state"``: a session never opens as a login
  state and a login state never opens as a session (CVE-2023-48309).
- **A8** - ``returnPathname`` is sanitised before sealing and again after opening.
- **A9** - limits: custom state <= 2048 UTF-8 bytes, verifier ``Set-Cookie`` <= 3800.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
import secrets
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from .cookies import (
    MAX_DELETIONS,
    VERIFIER_COOKIE_PREFIX,
    VERIFIER_MAX_AGE,
    CookieOptions,
    set_cookie,
)
from .errors import AuthKitError, SealError
from .redirects import safe_return_path

__all__ = [
    "DEFAULT_MAX_PENDING_FLOWS",
    "FUTURE_SKEW_MS",
    "LEGACY_VERIFIER_COOKIE",
    "LOGIN_STATE_TTL",
    "MAX_SEALED_STATE_LENGTH",
    "MAX_VERIFIER_SET_COOKIE_BYTES",
    "VERIFIER_COOKIE_PREFIX",
    "LoginState",
    "LoginStateError",
    "StateSealer",
    "create_login_state",
    "fnv1a32",
    "is_document_navigation",
    "is_verifier_cookie_name",
    "new_pkce",
    "open_login_state",
    "pkce_challenge",
    "stale_verifier_cookies",
    "verifier_cookie_name",
    "verifier_set_cookie",
]

#: Seconds a sign-in may take: WorkOS authorization codes live 10 minutes (A5).
LOGIN_STATE_TTL = VERIFIER_MAX_AGE
#: How far ``issuedAt`` may be in the future (clock skew between workers).
FUTURE_SKEW_MS = 60_000
#: The unsuffixed name older authkit-nextjs versions used; still read and cleared.
LEGACY_VERIFIER_COOKIE = VERIFIER_COOKIE_PREFIX
#: Pending sign-in flows tolerated before the others are evicted (authkit-session).
DEFAULT_MAX_PENDING_FLOWS = 5
#: A serialised verifier ``Set-Cookie`` above this is refused (authkit-session A9).
MAX_VERIFIER_SET_COOKIE_BYTES = 3800
#: A ``state`` longer than this cannot be ours (cookie-sized): refused before unsealing (D10).
MAX_SEALED_STATE_LENGTH = 4096

_FNV_OFFSET = 0x811C9DC5
_FNV_PRIME = 0x01000193
# RFC 7636 §4.1 code_verifier: 43-128 unreserved characters.
_VERIFIER = re.compile(r"[A-Za-z0-9._~-]{43,128}")

LoginStateErrorCode = Literal[
    "custom_state_too_large", "verifier_cookie_too_large", "invalid_login_state"
]
_MESSAGES: Mapping[str, str] = {
    "custom_state_too_large": "The custom sign-in state is too large.",
    "verifier_cookie_too_large": "The sign-in state is too large for a cookie.",
    "invalid_login_state": "The sign-in attempt is invalid or expired. Please sign in again.",
}


class LoginStateError(AuthKitError):
    """A sign-in state could not be created or opened. ``code`` is one of
    ``custom_state_too_large``, ``verifier_cookie_too_large``, ``invalid_login_state``.

    ``LoginStateError("invalid_login_state")`` (a bare code) uses the standard
    message; ``LoginStateError(message, code=...)`` works like every AuthKitError.
    Messages never include the sealed state or the custom state (they are secrets
    of the flow).
    """

    code = "invalid_login_state"
    status = 400

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None):
        if code is None and message in _MESSAGES:
            code, message = message, _MESSAGES[message]
        super().__init__(message, code=code, status=status)


class StateSealer(Protocol):
    """What this module needs from :class:`~authkit_middleware.core.seal.Sealer`."""

    def seal(
        self,
        data: Mapping[str, Any],
        *,
        purpose: Literal["session", "login_state", "coordinator"] = ...,
        ttl: int = ...,
        now: float | None = ...,
    ) -> str: ...

    def unseal(
        self,
        sealed: str,
        *,
        purpose: Literal["session", "login_state", "coordinator"] = ...,
        now: float | None = ...,
    ) -> dict[str, Any]: ...


# -- PKCE ----------------------------------------------------------------------------


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def pkce_challenge(verifier: str) -> str:
    """S256 ``code_challenge`` = base64url(SHA-256(ASCII(verifier))) (RFC 7636 §4.2)."""
    return _b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def new_pkce() -> tuple[str, str]:
    """``(verifier, challenge)``: 32 CSPRNG octets -> 43-char base64url verifier (A2)."""
    verifier = _b64url(secrets.token_bytes(32))
    return verifier, pkce_challenge(verifier)


# -- the state -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LoginState:
    """One sign-in flow. ``code_verifier`` is a secret: left out of ``repr``."""

    nonce: str
    code_verifier: str
    #: Where to go after sign-in: always a safe same-origin path.
    return_pathname: str
    custom_state: str | None
    #: Milliseconds since the epoch (JS ``Date.now()``).
    issued_at: int
    redirect_uri: str | None

    def __repr__(self) -> str:
        return (
            f"LoginState(nonce={self.nonce!r}, return_pathname={self.return_pathname!r}, "
            f"issued_at={self.issued_at!r}, redirect_uri={self.redirect_uri!r})"
        )

    def to_dict(self) -> dict[str, Any]:
        """The camelCase payload authkit-session seals (None fields left out, as JS
        ``undefined``, so its valibot schema accepts ours)."""
        data: dict[str, Any] = {
            "nonce": self.nonce,
            "codeVerifier": self.code_verifier,
            "returnPathname": self.return_pathname,
            "issuedAt": self.issued_at,
        }
        if self.custom_state is not None:
            data["customState"] = self.custom_state
        if self.redirect_uri is not None:
            data["redirectUri"] = self.redirect_uri
        return data


def create_login_state(
    sealer: StateSealer,
    *,
    return_to: str | None,
    custom_state: str | None,
    redirect_uri: str | None,
    now: float,
    max_custom_state_bytes: int = 2048,
    cookie_options: CookieOptions | None = None,
) -> tuple[LoginState, str]:
    """A fresh flow and its sealed string (the OAuth ``state`` and the cookie value).

    ``return_to`` is sanitised here (A8; anything unsafe becomes ``"/"``).
    Raises :class:`LoginStateError` ``custom_state_too_large`` above
    ``max_custom_state_bytes`` UTF-8 bytes, and, when ``cookie_options`` are given,
    ``verifier_cookie_too_large`` if the serialised cookie would exceed 3800 bytes.
    """
    if custom_state is not None and len(custom_state.encode("utf-8")) > max_custom_state_bytes:
        raise LoginStateError("custom_state_too_large")
    verifier, _ = new_pkce()
    state = LoginState(
        nonce=str(uuid.uuid4()),
        code_verifier=verifier,
        return_pathname=safe_return_path(return_to, "/"),
        custom_state=custom_state,
        issued_at=math.floor(now * 1000),
        redirect_uri=redirect_uri,
    )
    sealed = sealer.seal(state.to_dict(), purpose="login_state", ttl=LOGIN_STATE_TTL, now=now)
    if cookie_options is not None:
        verifier_set_cookie(cookie_options, sealed)
    return state, sealed


def verifier_set_cookie(options: CookieOptions, sealed: str) -> str:
    """The verifier ``Set-Cookie`` for ``sealed`` (named per flow); raises
    :class:`LoginStateError` ``verifier_cookie_too_large`` above 3800 bytes (A9)."""
    named = options.with_name(verifier_cookie_name(sealed))
    # Measured before building, so the flow-level error wins over set_cookie's 4096 cap.
    if len(named.name) + 1 + len(sealed) + len(named.suffix) > MAX_VERIFIER_SET_COOKIE_BYTES:
        raise LoginStateError("verifier_cookie_too_large")
    return set_cookie(named, sealed)


def open_login_state(sealer: StateSealer, sealed: str, *, now: float) -> LoginState:
    """Unseal and check a flow state; :class:`LoginStateError` ``invalid_login_state``
    on any failure (tampered, wrong key, other purpose, bad shape, too old, future)."""
    if not isinstance(sealed, str) or not sealed or len(sealed) > MAX_SEALED_STATE_LENGTH:
        raise LoginStateError("invalid_login_state")
    try:
        data = sealer.unseal(sealed, purpose="login_state", now=now)
    except SealError:
        raise LoginStateError("invalid_login_state") from None
    state = _from_dict(data)
    if state is None or not _fresh(state.issued_at, now):
        raise LoginStateError("invalid_login_state")
    return state


def _optional_str(data: Mapping[str, Any], key: str) -> tuple[bool, str | None]:
    value = data.get(key)
    return (value is None or isinstance(value, str)), value


def _from_dict(data: object) -> LoginState | None:
    """Schema check (authkit-session ``StateSchema``); None when the shape is wrong."""
    if not isinstance(data, dict):
        return None
    nonce = data.get("nonce")
    verifier = data.get("codeVerifier")
    issued = data.get("issuedAt")
    if not isinstance(nonce, str) or not nonce:
        return None
    if not isinstance(verifier, str) or _VERIFIER.fullmatch(verifier) is None:
        return None
    if isinstance(issued, bool) or not isinstance(issued, (int, float)):
        return None
    if not math.isfinite(issued):
        return None
    fields = [_optional_str(data, k) for k in ("returnPathname", "customState", "redirectUri")]
    if not all(ok for ok, _ in fields):
        return None
    (_, return_pathname), (_, custom_state), (_, redirect_uri) = fields
    return LoginState(
        nonce=nonce,
        code_verifier=verifier,
        return_pathname=safe_return_path(return_pathname, "/"),  # A8, defence in depth
        custom_state=custom_state,
        issued_at=int(issued),
        redirect_uri=redirect_uri,
    )


def _fresh(issued_at_ms: int, now: float) -> bool:
    """A5: at most 600 s old and at most 60 s in the future, to the millisecond."""
    now_ms = math.floor(now * 1000)  # the same rounding as issued_at
    return issued_at_ms <= now_ms + FUTURE_SKEW_MS and now_ms - issued_at_ms <= (
        LOGIN_STATE_TTL * 1000
    )


# -- verifier cookies --------------------------------------------------------------------


def fnv1a32(data: bytes) -> int:
    """FNV-1a, 32 bits (offset 0x811c9dc5, prime 0x01000193), as authkit-session."""
    value = _FNV_OFFSET
    for byte in data:
        value = ((value ^ byte) * _FNV_PRIME) & 0xFFFFFFFF
    return value


def verifier_cookie_name(sealed_state: str) -> str:
    """``wos-auth-verifier-<8 hex>``: one cookie per flow, same name as the JS libraries."""
    return f"{VERIFIER_COOKIE_PREFIX}-{fnv1a32(sealed_state.encode('utf-8')):08x}"


def is_verifier_cookie_name(name: str) -> bool:
    """The per-flow names and the legacy one; ``wos-auth-verifierX`` is not ours."""
    return name == LEGACY_VERIFIER_COOKIE or name.startswith(VERIFIER_COOKIE_PREFIX + "-")


def stale_verifier_cookies(
    cookie_names: Iterable[str],
    *,
    keep: str | None,
    max_pending: int = DEFAULT_MAX_PENDING_FLOWS,
) -> list[str]:
    """Verifier cookies to expire so the ``Cookie`` header never grows to HTTP 431 (A4).

    authkit-session ``selectStalePKCEVerifierCookieNames`` semantics: tolerate up to
    ``max_pending`` pending flows counting ``keep`` (the one minted on this
    request); once that would be exceeded, expire *every* other verifier cookie.
    Names are hashes with no order, so "all but the newest" is the only bounded
    policy. ``keep`` is never returned. Order follows ``cookie_names``. At most
    ``MAX_DELETIONS`` names: a stuffed Cookie header must not amplify into a
    response header proxies refuse (the rest go on the next sign-ins).
    """
    others: dict[str, None] = {}
    for name in cookie_names:
        if name != keep and is_verifier_cookie_name(name):
            others[name] = None
    pending = len(others) + (1 if keep is not None else 0)
    return [] if pending <= max_pending else list(others)[:MAX_DELETIONS]


# -- when to start a flow ----------------------------------------------------------------


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive lookup that tries the lowercase key (ASGI) first."""
    value = headers.get(name)
    if value is not None:
        return value
    for key, candidate in headers.items():
        if key.lower() == name:
            return candidate
    return None


def is_document_navigation(method: str, headers: Mapping[str, str]) -> bool:
    """True for a top-level page load: only those get a verifier cookie and an HTML
    redirect to AuthKit (fetch/XHR and prefetches never complete OAuth, and each one
    would mint a cookie - authkit-nextjs ``isInitialDocumentRequest``).

    GET/HEAD, ``Accept`` containing ``text/html``, no ``Purpose``/``Sec-Purpose``
    prefetch, and ``Sec-Fetch-Dest`` absent or ``document``.
    """
    if method not in ("GET", "HEAD"):
        return False
    accept = _header(headers, "accept")
    if accept is None or "text/html" not in accept.lower():
        return False
    for name in ("purpose", "sec-purpose"):
        value = _header(headers, name)
        if value is not None and "prefetch" in value.lower():
            return False
    dest = _header(headers, "sec-fetch-dest")
    return dest is None or dest.strip().lower() == "document"
