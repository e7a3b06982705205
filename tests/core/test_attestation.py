"""Token attestations (core.attestation) and ``attested_claims`` (core.tokens).

An attestation is an HMAC-SHA256 truncated to 16 bytes (22 base64url characters),
keyed by HKDF-SHA256 of the API key, over the SHA-256 fingerprint of the verifying
key's DER SubjectPublicKeyInfo followed by the exact token. ``check`` must say True
for exactly that token, key and API key, and False (never raise) for anything else.
``attested_claims`` is ``verify_access_token`` without the signature check: for a
token whose signature is good, both give the same claims or the same error.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
import string
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from authkit_test_support.bearer import (
    forge_alg_none,
    forge_hs256_with_public_key,
    forge_other_key_same_kid,
    sign,
    user_claims,
)
from authkit_test_support.encoding import b64url
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_der_public_key,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from authkit_middleware.core.attestation import ATTESTATION_LENGTH, TokenAttestor
from authkit_middleware.core.errors import TokenError
from authkit_middleware.core.tokens import attested_claims, verify_access_token
from authkit_middleware.emulator import Emulator

API_KEY = "sk_test_attestation_0123456789"
OTHER_API_KEY = "sk_test_attestation_9876543210"
#: The HKDF ``info`` of version 1 attestations: part of the cookie format (workers of
#: two versions of the middleware must agree), so pinned here rather than imported.
INFO_V1 = b"authkit-middleware/v1 access token attestation"
BASE64URL = re.compile(r"[A-Za-z0-9_-]{22}")
#: base64url, in its own order (a character's index is its 6-bit value).
ALPHABET = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"

ascii_tokens = st.text(st.characters(codec="ascii"), min_size=1, max_size=300)
api_keys = st.text(min_size=1, max_size=60)


@functools.cache
def _rsa_key(index: int, bits: int = 2048) -> RSAPublicKey:
    """A public RSA key, made once per ``index`` (key generation is slow)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=bits).public_key()


@functools.cache
def _attestor(api_key: str = API_KEY) -> TokenAttestor:
    return TokenAttestor(api_key)


@functools.cache
def _jwt() -> str:
    """A real RS256 access token (its exact text is what gets attested)."""
    emulator = _emulator()
    return sign(emulator, user_claims(emulator))


@functools.cache
def _emulator() -> Emulator:
    """An emulator used only to mint tokens (never served)."""
    return Emulator()


def _reference(api_key: str, token: str, key: RSAPublicKey) -> str:
    """The attestation as the module doc defines it, with the standard ``hmac``."""
    secret = HKDF(algorithm=SHA256(), length=32, salt=None, info=INFO_V1).derive(
        api_key.encode("utf-8")
    )
    der = key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    message = hashlib.sha256(der).digest() + token.encode("ascii")
    return b64url(hmac.new(secret, message, hashlib.sha256).digest()[:16])


# --------------------------------------------------------------------------- attest/check


def test_an_attestation_checks_for_its_token_and_key() -> None:
    """Round trip: what ``attest`` makes, ``check`` accepts, in this process and in
    another one with the same API key (another worker)."""
    token, key = _jwt(), _rsa_key(0)
    made = _attestor().attest(token, key)
    assert _attestor().check(token, key, made) is True
    assert TokenAttestor(API_KEY).check(token, key, made) is True


@settings(max_examples=200, deadline=None)
@given(token=ascii_tokens)
def test_an_attestation_is_22_base64url_characters(token: str) -> None:
    """Any ASCII token's attestation is 22 characters of the base64url alphabet
    (16 bytes, unpadded), and it checks."""
    made = _attestor().attest(token, _rsa_key(0))
    assert len(made) == ATTESTATION_LENGTH == 22
    assert BASE64URL.fullmatch(made), made
    assert len(base64.urlsafe_b64decode(made + "==")) == 16
    assert _attestor().check(token, _rsa_key(0), made) is True


@settings(max_examples=100, deadline=None)
@given(api_key=api_keys, token=ascii_tokens)
def test_an_attestation_is_the_hmac_the_module_describes(api_key: str, token: str) -> None:
    """The hand-made HMAC states (RFC 2104 ipad/opad) give exactly the standard
    HMAC-SHA256, truncated, under HKDF of the API key, over fingerprint + token."""
    for key in (_rsa_key(0), _rsa_key(1)):
        assert TokenAttestor(api_key).attest(token, key) == _reference(api_key, token, key)


def test_the_key_is_identified_by_its_fingerprint_not_the_object() -> None:
    """The same public key parsed twice (a JWKS fetched again, another worker)
    attests alike: what counts is its DER fingerprint."""
    key = _rsa_key(0)
    again = load_der_public_key(key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo))
    assert isinstance(again, RSAPublicKey) and again is not key
    token = _jwt()
    assert _attestor().attest(token, again) == _attestor().attest(token, key)
    assert _attestor().check(token, again, _attestor().attest(token, key)) is True


