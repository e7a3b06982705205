"""Lean RS256 verification of WorkOS access tokens.

This runs for every cookie the engine has not seen yet, so it is a straight line over
``cryptography`` instead of ``jwt.decode`` (no per-call option dicts, algorithm
objects or key preparation), while keeping every check PyJWT and workos-python make:

* strict compact JWS: exactly three base64url segments, canonical, no padding, at
  most :data:`MAX_TOKEN_LENGTH` characters, header and payload JSON objects;
* ``alg`` pinned to ``RS256`` whatever the header says (F1, RFC 8725 §3.1): ``none``,
  ``HS256`` keyed with the public key (CVE-2022-29217 shape), RS512, PS256, ES256...
  are refused before any key is used;
* ``crit`` is refused: we implement no JWS extension (F7, CVE-2026-32597);
* keys come from the configured JWKS only, ``jku``/``x5u``/``jwk``/``x5c`` are
  ignored (F2);
* RSASSA-PKCS1-v1_5 with SHA-256 over the ASCII ``header.payload``;
* ``exp`` required, ``nbf``/``iat`` checked, optional ``iss``, non-empty ``sub``
  (F5, RFC 8725 §3.8); no ``aud`` by default because WorkOS access tokens carry
  none (F6, wpy ``verify_aud: False``), but one can be required.

Failures raise :class:`~authkit_middleware.core.errors.TokenError` with a stable
``code`` (the ``CODE_*`` constants). Messages never contain the token.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

import pybase64
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.hashes import SHA256

from . import strict_json
from .auth import Auth, Impersonator, User, _build_auth
from .errors import KeySetUnavailableError, TokenError
from .jwks import JWKSCache

__all__ = [
    "CODE_ALG_NOT_ALLOWED",
    "CODE_BAD_SIGNATURE",
    "CODE_MALFORMED",
    "CODE_NOT_A_USER_TOKEN",
    "CODE_NOT_YET_VALID",
    "CODE_TOKEN_EXPIRED",
    "CODE_UNKNOWN_KID",
    "CODE_WRONG_AUDIENCE",
    "CODE_WRONG_ISSUER",
    "MAX_TOKEN_LENGTH",
    "attested_claims",
    "auth_from_claims",
    "claims_to_auth_fields",
    "decode_unverified_header",
    "ensure_user_access_token",
    "is_user_access_token",
    "key_for_token",
    "split_token",
    "token_kid",
    "unverified_claims",
    "verify_access_token",
]

CODE_MALFORMED = "malformed_token"
CODE_ALG_NOT_ALLOWED = "alg_not_allowed"
CODE_BAD_SIGNATURE = "bad_signature"
CODE_TOKEN_EXPIRED = "token_expired"
CODE_NOT_YET_VALID = "token_not_yet_valid"
CODE_WRONG_ISSUER = "wrong_issuer"
CODE_WRONG_AUDIENCE = "wrong_audience"
CODE_UNKNOWN_KID = "unknown_kid"
CODE_NOT_A_USER_TOKEN = "not_a_user_token"

#: Longest token accepted, in characters. WorkOS access tokens are ~1 KiB; even with
#: many permissions and feature flags they stay far below this. Bounding the input
#: bounds the base64/JSON work an attacker can cause.
MAX_TOKEN_LENGTH = 16 * 1024

_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
# 6-bit value of each base64url byte (only consulted after the alphabet check).
_VALUE = bytes(_ALPHABET.find(bytes([b])) & 0xFF for b in range(256))
_PADS = (b"", b"", b"==", b"=")

_PKCS1V15 = PKCS1v15()
_SHA256 = SHA256()


_KID_NOT_STRING = "Token key id is not a string."
_NOT_COMPACT = "Token is not a compact JWS (three base64url segments)."


def _fail(code: str, message: str) -> TokenError:
    return TokenError(message, code=code)


def _b64decode(segment: bytes) -> bytes:
    """Strict base64url (RFC 7515 §2): alphabet checked by ``split_token``, no padding.

    Also refuses non-canonical encodings (non-zero unused bits in the last
    character), so no two distinct strings decode to the same bytes: a token string
    cannot be altered while still verifying (as PyJWT >= 2.13, GHSA-hxm8-2xgr-2p9m).
    """
    rem = len(segment) % 4
    if rem == 1:
        raise _fail(CODE_MALFORMED, "Token segment has an impossible base64url length.")
    if rem and _VALUE[segment[-1]] & (0x0F if rem == 2 else 0x03):
        raise _fail(CODE_MALFORMED, "Token segment is not canonical base64url.")
    try:
        # pybase64 reads base64url itself (SIMD): no translation to the standard
        # alphabet, ~4x faster than binascii on a token's payload.
        return pybase64.b64decode(segment + _PADS[rem], altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):  # pragma: no cover - alphabet already checked
        raise _fail(CODE_MALFORMED, "Token segment is not base64url.") from None


def _json_object(segment: bytes, what: str) -> dict[str, Any]:
    try:
        value = strict_json.loads(_b64decode(segment))
    except (ValueError, RecursionError):  # JSONDecodeError, UnicodeDecodeError are ValueErrors
        raise _fail(CODE_MALFORMED, f"Token {what} is not JSON.") from None
    if type(value) is not dict:
        raise _fail(CODE_MALFORMED, f"Token {what} is not a JSON object.")
    return value


#: What a header segment is, judged once: ``(header, kid, kid_error, error)``.
#: ``header`` is the parsed JSON object (None when the segment is not one), ``kid``
#: its key id when that is a string, ``kid_error`` what :func:`token_kid` raises and
#: ``error`` what the header rules of :func:`verify_access_token` raise, each as
#: ``(code, message)`` or None.
_HeaderCheck = tuple[
    "dict[str, Any] | None", "str | None", "tuple[str, str] | None", "tuple[str, str] | None"
]

#: Judged JOSE headers by their exact base64url segment. Every token of one signing
#: key carries the same header, so it is decoded and checked once per key instead of
#: on every token. The judgement is a function of the segment's bytes alone, so a hit
#: answers exactly what a fresh check would, rejections included (each raise is a new
#: ``TokenError`` with the same code and message). Bounded: cleared when full
#: (attacker-chosen headers cost a parse each, as before). Headers are shared: read
#: them, never mutate.
_HEADERS: dict[bytes, _HeaderCheck] = {}
_HEADER_CACHE_SIZE = 64


def _judge_header(segment: bytes) -> _HeaderCheck:
    """The judgement of a header segment, uncached (see ``_HEADERS``)."""
    try:
        header = _json_object(segment, "header")
    except TokenError as exc:
        parse_error = (exc.code, exc.message)
        return None, None, parse_error, parse_error
    kid = header.get("kid")
    kid_error = None
    if kid is not None and not isinstance(kid, str):
        kid, kid_error = None, (CODE_MALFORMED, _KID_NOT_STRING)
    error = None
    try:
        _check_header(header)
    except TokenError as exc:
        error = (exc.code, exc.message)
    return header, kid, kid_error, error


def _checked_header(segment: bytes) -> _HeaderCheck:
    checked = _HEADERS.get(segment)
    if checked is None:
        checked = _judge_header(segment)
        if len(_HEADERS) >= _HEADER_CACHE_SIZE:
            _HEADERS.clear()
        _HEADERS[segment] = checked
    return checked


def _check_header(header: Mapping[str, Any]) -> None:
    """Header rules that do not need a key (F1, F7)."""
    if header.get("alg") != "RS256":
        raise _fail(CODE_ALG_NOT_ALLOWED, "Token algorithm is not RS256.")
    if "crit" in header:
        # We implement no JWS extension, so any critical one is unknown (RFC 7515 §4.1.11).
        raise _fail(CODE_MALFORMED, "Token has critical header extensions we do not support.")
    if "b64" in header:
        # RFC 7797 unencoded payloads change what is signed; never for access tokens.
        raise _fail(CODE_MALFORMED, "Token uses the b64 header extension.")
    typ = header.get("typ")
    if typ is not None and (not isinstance(typ, str) or typ.lower() != "jwt"):
        raise _fail(CODE_MALFORMED, "Token type is not JWT.")
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise _fail(CODE_MALFORMED, _KID_NOT_STRING)


def decode_unverified_header(token: str | bytes) -> dict[str, Any]:
    """The token's JOSE header, *unverified*: only for choosing a key (``kid``).

    Checks the compact shape and that the header is a JSON object; nothing in it
    may be trusted until :func:`verify_access_token` succeeds.
    """
    header, _, _, parse_error = _checked_header(split_token(token)[0])
    if header is None:
        assert parse_error is not None
        raise _fail(*parse_error)
    return dict(header)


def unverified_claims(token: str) -> dict[str, Any]:
    """Claims of a token *we sealed ourselves* (logout needs ``sid`` of an expired token)."""
    try:
        payload = token.split(".")[1]
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, binascii.Error, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


#: A token split by :func:`split_token`: header, payload, signature, signing input.
TokenParts = tuple[bytes, bytes, bytes, bytes]


def split_token(token: str | bytes) -> TokenParts:
    """Check a token's compact shape once and split it (malformed → ``TokenError``).

    The parts are ``(header, payload, signature, signing_input)`` as ASCII bytes.
    Header and payload must be non-empty; the signature may be empty so that an
    ``alg: none`` token is reported as ``alg_not_allowed`` rather than malformed.

    Hand the result to :func:`token_kid` and :func:`verify_access_token` (``parts=``)
    for *that same token*, so that it is encoded, checked and split once, not twice.
    """
    if type(token) is str:
        if len(token) > MAX_TOKEN_LENGTH:
            raise _fail(CODE_MALFORMED, "Token is too long.")
        try:
            raw = token.encode("ascii")
        except UnicodeEncodeError:
            raise _fail(CODE_MALFORMED, "Token is not ASCII.") from None
    elif isinstance(token, (bytes, bytearray)):
        if len(token) > MAX_TOKEN_LENGTH:
            raise _fail(CODE_MALFORMED, "Token is too long.")
        raw = bytes(token)
    else:
        raise _fail(CODE_MALFORMED, "Token is not a string.")
    signing_input, _, signature = raw.rpartition(b".")
    header, dot, payload = signing_input.partition(b".")
    # Only base64url bytes and exactly two dots: ``dot`` says there are two at least;
    # with ``-``/``_`` and the first two dots made letters, any other byte (a third
    # dot included) leaves the token not alphanumeric (bytes.isalnum is ASCII-only
    # and False when empty). Same verdict as deleting the alphabet and expecting
    # b"..", in a few C passes instead of a byte-by-byte translation.
    if not dot or not raw.replace(b"-", b"A").replace(b"_", b"A").replace(b".", b"A", 2).isalnum():
        raise _fail(CODE_MALFORMED, _NOT_COMPACT)
    if not header or not payload:
        raise _fail(CODE_MALFORMED, "Token has an empty header or payload.")
    return header, payload, signature, signing_input


def token_kid(token: str | bytes, *, parts: TokenParts | None = None) -> str | None:
    """The ``kid`` of a token's header (None when absent); malformed → ``TokenError``.

    ``parts``: :func:`split_token` of this very token, when already done.
    """
    segment = (parts if parts is not None else split_token(token))[0]
    checked = _HEADERS.get(segment) or _checked_header(segment)
    if checked[2] is not None:
        raise _fail(*checked[2])
    return checked[1]


def key_for_token(cache: JWKSCache, kid: str | None, now: float) -> RSAPublicKey:
    """The verification key for ``kid``, or the error that ends the request.

    No usable key set at all (never fetched, or past ``max_stale``) raises
    :class:`KeySetUnavailableError` so callers fail closed with a 503 (F10); a set
    without that ``kid`` raises ``TokenError(code="unknown_kid")`` (F3). Call it
    after the engine has had its chance to refetch (``cache.should_fetch``).
    """
    key = cache.key_for(kid, now)
    if key is not None:
        return key
    if not cache.available(now):
        raise KeySetUnavailableError()
    raise _fail(CODE_UNKNOWN_KID, "Token was signed with a key that is not in the JWKS.")


def _number(value: Any, name: str) -> float | None:
    """A NumericDate claim (RFC 7519 §2): int or finite float, never bool or string.

    (The common int case is also inlined in :func:`verify_access_token`.)
    """
    if value is None:
        return None
    kind = type(value)
    if kind is int or (kind is float and math.isfinite(value)):
        return float(value)
    raise _fail(CODE_MALFORMED, f"Token claim {name} is not a number.")


def verify_access_token(
    token: str | bytes,
    key: RSAPublicKey,
    *,
    now: float,
    leeway: float,
    issuer: str | Sequence[str] | None,
    audience: str | Sequence[str] | None = None,
    parts: TokenParts | None = None,
) -> dict[str, Any]:
    """Verify an RS256 access token with ``key`` and return its claims.

    ``now`` is Unix time; ``leeway`` (seconds, ≤ 60 advised, F5) widens ``exp``,
    ``nbf`` and ``iat``. ``issuer`` None skips the ``iss`` check (the SDK default);
    a string or a sequence of strings requires ``iss`` to be one of them.
    ``audience`` None ignores ``aud`` (WorkOS tokens have none, F6); otherwise
    ``aud`` (string or list) must contain one of the given values.

    Whether the token is a *user* token is the caller's decision:
    :func:`is_user_access_token` / :func:`ensure_user_access_token`.
    ``parts``: :func:`split_token` of this very token, when already done.
    """
    header_b64, payload_b64, signature_b64, signing_input = (
        parts if parts is not None else split_token(token)
    )
    error = (_HEADERS.get(header_b64) or _checked_header(header_b64))[3]
    if error is not None:
        raise _fail(*error)
    if not signature_b64:
        raise _fail(CODE_BAD_SIGNATURE, "Token has no signature.")
    signature = _b64decode(signature_b64)
    try:
        key.verify(signature, signing_input, _PKCS1V15, _SHA256)
    except InvalidSignature:
        raise _fail(CODE_BAD_SIGNATURE, "Token signature does not verify.") from None
    return _checked_claims(payload_b64, now, leeway, issuer, audience)


def attested_claims(
    token: str | bytes,
    *,
    now: float,
    leeway: float,
    issuer: str | Sequence[str] | None,
    audience: str | Sequence[str] | None = None,
    parts: TokenParts | None = None,
) -> dict[str, Any]:
    """:func:`verify_access_token` without the RS256 signature check, for a token
    whose attestation has just checked (``core.attestation``): a verification of
    this exact token by this exact key, made when it was sealed. Every other check
    (shape, header rules, ``exp``/``nbf``/``iat``, ``iss``, ``aud``, ``sub``) runs.

    Never call it for a token that has no checked attestation.
    """
    header_b64, payload_b64, _, _ = parts if parts is not None else split_token(token)
    error = (_HEADERS.get(header_b64) or _checked_header(header_b64))[3]
    if error is not None:
        raise _fail(*error)
    return _checked_claims(payload_b64, now, leeway, issuer, audience)


def _checked_claims(
    payload_b64: bytes,
    now: float,
    leeway: float,
    issuer: str | Sequence[str] | None,
    audience: str | Sequence[str] | None,
) -> dict[str, Any]:
    """The payload's claims once the signature (or attestation) is known good."""
    claims = _json_object(payload_b64, "payload")
    get = claims.get

    # NumericDates: an int (the usual) is converted inline, anything else by _number.
    exp: Any = get("exp")
    exp = float(exp) if type(exp) is int else _number(exp, "exp")
    if exp is None:
        raise _fail(CODE_MALFORMED, "Token has no exp claim.")
    # Comparisons are written so that a NaN ``now`` or ``leeway`` fails closed.
    if not exp > now - leeway:
        raise _fail(CODE_TOKEN_EXPIRED, "Token has expired.")
    nbf: Any = get("nbf")
    if nbf is not None:
        nbf = float(nbf) if type(nbf) is int else _number(nbf, "nbf")
        if not nbf <= now + leeway:
            raise _fail(CODE_NOT_YET_VALID, "Token is not valid yet (nbf).")
    iat: Any = get("iat")
    if iat is not None:
        iat = float(iat) if type(iat) is int else _number(iat, "iat")
        if not iat <= now + leeway:
            raise _fail(CODE_NOT_YET_VALID, "Token is not valid yet (iat).")

    if issuer is not None:
        iss = get("iss")
        if not isinstance(iss, str) or (
            iss != issuer if isinstance(issuer, str) else iss not in issuer
        ):
            raise _fail(CODE_WRONG_ISSUER, "Token issuer is not the configured one.")
    if audience is not None:
        _check_audience(get("aud"), audience)

    sub = get("sub")
    if not isinstance(sub, str) or not sub:
        raise _fail(CODE_MALFORMED, "Token has no subject.")
    return claims


