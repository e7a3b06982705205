"""The iron unseal fast paths decide exactly as the straightforward code they replaced.

Each test keeps a reference implementation (the code as it was before the fast path)
and checks, on generated input, that the fast one accepts the same inputs with the
same result and rejects the same inputs.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import pytest
from authkit_test_support.iron_vectors import PASSWORD
from authkit_test_support.strategies import json_values
from hypothesis import example, given, settings
from hypothesis import strategies as st

from authkit_middleware.core import iron
from authkit_middleware.core.errors import SealError

# -- parse -------------------------------------------------------------------------------

_DIGITS = re.compile(r"[0-9]+", re.ASCII)


def _reference_parse(sealed: Any) -> tuple[Any, ...] | None:
    """``iron.parse`` as it was (frozen dataclass, body slice); None means rejected."""
    if not isinstance(sealed, str) or not sealed.isascii() or not sealed.endswith("~2"):
        return None
    body = sealed[:-2]
    parts = body.split("*")
    if len(parts) != 8 or parts[0] != "Fe26.2":
        return None
    _, password_id, enc_salt, iv, ciphertext, expiration, mac_salt, mac = parts
    if not enc_salt or not mac_salt or "~" in body:
        return None
    exp: int | None = None
    if expiration:
        if _DIGITS.fullmatch(expiration) is None or len(expiration) > 20:
            return None
        exp = int(expiration)
    mac_base_len = len(body) - len(mac_salt) - len(mac) - 2
    return (
        password_id,
        enc_salt,
        iv,
        ciphertext,
        exp,
        mac_salt,
        mac,
        body[:mac_base_len].encode("ascii"),
    )


def _parse_or_none(sealed: Any) -> tuple[Any, ...] | None:
    try:
        return tuple(iron.parse(sealed))
    except SealError:
        return None


_FIELD = st.text(alphabet="0123456789abcAZ_-~*é2", max_size=12)


@settings(max_examples=2000, deadline=None)
@given(
    fields=st.lists(_FIELD, min_size=0, max_size=10),
    prefix=st.sampled_from(["Fe26.2", "Fe26.1", "", "Fe26.2~2"]),
    suffix=st.sampled_from(["~2", "", "~3", "~2~2", "~", "2"]),
)
@example(fields=["1", "s", "", "", "", "m", "x"], prefix="Fe26.2", suffix="~2")
@example(fields=["1", "s", "", "", "1~2", "m", "x"], prefix="Fe26.2", suffix="~2")
@example(fields=["1", "s", "", "", "", "m", "x*"], prefix="Fe26.2", suffix="~2")
@example(fields=["1", "s", "", "", "", "m", ""], prefix="Fe26.2", suffix="~2")
@example(fields=["1", "", "", "", "", "m", "x"], prefix="Fe26.2", suffix="~2")
@example(fields=["1", "s", "", "", "", "", "x"], prefix="Fe26.2", suffix="~2")
def test_parse_matches_reference(fields: list[str], prefix: str, suffix: str) -> None:
    candidate = "*".join([prefix, *fields]) + suffix
    assert _parse_or_none(candidate) == _reference_parse(candidate)


_SHAPED = st.tuples(
    st.sampled_from(["1", "", "abc_9", "~", "é"]),
    st.text(alphabet="0123456789abcdef~", min_size=0, max_size=6),
    st.text(alphabet="AZaz09-_~", max_size=6),
    st.text(alphabet="AZaz09-_~", max_size=6),
    st.sampled_from(["", "0", "1700000600000", "9" * 20, "9" * 21, "1e3", "~", "12~"]),
    st.text(alphabet="0123456789abcdef~", min_size=0, max_size=6),
    st.text(alphabet="AZaz09-_~", max_size=6),
)


@settings(max_examples=2000, deadline=None)
@given(fields=_SHAPED, suffix=st.sampled_from(["~2", "~2", "~2", "", "~3", "~2~2"]))
def test_parse_matches_reference_on_seal_shaped_input(fields: tuple[str, ...], suffix: str) -> None:
    candidate = "Fe26.2*" + "*".join(fields) + suffix
    assert _parse_or_none(candidate) == _reference_parse(candidate)


@settings(max_examples=500, deadline=None)
@given(garbage=st.text() | st.binary().map(lambda b: b.decode("latin-1")))
def test_parse_matches_reference_on_garbage(garbage: str) -> None:
    for candidate in (garbage, "Fe26.2*" + garbage, "Fe26.2*1*" + garbage + "~2"):
        assert _parse_or_none(candidate) == _reference_parse(candidate)


def test_parse_tilde_anywhere_but_the_suffix_rejected() -> None:
    sealed = iron.seal({"a": 1}, PASSWORD)
    for position in range(len(sealed) - 2):
        if sealed[position] != "*":
            candidate = sealed[:position] + "~" + sealed[position + 1 :]
            assert _reference_parse(candidate) is None
            with pytest.raises(SealError):
                iron.parse(candidate)


@pytest.mark.parametrize("value", [None, b"Fe26.2", 42])
def test_parse_non_strings(value: Any) -> None:
    with pytest.raises(SealError):
        iron.parse(value)


def test_parse_fields_of_a_real_seal() -> None:
    sealed = iron.seal({"a": 1}, PASSWORD, ttl=60, now=1_700_000_000.0)
    parts = iron.parse(sealed)
    assert tuple(parts) == _reference_parse(sealed)
    assert parts.expiration == 1_700_000_060_000
    assert parts.mac_base == sealed[:-2].rsplit("*", 2)[0].encode()
    assert isinstance(parts, iron.IronParts)
    with pytest.raises(AttributeError):
        parts.mac = "x"  # type: ignore[misc]


# -- base64url ---------------------------------------------------------------------------


@settings(max_examples=500, deadline=None)
@given(data=st.binary(max_size=300))
def test_b64u_encode_matches_base64_module(data: bytes) -> None:
    assert iron._b64u_encode(data) == base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _reference_b64u_decode(text: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError):
        return None


def _b64u_decode_or_none(text: str) -> bytes | None:
    try:
        return iron._b64u_decode(text)
    except SealError:
        return None


@settings(max_examples=1000, deadline=None)
@given(data=st.binary(max_size=600))
def test_b64u_decode_reads_what_base64_writes(data: bytes) -> None:
    """Every unpadded base64url text (what iron writes) decodes as the base64 module does."""
    text = base64.urlsafe_b64encode(data).decode().rstrip("=")
    assert _b64u_decode_or_none(text) == data == _reference_b64u_decode(text)


@settings(max_examples=1000, deadline=None)
@given(text=st.text(alphabet="AZaz09-_+/=.!", max_size=40))
def test_b64u_decode_is_never_more_lenient_than_base64(text: str) -> None:
    """On junk (never seen behind a valid MAC) it refuses, or reads what the base64
    module reads: never other bytes."""
    ours = _b64u_decode_or_none(text)
    assert ours is None or ours == _reference_b64u_decode(text)


# -- JSON --------------------------------------------------------------------------------


def _reference_loads(raw: bytes) -> tuple[bool, Any]:
    def reject(name: str) -> Any:
        raise ValueError("not JSON")

    try:
        return True, json.JSONDecoder(parse_constant=reject).decode(raw.decode("utf-8"))
    except (ValueError, RecursionError):
        return False, None


def _loads(raw: bytes) -> tuple[bool, Any]:
    try:
        return True, iron.loads_json(raw)
    except SealError:
        return False, None


_JSON_DOCS = json_values(list_size=3, key_size=5, dict_size=3, max_leaves=8).map(
    lambda value: json.dumps(value, ensure_ascii=False, allow_nan=False)
)
_NOISE = st.sampled_from(["", " ", "\n", "\t", " \r\n", "x", ",", "}", "]", "NaN", "1"])


@settings(max_examples=1000, deadline=None)
@given(doc=_JSON_DOCS, before=_NOISE, after=_NOISE)
@example(doc="", before="", after="")
@example(doc="NaN", before="", after="")
@example(doc="[NaN]", before="", after="")
@example(doc='{"a":Infinity}', before="", after="")
@example(doc="-Infinity", before=" ", after="")
@example(doc="[" * 5000, before="", after="")
def test_loads_json_matches_reference(doc: str, before: str, after: str) -> None:
    raw = (before + doc + after).encode("utf-8")
    assert _loads(raw) == _reference_loads(raw)


@settings(max_examples=300, deadline=None)
@given(raw=st.binary(max_size=40))
@example(raw=b"\xff\xfe")
@example(raw=b'"\xed\xa0\x80"')
def test_loads_json_matches_reference_on_bytes(raw: bytes) -> None:
    assert _loads(raw) == _reference_loads(raw)
