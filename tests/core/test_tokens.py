"""Access-token verification (core.tokens): checklist F1-F7, attack table rows 18-19."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest
from authkit_test_support.encoding import b64url
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from authkit_middleware.core.auth import Impersonator
from authkit_middleware.core.errors import KeySetUnavailableError, TokenError
from authkit_middleware.core.jwks import JWKSCache
from authkit_middleware.core.tokens import (
    MAX_TOKEN_LENGTH,
    claims_to_auth_fields,
    decode_unverified_header,
    ensure_user_access_token,
    is_user_access_token,
    key_for_token,
    token_kid,
    verify_access_token,
)

NOW = 1_800_000_000.0
ISS = "https://api.workos.com/user_management/client_01TEST"
KID = "key_01TEST"
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def b64json(value: Any) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def claims(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "iss": ISS,
        "sub": "user_01HXYZ",
        "sid": "session_01HXYZ",
        "jti": "01HXYZJTI",
        "org_id": "org_01HXYZ",
        "role": "admin",
        "roles": ["admin", "member"],
        "permissions": ["posts:read", "posts:write"],
        "entitlements": ["pro"],
        "feature_flags": ["beta"],
        "auth_time": int(NOW) - 100,
        "iat": int(NOW) - 10,
        "exp": int(NOW) + 290,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def rs256(key: rsa.RSAPrivateKey, payload: Any, header: dict[str, Any] | None = None) -> str:
    hdr = {"alg": "RS256", "typ": "JWT", "kid": KID} if header is None else header
    signing_input = f"{b64json(hdr)}.{b64json(payload)}"
    sig = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64url(sig)}"


@pytest.fixture(scope="module")
def private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def other_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def public_key(private_key: rsa.RSAPrivateKey) -> rsa.RSAPublicKey:
    return private_key.public_key()


@pytest.fixture(scope="module")
def token(private_key: rsa.RSAPrivateKey) -> str:
    return rs256(private_key, claims())


def verify(tok: Any, key: rsa.RSAPublicKey, **kw: Any) -> dict[str, Any]:
    kw.setdefault("now", NOW)
    kw.setdefault("leeway", 30.0)
    kw.setdefault("issuer", ISS)
    return verify_access_token(tok, key, **kw)


def code_of(tok: Any, key: rsa.RSAPublicKey, **kw: Any) -> str:
    with pytest.raises(TokenError) as info:
        verify(tok, key, **kw)
    return info.value.code


# -- accepted ---------------------------------------------------------------------------


def test_valid_token_returns_claims(token: str, public_key: rsa.RSAPublicKey) -> None:
    assert verify(token, public_key) == claims()


def test_agrees_with_pyjwt(token: str, public_key: rsa.RSAPublicKey) -> None:
    expected = jwt.decode(
        token,
        public_key,
        algorithms=["RS256"],
        issuer=ISS,
        options={"verify_exp": False, "verify_iat": False},
    )
    assert verify(token, public_key) == expected


def test_pyjwt_signed_token_accepted(
    private_key: rsa.RSAPrivateKey, public_key: rsa.RSAPublicKey
) -> None:
    tok = jwt.encode(claims(), private_key, algorithm="RS256", headers={"kid": KID})
    assert verify(tok, public_key)["sub"] == "user_01HXYZ"


def test_bytes_token_accepted(token: str, public_key: rsa.RSAPublicKey) -> None:
    assert verify(token.encode(), public_key)["sid"] == "session_01HXYZ"


def test_typ_absent_or_lowercase_accepted(
    private_key: rsa.RSAPrivateKey, public_key: rsa.RSAPublicKey
) -> None:
    for header in ({"alg": "RS256"}, {"alg": "RS256", "typ": "jwt", "kid": KID}):
        assert verify(rs256(private_key, claims(), header), public_key)


def test_key_url_headers_are_ignored(
    private_key: rsa.RSAPrivateKey, public_key: rsa.RSAPublicKey, other_key: rsa.RSAPrivateKey
) -> None:
    """F2: jku/x5u/jwk/x5c never pick the key; verification uses ours only."""
    pub = other_key.public_key().public_numbers()
    header = {
        "alg": "RS256",
        "kid": KID,
        "jku": "https://evil.example/jwks",
        "x5u": "https://evil.example/cert",
        "jwk": {"kty": "RSA", "n": b64url(pub.n.to_bytes(256, "big")), "e": "AQAB"},
        "x5c": ["MIIB"],
    }
    assert verify(rs256(private_key, claims(), header), public_key)
    assert code_of(rs256(other_key, claims(), header), public_key) == "bad_signature"


# -- algorithm (F1, row 18) --------------------------------------------------------------


def test_alg_none_rejected(public_key: rsa.RSAPublicKey) -> None:
    unsigned = f"{b64json({'alg': 'none', 'typ': 'JWT'})}.{b64json(claims())}."
    assert code_of(unsigned, public_key) == "alg_not_allowed"
    for alg in ("None", "NONE", "nOnE", "", None, 7, ["RS256"]):
        tok = f"{b64json({'alg': alg})}.{b64json(claims())}.c2ln"
        assert code_of(tok, public_key) == "alg_not_allowed"


def test_hs256_with_public_key_pem_as_secret_rejected(public_key: rsa.RSAPublicKey) -> None:
    """CVE-2022-29217 shape, built by hand because PyJWT refuses to sign it."""
    pem = public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    for secret in (pem, pem.strip()):
        signing_input = f"{b64json({'alg': 'HS256', 'typ': 'JWT', 'kid': KID})}.{b64json(claims())}"
        mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        assert code_of(f"{signing_input}.{b64url(mac)}", public_key) == "alg_not_allowed"
        # Even lying about alg does not help: the HMAC is no RSA signature.
        forged = f"{b64json({'alg': 'RS256', 'kid': KID})}.{b64json(claims())}"
        mac = hmac.new(secret, forged.encode(), hashlib.sha256).digest()
        assert code_of(f"{forged}.{b64url(mac)}", public_key) == "bad_signature"


def test_rs512_rejected(private_key: rsa.RSAPrivateKey, public_key: rsa.RSAPublicKey) -> None:
    tok = jwt.encode(claims(), private_key, algorithm="RS512", headers={"kid": KID})
    assert code_of(tok, public_key) == "alg_not_allowed"


def test_ps256_rejected(private_key: rsa.RSAPrivateKey, public_key: rsa.RSAPublicKey) -> None:
    tok = jwt.encode(claims(), private_key, algorithm="PS256", headers={"kid": KID})
    assert code_of(tok, public_key) == "alg_not_allowed"
    # PSS signature under an RS256 header: still not PKCS#1 v1.5.
    signing_input = f"{b64json({'alg': 'RS256', 'kid': KID})}.{b64json(claims())}"
    sig = private_key.sign(
        signing_input.encode(),
        padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
        hashes.SHA256(),
    )
    assert code_of(f"{signing_input}.{b64url(sig)}", public_key) == "bad_signature"


def test_es256_rejected(public_key: rsa.RSAPublicKey) -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    tok = jwt.encode(claims(), ec_key, algorithm="ES256", headers={"kid": KID})
    assert code_of(tok, public_key) == "alg_not_allowed"


def test_rs256_with_sha512_signature_rejected(
    private_key: rsa.RSAPrivateKey, public_key: rsa.RSAPublicKey
) -> None:
    signing_input = f"{b64json({'alg': 'RS256', 'kid': KID})}.{b64json(claims())}"
    sig = private_key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA512())
    assert code_of(f"{signing_input}.{b64url(sig)}", public_key) == "bad_signature"


# -- signature and key choice (F3) ------------------------------------------------------------


def test_other_key_same_kid_rejected(
    other_key: rsa.RSAPrivateKey, public_key: rsa.RSAPublicKey
) -> None:
    assert code_of(rs256(other_key, claims()), public_key) == "bad_signature"


def test_empty_signature_rejected(token: str, public_key: rsa.RSAPublicKey) -> None:
    assert code_of(token.rsplit(".", 1)[0] + ".", public_key) == "bad_signature"


def test_truncated_signature_rejected(token: str, public_key: rsa.RSAPublicKey) -> None:
    assert code_of(token[:-4], public_key) in {"bad_signature", "malformed_token"}
    assert code_of(token[:-3] + "A", public_key) == "bad_signature"


def _cache_with(public_key: rsa.RSAPublicKey, kid: str = KID) -> JWKSCache:
    nums = public_key.public_numbers()
    jwk = {
        "kty": "RSA",
        "alg": "RS256",
        "use": "sig",
        "kid": kid,
        "n": b64url(nums.n.to_bytes((nums.n.bit_length() + 7) // 8, "big")),
        "e": b64url(nums.e.to_bytes(3, "big")),
    }
    cache = JWKSCache()
    cache.store({"keys": [jwk]}, NOW)
    return cache


def test_key_for_token_finds_kid(token: str, public_key: rsa.RSAPublicKey) -> None:
    cache = _cache_with(public_key)
    kid = token_kid(token)
    assert kid == KID
    key = key_for_token(cache, kid, NOW)
    assert verify(token, key)["sub"] == "user_01HXYZ"


def test_wrong_kid_is_unknown_kid(public_key: rsa.RSAPublicKey) -> None:
    cache = _cache_with(public_key)
    with pytest.raises(TokenError) as info:
        key_for_token(cache, "key_other", NOW)
    assert info.value.code == "unknown_kid"
    assert info.value.status == 401


def test_missing_kid_single_key_ok(public_key: rsa.RSAPublicKey) -> None:
    assert key_for_token(_cache_with(public_key), None, NOW) is not None


def test_no_key_set_fails_closed() -> None:
    with pytest.raises(KeySetUnavailableError) as info:
        key_for_token(JWKSCache(), KID, NOW)
    assert info.value.code == "jwks_unavailable"


def test_stale_key_set_fails_closed(public_key: rsa.RSAPublicKey) -> None:
    cache = _cache_with(public_key)
    with pytest.raises(KeySetUnavailableError):
        key_for_token(cache, KID, NOW + cache.max_stale + 1)


def test_non_string_kid_malformed(private_key: rsa.RSAPrivateKey) -> None:
    tok = rs256(private_key, claims(), {"alg": "RS256", "kid": 5})
    with pytest.raises(TokenError) as info:
        token_kid(tok)
    assert info.value.code == "malformed_token"
    assert code_of(tok, private_key.public_key()) == "malformed_token"


def test_decode_unverified_header(token: str) -> None:
    assert decode_unverified_header(token) == {"alg": "RS256", "typ": "JWT", "kid": KID}


# -- time claims (F5, row 19, row 33) ---------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "leeway", "code"),
    [
        ({"exp": int(NOW) - 31}, 30.0, "token_expired"),
        ({"exp": int(NOW) - 30}, 30.0, "token_expired"),  # exp <= now - leeway, as PyJWT
        ({"exp": int(NOW)}, 0.0, "token_expired"),
        ({"exp": None}, 30.0, "malformed_token"),
        ({"exp": "1900000000"}, 30.0, "malformed_token"),
        ({"exp": True}, 30.0, "malformed_token"),
        ({"exp": 1e400}, 30.0, "malformed_token"),  # parses to inf: never "never expires"
        ({"nbf": int(NOW) + 31}, 30.0, "token_not_yet_valid"),
        ({"nbf": "soon"}, 30.0, "malformed_token"),
        ({"iat": int(NOW) + 31}, 30.0, "token_not_yet_valid"),
        ({"iat": int(NOW) + 1}, 0.0, "token_not_yet_valid"),
        ({"iat": [1]}, 30.0, "malformed_token"),
    ],
)
def test_time_claims_rejected(
    private_key: rsa.RSAPrivateKey, overrides: dict[str, Any], leeway: float, code: str
) -> None:
    tok = rs256(private_key, claims(**overrides))
    assert code_of(tok, private_key.public_key(), leeway=leeway) == code


@pytest.mark.parametrize(
    "overrides",
    [
        {"exp": int(NOW) - 29},  # expired, within leeway
        {"exp": NOW + 0.5},  # float NumericDate
        {"nbf": int(NOW) + 29},
        {"nbf": int(NOW)},
        {"iat": int(NOW) + 29},  # clock skew within leeway (workos-python#468)
        {"iat": None, "nbf": None},
    ],
)
def test_time_claims_within_leeway_accepted(
    private_key: rsa.RSAPrivateKey, overrides: dict[str, Any]
) -> None:
    tok = rs256(private_key, claims(**overrides))
    assert verify(tok, private_key.public_key(), leeway=30.0)["sub"] == "user_01HXYZ"


def test_nan_clock_or_leeway_fails_closed(token: str, public_key: rsa.RSAPublicKey) -> None:
    nan = float("nan")
    assert code_of(token, public_key, now=nan) == "token_expired"
    assert code_of(token, public_key, leeway=nan) == "token_expired"


def test_nan_and_infinity_literals_rejected(private_key: rsa.RSAPrivateKey) -> None:
    for literal in ("Infinity", "NaN", "-Infinity"):
        payload = json.dumps(claims()).replace(f'"exp": {int(NOW) + 290}', f'"exp": {literal}')
        assert literal in payload
        hdr = b64json({"alg": "RS256", "kid": KID})
        signing_input = f"{hdr}.{b64url(payload.encode())}"
        sig = private_key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        tok = f"{signing_input}.{b64url(sig)}"
        assert code_of(tok, private_key.public_key()) == "malformed_token"


# -- issuer, audience, subject (F5, F6) ---------------------------------------------------------


def test_issuer_rules(private_key: rsa.RSAPrivateKey) -> None:
    pub = private_key.public_key()
    evil = rs256(private_key, claims(iss="https://evil.example"))
    no_iss = rs256(private_key, claims(iss=None))
    bad_type = rs256(private_key, claims(iss=["x"]))
    assert code_of(evil, pub) == "wrong_issuer"
    assert code_of(no_iss, pub) == "wrong_issuer"
    assert code_of(bad_type, pub) == "wrong_issuer"
    # Not configured: any issuer (the SDK default).
    for tok in (evil, no_iss, bad_type):
        assert verify(tok, pub, issuer=None)
    # A list of issuers: membership, never substring.
    assert verify(evil, pub, issuer=[ISS, "https://evil.example"])
    assert code_of(evil, pub, issuer=(ISS,)) == "wrong_issuer"
    assert code_of(rs256(private_key, claims(iss="api")), pub, issuer=ISS) == "wrong_issuer"
    assert code_of(evil, pub, issuer=[]) == "wrong_issuer"


def test_audience_optional(private_key: rsa.RSAPrivateKey) -> None:
    pub = private_key.public_key()
    plain = rs256(private_key, claims())
    with_aud = rs256(private_key, claims(aud=["a", "b"]))
    assert verify(plain, pub)  # WorkOS tokens have no aud (F6)
    assert verify(with_aud, pub)
    assert verify(with_aud, pub, audience="b")
    assert verify(rs256(private_key, claims(aud="a")), pub, audience=["x", "a"])
    assert code_of(plain, pub, audience="a") == "wrong_audience"
    assert code_of(with_aud, pub, audience="c") == "wrong_audience"


@pytest.mark.parametrize("sub", [None, "", 42, ["user_1"]])
def test_subject_required(private_key: rsa.RSAPrivateKey, sub: Any) -> None:
    tok = rs256(private_key, claims(sub=sub))
    assert code_of(tok, private_key.public_key()) == "malformed_token"


# -- header rules (F7) ------------------------------------------------------------------


@pytest.mark.parametrize(
    "extra",
    [
        {"crit": ["exp"], "exp": 1},
        {"crit": ["b64"], "b64": True},
        {"crit": ["https://example.com/ext"]},
        {"crit": []},
        {"crit": "b64"},
        {"b64": False},
        {"typ": "JOSE+JSON"},
        {"typ": "at+jwt"},
        {"typ": 1},
    ],
)
def test_header_extensions_rejected(private_key: rsa.RSAPrivateKey, extra: dict[str, Any]) -> None:
    tok = rs256(private_key, claims(), {"alg": "RS256", "kid": KID, **extra})
    assert code_of(tok, private_key.public_key()) == "malformed_token"


def test_pyjwt_also_rejects_unknown_crit(private_key: rsa.RSAPrivateKey) -> None:
    tok = rs256(private_key, claims(), {"alg": "RS256", "kid": KID, "crit": ["exp"], "exp": 1})
    with pytest.raises(jwt.InvalidTokenError):
        jwt.decode(tok, private_key.public_key(), algorithms=["RS256"])


# -- malformed input --------------------------------------------------------------------


def test_malformed_shapes(token: str, public_key: rsa.RSAPublicKey) -> None:
    h, p, s = token.split(".")
    cases = [
        "",
        f"{h}.{p}",
        f"{h}.{p}.{s}.{s}",
        f"{h}..{s}",
        f".{p}.{s}",
        f"{h}.{p}.{s}=",
        f"{h}=.{p}.{s}",
        f"{h}.{p}.{s[:-1]}+",
        f"{h}.{p}.{s} ",
        f" {token}",
        f"{token}\n",
        f"{h}.{p}!.{s}",
        f"{h}.{p[:-1]}.{s}" if len(p) % 4 == 2 else f"{h}.{p}A.{s}",
        f"{b64url(b'not json')}.{p}.{s}",
        f"{b64json([1, 2])}.{p}.{s}",
        f"{b64json('RS256')}.{p}.{s}",
        f"{b64url(b'{' * 2000)}.{p}.{s}",
        f"{b64url(b'[' * 5000)}.{p}.{s}",
        f"{b64url(json.dumps({'alg': 'RS256'}).encode('utf-16'))}.{p}.{s}",
        f"{b64url(bytes([0xFF, 0xFE]))}.{p}.{s}",
        f"{h}.{p}.{s}" + "A" * MAX_TOKEN_LENGTH,
        "é".join(token.split(".")),
    ]
    for case in cases:
        assert code_of(case, public_key) in {"malformed_token", "bad_signature"}, case


def test_non_canonical_base64_rejected(token: str, public_key: rsa.RSAPublicKey) -> None:
    """Unused low bits in the last character must be zero: one string per token."""
    h, p, s = token.split(".")
    assert len(s) % 4 == 2  # 256-byte signature: last char carries 2 bits + 4 unused
    last = ALPHABET.index(s[-1])
    for bits in range(1, 16):
        twin = f"{h}.{p}.{s[:-1]}{ALPHABET[last | bits]}"
        assert code_of(twin, public_key) == "malformed_token"
    # PyJWT >= 2.13 refuses such twins too (GHSA-hxm8-2xgr-2p9m); we keep parity.
    with pytest.raises(jwt.DecodeError):
        jwt.decode(f"{h}.{p}.{s[:-1]}{ALPHABET[last | 1]}", public_key, algorithms=["RS256"])


def test_payload_not_object(private_key: rsa.RSAPrivateKey) -> None:
    for payload in ([1], "x", 3, None):
        assert code_of(rs256(private_key, payload), private_key.public_key()) == "malformed_token"


def test_huge_token_rejected_before_work(public_key: rsa.RSAPublicKey) -> None:
    huge = "A" * (MAX_TOKEN_LENGTH + 1)
    assert code_of(huge, public_key) == "malformed_token"
    assert code_of(f"{huge}.{huge}.{huge}", public_key) == "malformed_token"


def test_non_string_inputs(public_key: rsa.RSAPublicKey) -> None:
    for junk in (None, 1, 1.5, ["a.b.c"], b"\xff.\xfe.\xfd", bytearray(b"a.b.c")):
        assert code_of(junk, public_key) == "malformed_token"


def test_error_messages_never_contain_the_token(
    token: str, other_key: rsa.RSAPrivateKey, public_key: rsa.RSAPublicKey
) -> None:
    bad = rs256(other_key, claims())
    for tok in (bad, token + "x", token.replace(".", "", 1)):
        with pytest.raises(TokenError) as info:
            verify(tok, public_key)
        text = f"{info.value} {info.value!r}"
        for part in tok.split("."):
            assert not part or part not in text


# -- user tokens --------------------------------------------------------------------------------


def test_user_token_rules() -> None:
    ok = claims()
    assert is_user_access_token(ok)
    ensure_user_access_token(ok)
    assert is_user_access_token(claims(sub_profile="user"))
    assert is_user_access_token(claims(auth_time=1.5))
    rejects = [
        claims(sub_type="agent"),
        claims(sub_profile="widget"),
        claims(auth_time=None),
        claims(auth_time="123"),
        claims(sid=None),
        claims(sid=123),
        {**claims(), "sub_type": None, "sub_profile": None},  # null == absent: still a user
    ]
    for c in rejects[:-1]:
        assert not is_user_access_token(c)
        with pytest.raises(TokenError) as info:
            ensure_user_access_token(c)
        assert info.value.code == "not_a_user_token"
    assert is_user_access_token(rejects[-1])


def test_agent_token_verifies_but_is_not_a_user_token(private_key: rsa.RSAPrivateKey) -> None:
    tok = rs256(private_key, claims(sub_type="agent", sid=None, auth_time=None))
    verified = verify(tok, private_key.public_key())
    assert not is_user_access_token(verified)


# -- claims -> Auth fields ---------------------------------------------------------------------


def test_claims_to_auth_fields() -> None:
    fields = claims_to_auth_fields(claims(act={"sub": "admin@example.com", "reason": "support"}))
    assert fields == {
        "session_id": "session_01HXYZ",
        "organization_id": "org_01HXYZ",
        "role": "admin",
        "roles": ("admin", "member"),
        "permissions": ("posts:read", "posts:write"),
        "entitlements": ("pro",),
        "feature_flags": ("beta",),
        "impersonator": Impersonator(email="admin@example.com", reason="support"),
        "expires_at": int(NOW) + 290,
    }


def test_claims_to_auth_fields_tolerates_junk() -> None:
    junk = {
        "sid": 1,
        "org_id": ["o"],
        "role": {"r": 1},
        "roles": "admin",
        "permissions": ["ok", 1, None, {"x": 1}],
        "entitlements": {"a": 1},
        "feature_flags": None,
        "act": {"sub": 5},
        "exp": "soon",
    }
    fields = claims_to_auth_fields(junk)
    assert fields["session_id"] is None
    assert fields["organization_id"] is None
    assert fields["role"] is None
    assert fields["roles"] == ()
    assert fields["permissions"] == ("ok",)
    assert fields["entitlements"] == ()
    assert fields["feature_flags"] == ()
    assert fields["impersonator"] is None
    assert fields["expires_at"] is None
    assert claims_to_auth_fields({})["roles"] == ()
    assert claims_to_auth_fields({"act": "x", "exp": 1.9e9})["expires_at"] == 1_900_000_000
    assert claims_to_auth_fields({"exp": float("nan")})["expires_at"] is None
    assert claims_to_auth_fields({"exp": True})["expires_at"] is None


@given(
    st.dictionaries(
        st.text(max_size=20),
        st.recursive(
            st.none() | st.booleans() | st.floats() | st.integers() | st.text(),
            lambda c: st.lists(c) | st.dictionaries(st.text(), c),
            max_leaves=10,
        ),
    )
)
def test_claims_to_auth_fields_never_raises(junk: dict[str, Any]) -> None:
    claims_to_auth_fields(junk)
    is_user_access_token(junk)


# -- properties -------------------------------------------------------------------------------


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(st.text(), st.binary(), st.text(alphabet=ALPHABET + ".", max_size=400)))
def test_any_input_only_token_error(public_key: rsa.RSAPublicKey, data: Any) -> None:
    with pytest.raises(TokenError):
        verify(data, public_key)
    with contextlib.suppress(TokenError):
        decode_unverified_header(data)


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_single_character_change_is_rejected(
    token: str, public_key: rsa.RSAPublicKey, data: st.DataObject
) -> None:
    index = data.draw(st.integers(min_value=0, max_value=len(token) - 1))
    replacement = data.draw(st.sampled_from(ALPHABET + ".").filter(lambda c: c != token[index]))
    mutated = token[:index] + replacement + token[index + 1 :]
    with pytest.raises(TokenError):
        verify(mutated, public_key)


@settings(max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(min_value=0, max_value=2000))
def test_any_truncation_is_rejected(token: str, public_key: rsa.RSAPublicKey, cut: int) -> None:
    if cut < len(token):
        with pytest.raises(TokenError):
            verify(token[:cut], public_key)


def test_real_clock_smoke(private_key: rsa.RSAPrivateKey) -> None:
    now = time.time()
    tok = rs256(private_key, claims(iat=int(now), exp=int(now) + 300))
    assert verify(tok, private_key.public_key(), now=now)


# -- against the local emulator over HTTP, through the real SDK ------------------------------


@pytest.mark.slow
def test_emulator_jwks_via_sdk_verifies_its_tokens() -> None:
    """The JWKS the SDK fetches (``get_jwks``) verifies tokens the emulator mints.

    Also checks a rotation the way the engine drives it: new kid -> refetch -> verify.
    """
    import workos

    from authkit_middleware.emulator import Emulator

    emulator = Emulator()
    with emulator.serve() as server:
        client = workos.WorkOSClient(
            api_key=server.api_key,
            client_id=server.client_id,
            base_url=server.base_url,
            max_retries=0,
        )
        try:
            cache = JWKSCache()
            now = time.time()
            jwks = client.user_management.get_jwks(server.client_id).to_dict()
            cache.store(jwks, now)
            assert cache.has_keys and not cache.last_attempt_failed

            session = emulator.issue_session("alice@example.com")
            tok = session["access_token"]
            key = key_for_token(cache, token_kid(tok), now)
            verified = verify_access_token(tok, key, now=now, leeway=30.0, issuer=emulator.issuer)
            ensure_user_access_token(verified)
            assert verified["sub"] == session["user"]["id"]
            assert claims_to_auth_fields(verified)["session_id"] == verified["sid"]

            new_kid = emulator.rotate_signing_key()
            tok2 = emulator.issue_session("alice@example.com")["access_token"]
            assert token_kid(tok2) == new_kid
            later = now + cache.refetch_cooldown
            assert cache.key_for(new_kid, later) is None
            assert cache.should_fetch(new_kid, later)
            cache.store(client.user_management.get_jwks(server.client_id).to_dict(), later)
            key2 = key_for_token(cache, new_kid, later)
            assert verify_access_token(tok2, key2, now=now, leeway=30.0, issuer=emulator.issuer)
            # The old key stays published, so the first token still verifies.
            assert verify_access_token(
                tok, key_for_token(cache, token_kid(tok), later), now=now, leeway=30.0, issuer=None
            )
        finally:
            client.close()
