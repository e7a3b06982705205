"""Our iron seal against the real JavaScript: iron-session 8.0.4 and iron-webcrypto 1.2.1.

iron-session's ``sealData``/``unsealData`` is exactly what authkit-nextjs calls for the
``wos-session`` cookie (``ttl: 0``) and the sign-in state (``ttl: 600``);
iron-webcrypto plus the ``~2`` suffix is what authkit-session's
``ironWebcryptoEncryption`` does. Requires Node; see conftest.py.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from iron_node_driver import NodeError, NodeIron

from authkit_middleware.core import iron
from authkit_middleware.core.errors import SealError
from authkit_middleware.core.seal import Sealer

pytestmark = pytest.mark.slow

PW = "interop-password-with-more-than-32-chars"
PW_OLD = "an-older-interop-password-32-chars-plus"
NOW_MS = 1_700_000_000_000
LIBS = ["iron-session", "iron-webcrypto"]

# A realistic WorkOS session as authkit-nextjs seals it (camelCase, Node SDK objects).
SESSION: dict[str, Any] = {
    "accessToken": "eyJhbGciOiJSUzI1NiIsImtpZCI6InNzb19vaWRjX2tleV9wYWlyXzAxIn0."
    + "eyJzdWIiOiJ1c2VyXzAxSDVKUURWN1I3QVRFWVpERUcwVzVQUllTIiwic2lkIjoic2Vzc2lvbl8wMSJ9"
    + "."
    + "s" * 342,
    "refreshToken": "Xk3mP9qR2vT8wY5zA1bC4dE7fG0hJ6kL",
    "user": {
        "object": "user",
        "id": "user_01H5JQDV7R7ATEYZDEG0W5PRYS",
        "email": "zoë.müller@example.com",
        "emailVerified": True,
        "firstName": "Zoë",
        "lastName": "Müller-Łukasiewicz",
        "name": "Zoë Müller-Łukasiewicz",
        "profilePictureUrl": "https://workoscdn.com/images/v1/abc?x=1&y=2",
        "lastSignInAt": "2026-08-01T12:34:56.789Z",
        "locale": "de-DE",
        "createdAt": "2023-07-18T02:07:19.911Z",
        "updatedAt": "2026-08-01T12:34:56.789Z",
        "externalId": None,
        "metadata": {"team": "🚀 platform", "quote": 'say "hi"\\n', "line": "a\u2028b"},
    },
    "impersonator": {"email": "admin@example.com", "reason": "Support ticket #4242 \u2013 日本語"},
    "authenticationMethod": "GoogleOAuth",
}
LOGIN_STATE: dict[str, Any] = {
    "nonce": "6f1b3a52-4b5e-4b6f-9a57-4d3c3c2a1b0f",
    "codeVerifier": "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
    "returnPathname": "/dashboard?tab=ünicode",
}


def _flip(sealed: str, index: int) -> str:
    return sealed[:index] + ("A" if sealed[index] != "A" else "B") + sealed[index + 1 :]


# -- Python seals, Node opens ------------------------------------------------------------


@pytest.mark.parametrize("lib", LIBS)
@pytest.mark.parametrize("payload", [SESSION, LOGIN_STATE, {}, {"a": [1, 2.5, None, True]}])
def test_python_seal_opens_in_node(node_iron: NodeIron, lib: str, payload: dict[str, Any]) -> None:
    sealed = Sealer(PW).seal(payload)
    assert node_iron.call(op="unseal", lib=lib, sealed=sealed, password=PW) == payload


def test_plaintext_is_byte_identical_to_json_stringify(node_iron: NodeIron) -> None:
    """Decrypt Node's seal by hand: its plaintext is exactly our serialisation."""
    node_sealed = node_iron.call(op="seal", lib="iron-session", data=SESSION, password=PW, ttl=0)
    _, pw_id, salt, iv, ct, exp, _, _ = node_sealed[:-2].split("*")
    ours = iron.seal(SESSION, PW)
    assert ours.split("*")[1] == pw_id == "1" and ours.split("*")[5] == exp == ""

    def unb64(text: str) -> bytes:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))

    key = hashlib.pbkdf2_hmac("sha1", PW.encode(), salt.encode(), 1, 32)
    dec = Cipher(algorithms.AES(key), modes.CBC(unb64(iv))).decryptor()
    padded = dec.update(unb64(ct)) + dec.finalize()
    assert padded[: -padded[-1]] == iron.dumps_json(SESSION)


