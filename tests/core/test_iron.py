"""The iron Fe26.2 seal: round trips, tamper resistance, expiry, known answers from Node."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import Any

import pytest
from authkit_test_support.encoding import b64url
from authkit_test_support.iron_vectors import (
    KA_PASSWORD,
    KA_SESSION,
    KA_SESSION_DATA,
    NOW,
    OTHER,
    PASSWORD,
)
from authkit_test_support.strategies import json_values
from hypothesis import given, settings
from hypothesis import strategies as st

from authkit_middleware.core import iron
from authkit_middleware.core.errors import SealError

# iron-webcrypto 1.2.1 seal with password id "7", ttl 600 s at Date.now() = 1700000000000,
# plus iron-session's "~2" (what authkit-session's ironWebcryptoEncryption writes).
KA_STATE = (
    "Fe26.2*7*1208cd53cc30b220aa9a3f3e3f2cc766b8786cc0032fd2371b5d4cbda4677318"
    "*0GWMDOy6xqSd6PHjA8rzRQ*OI6ggAeYrTZeDlbXjgXFM8PGhijhJOrbwOecSlTjuV0Dpy60o9hl2bDief0u7KHs"
    "*1700000600000*aaddc83d715c686ef5a03201bdab9796e95a7fc270251951dfb9dc31eba6d343"
    "*h9yimBmUBf07z8wet4BBIt6zorkDFqTPzmeduxQK6yE~2"
)
KA_STATE_EXP_MS = 1_700_000_600_000

# -- known answers (run without Node) ---------------------------------------------------


def test_known_answer_iron_session_seal_opens() -> None:
    assert iron.unseal(KA_SESSION, KA_PASSWORD) == KA_SESSION_DATA


def test_known_answer_password_map_and_expiry() -> None:
    assert iron.unseal(KA_STATE, {"7": KA_PASSWORD}, now=NOW) == {
        "nonce": "n-1",
        "codeVerifier": "v",
    }
    with pytest.raises(SealError):  # id 7 is not in the map
        iron.unseal(KA_STATE, {"1": KA_PASSWORD}, now=NOW)
    # iron-webcrypto: expired when exp <= now - 60 s.
    last_ok = (KA_STATE_EXP_MS + 60_000 - 1) / 1000
    assert iron.unseal(KA_STATE, KA_PASSWORD, now=last_ok)["nonce"] == "n-1"
    with pytest.raises(SealError) as excinfo:
        iron.unseal(KA_STATE, KA_PASSWORD, now=(KA_STATE_EXP_MS + 60_000) / 1000)
    assert excinfo.value.code == "seal_expired"


def test_known_answer_is_recomputable_by_hand() -> None:
    """The documented construction, step by step, reproduces Node's MAC and plaintext."""
    body = KA_SESSION[: -len("~2")]
    prefix, pw_id, enc_salt, iv, ct, exp, mac_salt, mac = body.split("*")
    assert (prefix, pw_id, exp) == ("Fe26.2", "1", "")
    assert re.fullmatch(r"[0-9a-f]{64}", enc_salt) and re.fullmatch(r"[0-9a-f]{64}", mac_salt)
    secret = KA_PASSWORD.encode()
    mac_key = hashlib.pbkdf2_hmac("sha1", secret, mac_salt.encode(), 1, 32)
    digest = hmac.digest(mac_key, "*".join(body.split("*")[:6]).encode(), "sha256")
    assert b64url(digest) == mac
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    def unb64(text: str) -> bytes:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))

    enc_key = hashlib.pbkdf2_hmac("sha1", secret, enc_salt.encode(), 1, 32)
    dec = Cipher(algorithms.AES(enc_key), modes.CBC(unb64(iv))).decryptor()
    padded = dec.update(unb64(ct)) + dec.finalize()
    plaintext = padded[: -padded[-1]]
    assert plaintext == iron.dumps_json(KA_SESSION_DATA)  # JSON.stringify bytes, exactly


# -- seal shape --------------------------------------------------------------------------


def test_seal_shape_matches_iron_session() -> None:
    sealed = iron.seal({"a": 1}, PASSWORD, now=NOW)
    assert sealed.endswith("~2") and sealed.count("~") == 1
    parts = sealed[:-2].split("*")
    assert len(parts) == 8
    assert parts[0] == "Fe26.2" and parts[1] == "1" and parts[5] == ""
    assert re.fullmatch(r"[0-9a-f]{64}", parts[2]) and re.fullmatch(r"[0-9a-f]{64}", parts[6])
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", parts[3])  # 16-byte IV, no padding
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", parts[7])  # 32-byte MAC, no padding
    assert parts[2] != parts[6]


def test_ttl_sets_expiration_in_ms() -> None:
    sealed = iron.seal({}, PASSWORD, ttl=600, now=NOW)
    assert sealed[:-2].split("*")[5] == str(int(NOW * 1000) + 600_000)
    assert iron.seal({}, PASSWORD, ttl=0, now=NOW)[:-2].split("*")[5] == ""