def test_attestations_stay_right_past_the_kept_key_states() -> None:
    """More keys than the attestor keeps HMAC states for (16), used in turn: every
    attestation is still the reference one, for its own key only."""
    attestor = TokenAttestor(API_KEY)
    keys = [_rsa_key(100 + i, 1024) for i in range(20)]
    token = _jwt()
    for _ in range(2):
        for i, key in enumerate(keys):
            made = attestor.attest(token, key)
            assert made == _reference(API_KEY, token, key)
            assert attestor.check(token, keys[i - 1], made) is False


# --------------------------------------------------------------------------- refusals


def _one_change(draw: st.DrawFn, text: str, alphabet: st.SearchStrategy[str]) -> str:
    """``text`` with one character replaced, removed or inserted (never itself)."""
    index = draw(st.integers(0, len(text) - 1))
    how = draw(st.sampled_from(["replace", "remove", "insert"]))
    if how == "remove":
        return text[:index] + text[index + 1 :]
    char = draw(alphabet.filter(lambda c: c != text[index]))
    if how == "insert":
        return text[:index] + char + text[index:]
    return text[:index] + char + text[index + 1 :]


@st.composite
def token_and_change(draw: st.DrawFn) -> tuple[str, str]:
    token = draw(st.builds(_jwt) | ascii_tokens)
    return token, _one_change(draw, token, st.characters(codec="ascii"))


@settings(max_examples=300, deadline=None)
@given(pair=token_and_change())
def test_a_token_changed_by_one_character_does_not_check(pair: tuple[str, str]) -> None:
    """Not one character of the token may change (replaced, removed or added)."""
    token, changed = pair
    made = _attestor().attest(token, _rsa_key(0))
    assert _attestor().check(changed, _rsa_key(0), made) is False


@settings(max_examples=300, deadline=None)
@given(data=st.data(), token=st.builds(_jwt) | ascii_tokens)
def test_a_changed_attestation_does_not_check(data: st.DataObject, token: str) -> None:
    """Any other string than the attestation itself is refused: one character
    replaced, removed or added (in the base64url alphabet or not), or any text."""
    made = _attestor().attest(token, _rsa_key(0))
    alphabet = data.draw(st.sampled_from([st.sampled_from(ALPHABET), st.characters()]))
    if data.draw(st.booleans()):
        changed = _one_change(data.draw, made, alphabet)
    else:
        changed = data.draw(st.text().filter(lambda s: s != made))
    assert changed != made
    assert _attestor().check(token, _rsa_key(0), changed) is False


def test_every_one_character_change_of_the_attestation_does_not_check() -> None:
    """Exhaustively: each of the 22 positions replaced by each other base64url
    character (the last position included), and each one removed or doubled."""
    token, key = _jwt(), _rsa_key(0)
    made = _attestor().attest(token, key)
    for index, char in enumerate(made):
        for other in ALPHABET.replace(char, ""):
            changed = made[:index] + other + made[index + 1 :]
            assert _attestor().check(token, key, changed) is False, (index, other)
        assert _attestor().check(token, key, made[:index] + made[index + 1 :]) is False
        assert _attestor().check(token, key, made[:index] + char + made[index:]) is False


def test_a_non_canonical_encoding_of_the_same_mac_does_not_check() -> None:
    """The last character carries 2 bits of the MAC and 4 unused ones: another
    character with the same 2 bits decodes to the same bytes, and is still refused
    (attestations are compared as the exact strings)."""
    token, key = _jwt(), _rsa_key(0)
    made = _attestor().attest(token, key)
    last = ALPHABET.index(made[-1])
    twins = [c for c in ALPHABET if ALPHABET.index(c) >> 4 == last >> 4 and c != made[-1]]
    assert len(twins) == 15
    for twin in twins:
        other = made[:-1] + twin
        assert base64.urlsafe_b64decode(other + "==") == base64.urlsafe_b64decode(made + "==")
        assert _attestor().check(token, key, other) is False


@settings(max_examples=100, deadline=None)
@given(token=st.builds(_jwt) | ascii_tokens)
def test_another_key_does_not_check(token: str) -> None:
    """An attestation vouches for one verification key: another RSA key (another
    fingerprint), even under the same kid, makes it refused."""
    made = _attestor().attest(token, _rsa_key(0))
    assert _attestor().check(token, _rsa_key(1), made) is False