# -- Node seals, Python opens ------------------------------------------------------------


@pytest.mark.parametrize("lib", LIBS)
@pytest.mark.parametrize("payload", [SESSION, LOGIN_STATE])
def test_node_seal_opens_in_python(node_iron: NodeIron, lib: str, payload: dict[str, Any]) -> None:
    sealed = node_iron.call(op="seal", lib=lib, data=payload, password=PW, ttl=0)
    assert sealed.startswith("Fe26.2*1*") and sealed.endswith("~2")
    opened = Sealer(PW).unseal_ex(sealed)
    assert opened.data == payload
    assert opened.format == "iron" and opened.stale_password is False


def test_node_default_ttl_seal_opens_until_it_expires(node_iron: NodeIron) -> None:
    """iron-session's own default ttl is 14 days (older authkit-nextjs relied on it)."""
    sealed = node_iron.call(op="seal", lib="iron-session", data=SESSION, password=PW, nowMs=NOW_MS)
    exp_ms = int(sealed.split("*")[5])
    assert exp_ms == NOW_MS + 14 * 24 * 3600 * 1000
    s = Sealer(PW)
    assert s.unseal(sealed, now=NOW_MS / 1000) == SESSION
    with pytest.raises(SealError):
        s.unseal(sealed, now=(exp_ms + 60_000) / 1000)


# -- password ids and rotation -----------------------------------------------------------


def test_python_password_map_interops_with_iron_session_map(node_iron: NodeIron) -> None:
    js_map = {"1": PW_OLD, "2": PW}
    ours = Sealer({"2": PW, "1": PW_OLD})
    sealed = ours.seal(SESSION)
    assert sealed.split("*")[1] == "2"
    assert (
        node_iron.call(op="unseal", lib="iron-session", sealed=sealed, password=js_map) == SESSION
    )
    node_sealed = node_iron.call(
        op="seal", lib="iron-session", data=LOGIN_STATE, password=js_map, ttl=0
    )
    assert node_sealed.split("*")[1] == "2"  # iron-session: the highest id seals
    assert ours.unseal_ex(node_sealed).stale_password is False
    old_js = node_iron.call(op="seal", lib="iron-session", data=LOGIN_STATE, password=PW_OLD, ttl=0)
    opened = ours.unseal_ex(old_js)  # id "1" -> the old password, reported stale
    assert opened.data == LOGIN_STATE and opened.stale_password is True


def test_rotation_list_against_string_password_app(node_iron: NodeIron) -> None:
    """A Next.js app with one password string names id 1; so does our list primary."""
    old_cookie = node_iron.call(op="seal", lib="iron-session", data=SESSION, password=PW_OLD, ttl=0)
    ours = Sealer([PW, PW_OLD])
    opened = ours.unseal_ex(old_cookie)
    assert opened.stale_password is True
    resealed = ours.seal(opened.data)
    assert node_iron.call(op="unseal", lib="iron-session", sealed=resealed, password=PW) == SESSION


def test_unknown_password_id_in_node(node_iron: NodeIron) -> None:
    sealed = Sealer({"5": PW}).seal({"a": 1})
    with pytest.raises(NodeError, match="Cannot find password: 5"):
        node_iron.call(op="unseal", lib="iron-webcrypto", sealed=sealed, password={"1": PW})
    # iron-session swallows that error and answers an empty session.
    assert node_iron.call(op="unseal", lib="iron-session", sealed=sealed, password={"1": PW}) == {}


def test_node_custom_password_id_opens_in_python(node_iron: NodeIron) -> None:
    sealed = node_iron.call(
        op="seal", lib="iron-webcrypto", data=LOGIN_STATE, password=PW, passwordId="abc_9", ttl=0
    )
    assert sealed.split("*")[1] == "abc_9"
    assert iron.unseal(sealed, {"abc_9": PW}) == LOGIN_STATE
    assert Sealer(PW).unseal(sealed) == LOGIN_STATE  # fallback to the other passwords


# -- ttl and expiry ----------------------------------------------------------------------


