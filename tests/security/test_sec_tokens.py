"""Forged access tokens sealed with the right password: only verification stands in
the way (checklist F1-F5; rows 18-19). Every one must end signed out or refreshed,
never authenticated with the forged claims."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest
from authkit_test_support.encoding import b64url
from cryptography.hazmat.primitives import serialization
from sechelpers import SESSION_COOKIE, Harness, check_safe, make_harness, seal_session

from authkit_middleware.emulator import Emulator, EmulatorServer, SigningKey

pytestmark = pytest.mark.category("forged-tokens")


def _unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())


_STRANGER: list[SigningKey] = []


def _stranger() -> SigningKey:
    """Another WorkOS client's key (generated once: RSA keys take ~50 ms)."""
    if not _STRANGER:
        _STRANGER.append(SigningKey.generate())
    return _STRANGER[0]


def forged_tokens(emulator: Emulator, claims: dict[str, Any]) -> dict[str, str]:
    signer = emulator.keys.signer
    kid = signer.kid
    now = time.time()
    pem = signer.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    hs_head = _unsigned({"alg": "HS256", "typ": "JWT", "kid": kid}, claims)
    hs_sig = b64url(hmac.new(pem, hs_head.encode(), hashlib.sha256).digest())
    stranger = _stranger()

    def sign(**changes: Any) -> str:
        return signer.sign({**claims, **changes})

    return {
        "alg-none": _unsigned({"alg": "none", "typ": "JWT", "kid": kid}, claims) + ".",
        "alg-None-with-sig": _unsigned({"alg": "None", "kid": kid}, claims) + ".c2ln",
        "hs256-public-key": hs_head + "." + hs_sig,
        "rs512": jwt.encode(claims, signer.private_key, algorithm="RS512", headers={"kid": kid}),
        "wrong-kid": jwt.encode(
            claims, signer.private_key, algorithm="RS256", headers={"kid": "key_unknown"}
        ),
        "other-key-same-kid": jwt.encode(
            claims, stranger.private_key, algorithm="RS256", headers={"kid": kid}
        ),
        "other-client-key": stranger.sign(claims),
        "expired": sign(exp=int(now) - 3600, iat=int(now) - 4000),
        "not-yet-valid": sign(nbf=int(now) + 600),
        "no-exp": jwt.encode(
            {k: v for k, v in claims.items() if k != "exp"},
            signer.private_key,
            algorithm="RS256",
            headers={"kid": kid},
        ),
        "crit-header": jwt.encode(
            claims, signer.private_key, algorithm="RS256", headers={"kid": kid, "crit": ["exp"]}
        ),
        "jku-header": jwt.encode(
            claims,
            stranger.private_key,
            algorithm="RS256",
            headers={"kid": kid, "jku": "https://evil.example/jwks"},
        ),
        "truncated-signature": sign()[:-10],
    }


def _claims(tokens: dict[str, Any]) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    claims["role"] = "superadmin"
    claims["permissions"] = ["everything:*"]
    return claims


def _forged_cookie(tokens: dict[str, Any], token: str, refresh: str) -> str:
    return seal_session({**tokens, "access_token": token, "refresh_token": refresh})


@pytest.mark.parametrize(
    "case",
    [
        "alg-none",
        "alg-None-with-sig",
        "hs256-public-key",
        "rs512",
        "wrong-kid",
        "other-key-same-kid",
        "other-client-key",
        "expired",
        "not-yet-valid",
        "no-exp",
        "crit-header",
        "jku-header",
        "truncated-signature",
    ],
)
def test_forged_token_never_authenticates(harness: Harness, case: str) -> None:
    emulator = harness.emulator
    tokens = emulator.issue_session("alice@example.com")
    token = forged_tokens(emulator, _claims(tokens))[case]
    # With a refresh token WorkOS refuses: signed out.
    cookie = f"{SESSION_COOKIE}={_forged_cookie(tokens, token, 'bogus-refresh-token')}"
    b = harness.browser()
    r = b.request("GET", "/dash", cookie=cookie, use_jar=False)
    check_safe(r)
    assert r.status_code == 401
    me = b.me(cookie=cookie)
    assert me["user"] is None
    # With a genuine refresh token: refreshed to the real claims, never the forged ones.
    cookie = f"{SESSION_COOKIE}={_forged_cookie(tokens, token, tokens['refresh_token'])}"
    r = b.request("GET", "/auth/me", cookie=cookie, use_jar=False)
    assert r.status_code == 200
    data = r.json()
    assert data.get("role") != "superadmin"
    assert "everything:*" not in (data.get("permissions") or [])


def test_leeway_accepts_small_nbf_skew(harness: Harness) -> None:
    emulator = harness.emulator
    tokens = emulator.issue_session("alice@example.com")
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    token = emulator.keys.signer.sign({**claims, "nbf": int(time.time()) + 30})
    cookie = f"{SESSION_COOKIE}={_forged_cookie(tokens, token, 'bogus')}"
    assert harness.browser().is_signed_in(cookie=cookie)


def test_wrong_issuer_when_configured(emulator: Emulator, server: EmulatorServer) -> None:
    tokens = emulator.issue_session("alice@example.com")
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    token = emulator.keys.signer.sign({**claims, "iss": "https://evil.example"})
    cookie = f"{SESSION_COOKIE}={_forged_cookie(tokens, token, 'bogus-refresh')}"
    for kind in ("asgi", "wsgi"):
        with make_harness(kind, server, issuer=emulator.issuer) as h:
            b = h.browser()
            r = b.request("GET", "/dash", cookie=cookie, use_jar=False)
            check_safe(r)
            assert r.status_code == 401
            genuine = f"{SESSION_COOKIE}={seal_session(tokens)}"
            assert b.is_signed_in(cookie=genuine)
