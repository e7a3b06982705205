"""Sealer: both formats, rotation, purposes (domain separation), TTL, hostile input."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from authkit_test_support.strategies import json_objects
from cryptography.fernet import Fernet
from hypothesis import given, settings
from hypothesis import strategies as st

from authkit_middleware.core import iron
from authkit_middleware.core.errors import SealError
from authkit_middleware.core.seal import LOGIN_STATE_TTL, SESSION_TTL, Sealer, Unsealed

PW1 = "first-password-at-least-32-characters"
PW2 = "second-password-at-least-32-characters"
KEY1 = "8DsRzB7dB0Jd9KpAEdMUY7Y3H8CkRyOhPnqRgvCfyXc="
KEY2 = "QnWKAJMQ3L4xJ3ZqyFBjQzm0sVb2V7Y1a7N8SxkZ3yE="
NOW = 1_700_000_000.0
FORMATS = ["iron", "fernet"]


def sealer(fmt: str, *passwords: str) -> Sealer:
    if not passwords:
        passwords = (PW1,) if fmt == "iron" else (KEY1,)
    return Sealer(list(passwords), format=fmt)  # type: ignore[arg-type]


def test_keys_are_real_fernet_keys() -> None:
    for key in (KEY1, KEY2):
        assert len(base64.urlsafe_b64decode(key)) == 32


# -- round trips -------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
@settings(max_examples=100, deadline=None)
@given(data=json_objects())
def test_round_trip_any_json_object(fmt: str, data: dict[str, Any]) -> None:
    s = sealer(fmt)
    sealed = s.seal(data, now=NOW)
    opened = s.unseal_ex(sealed, now=NOW)
    assert opened.data == data
    assert opened.format == fmt
    assert opened.stale_password is False


def test_default_format_is_iron_and_compatible_with_plain_iron() -> None:
    s = Sealer(PW1)
    sealed = s.seal({"accessToken": "a"})
    assert sealed.startswith("Fe26.2*1*") and sealed.endswith("~2")
    assert iron.unseal(sealed, PW1) == {"accessToken": "a"}
    assert s.unseal(iron.seal({"x": 1}, PW1)) == {"x": 1}


def test_fernet_format_is_workos_python_compatible_token() -> None:
    s = Sealer(KEY1, format="fernet")
    sealed = s.seal({"access_token": "a", "user": {"first_name": "Zoë"}}, now=NOW)
    assert sealed.startswith("gAAAAA")
    assert Fernet(KEY1).extract_timestamp(sealed.encode()) == int(NOW)
    assert Fernet(KEY1).decrypt(sealed.encode()).decode() == (
        '{"access_token":"a","user":{"first_name":"Zoë"}}'
    )


def test_recognises_both_formats_whatever_it_seals() -> None:
    iron_sealer = Sealer([PW1, KEY1])
    fernet_sealer = Sealer([KEY1, PW1], format="fernet")
    a = iron_sealer.seal({"from": "iron"})
    b = fernet_sealer.seal({"from": "fernet"})
    assert fernet_sealer.unseal_ex(a) == Unsealed({"from": "iron"}, "iron", True)
    assert iron_sealer.unseal_ex(b) == Unsealed({"from": "fernet"}, "fernet", True)
    assert iron_sealer.unseal_ex(a).stale_password is False
    assert fernet_sealer.unseal_ex(b).stale_password is False


def test_fernet_needs_a_fernet_key_among_the_passwords() -> None:
    token = Sealer(KEY1, format="fernet").seal({"a": 1})
    with pytest.raises(SealError):
        Sealer(PW1).unseal(token)  # no Fernet key configured at all


def test_any_mapping_is_sealed() -> None:
    from types import MappingProxyType

    s = Sealer(PW1)
    assert s.unseal(s.seal(MappingProxyType({"a": 1}))) == {"a": 1}


def test_only_objects_are_sealed_and_unsealed() -> None:
    with pytest.raises(TypeError):
        Sealer(PW1).seal([1, 2])  # type: ignore[arg-type]
    with pytest.raises(SealError):  # an authentic seal of a list is still refused
        Sealer(PW1).unseal(iron.seal([1, 2], PW1))
    token = Fernet(KEY1).encrypt(b'"just a string"').decode()
    with pytest.raises(SealError):
        Sealer(KEY1, format="fernet").unseal(token)


# -- rotation ----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt,old,new", [("iron", PW1, PW2), ("fernet", KEY1, KEY2)])
def test_rotation_old_passwords_open_and_report_stale(fmt: str, old: str, new: str) -> None:
    before = sealer(fmt, old).seal({"v": 1}, now=NOW)
    rotated = sealer(fmt, new, old)
    opened = rotated.unseal_ex(before, now=NOW)
    assert opened.data == {"v": 1} and opened.stale_password is True
    after = rotated.seal(opened.data, now=NOW)
    assert rotated.unseal_ex(after, now=NOW).stale_password is False
    assert sealer(fmt, new).unseal(after, now=NOW) == {"v": 1}
    with pytest.raises(SealError):
        sealer(fmt, old).unseal(after, now=NOW)


@pytest.mark.parametrize("fmt", FORMATS)
def test_wrong_password_fails(fmt: str) -> None:
    sealed = sealer(fmt).seal({"v": 1})
    with pytest.raises(SealError):
        sealer(fmt, PW2 if fmt == "iron" else KEY2).unseal(sealed)


def test_password_map_seals_with_highest_id_like_iron_session() -> None:
    s = Sealer({"1": PW1, "2": PW2})
    sealed = s.seal({"v": 1})
    assert sealed.split("*")[1] == "2"
    assert iron.unseal(sealed, {"2": PW2}) == {"v": 1}
    # A seal naming id 1 (an iron-session app with the old map) opens, stale.
    old = iron.seal({"v": 0}, PW1, password_id="1")
    assert s.unseal_ex(old) == Unsealed({"v": 0}, "iron", True)
    # A JS app with a plain string password always names id "1": still found.
    js = iron.seal({"v": 2}, PW2, password_id="1")
    assert s.unseal_ex(js) == Unsealed({"v": 2}, "iron", False)
    assert Sealer({2: PW2, 10: PW1}).seal({}).split("*")[1] == "10"


@pytest.mark.parametrize(
    "bad", [{"a": PW1}, {"1": PW1, "01": PW2}, {}, [], ["short"], [PW1, "short"], [PW1, 5]]
)
def test_bad_password_configurations(bad: Any) -> None:
    with pytest.raises((ValueError, TypeError)) as excinfo:
        Sealer(bad)
    assert PW1 not in str(excinfo.value) and PW2 not in str(excinfo.value)


# -- validation and secrecy --------------------------------------------------------------


@pytest.mark.parametrize("weak", ["x" * 31, "correct horse battery staple"])
def test_weak_password_message_never_includes_it(weak: str) -> None:
    with pytest.raises(ValueError) as excinfo:
        Sealer(weak)
    assert weak not in str(excinfo.value)
    assert "32 characters" in str(excinfo.value)


def test_fernet_format_requires_a_fernet_key() -> None:
    with pytest.raises(ValueError) as excinfo:
        Sealer(PW1, format="fernet")
    assert PW1 not in str(excinfo.value)
    assert "Fernet key" in str(excinfo.value)
    with pytest.raises(ValueError):
        Sealer(KEY1, format="jwe")  # type: ignore[arg-type]


def test_no_secret_in_any_repr() -> None:
    s = Sealer([PW1, KEY1])
    assert PW1 not in repr(s) and KEY1 not in repr(s)
    opened = s.unseal_ex(s.seal({"accessToken": "SECRET-TOKEN"}))
    assert "SECRET-TOKEN" not in repr(opened)
    assert not hasattr(s, "__dict__")  # slots: no accidental vars() dump


def test_ttl_validation() -> None:
    s = Sealer(PW1)
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError):
            s.seal({}, ttl=bad)  # type: ignore[arg-type]
    assert (SESSION_TTL, LOGIN_STATE_TTL) == (0, 600)


# -- purposes (domain separation, checklist A7) ------------------------------------------


PURPOSES = ["session", "login_state", "coordinator"]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("sealed_as", PURPOSES)
@pytest.mark.parametrize("opened_as", PURPOSES)
def test_purposes_never_cross(fmt: str, sealed_as: Any, opened_as: Any) -> None:
    s = sealer(fmt)
    sealed = s.seal({"p": sealed_as}, purpose=sealed_as, ttl=LOGIN_STATE_TTL, now=NOW)
    if sealed_as == opened_as:
        assert s.unseal(sealed, purpose=opened_as, now=NOW) == {"p": sealed_as}
    else:
        with pytest.raises(SealError):
            s.unseal(sealed, purpose=opened_as, now=NOW)


def test_only_the_session_purpose_uses_the_raw_password() -> None:
    s = Sealer(PW1)
    assert iron.unseal(s.seal({"a": 1}, purpose="session"), PW1) == {"a": 1}
    with pytest.raises(SealError):
        iron.unseal(s.seal({"a": 1}, purpose="login_state"), PW1)
    f = Sealer(KEY1, format="fernet")
    assert Fernet(KEY1).decrypt(f.seal({"a": 1}).encode()) == b'{"a":1}'
    with pytest.raises(Exception):  # noqa: B017 - cryptography's InvalidToken
        Fernet(KEY1).decrypt(f.seal({"a": 1}, purpose="login_state").encode())


def test_purposes_rotate_too() -> None:
    old = Sealer(PW1).seal({"s": 1}, purpose="login_state", ttl=600, now=NOW)
    opened = Sealer([PW2, PW1]).unseal_ex(old, purpose="login_state", now=NOW)
    assert opened.data == {"s": 1} and opened.stale_password


def test_extra_purposes_are_separate_and_validated() -> None:
    s = Sealer(PW1)
    sealed = s.seal({"x": 1}, purpose="webhook_replay")  # type: ignore[arg-type]
    assert s.unseal(sealed, purpose="webhook_replay") == {"x": 1}  # type: ignore[arg-type]
    with pytest.raises(SealError):
        s.unseal(sealed, purpose="session")
    with pytest.raises(ValueError):
        s.seal({}, purpose="Bad Purpose")  # type: ignore[arg-type]


# -- expiry ------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_ttl_expiry_with_60s_skew(fmt: str) -> None:
    s = sealer(fmt)
    sealed = s.seal({"n": 1}, purpose="login_state", ttl=600, now=NOW)
    assert s.unseal(sealed, purpose="login_state", now=NOW + 600)["n"] == 1
    assert s.unseal(sealed, purpose="login_state", now=NOW + 659.9)["n"] == 1
    with pytest.raises(SealError) as excinfo:
        s.unseal(sealed, purpose="login_state", now=NOW + 660)
    assert excinfo.value.code == "seal_expired"


@pytest.mark.parametrize("fmt", FORMATS)
def test_ttl_zero_never_expires_inside_the_seal(fmt: str) -> None:
    s = sealer(fmt)
    sealed = s.seal({"n": 1}, now=NOW)
    assert s.unseal(sealed, now=NOW + 10 * 365 * 86400) == {"n": 1}


def test_expired_seal_is_not_retried_with_other_passwords() -> None:
    s = Sealer([PW2, PW1])
    sealed = Sealer(PW1).seal({}, purpose="login_state", ttl=1, now=NOW)
    with pytest.raises(SealError) as excinfo:
        s.unseal(sealed, purpose="login_state", now=NOW + 120)
    assert excinfo.value.code == "seal_expired"


# -- hostile input -----------------------------------------------------------------------


def _mutations(sealed: str) -> list[str]:
    out = [sealed[:n] for n in range(len(sealed))]
    for position, original in enumerate(sealed):
        for replacement in "Aa0_-=*~.g":
            if replacement != original:
                out.append(sealed[:position] + replacement + sealed[position + 1 :])
    return out


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_truncation_and_single_character_change_rejected(fmt: str) -> None:
    s = Sealer([PW1, KEY1] if fmt == "iron" else [KEY1, PW1], format=fmt)  # type: ignore[arg-type]
    sealed = s.seal({"accessToken": "x" * 30, "user": {"id": "u"}}, now=NOW)
    for mutated in _mutations(sealed):
        with pytest.raises(SealError):
            s.unseal(mutated, now=NOW)


@pytest.mark.parametrize("fmt", FORMATS)
@settings(max_examples=150, deadline=None)
@given(position=st.integers(min_value=0), replacement=st.characters())
def test_any_character_change_rejected(fmt: str, position: int, replacement: str) -> None:
    s = Sealer([PW1, KEY1] if fmt == "iron" else [KEY1, PW1], format=fmt)  # type: ignore[arg-type]
    sealed = s.seal({"a": "b"}, now=NOW)
    position %= len(sealed)
    if sealed[position] == replacement:
        return
    with pytest.raises(SealError):
        s.unseal(sealed[:position] + replacement + sealed[position + 1 :], now=NOW)


_GARBAGE_SEALER = Sealer([PW1, KEY1])


@settings(max_examples=300, deadline=None)
@given(
    garbage=st.text()
    | st.binary().map(lambda b: b.decode("latin-1"))
    | st.binary().map(lambda b: base64.urlsafe_b64encode(b"\x80" + b).decode())
    | st.text(alphabet="Fe26.*~0123456789abcdef_-").map(lambda t: "Fe26.2*" + t)
)
def test_garbage_only_ever_raises_seal_error(garbage: str) -> None:
    with pytest.raises(SealError):
        _GARBAGE_SEALER.unseal(garbage)


@pytest.mark.parametrize("value", [None, b"Fe26.2", 42, ["gAAAAA"]])
def test_non_string_input_is_a_seal_error(value: Any) -> None:
    with pytest.raises(SealError):
        _GARBAGE_SEALER.unseal(value)


def test_non_canonical_fernet_encoding_rejected() -> None:
    s = Sealer(KEY1, format="fernet")
    token = s.seal({"a": 1})
    body = token.rstrip("=")
    # Same bytes, different text: Fernet itself would accept these.
    for variant in (
        token + "\n",
        " " + token,
        body[:10] + "." + body[10:] + "=" * (len(token) - len(body)),
    ):
        with pytest.raises(SealError):
            s.unseal(variant)


def test_fernet_unused_trailing_bits_rejected() -> None:
    """Fernet ignores the low bits of the last base64 character; we do not."""
    s = Sealer(KEY1, format="fernet")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for n in range(1, 40):  # find a token whose length leaves unused bits
        token = s.seal({"a": "x" * n})
        body = token.rstrip("=")
        if len(token) != len(body):
            break
    last = len(body) - 1
    raw = base64.urlsafe_b64decode(token)
    twins = [
        body[:last] + c + token[len(body) :]
        for c in alphabet
        if c != body[last] and base64.urlsafe_b64decode(body[:last] + c + token[len(body) :]) == raw
    ]
    assert twins  # same bytes, different text
    assert Fernet(KEY1).decrypt(twins[0].encode())  # Fernet alone would accept it
    for twin in twins:
        with pytest.raises(SealError):
            s.unseal(twin)