def _check_audience(aud: Any, audience: str | Sequence[str]) -> None:
    wanted = (audience,) if isinstance(audience, str) else tuple(audience)
    values = [aud] if isinstance(aud, str) else aud
    if not isinstance(values, list) or not any(isinstance(v, str) and v in wanted for v in values):
        raise _fail(CODE_WRONG_AUDIENCE, "Token audience is not the configured one.")


def is_user_access_token(claims: Mapping[str, Any]) -> bool:
    """Whether verified claims belong to a user session, exactly as workos-python.

    Agent and widget tokens are signed with the same key; they carry ``sub_type``
    or a ``sub_profile`` other than ``user`` and no session (``sid``/``auth_time``),
    and must not sign anyone in (wpy ``session._is_user_access_token``).
    """
    auth_time = claims.get("auth_time")
    return (
        isinstance(claims.get("sid"), str)
        and isinstance(auth_time, (int, float))
        and claims.get("sub_profile") in (None, "user")
        and claims.get("sub_type") is None
    )


def ensure_user_access_token(claims: Mapping[str, Any]) -> None:
    """Raise ``TokenError(code="not_a_user_token")`` unless :func:`is_user_access_token`."""
    if not is_user_access_token(claims):
        raise _fail(CODE_NOT_A_USER_TOKEN, "Token is not a user session access token.")


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


