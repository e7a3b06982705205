"""Our Fernet seal against workos-python's own: ``workos.session`` seal/unseal both ways.

The cookie workos-python writes (``seal_session_from_auth_response``) must open
here, and ours must open with ``client.user_management.load_sealed_session(...)``,
all the way through ``Session.authenticate()`` (with a local key, no network).
"""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives.asymmetric import rsa
from workos import WorkOSClient
from workos.session import seal_data, seal_session_from_auth_response, unseal_data

from authkit_middleware.core.errors import SealError
from authkit_middleware.core.seal import Sealer

KEY = Fernet.generate_key().decode()
OLD_KEY = Fernet.generate_key().decode()

# The snake_case shape workos-python seals (seal_session_from_auth_response).
USER: dict[str, Any] = {
    "object": "user",
    "id": "user_01H5JQDV7R7ATEYZDEG0W5PRYS",
    "email": "zoë@example.com",
    "email_verified": True,
    "first_name": "Zoë",
    "last_name": "Müller",
    "profile_picture_url": None,
    "last_sign_in_at": "2026-08-01T12:34:56.789Z",
    "locale": None,
    "created_at": "2023-07-18T02:07:19.911Z",
    "updated_at": "2026-08-01T12:34:56.789Z",
    "external_id": None,
    "metadata": {"emoji": "🔐"},
}
IMPERSONATOR = {"email": "admin@example.com", "reason": "ticket 42"}


def test_workos_seal_data_opens_here() -> None:
    payload = {"access_token": "at", "refresh_token": "rt", "user": USER}
    opened = Sealer(KEY, format="fernet").unseal_ex(seal_data(payload, KEY))
    assert opened.data == payload and opened.format == "fernet"
    assert not opened.stale_password


def test_our_seal_opens_with_workos_unseal_data() -> None:
    payload = {"access_token": "at", "refresh_token": "rt", "user": USER, "impersonator": None}
    assert unseal_data(Sealer(KEY, format="fernet").seal(payload), KEY) == payload


@pytest.mark.parametrize("impersonator", [None, IMPERSONATOR])
def test_seal_session_from_auth_response_opens_here(impersonator: Any) -> None:
    cookie = seal_session_from_auth_response(
        access_token="at_1",
        refresh_token="rt_1",
        user=USER,
        impersonator=impersonator,
        cookie_password=KEY,
    )
    data = Sealer(KEY, format="fernet").unseal(cookie)
    expected: dict[str, Any] = {"access_token": "at_1", "refresh_token": "rt_1", "user": USER}
    if impersonator is not None:
        expected["impersonator"] = impersonator
    assert data == expected


def test_iron_default_sealer_reads_workos_cookies_during_migration() -> None:
    """An iron service configured with [iron password, old Fernet key] reads old cookies."""
    cookie = seal_session_from_auth_response(
        access_token="a", refresh_token="r", user=USER, cookie_password=OLD_KEY
    )
    opened = Sealer(["an-iron-password-of-at-least-32-chars", OLD_KEY]).unseal_ex(cookie)
    assert opened.format == "fernet" and opened.stale_password is True


def test_rotation_matches_multifernet() -> None:
    cookie = seal_data({"access_token": "a"}, OLD_KEY)
    opened = Sealer([KEY, OLD_KEY], format="fernet").unseal_ex(cookie)
    assert opened.data == {"access_token": "a"} and opened.stale_password
    with pytest.raises(SealError):
        Sealer(KEY, format="fernet").unseal(cookie)
    with pytest.raises(Exception):  # noqa: B017 - workos raises cryptography's InvalidToken
        unseal_data(Sealer(KEY, format="fernet").seal({"a": 1}), OLD_KEY)


def test_login_state_purpose_is_not_a_workos_session() -> None:
    state = Sealer(KEY, format="fernet").seal({"nonce": "n"}, purpose="login_state", ttl=600)
    with pytest.raises(Exception):  # noqa: B017 - InvalidToken: another key
        unseal_data(state, KEY)


def test_load_sealed_session_authenticates_our_cookie(monkeypatch: pytest.MonkeyPatch) -> None:
    """End to end through the SDK: ours -> load_sealed_session -> authenticate()."""
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    access_token = jwt.encode(
        {
            "sub": USER["id"],
            "sid": "session_01",
            "org_id": "org_01",
            "role": "member",
            "auth_time": now,
            "iat": now,
            "exp": now + 300,
        },
        private_key,
        algorithm="RS256",
        headers={"kid": "k1"},
    )
    cookie = Sealer(KEY, format="fernet").seal(
        {
            "access_token": access_token,
            "refresh_token": "rt",
            "user": USER,
            "impersonator": IMPERSONATOR,
        }
    )
    client = WorkOSClient(api_key="sk_test_x", client_id="client_01")
    session = client.user_management.load_sealed_session(session_data=cookie, cookie_password=KEY)

    class LocalJWKS:  # stands in for PyJWKClient: no network in tests
        def get_signing_key_from_jwt(self, token: str) -> Any:
            return jwt.PyJWK.from_dict(
                {
                    **jwt.algorithms.RSAAlgorithm.to_jwk(private_key.public_key(), as_dict=True),
                    "kid": "k1",
                    "alg": "RS256",
                }
            )

    monkeypatch.setattr(session, "jwks", LocalJWKS())
    result = session.authenticate()
    assert result.authenticated is True
    assert result.session_id == "session_01"
    assert result.organization_id == "org_01"
    assert result.user == USER
    assert result.impersonator == IMPERSONATOR

    # ...and the SDK refuses the same cookie sealed as login state (domain separation).
    state = Sealer(KEY, format="fernet").seal({"access_token": access_token}, purpose="login_state")
    other = client.user_management.load_sealed_session(session_data=state, cookie_password=KEY)
    monkeypatch.setattr(other, "jwks", LocalJWKS())
    assert other.authenticate().authenticated is False