def test_plaintext_is_compact_unescaped_json_like_json_stringify() -> None:
    assert iron.dumps_json({"a": [1, "é"], "b": None}) == '{"a":[1,"é"],"b":null}'.encode()
    # Lone surrogates: JSON.stringify escapes them; so do we, and they round-trip.
    lone = {"s": "x\ud800y"}
    assert iron.dumps_json(lone) == b'{"s":"x\\ud800y"}'
    assert iron.unseal(iron.seal(lone, PASSWORD), PASSWORD) == lone


def test_every_seal_is_fresh() -> None:
    assert iron.seal({"a": 1}, PASSWORD) != iron.seal({"a": 1}, PASSWORD)


@pytest.mark.parametrize("bad", ["", "x" * 31, "é" * 31])
def test_short_password_refused_without_echo(bad: str) -> None:
    with pytest.raises(ValueError) as excinfo:
        iron.seal({}, bad)
    assert "32" in str(excinfo.value)
    if bad:
        assert bad not in str(excinfo.value)


def test_password_id_and_ttl_validation() -> None:
    with pytest.raises(ValueError):
        iron.seal({}, PASSWORD, password_id="a*b")
    with pytest.raises(ValueError):
        iron.seal({}, PASSWORD, ttl=-1)
    sealed = iron.seal({}, PASSWORD, password_id="")
    assert sealed.split("*")[1] == ""
    # An empty id means "default" in a password map (iron-webcrypto).
    assert iron.unseal(sealed, {"default": PASSWORD}) == {}


def test_unserialisable_data_raises_type_or_value_error() -> None:
    with pytest.raises(TypeError):
        iron.seal({"x": object()}, PASSWORD)
    with pytest.raises(ValueError):
        iron.seal({"x": float("nan")}, PASSWORD)


# -- unseal rejections -------------------------------------------------------------------


def _resealed(sealed: str, **changes: str) -> str:
    names = ["prefix", "id", "enc_salt", "iv", "ct", "exp", "mac_salt", "mac"]
    parts = dict(zip(names, sealed[:-2].split("*"), strict=True))
    parts.update(changes)
    return "*".join(parts[n] for n in names) + "~2"


def _mac_for(password: str, base: str, salt: str) -> str:
    key = hashlib.pbkdf2_hmac("sha1", password.encode(), salt.encode(), 1, 32)
    return b64url(hmac.digest(key, base.encode(), "sha256"))


def test_wrong_password_rejected() -> None:
    with pytest.raises(SealError):
        iron.unseal(iron.seal({"a": 1}, PASSWORD), OTHER)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda s: s[:-2],  # no "~2": iron-session would read it as a legacy v1 seal
        lambda s: s[:-1] + "3",
        lambda s: s + "~2",
        lambda s: s + "x",
        lambda s: "Fe26.1" + s[6:],
        lambda s: s.replace("*", "**", 1),
        lambda s: s.rsplit("*", 1)[0] + "~2",
        lambda s: "",
        lambda s: "Fe26.2",
        lambda s: s.replace("a", "é", 1),
    ],
)
def test_structural_damage_rejected(mutate: Any) -> None:
    sealed = iron.seal({"a": 1}, PASSWORD, now=NOW)
    with pytest.raises(SealError) as excinfo:
        iron.unseal(mutate(sealed), PASSWORD, now=NOW)
    assert excinfo.value.code == "invalid_seal"