#: ``isinstance(item, str)`` as a C callable (``isinstance`` itself resolves to this
#: very check for ``str``, whose metaclass is ``type``), so ``filter`` runs in C.
_IS_STR: Callable[[Any], bool] = partial(type.__instancecheck__, str)


def _strs(value: Any) -> tuple[str, ...]:
    if not isinstance(value, (list, tuple)):
        return ()
    return tuple(filter(_IS_STR, value))


def _impersonator(act: Any) -> Impersonator | None:
    if act is None or not isinstance(act, Mapping):
        return None
    email = act.get("sub")
    if not isinstance(email, str) or not email:
        return None
    return Impersonator(email=email, reason=_str(act.get("reason")))


def _expires_at(exp: Any) -> int | None:
    if type(exp) is int:
        return exp
    if type(exp) is float and math.isfinite(exp):
        return int(exp)
    return None


_FIELD_READERS: tuple[tuple[str, str, Callable[[Any], Any]], ...] = (
    ("session_id", "sid", _str),
    ("organization_id", "org_id", _str),
    ("role", "role", _str),
    ("roles", "roles", _strs),
    ("permissions", "permissions", _strs),
    ("entitlements", "entitlements", _strs),
    ("feature_flags", "feature_flags", _strs),
    ("impersonator", "act", _impersonator),
    ("expires_at", "exp", _expires_at),
)


