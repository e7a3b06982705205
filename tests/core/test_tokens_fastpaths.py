"""The lean paths of core.tokens answer exactly as the straightforward ones.

``REF_*`` below is the verification as it was written before the hot path was
trimmed (split by deleting the alphabet, ``JSONDecoder.decode``, the header parsed
and checked on every call, ``_number`` for every NumericDate). Hypothesis feeds both
the same tokens, good and bad, and every answer must agree: the claims, or the
error's class, code and message. The signature is checked by a stand-in key that
accepts or refuses on demand, so that every claim rule is reachable.
"""

from __future__ import annotations

import binascii
import copy
import dataclasses
import json
import math
import pickle
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from types import MappingProxyType
from typing import Any, cast

import pytest
from authkit_test_support.compare import same_answer
from authkit_test_support.encoding import b64url
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from hypothesis import given, settings
from hypothesis import strategies as st

from authkit_middleware.core import tokens
from authkit_middleware.core.auth import Auth, Impersonator, User, _build_auth
from authkit_middleware.core.errors import TokenError
from authkit_middleware.core.tokens import (
    MAX_TOKEN_LENGTH,
    auth_from_claims,
    claims_to_auth_fields,
    decode_unverified_header,
    split_token,
    token_kid,
    verify_access_token,
)

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
NOW = 1_800_000_000.0
ISS = "https://api.workos.com/user_management/client_01TEST"

# -- the reference: the implementation before the fast paths ---------------------------

_REF_ALPHABET = ALPHABET.encode()
_REF_VALUE = bytes(_REF_ALPHABET.find(bytes([b])) & 0xFF for b in range(256))
_REF_TO_STD = bytes.maketrans(b"-_", b"+/")
_REF_PADS = (b"", b"", b"==", b"=")


def _ref_reject_constant(name: str) -> Any:
    raise ValueError("non-finite number")


_REF_JSON = json.JSONDecoder(parse_constant=_ref_reject_constant)


def _ref_fail(code: str, message: str) -> TokenError:
    return TokenError(message, code=code)


def ref_b64decode(segment: bytes) -> bytes:
    rem = len(segment) % 4
    if rem == 1:
        raise _ref_fail("malformed_token", "Token segment has an impossible base64url length.")
    if rem and _REF_VALUE[segment[-1]] & (0x0F if rem == 2 else 0x03):
        raise _ref_fail("malformed_token", "Token segment is not canonical base64url.")
    try:
        return binascii.a2b_base64(segment.translate(_REF_TO_STD) + _REF_PADS[rem])
    except (binascii.Error, ValueError):  # pragma: no cover - alphabet already checked
        raise _ref_fail("malformed_token", "Token segment is not base64url.") from None


def ref_json_object(segment: bytes, what: str) -> dict[str, Any]:
    try:
        value = _REF_JSON.decode(ref_b64decode(segment).decode("utf-8"))
    except (ValueError, RecursionError):
        raise _ref_fail("malformed_token", f"Token {what} is not JSON.") from None
    if type(value) is not dict:
        raise _ref_fail("malformed_token", f"Token {what} is not a JSON object.")
    return value


def ref_split(token: object) -> tuple[bytes, bytes, bytes, bytes]:
    if type(token) is str:
        if len(token) > MAX_TOKEN_LENGTH:
            raise _ref_fail("malformed_token", "Token is too long.")
        try:
            raw = token.encode("ascii")
        except UnicodeEncodeError:
            raise _ref_fail("malformed_token", "Token is not ASCII.") from None
    elif isinstance(token, (bytes, bytearray)):
        if len(token) > MAX_TOKEN_LENGTH:
            raise _ref_fail("malformed_token", "Token is too long.")
        raw = bytes(token)
    else:
        raise _ref_fail("malformed_token", "Token is not a string.")
    if raw.translate(None, _REF_ALPHABET) != b"..":
        raise _ref_fail("malformed_token", "Token is not a compact JWS (three base64url segments).")
    header, payload, signature = raw.split(b".")
    if not header or not payload:
        raise _ref_fail("malformed_token", "Token has an empty header or payload.")
    return header, payload, signature, raw[: len(header) + 1 + len(payload)]