@settings(max_examples=100, deadline=None)
@given(keys=st.lists(api_keys, min_size=2, max_size=2, unique=True), token=ascii_tokens)
def test_another_api_key_does_not_check(keys: list[str], token: str) -> None:
    """An attestation made under one API key is refused under any other."""
    made = TokenAttestor(keys[0]).attest(token, _rsa_key(0))
    assert TokenAttestor(keys[1]).check(token, _rsa_key(0), made) is False


def test_the_fixed_other_api_key_does_not_check() -> None:
    """The same, for the two keys the security tests use side by side."""
    token, key = _jwt(), _rsa_key(0)
    assert _attestor(OTHER_API_KEY).check(token, key, _attestor().attest(token, key)) is False


class _Str(str):
    """A ``str`` subclass: ``check`` takes exact strings only."""

    __slots__ = ()


def _genuine() -> str:
    return _attestor().attest(_jwt(), _rsa_key(0))


@pytest.mark.parametrize(
    "make",
    [
        lambda: None,
        lambda: "",
        lambda: 0,
        lambda: 1.5,
        lambda: True,
        lambda: [],
        lambda: {},
        lambda: object(),
        lambda: _genuine().encode("ascii"),
        lambda: bytearray(_genuine().encode("ascii")),
        lambda: memoryview(_genuine().encode("ascii")),
        lambda: [_genuine()],
        lambda: _Str(_genuine()),
        lambda: _genuine() + "=",
        lambda: _genuine() + "==",
        lambda: _genuine()[:-1],
        lambda: " " + _genuine()[1:],
        lambda: _genuine()[:-1] + "\u00e9",
        lambda: _genuine()[:-1] + "\x00",
        lambda: _genuine().upper() if _genuine().upper() != _genuine() else "A" * 22,
    ],
    ids=[
        "None",
        "empty",
        "int",
        "float",
        "bool",
        "list",
        "dict",
        "object",
        "bytes",
        "bytearray",
        "memoryview",
        "in-a-list",
        "str-subclass",
        "padded-1",
        "padded-2",
        "short",
        "space",
        "non-ascii",
        "nul",
        "case-changed",
    ],
)
def test_malformed_attestations_are_false_never_an_error(make: Callable[[], Any]) -> None:
    """Anything but the exact 22-character string is False, without raising."""
    assert _attestor().check(_jwt(), _rsa_key(0), make()) is False


@settings(max_examples=200, deadline=None)
@given(
    attestation=st.one_of(
        st.text().filter(lambda s: len(s) != ATTESTATION_LENGTH),
        st.text(min_size=22, max_size=22).filter(lambda s: not s.isascii()),
        st.binary(),
        st.integers(),
        st.none(),
        st.floats(),
        st.lists(st.text(), max_size=3),
    )
)
def test_any_malformed_attestation_is_false(attestation: object) -> None:
    """Wrong length, non-ASCII, not a string at all: False, never an exception."""
    assert _attestor().check(_jwt(), _rsa_key(0), attestation) is False


@settings(max_examples=200, deadline=None)
@given(
    token=st.text(min_size=1).filter(lambda s: not s.isascii()),
    attestation=st.builds(_genuine) | st.just("A" * 22) | st.text(),
)
def test_a_non_ascii_token_never_checks(token: str, attestation: str) -> None:
    """A token with a non-ASCII character is False for any attestation (no
    ``UnicodeEncodeError``): no real token has one."""
    assert _attestor().check(token, _rsa_key(0), attestation) is False


def test_a_non_ascii_twin_of_the_token_does_not_check() -> None:
    """The genuine token with one character swapped for a look-alike."""
    token = _jwt()
    twin = token[:10] + "\u0430" + token[11:]  # Cyrillic a
    assert _attestor().check(twin, _rsa_key(0), _genuine()) is False


# --------------------------------------------------------------------------- claims


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    yield _emulator()


def _outcome(fn: Callable[[], dict[str, Any]]) -> tuple[Any, ...]:
    """What a verification answered: its claims, or its error's type, code and text."""
    try:
        return ("claims", fn())
    except TokenError as exc:
        return ("error", type(exc), exc.code, str(exc))


def _both(token: str, key: RSAPublicKey, **options: Any) -> tuple[tuple[Any, ...], ...]:
    options = {"now": time.time(), "leeway": 0.0, "issuer": None, **options}
    return (
        _outcome(lambda: verify_access_token(token, key, **options)),
        _outcome(lambda: attested_claims(token, **options)),
    )


def _public_key(emulator: Emulator) -> RSAPublicKey:
    return emulator.keys.signer.private_key.public_key()


def _signed(emulator: Emulator, **overrides: Any) -> str:
    return sign(emulator, user_claims(emulator, **overrides))


def test_attested_claims_are_the_verified_claims(emulator: Emulator) -> None:
    """A good token: the same claims, with the issuer checked or not."""
    token = _signed(emulator)
    for issuer in (None, emulator.issuer, [emulator.issuer, "https://other.example"]):
        verified, attested = _both(token, _public_key(emulator), issuer=issuer)
        assert verified == attested
        assert verified[0] == "claims" and verified[1]["sub"]