def claims_to_auth_fields(claims: Mapping[str, Any]) -> dict[str, Any]:
    """``Auth`` keyword arguments read from verified claims. Never raises.

    Junk types (a number where a string is due, a string where a list is due...)
    read as absent; list claims keep their string items only. ``user`` comes from
    the sealed session, not the token, as in workos-python.
    """
    return {field: read(claims.get(claim)) for field, claim, read in _FIELD_READERS}


def auth_from_claims(
    user: User,
    access_token: str,
    claims: Mapping[str, Any],
    source: str,
    impersonator: Impersonator | None = None,
) -> Auth:
    """``Auth(user=, access_token=, claims=, source=, **claims_to_auth_fields(claims))``,
    built in one positional call (no keyword dict): the first-request hot path.

    The readers of ``_FIELD_READERS`` inlined, in ``Auth``'s field order (a test checks
    both ways agree). ``impersonator`` (the sealed session's), when given, wins over
    the token's ``act`` claim.
    """
    get = claims.get
    roles = get("roles")
    permissions = get("permissions")
    entitlements = get("entitlements")
    flags = get("feature_flags")
    sid = get("sid")
    org = get("org_id")
    role = get("role")
    exp = get("exp")
    return _build_auth(  # Auth(...) without the frozen dataclass's per-field setattr
        user,
        sid if isinstance(sid, str) else None,
        org if isinstance(org, str) else None,
        role if isinstance(role, str) else None,
        tuple(filter(_IS_STR, roles)) if isinstance(roles, (list, tuple)) else (),
        tuple(filter(_IS_STR, permissions)) if isinstance(permissions, (list, tuple)) else (),
        tuple(filter(_IS_STR, entitlements)) if isinstance(entitlements, (list, tuple)) else (),
        tuple(filter(_IS_STR, flags)) if isinstance(flags, (list, tuple)) else (),
        impersonator if impersonator is not None else _impersonator(get("act")),
        access_token,
        claims,
        exp if type(exp) is int else _expires_at(exp),
        source,
    )