def ref_check_header(header: Mapping[str, Any]) -> None:
    if header.get("alg") != "RS256":
        raise _ref_fail("alg_not_allowed", "Token algorithm is not RS256.")
    if "crit" in header:
        raise _ref_fail(
            "malformed_token", "Token has critical header extensions we do not support."
        )
    if "b64" in header:
        raise _ref_fail("malformed_token", "Token uses the b64 header extension.")
    typ = header.get("typ")
    if typ is not None and (not isinstance(typ, str) or typ.lower() != "jwt"):
        raise _ref_fail("malformed_token", "Token type is not JWT.")
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise _ref_fail("malformed_token", "Token key id is not a string.")


def ref_token_kid(token: Any) -> str | None:
    kid = ref_json_object(ref_split(token)[0], "header").get("kid")
    if kid is not None and not isinstance(kid, str):
        raise _ref_fail("malformed_token", "Token key id is not a string.")
    return kid


def _ref_number(claims: Mapping[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    kind = type(value)
    if kind is int or (kind is float and math.isfinite(value)):
        return float(value)
    raise _ref_fail("malformed_token", f"Token claim {name} is not a number.")


def ref_verify(
    token: Any,
    key: Any,
    *,
    now: float,
    leeway: float,
    issuer: str | Sequence[str] | None,
    audience: str | Sequence[str] | None = None,
) -> dict[str, Any]:
    header_b64, payload_b64, signature_b64, signing_input = ref_split(token)
    ref_check_header(ref_json_object(header_b64, "header"))
    if not signature_b64:
        raise _ref_fail("bad_signature", "Token has no signature.")
    signature = ref_b64decode(signature_b64)
    try:
        key.verify(signature, signing_input, None, None)
    except InvalidSignature:
        raise _ref_fail("bad_signature", "Token signature does not verify.") from None
    claims = ref_json_object(payload_b64, "payload")
    exp = _ref_number(claims, "exp")
    if exp is None:
        raise _ref_fail("malformed_token", "Token has no exp claim.")
    if not exp > now - leeway:
        raise _ref_fail("token_expired", "Token has expired.")
    nbf = _ref_number(claims, "nbf")
    if nbf is not None and not nbf <= now + leeway:
        raise _ref_fail("token_not_yet_valid", "Token is not valid yet (nbf).")
    iat = _ref_number(claims, "iat")
    if iat is not None and not iat <= now + leeway:
        raise _ref_fail("token_not_yet_valid", "Token is not valid yet (iat).")
    if issuer is not None:
        iss = claims.get("iss")
        if not isinstance(iss, str) or (
            iss != issuer if isinstance(issuer, str) else iss not in issuer
        ):
            raise _ref_fail("wrong_issuer", "Token issuer is not the configured one.")
    if audience is not None:
        wanted = (audience,) if isinstance(audience, str) else tuple(audience)
        aud = claims.get("aud")
        values = [aud] if isinstance(aud, str) else aud
        if not isinstance(values, list) or not any(
            isinstance(v, str) and v in wanted for v in values
        ):
            raise _ref_fail("wrong_audience", "Token audience is not the configured one.")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise _ref_fail("malformed_token", "Token has no subject.")
    return claims


# -- helpers ----------------------------------------------------------------------------


class StandInKey:
    """A key whose ``verify`` accepts or refuses as told, recording what it was given."""

    def __init__(self, accept: bool) -> None:
        self.accept = accept
        self.calls: list[tuple[bytes, bytes]] = []

    def verify(self, signature: bytes, data: bytes, *_: Any) -> None:
        self.calls.append((signature, data))
        if not self.accept:
            raise InvalidSignature()


def outcome(fn: Callable[[], Any]) -> tuple[Any, ...]:
    """What a call answers: its value, or its error (class, code, message)."""
    try:
        return ("value", fn())
    except TokenError as exc:
        return ("token_error", type(exc), exc.code, exc.message)
    except Exception as exc:  # e.g. OverflowError on an absurd integer exp
        return ("other_error", type(exc))


WHITESPACE = st.text(alphabet=" \t\n\r\x0b\x0c\xa0", max_size=3)

JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.integers(min_value=10**308, max_value=10**330),  # float() overflows
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.lists(st.one_of(st.text(max_size=4), st.integers(), st.none()), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)

HEADER = st.dictionaries(
    st.sampled_from(["alg", "typ", "kid", "crit", "b64", "jku", "x5u", "zip"]),
    st.one_of(
        st.sampled_from(["RS256", "HS256", "none", "RS512", "JWT", "jwt", "at+jwt", "k1", ""]),
        JUNK,
    ),
).map(lambda h: h if "alg" in h else {"alg": "RS256", **h})

NUMERIC = st.one_of(
    st.integers(min_value=int(NOW) - 400, max_value=int(NOW) + 400),
    st.floats(min_value=NOW - 400, max_value=NOW + 400),
    JUNK,
)

CLAIMS = st.fixed_dictionaries(
    {},
    optional={
        "exp": NUMERIC,
        "nbf": NUMERIC,
        "iat": NUMERIC,
        "iss": st.one_of(st.just(ISS), st.just("https://evil.example"), JUNK),
        "aud": st.one_of(st.just("api"), st.just(["web", "api"]), JUNK),
        "sub": st.one_of(st.just("user_01"), st.just(""), JUNK),
        "sid": st.one_of(st.just("session_01"), JUNK),
    },
)


@st.composite
def json_segment(draw: st.DrawFn, values: st.SearchStrategy[Any]) -> str:
    """A base64url segment: mostly a JSON object (maybe wrapped in whitespace, JSON's
    or not, or followed by junk), sometimes another JSON value or arbitrary bytes."""
    kind = draw(st.sampled_from(["json"] * 6 + ["spaced", "trailing", "other", "bytes"]))
    if kind == "bytes":
        return b64url(draw(st.binary(max_size=40)))
    if kind == "other":
        text = json.dumps(draw(JUNK))
    else:
        separators = draw(st.sampled_from([(",", ":"), (", ", ": ")]))
        text = json.dumps(draw(values), separators=separators)
    if kind == "spaced":
        text = draw(WHITESPACE) + text + draw(WHITESPACE)
    elif kind == "trailing":
        text += draw(st.sampled_from(["x", "}", " 1", "\n{}", "\x00"]))
    return b64url(text.encode("utf-8", "surrogatepass"))


GOOD_HEADER = b64url(b'{"alg":"RS256","kid":"k1","typ":"JWT"}')


@st.composite
def token_text(draw: st.DrawFn) -> str:
    header = draw(st.one_of(st.just(GOOD_HEADER), json_segment(HEADER)))
    payload = draw(json_segment(CLAIMS))
    signature = draw(st.one_of(st.binary(min_size=1, max_size=40).map(b64url), st.just("")))
    token = f"{header}.{payload}.{signature}"
    if draw(st.integers(min_value=0, max_value=3)) == 3:
        # Damage: a character or two replaced (base64url or not, dots and padding too).
        for _ in range(draw(st.integers(min_value=1, max_value=2))):
            index = draw(st.integers(min_value=0, max_value=len(token) - 1))
            char = draw(st.sampled_from([*"Ab0-_.+/= \n", "é", "\x00", *ALPHABET[-8:]]))
            token = token[:index] + char + token[index + 1 :]
    return token


VERIFY_OPTIONS = st.fixed_dictionaries(
    {
        "now": st.sampled_from([NOW, NOW - 300, NOW + 300, math.nan]),
        "leeway": st.sampled_from([0.0, 30.0, 60.0]),
        "issuer": st.sampled_from([None, ISS, (ISS, "https://other.example"), ()]),
        "audience": st.sampled_from([None, "api", ["api", "web"]]),
    }
)


# -- verification ----------------------------------------------------------------------


@settings(max_examples=1500, deadline=None)
@given(token=token_text(), accept=st.booleans(), options=VERIFY_OPTIONS)
def test_verify_answers_as_the_reference(token: str, accept: bool, options: dict[str, Any]) -> None:
    ref_key, key = StandInKey(accept), StandInKey(accept)
    expected = outcome(lambda: ref_verify(token, ref_key, **options))
    # Twice: the first may judge the header, the second then answers from the cache.
    for _ in range(2):
        got = outcome(lambda: verify_access_token(token, cast(RSAPublicKey, key), **options))
        assert got == expected
    assert key.calls[: len(ref_key.calls)] == ref_key.calls  # same bytes, same signature
    assert outcome(lambda: token_kid(token)) == outcome(lambda: ref_token_kid(token))
    parts = outcome(lambda: split_token(token))
    assert parts == outcome(lambda: ref_split(token))
    if parts[0] == "value":
        assert outcome(lambda: token_kid(token, parts=parts[1])) == outcome(
            lambda: ref_token_kid(token)
        )
        got_parts = outcome(
            lambda: verify_access_token(
                token, cast(RSAPublicKey, StandInKey(accept)), parts=parts[1], **options
            )
        )
        assert got_parts == expected


# Mostly valid NumericDates, so that every later rule is reached too.
FUTURE = st.one_of(
    st.integers(min_value=int(NOW) + 31, max_value=int(NOW) + 400),
    st.floats(min_value=NOW + 31, max_value=NOW + 400),
)
PAST = st.one_of(
    st.integers(min_value=int(NOW) - 400, max_value=int(NOW) - 31),
    st.floats(min_value=NOW - 400, max_value=NOW - 31),
)
FULL_CLAIMS = st.fixed_dictionaries(
    {
        "exp": st.one_of(FUTURE, FUTURE, NUMERIC),
        "sub": st.one_of(st.just("user_01"), st.just(""), JUNK),
        "iss": st.one_of(st.just(ISS), st.just("https://evil.example"), JUNK),
    },
    optional={
        "nbf": st.one_of(PAST, NUMERIC),
        "iat": st.one_of(PAST, NUMERIC),
        "aud": st.one_of(st.just("api"), st.just(["web", "api"]), JUNK),
    },
)


@settings(max_examples=1500, deadline=None)
@given(claims=FULL_CLAIMS, options=VERIFY_OPTIONS)
def test_claim_rules_answer_as_the_reference(
    claims: dict[str, Any], options: dict[str, Any]
) -> None:
    payload = b64url(json.dumps(claims).encode())
    token = f"{GOOD_HEADER}.{payload}.{b64url(b'signature')}"
    expected = outcome(lambda: ref_verify(token, StandInKey(True), **options))
    got = outcome(
        lambda: verify_access_token(token, cast(RSAPublicKey, StandInKey(True)), **options)
    )
    assert got == expected


@settings(max_examples=300, deadline=None)
@given(token=token_text())
def test_decode_unverified_header_answers_as_the_reference(token: str) -> None:
    expected = outcome(lambda: dict(ref_json_object(ref_split(token)[0], "header")))
    for _ in range(2):
        got = outcome(lambda: decode_unverified_header(token))
        assert got == expected
    if expected[0] == "value":  # a copy: mutating it leaves the cached header alone
        decode_unverified_header(token).clear()
        assert outcome(lambda: decode_unverified_header(token)) == expected


def test_verify_answers_as_the_reference_on_a_real_shape() -> None:
    header = b64url(b'{"alg":"RS256","kid":"k1","typ":"JWT"}')
    payload = b64url(
        json.dumps({"iss": ISS, "sub": "user_01", "exp": int(NOW) + 60, "iat": int(NOW)}).encode()
    )
    token = f"{header}.{payload}.{b64url(b'sig')}"
    got = verify_access_token(
        token, cast(RSAPublicKey, StandInKey(True)), now=NOW, leeway=0.0, issuer=ISS
    )
    assert got == ref_verify(token, StandInKey(True), now=NOW, leeway=0.0, issuer=ISS)


# -- the shape check and the JSON reading on their own --------------------------------


@settings(max_examples=1500, deadline=None)
@given(
    data=st.one_of(
        st.text(alphabet=ALPHABET + ".+/= é\n\x00", max_size=60),
        st.binary(max_size=60),
        st.binary(max_size=60).map(bytearray),
        st.text(alphabet="A.", max_size=8),
        st.integers(),
        st.none(),
    )
)
def test_split_token_answers_as_the_reference(data: Any) -> None:
    assert outcome(lambda: split_token(data)) == outcome(lambda: ref_split(data))


@pytest.mark.parametrize(
    "token",
    [
        "a.b.c",
        "a.b.",
        "a..c",
        ".b.c",
        "..",
        "...",
        "a.b.c.",
        "a.b.c.d",
        "a.b",
        "a",
        "",
        ".",
        "-_.-_.-_",
        "a.b.c=",
        "a+.b.c",
        "a/.b.c",
        "a.b.c d",
        "a.b.\x80",
        "A" * (MAX_TOKEN_LENGTH - 4) + ".b.c",
        "A" * (MAX_TOKEN_LENGTH - 3) + ".b.c",
    ],
)
def test_split_token_edge_cases(token: str) -> None:
    assert outcome(lambda: split_token(token)) == outcome(lambda: ref_split(token))
    assert outcome(lambda: split_token(token.encode("latin-1"))) == outcome(
        lambda: ref_split(token.encode("latin-1"))
    )


@settings(max_examples=1500, deadline=None)
@given(
    text=st.one_of(
        st.builds(
            lambda pre, value, post: pre + json.dumps(value) + post,
            WHITESPACE,
            st.one_of(CLAIMS, JUNK),
            st.one_of(WHITESPACE, st.sampled_from(["x", "}", "]", "{}", " 1", "\x00"])),
        ),
        st.text(alphabet='{}[]":,0123456789 \n-eE.tfnrulNaIiy\\', max_size=30),
        st.text(max_size=20),
        st.just('{"a": 1} ' * 3),
        st.just("[" * 5000),
        st.just('{"a":' * 3000),
    )
)
def test_json_object_answers_as_decode(text: str) -> None:
    segment = b64url(text.encode("utf-8", "surrogatepass")).encode()
    expected = outcome(lambda: ref_json_object(segment, "payload"))
    assert outcome(lambda: tokens._json_object(segment, "payload")) == expected


# -- the judged-header cache --------------------------------------------------------------


def judge_freshly(segment: bytes) -> None:
    ref_check_header(ref_json_object(segment, "header"))


def test_header_cache_is_bounded_and_answers_like_a_fresh_check() -> None:
    segments = [b64url(json.dumps({"alg": "RS256", "kid": f"k{i}"}).encode()) for i in range(300)]
    segments += [b64url(json.dumps({"alg": "HS256", "kid": i}).encode()) for i in range(50)]
    segments += [b64url(f"not json {i}".encode()) for i in range(50)]
    for _ in range(2):
        for seg in segments:
            token = f"{seg}.eyJ9.c2ln"
            assert len(tokens._HEADERS) <= tokens._HEADER_CACHE_SIZE
            assert outcome(partial(token_kid, token)) == outcome(partial(ref_token_kid, token))
            fresh = outcome(partial(judge_freshly, seg.encode()))
            got = tokens._checked_header(seg.encode())[3]
            assert (got is None) == (fresh[0] == "value")
            if got is not None:
                assert fresh[2:] == got


def test_cached_rejection_raises_a_new_error_each_time() -> None:
    token = b64url(b'{"alg":"none"}') + ".eyJ9."
    key = cast(RSAPublicKey, StandInKey(True))
    errors = []
    for _ in range(3):
        with pytest.raises(TokenError) as info:
            verify_access_token(token, key, now=NOW, leeway=0.0, issuer=None)
        errors.append(info.value)
    assert {e.code for e in errors} == {"alg_not_allowed"}
    assert len({id(e) for e in errors}) == 3
    assert all(e.__traceback__ is not None and e.__context__ is None for e in errors)


# -- Auth from claims --------------------------------------------------------------------

USER = User(id="user_01", email="alice@example.com")


class StrSubclass(str):
    pass


@settings(max_examples=500, deadline=None)
@given(
    claims=st.dictionaries(
        st.sampled_from(
            [
                *("sid", "org_id", "role", "roles", "permissions", "entitlements"),
                *("feature_flags", "act", "exp", "sub", "other"),
            ]
        ),
        st.one_of(
            JUNK,
            st.tuples(st.text(max_size=3), st.integers()),
            st.lists(st.one_of(st.text(max_size=3), st.builds(StrSubclass, st.text(max_size=3)))),
            st.fixed_dictionaries(
                {}, optional={"sub": st.one_of(st.text(max_size=5), JUNK), "reason": JUNK}
            ),
        ),
    ),
    impersonator=st.sampled_from([None, Impersonator(email="support@example.com")]),
)
def test_auth_from_claims_equals_the_keyword_auth(
    claims: dict[str, Any], impersonator: Impersonator | None
) -> None:
    fields = claims_to_auth_fields(claims)
    if impersonator is not None:
        fields["impersonator"] = impersonator
    slow = Auth(user=USER, access_token="token", claims=claims, source="cookie", **fields)
    fast = auth_from_claims(USER, "token", claims, "cookie", impersonator)
    assert fast == slow
    for name in ("roles", "permissions", "entitlements", "feature_flags"):
        assert type(getattr(fast, name)) is tuple
        assert [type(x) for x in getattr(fast, name)] == [type(x) for x in getattr(slow, name)]
    assert type(fast.expires_at) is type(slow.expires_at)
    assert fast.scopes == slow.scopes


def test_strs_keeps_str_subclasses_like_isinstance() -> None:
    items = ["a", StrSubclass("b"), 1, None, b"c", ["d"]]
    assert tokens._strs(items) == tuple(i for i in items if isinstance(i, str))
    assert tokens._strs(tuple(items)) == ("a", "b")
    assert tokens._strs("ab") == () and tokens._strs({"a": 1}) == ()


def test_impersonator_reads_any_mapping() -> None:
    act = {"sub": "admin@example.com", "reason": "support"}
    expected = Impersonator(email="admin@example.com", reason="support")
    assert tokens._impersonator(act) == expected
    assert tokens._impersonator(MappingProxyType(act)) == expected
    for junk in (None, "admin@example.com", ["admin@example.com"], {"sub": ""}, {"sub": 1}):
        assert tokens._impersonator(junk) is None


# -- Auth built without the dataclass constructor ------------------------------------------


def auth_fields(claims: dict[str, Any]) -> tuple[Any, ...]:
    return (
        USER,
        "session_01",
        "org_01",
        "admin",
        ("admin",),
        ("posts:read",),
        ("pro",),
        ("beta",),
        Impersonator(email="support@example.com"),
        "token",
        claims,
        1_900_000_000,
        "cookie",
    )


def test_built_auth_is_an_ordinary_auth() -> None:
    claims = {"sub": "user_01"}
    built, made = _build_auth(*auth_fields(claims)), Auth(*auth_fields(claims))
    assert type(built) is Auth
    assert built == made and repr(built) == repr(made)
    assert [getattr(built, f.name) for f in dataclasses.fields(Auth)] == [
        getattr(made, f.name) for f in dataclasses.fields(Auth)
    ]
    assert built._scopes is None and built.scopes == made.scopes and built._scopes is not None
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.role = "member"
    with pytest.raises(AttributeError):
        built.__dict__  # noqa: B018 - slots only, as the dataclass
    for clone in (copy.copy, copy.deepcopy, lambda a: pickle.loads(pickle.dumps(a))):
        assert same_answer(clone, built, made)
    assert dataclasses.replace(built, role="member") == dataclasses.replace(made, role="member")
    # Hashing reaches the claims mapping, as for Auth(...).
    assert same_answer(hash, built, made)
    proxied = auth_fields(MappingProxyType(claims))
    assert same_answer(hash, _build_auth(*proxied), Auth(*proxied))
