"""JWKS parsing and the sans-I/O key cache (core.jwks): checklist F3, F4, F9, F10, rows 20-23."""

from __future__ import annotations

import contextlib
import itertools
import random
from typing import Any

import pytest
from authkit_test_support.encoding import b64url
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import given
from hypothesis import strategies as st

from authkit_middleware.core.jwks import JWKSCache, KeySet


def b64int(value: int) -> str:
    return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


def jwk(key: rsa.RSAPrivateKey | rsa.RSAPublicKey, kid: str | None, **extra: Any) -> dict[str, Any]:
    pub = key.public_key() if isinstance(key, rsa.RSAPrivateKey) else key
    nums = pub.public_numbers()
    out: dict[str, Any] = {"kty": "RSA", "alg": "RS256", "use": "sig", "n": b64int(nums.n)}
    out["e"] = b64int(nums.e)
    if kid is not None:
        out["kid"] = kid
    out.update(extra)
    return {k: v for k, v in out.items() if v is not None}


@pytest.fixture(scope="module")
def key_a() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def key_b() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def tiny_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=1024)


def same(a: rsa.RSAPublicKey | None, b: rsa.RSAPrivateKey) -> bool:
    return a is not None and a.public_numbers() == b.public_key().public_numbers()


# -- KeySet.from_jwks (F4, row 21) --------------------------------------------------------


def test_parses_workos_shaped_jwks(key_a: rsa.RSAPrivateKey) -> None:
    doc = {"keys": [jwk(key_a, "key_01A", x5c=["MIIC..."], **{"x5t#S256": "abc"})]}
    keys = KeySet.from_jwks(doc)
    assert len(keys) == 1
    assert "key_01A" in keys
    assert same(keys.get("key_01A"), key_a)
    assert same(keys.get(None), key_a)  # single key: a kid-less token may use it (F3)
    assert keys.get("key_other") is None


def test_unusable_keys_are_skipped(key_a: rsa.RSAPrivateKey, tiny_key: rsa.RSAPrivateKey) -> None:
    good = jwk(key_a, "good")
    junk: list[Any] = [
        {"kty": "AKP", "alg": "ML-DSA-44", "kid": "pq", "pub": "AAAA"},
        {"kty": "EC", "crv": "P-256", "kid": "ec", "x": "junk", "y": "junk"},
        {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
        jwk(key_a, "enc", use="enc"),
        jwk(key_a, "rs512", alg="RS512"),
        jwk(key_a, "ps256", alg="PS256"),
        jwk(key_a, "ops", key_ops=["encrypt"]),
        jwk(key_a, "opsjunk", key_ops="verify"),
        jwk(tiny_key, "tiny"),
        jwk(key_a, "no-n", n=None),
        jwk(key_a, "bad-n", n="!!!not base64!!!"),
        jwk(key_a, "int-n", n=12345),
        jwk(key_a, "zero-e", e="AA"),
        jwk(key_a, "even-e", e=b64int(65536)),
        jwk(key_a, "huge-e", e=b64url(b"\x01" * 64)),
        jwk(key_a, "huge-n", n=b64url(b"\xff" * 2048)),
        jwk(key_a, None),  # no kid while several keys exist
        {**jwk(key_a, "x"), "kid": 7},
        {**jwk(key_a, "x"), "kid": ""},
        "not an object",
        None,
        [],
    ]
    doc = {"keys": [*junk[:10], good, *junk[10:]]}
    keys = KeySet.from_jwks(doc)
    assert list(keys.keys) == ["good"]
    assert same(keys.get("good"), key_a)


def test_alg_and_use_are_optional(key_a: rsa.RSAPrivateKey) -> None:
    keys = KeySet.from_jwks({"keys": [jwk(key_a, "k", alg=None, use=None)]})
    assert same(keys.get("k"), key_a)


def test_padded_values_tolerated(key_a: rsa.RSAPrivateKey) -> None:
    entry = jwk(key_a, "k")
    entry["n"] += "=" * (-len(entry["n"]) % 4)
    entry["e"] += "=" * (-len(entry["e"]) % 4)
    assert same(KeySet.from_jwks({"keys": [entry]}).get("k"), key_a)


def test_missing_kid_single_vs_several(key_a: rsa.RSAPrivateKey, key_b: rsa.RSAPrivateKey) -> None:
    single = KeySet.from_jwks({"keys": [jwk(key_a, None)]})
    assert same(single.get(None), key_a)
    assert same(single.get("anything"), key_a)  # the only key, published without kid
    several = KeySet.from_jwks({"keys": [jwk(key_a, "a"), jwk(key_b, "b")]})
    assert several.get(None) is None  # F3: no kid with several keys -> no key
    assert same(several.get("b"), key_b)
    with pytest.raises(ValueError):
        KeySet.from_jwks({"keys": [jwk(key_a, None), jwk(key_b, None)]})


def test_duplicate_kid_keeps_first(key_a: rsa.RSAPrivateKey, key_b: rsa.RSAPrivateKey) -> None:
    keys = KeySet.from_jwks({"keys": [jwk(key_a, "k"), jwk(key_b, "k")]})
    assert same(keys.get("k"), key_a)


@pytest.mark.parametrize(
    "doc",
    [
        {},
        {"keys": []},
        {"keys": None},
        {"keys": "abc"},
        {"keys": {"kid": "x"}},
        {"keys": [{"kty": "EC"}, {"kty": "AKP"}]},
        [],
        "garbage",
        None,
    ],
)
def test_empty_or_garbage_sets_rejected(doc: Any) -> None:
    with pytest.raises(ValueError):
        KeySet.from_jwks(doc)


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda c: st.lists(c) | st.dictionaries(st.text(), c),
        max_leaves=20,
    )
)
def test_from_jwks_only_raises_value_error(doc: Any) -> None:
    for candidate in (doc, {"keys": doc}, {"keys": [doc]}):
        with contextlib.suppress(ValueError):
            KeySet.from_jwks(candidate)