@pytest.mark.parametrize("lib", LIBS)
def test_python_ttl_matches_node_expiry_rule(node_iron: NodeIron, lib: str) -> None:
    sealed = Sealer(PW).seal(LOGIN_STATE, purpose="session", ttl=600, now=NOW_MS / 1000)
    exp_ms = NOW_MS + 600_000
    assert sealed.split("*")[5] == str(exp_ms)
    for now_ms in (NOW_MS, exp_ms, exp_ms + 59_999):
        got = node_iron.call(op="unseal", lib=lib, sealed=sealed, password=PW, nowMs=now_ms)
        assert got == LOGIN_STATE, now_ms
    if lib == "iron-webcrypto":
        with pytest.raises(NodeError, match="Expired seal"):
            node_iron.call(op="unseal", lib=lib, sealed=sealed, password=PW, nowMs=exp_ms + 60_000)
    else:  # iron-session answers {} for an expired seal
        assert (
            node_iron.call(op="unseal", lib=lib, sealed=sealed, password=PW, nowMs=exp_ms + 60_000)
            == {}
        )


@pytest.mark.parametrize("lib", LIBS)
def test_node_ttl_matches_python_expiry_rule(node_iron: NodeIron, lib: str) -> None:
    sealed = node_iron.call(
        op="seal", lib=lib, data=LOGIN_STATE, password=PW, ttl=600, nowMs=NOW_MS
    )
    exp_ms = int(sealed.split("*")[5])
    assert exp_ms == NOW_MS + 600_000
    s = Sealer(PW)
    for now_ms in (NOW_MS, exp_ms, exp_ms + 59_999):
        assert s.unseal(sealed, now=now_ms / 1000) == LOGIN_STATE
    with pytest.raises(SealError) as excinfo:
        s.unseal(sealed, now=(exp_ms + 60_000) / 1000)
    assert excinfo.value.code == "seal_expired"


# -- tampering ---------------------------------------------------------------------------


def test_tampered_python_seal_rejected_by_node(node_iron: NodeIron) -> None:
    sealed = Sealer(PW).seal(SESSION)
    body = sealed[:-2]
    positions = [len("Fe26.2*1*") + 3, body.index("*", 80) + 5, len(body) - 3]
    for index in positions:
        bad = _flip(sealed, index)
        with pytest.raises(NodeError, match="Bad hmac value"):
            node_iron.call(op="unseal", lib="iron-webcrypto", sealed=bad, password=PW)
        assert node_iron.call(op="unseal", lib="iron-session", sealed=bad, password=PW) == {}
    with pytest.raises(NodeError, match="Bad hmac value"):
        node_iron.call(op="unseal", lib="iron-webcrypto", sealed=sealed, password=PW_OLD)


def test_tampered_node_seal_rejected_by_python(node_iron: NodeIron) -> None:
    sealed = node_iron.call(op="seal", lib="iron-session", data=SESSION, password=PW, ttl=0)
    s = Sealer(PW)
    for index in range(0, len(sealed), 7):
        with pytest.raises(SealError):
            s.unseal(_flip(sealed, index))
    with pytest.raises(SealError):
        Sealer(PW_OLD).unseal(sealed)


def test_version_suffix_is_outside_the_mac_and_we_insist_on_it(node_iron: NodeIron) -> None:
    """iron-session reads a seal without "~2" as a legacy v1 seal ({...data.persistent})."""
    sealed = node_iron.call(
        op="seal", lib="iron-session", data={"persistent": {"v": 1}}, password=PW, ttl=0
    )
    bare = sealed[:-2]
    assert node_iron.call(op="unseal", lib="iron-session", sealed=bare, password=PW) == {"v": 1}
    with pytest.raises(SealError):
        Sealer(PW).unseal(bare)
    assert Sealer(PW).unseal(sealed) == {"persistent": {"v": 1}}


def test_non_session_purposes_are_not_openable_by_js(node_iron: NodeIron) -> None:
    """Domain separation: only the "session" purpose uses the shared raw password."""
    sealed = Sealer(PW).seal(LOGIN_STATE, purpose="login_state", ttl=600)
    with pytest.raises(NodeError, match="Bad hmac value"):
        node_iron.call(op="unseal", lib="iron-webcrypto", sealed=sealed, password=PW)