CLAIM_CASES: dict[str, tuple[dict[str, Any], dict[str, Any], str]] = {
    # name: (claim overrides relative to now, verification options, expected code)
    "expired": ({"exp": -3600, "iat": -4000}, {}, "token_expired"),
    "expired-past-leeway": ({"exp": -61, "iat": -400}, {"leeway": 60.0}, "token_expired"),
    "nbf-in-future": ({"nbf": 600}, {}, "token_not_yet_valid"),
    "iat-in-future": ({"iat": 600}, {}, "token_not_yet_valid"),
    "wrong-issuer": ({}, {"issuer": "https://evil.example/user_management/x"}, "wrong_issuer"),
    "no-issuer": ({"iss": None}, {"issuer": "ISSUER"}, "wrong_issuer"),
    "no-sub": ({"sub": None}, {}, "malformed_token"),
    "empty-sub": ({"sub": ""}, {}, "malformed_token"),
    "no-exp": ({"exp": None}, {}, "malformed_token"),
    "string-exp": ({"exp": "soon"}, {}, "malformed_token"),
}


@pytest.mark.parametrize("case", CLAIM_CASES, ids=list(CLAIM_CASES))
def test_attested_claims_refuse_what_verification_refuses(emulator: Emulator, case: str) -> None:
    """Every claim rule runs without the signature check too: expired, not valid
    yet (nbf, iat), wrong or missing issuer, no subject, no exp. Same error."""
    relative, options, code = CLAIM_CASES[case]
    now = int(time.time())
    overrides = {
        k: (now + v if isinstance(v, int) and k in ("exp", "iat", "nbf") else v)
        for k, v in relative.items()
    }
    if options.get("issuer") == "ISSUER":
        options = {**options, "issuer": emulator.issuer}
    token = _signed(emulator, **overrides)
    verified, attested = _both(token, _public_key(emulator), now=float(now), **options)
    assert verified == attested
    assert verified[:1] == ("error",) and verified[2] == code, verified


@pytest.mark.parametrize(
    "forge",
    [forge_alg_none, forge_hs256_with_public_key],
    ids=["alg-none", "hs256-with-public-key"],
)
def test_attested_claims_refuse_a_header_verification_refuses(
    emulator: Emulator, forge: Callable[[Emulator, dict[str, Any]], str]
) -> None:
    """The header rules (RS256 only) run without the signature check too."""
    token = forge(emulator, user_claims(emulator))
    verified, attested = _both(token, _public_key(emulator))
    assert verified == attested
    assert verified[:1] == ("error",) and verified[2] == "alg_not_allowed", verified


def test_attested_claims_do_not_check_the_signature(emulator: Emulator) -> None:
    """What only the attestation stands for: a token signed by another key under the
    same kid fails verification but passes ``attested_claims`` (so the engine may
    call it only after ``TokenAttestor.check`` said True for the kid's key)."""
    token = forge_other_key_same_kid(emulator, user_claims(emulator))
    verified, attested = _both(token, _public_key(emulator))
    assert verified[:3] == ("error", TokenError, "bad_signature")
    assert attested[0] == "claims"


@settings(max_examples=60, deadline=None)
@given(
    exp=st.integers(-400, 400),
    nbf=st.none() | st.integers(-400, 400),
    iat=st.none() | st.integers(-400, 400),
    leeway=st.sampled_from([0.0, 5.0, 60.0]),
    iss=st.sampled_from(["ours", "theirs", None]),
    issuer=st.sampled_from(["ours", None]),
    sub=st.sampled_from(["user_01ABC", "", None, 7]),
)
def test_attested_claims_answer_as_verification_for_any_claims(
    exp: int,
    nbf: int | None,
    iat: int | None,
    leeway: float,
    iss: str | None,
    issuer: str | None,
    sub: Any,
) -> None:
    """For a correctly signed token, ``attested_claims`` and ``verify_access_token``
    give the same claims or the same error, whatever the times, issuer and subject."""
    emulator = _emulator()
    now = int(time.time())
    names = {"ours": emulator.issuer, "theirs": "https://evil.example/user_management/c"}
    claims = user_claims(
        emulator,
        exp=now + exp,
        nbf=None if nbf is None else now + nbf,
        iat=None if iat is None else now + iat,
        iss=None if iss is None else names[iss],
        sub=sub,
    )
    token = sign(emulator, claims)
    verified, attested = _both(
        token,
        _public_key(emulator),
        now=float(now),
        leeway=leeway,
        issuer=None if issuer is None else names[issuer],
    )
    assert verified == attested