# -- JWKSCache ------------------------------------------------------------------------


T0 = 1000.0


@pytest.fixture
def doc_a(key_a: rsa.RSAPrivateKey) -> dict[str, Any]:
    return {"keys": [jwk(key_a, "a")]}


def warm(doc: dict[str, Any], **kw: float) -> JWKSCache:
    cache = JWKSCache(**kw)
    assert cache.should_fetch("a", T0)
    cache.store(doc, T0)
    return cache


def test_cold_cache_fetches_and_serves(doc_a: dict[str, Any], key_a: rsa.RSAPrivateKey) -> None:
    cache = JWKSCache()
    assert not cache.has_keys
    assert cache.key_for("a", T0) is None
    assert cache.should_fetch("a", T0)
    assert cache.should_fetch(None, T0)
    cache.store(doc_a, T0)
    assert cache.has_keys
    assert cache.available(T0)
    assert same(cache.key_for("a", T0 + 1), key_a)
    assert not cache.should_fetch("a", T0 + 1)
    assert not cache.last_attempt_failed


def test_ttl_refresh_serves_old_set_meanwhile(
    doc_a: dict[str, Any], key_a: rsa.RSAPrivateKey
) -> None:
    cache = warm(doc_a, ttl=300.0)
    assert not cache.should_fetch("a", T0 + 299)
    assert cache.should_fetch("a", T0 + 300)
    assert same(cache.key_for("a", T0 + 300), key_a)  # still served while refreshing


def test_rotation_new_kid(
    doc_a: dict[str, Any], key_a: rsa.RSAPrivateKey, key_b: rsa.RSAPrivateKey
) -> None:
    """Row 22: a token with a new kid refetches once the cooldown allows, then verifies."""
    cache = warm(doc_a, refetch_cooldown=30.0)
    assert cache.key_for("b", T0 + 5) is None
    assert not cache.should_fetch("b", T0 + 5)  # within cooldown of the initial fetch
    assert cache.should_fetch("b", T0 + 30)
    cache.store({"keys": [jwk(key_a, "a"), jwk(key_b, "b")]}, T0 + 30)
    assert same(cache.key_for("b", T0 + 30), key_b)
    assert same(cache.key_for("a", T0 + 30), key_a)
    assert not cache.should_fetch("b", T0 + 31)


def test_random_kid_flood_at_most_one_fetch_per_cooldown(doc_a: dict[str, Any]) -> None:
    """Row 20 / F3: simulate 10 minutes of 50 random-kid tokens per second."""
    cache = warm(doc_a, refetch_cooldown=30.0, ttl=300.0)
    rng = random.Random(7)
    fetches: list[float] = []
    now = T0
    while now < T0 + 600:
        for _ in range(50):
            kid = f"kid_{rng.getrandbits(64):x}"
            assert cache.key_for(kid, now) is None
            if cache.should_fetch(kid, now):
                fetches.append(now)
                cache.store(doc_a, now)  # the driver's single-flight fetch completes
        now += 1.0
    assert len(fetches) <= 600 / 30
    assert all(b - a >= 30.0 for a, b in itertools.pairwise(fetches))