def test_bad_padding_with_valid_mac_rejected() -> None:
    """Only a password holder can get here, but it still must be a SealError."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    salt, mac_salt = "ab" * 32, "cd" * 32
    iv = b"\x01" * 16
    key = hashlib.pbkdf2_hmac("sha1", PASSWORD.encode(), salt.encode(), 1, 32)
    enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    ct = enc.update(b"{}" + b"\x00" * 14) + enc.finalize()  # padding byte 0: invalid

    base = f"Fe26.2*1*{salt}*{b64url(iv)}*{b64url(ct)}*"
    sealed = f"{base}*{mac_salt}*{_mac_for(PASSWORD, base, mac_salt)}~2"
    with pytest.raises(SealError):
        iron.unseal(sealed, PASSWORD)


@pytest.mark.parametrize("plaintext", [b"not json", b"\xff\xfe", b"NaN", b"[" * 5000, b""])
def test_authentic_but_unparsable_plaintext_rejected(plaintext: bytes) -> None:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    salt, mac_salt, iv = "ab" * 32, "cd" * 32, b"\x02" * 16
    key = hashlib.pbkdf2_hmac("sha1", PASSWORD.encode(), salt.encode(), 1, 32)
    pad = 16 - len(plaintext) % 16
    enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    ct = enc.update(plaintext + bytes([pad]) * pad) + enc.finalize()

    base = f"Fe26.2*1*{salt}*{b64url(iv)}*{b64url(ct)}*"
    sealed = f"{base}*{mac_salt}*{_mac_for(PASSWORD, base, mac_salt)}~2"
    with pytest.raises(SealError):
        iron.unseal(sealed, PASSWORD)


def test_non_digit_expiration_rejected_even_with_valid_mac() -> None:
    sealed = iron.seal({"a": 1}, PASSWORD, ttl=60, now=NOW)
    for exp in ["1e3", "-5", "\uff11\uff12\uff13", "12.5", "9" * 25]:
        base = "*".join(sealed[:-2].split("*")[:5]) + "*" + exp
        mac_salt = sealed[:-2].split("*")[6]
        forged = f"{base}*{mac_salt}*{_mac_for(PASSWORD, base, mac_salt)}~2"
        with pytest.raises(SealError):
            iron.unseal(forged, PASSWORD, now=NOW)


def test_expiry_skew_rule_matches_iron_webcrypto() -> None:
    sealed = iron.seal({"a": 1}, PASSWORD, ttl=10, now=NOW)
    exp_ms = int(NOW * 1000) + 10_000
    assert iron.unseal(sealed, PASSWORD, now=NOW + 10)["a"] == 1  # at exp: fine
    assert iron.unseal(sealed, PASSWORD, now=(exp_ms + 59_999) / 1000)["a"] == 1
    with pytest.raises(SealError) as excinfo:
        iron.unseal(sealed, PASSWORD, now=(exp_ms + 60_000) / 1000)  # exp <= now - 60 s
    assert excinfo.value.code == "seal_expired"


def test_tampered_expiry_is_invalid_not_expired() -> None:
    sealed = iron.seal({"a": 1}, PASSWORD, ttl=10, now=NOW)
    forged = _resealed(sealed, exp="1")
    with pytest.raises(SealError) as excinfo:
        iron.unseal(forged, PASSWORD, now=NOW)
    assert excinfo.value.code == "invalid_seal"
    forged = _resealed(sealed, exp="")  # dropping the expiry breaks the MAC too
    with pytest.raises(SealError):
        iron.unseal(forged, PASSWORD, now=NOW)


def test_error_messages_never_echo_input() -> None:
    secret_looking = "Fe26.2*1*SECRETVALUE*" + "x" * 50
    for candidate in [secret_looking, iron.seal({"token": "SECRETVALUE"}, PASSWORD)[:-3]]:
        with pytest.raises(SealError) as excinfo:
            iron.unseal(candidate, PASSWORD)
        assert "SECRETVALUE" not in str(excinfo.value)
        assert "SECRETVALUE" not in repr(excinfo.value)
        assert PASSWORD not in str(excinfo.value)


# -- properties --------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(data=json_values(), ttl=st.integers(min_value=0, max_value=10**7))
def test_round_trip_any_json(data: Any, ttl: int) -> None:
    sealed = iron.seal(data, PASSWORD, ttl=ttl, now=NOW)
    assert iron.unseal(sealed, PASSWORD, now=NOW) == data


_SEALED = iron.seal(
    {"accessToken": "a" * 40, "user": {"id": "u1", "n": "é"}}, PASSWORD, ttl=600, now=NOW
)


@settings(max_examples=400, deadline=None)
@given(position=st.integers(min_value=0, max_value=len(_SEALED) - 1), replacement=st.characters())
def test_any_single_character_change_rejected(position: int, replacement: str) -> None:
    if _SEALED[position] == replacement:
        return
    mutated = _SEALED[:position] + replacement + _SEALED[position + 1 :]
    with pytest.raises(SealError):
        iron.unseal(mutated, PASSWORD, now=NOW)


def test_every_single_character_change_rejected_exhaustively() -> None:
    alphabet = "0123456789abcdefABCDEF_-*~.=Fe"
    for position, original in enumerate(_SEALED):
        for replacement in alphabet:
            if replacement == original:
                continue
            mutated = _SEALED[:position] + replacement + _SEALED[position + 1 :]
            with pytest.raises(SealError):
                iron.unseal(mutated, PASSWORD, now=NOW)


def test_every_truncation_rejected() -> None:
    for length in range(len(_SEALED)):
        with pytest.raises(SealError):
            iron.unseal(_SEALED[:length], PASSWORD, now=NOW)


@settings(max_examples=300, deadline=None)
@given(garbage=st.text() | st.binary().map(lambda b: b.decode("latin-1")))
def test_garbage_only_ever_raises_seal_error(garbage: str) -> None:
    for candidate in (garbage, "Fe26.2*" + garbage, "Fe26.2*1*" + garbage + "~2"):
        with pytest.raises(SealError):
            iron.unseal(candidate, PASSWORD, now=NOW)


@settings(max_examples=200, deadline=None)
@given(
    fields=st.lists(
        st.text(alphabet="0123456789abcdefAZaz_-~*é", max_size=70), min_size=7, max_size=7
    )
)
def test_well_shaped_garbage_only_ever_raises_seal_error(fields: list[str]) -> None:
    candidate = "Fe26.2*" + "*".join(fields) + "~2"
    with pytest.raises(SealError):
        iron.unseal(candidate, PASSWORD, now=NOW)