def test_flood_during_outage_is_also_rate_limited(doc_a: dict[str, Any]) -> None:
    cache = warm(doc_a, refetch_cooldown=30.0)
    fetches = 0
    for step in range(0, 300):
        now = T0 + step
        if cache.should_fetch(f"random{step}", now):
            fetches += 1
            cache.record_failure(now)
    assert fetches <= 300 // 30


def test_outage_after_warm_cache_keeps_last_known_good(
    doc_a: dict[str, Any], key_a: rsa.RSAPrivateKey
) -> None:
    """Row 23 / F9 (pyjwt#1162): a failure never replaces good keys."""
    cache = warm(doc_a, ttl=300.0, refetch_cooldown=30.0)
    now = T0 + 300
    assert cache.should_fetch("a", now)
    cache.record_failure(now)
    assert cache.last_attempt_failed
    assert same(cache.key_for("a", now), key_a)
    # A failed refresh is not retried on every request, only after the cooldown.
    assert not cache.should_fetch("a", now + 29)
    assert cache.should_fetch("a", now + 30)
    cache.record_failure(now + 30)
    assert same(cache.key_for("a", now + 3600), key_a)
    cache.store(doc_a, now + 3600)
    assert not cache.last_attempt_failed


def test_bad_set_keeps_old_one(doc_a: dict[str, Any], key_a: rsa.RSAPrivateKey) -> None:
    cache = warm(doc_a)
    for bad in ({"keys": []}, {"keys": [{"kty": "EC"}]}, {"nope": 1}):
        cache.store(bad, T0 + 400)
        assert cache.last_attempt_failed
        assert same(cache.key_for("a", T0 + 400), key_a)
    # ...and it counts as an attempt: the cooldown started.
    assert not cache.should_fetch("unknown", T0 + 410)


def test_cold_start_outage_fails_closed_and_retries_soon(doc_a: dict[str, Any]) -> None:
    """Row 23 / F10: no keys ever -> nothing to verify with; retry after cold_retry."""
    cache = JWKSCache(cold_retry=2.0, refetch_cooldown=30.0)
    assert cache.should_fetch("a", T0)
    cache.record_failure(T0)
    assert not cache.has_keys
    assert not cache.available(T0)
    assert cache.key_for("a", T0) is None
    assert not cache.should_fetch("a", T0 + 1.9)
    assert cache.should_fetch("a", T0 + 2.0)  # not pinned for a full 30 s cooldown
    cache.store({"keys": []}, T0 + 2.0)  # an empty set is a failure too
    assert not cache.has_keys
    assert not cache.should_fetch("a", T0 + 3.0)
    assert cache.should_fetch("a", T0 + 4.0)
    cache.store(doc_a, T0 + 4.0)
    assert cache.key_for("a", T0 + 4.0) is not None


def test_max_stale_expiry(doc_a: dict[str, Any], key_a: rsa.RSAPrivateKey) -> None:
    cache = warm(doc_a, max_stale=86400.0, cold_retry=2.0)
    cache.record_failure(T0 + 86000)
    assert same(cache.key_for("a", T0 + 86400), key_a)
    assert cache.key_for("a", T0 + 86400.5) is None  # too old to trust: fail closed
    assert not cache.available(T0 + 86400.5)
    assert cache.has_keys  # once had keys (for diagnostics)
    assert cache.should_fetch("a", T0 + 86400.5)  # cold-start rules now
    cache.record_failure(T0 + 86400.5)
    assert not cache.should_fetch("a", T0 + 86401)
    cache.store(doc_a, T0 + 86403)
    assert same(cache.key_for("a", T0 + 86403), key_a)


def test_clock_going_backwards_does_not_pin_the_cache(doc_a: dict[str, Any]) -> None:
    cache = warm(doc_a)
    assert cache.should_fetch("unknown", T0 - 100)
    cache.record_failure(T0 + 10)
    assert cache.should_fetch("a", T0 - 5)


def test_negative_durations_rejected() -> None:
    with pytest.raises(ValueError):
        JWKSCache(ttl=-1)


def test_repr_has_no_key_material(doc_a: dict[str, Any]) -> None:
    text = repr(warm(doc_a))
    assert text == "JWKSCache(keys=1, failed=False)"
    assert doc_a["keys"][0]["n"][:20] not in text
