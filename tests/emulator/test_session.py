"""The SDK's sealed-session checks (JWKS fetch, RS256, claims) accept emulator tokens.

The SDK caches one ``PyJWKClient`` per JWKS URL for the whole process, so every test
here uses a fresh emulator on a fresh port (the ``server`` fixture does).
"""

from __future__ import annotations

import httpx
from cryptography.fernet import Fernet
from workos.session import (
    AuthenticateWithSessionCookieErrorResponse,
    AuthenticateWithSessionCookieSuccessResponse,
    RefreshWithSessionCookieErrorResponse,
    RefreshWithSessionCookieSuccessResponse,
    seal_session_from_auth_response,
)

from authkit_middleware.emulator import EmulatorServer
from tests.emulator.conftest import REDIRECT_URI, sign_in


def _seal(auth: dict[str, object], password: str) -> str:
    return seal_session_from_auth_response(
        access_token=str(auth["access_token"]),
        refresh_token=str(auth["refresh_token"]),
        user=auth["user"],  # type: ignore[arg-type]
        impersonator=auth.get("impersonator"),  # type: ignore[arg-type]
        cookie_password=password,
    )


def test_sealed_session_authenticates_refreshes_and_logs_out(
    server: EmulatorServer, browser: httpx.Client
) -> None:
    client = server.workos_client(jwt_issuer=server.emulator.issuer)
    password = Fernet.generate_key().decode()
    url = client.user_management.get_authorization_url(
        redirect_uri=REDIRECT_URI, provider="authkit"
    )
    result = client.user_management.authenticate_with_code(code=sign_in(browser, url)["code"])
    sealed = _seal(
        {
            "access_token": result.access_token,
            "refresh_token": result.refresh_token,
            "user": result.user.to_dict(),
        },
        password,
    )
    session = client.user_management.load_sealed_session(
        session_data=sealed, cookie_password=password
    )
    auth = session.authenticate()
    assert isinstance(auth, AuthenticateWithSessionCookieSuccessResponse), auth
    assert auth.organization_id == result.organization_id and auth.role == "admin"
    assert list(auth.permissions or []) == ["widgets:read", "widgets:write", "members:manage"]
    assert list(auth.entitlements or []) == ["pro-plan"]
    assert list(auth.feature_flags or []) == ["new-dashboard"]

    refreshed = session.refresh()
    assert isinstance(refreshed, RefreshWithSessionCookieSuccessResponse), refreshed
    assert refreshed.session_id == auth.session_id

    logout_url = session.get_logout_url(return_to="http://localhost:3000/")
    response = browser.get(logout_url)
    assert response.status_code == 302 and response.headers["location"] == "http://localhost:3000/"
    after = session.refresh()
    assert isinstance(after, RefreshWithSessionCookieErrorResponse)
    assert "invalid_grant" in str(after.reason)


def test_issue_session_with_impersonator_and_org_switch(server: EmulatorServer) -> None:
    client = server.workos_client()
    password = Fernet.generate_key().decode()
    auth = server.emulator.issue_session("alice@example.com", impersonator="support@example.com")
    session = client.user_management.load_sealed_session(
        session_data=_seal(auth, password), cookie_password=password
    )
    checked = session.authenticate()
    assert isinstance(checked, AuthenticateWithSessionCookieSuccessResponse)
    assert checked.impersonator == {"email": "support@example.com", "reason": None}
    globex = server.emulator.get_organization("Globex")
    assert globex is not None
    switched = session.refresh(organization_id=globex["id"])
    assert isinstance(switched, RefreshWithSessionCookieSuccessResponse), switched
    assert switched.organization_id == globex["id"] and switched.role == "member"


def test_expired_token_is_invalid_jwt_then_refresh_recovers() -> None:
    from authkit_middleware.emulator import Emulator

    now = [1_700_000_000.0]
    emulator = Emulator(clock=lambda: now[0], access_token_ttl=60)
    with emulator.serve() as server:
        client = server.workos_client()
        password = Fernet.generate_key().decode()
        auth = emulator.issue_session("bob@example.com")
        session = client.user_management.load_sealed_session(
            session_data=_seal(auth, password), cookie_password=password
        )
        # The emulator clock is far in the past: the token is long expired for PyJWT.
        expired = session.authenticate()
        assert isinstance(expired, AuthenticateWithSessionCookieErrorResponse)
        assert expired.reason.value == "invalid_jwt"  # type: ignore[union-attr]
        import time

        now[0] = time.time()
        refreshed = session.refresh()
        assert isinstance(refreshed, RefreshWithSessionCookieSuccessResponse), refreshed
        assert isinstance(session.authenticate(), AuthenticateWithSessionCookieSuccessResponse)


def test_key_rotation_keeps_old_tokens_verifiable_until_removed(server: EmulatorServer) -> None:
    emulator = server.emulator
    client = server.workos_client()
    old_kid = emulator.signing_kids()[0]
    old = emulator.issue_session("bob@example.com")
    new_kid = emulator.rotate_signing_key()
    assert new_kid != old_kid and emulator.signing_kids() == [new_kid, old_kid]
    new = emulator.issue_session("bob@example.com")
    import jwt

    assert jwt.get_unverified_header(new["access_token"])["kid"] == new_kid
    assert jwt.get_unverified_header(old["access_token"])["kid"] == old_kid
    password = Fernet.generate_key().decode()
    for auth in (old, new):  # first fetch of this fresh URL sees both keys
        session = client.user_management.load_sealed_session(
            session_data=_seal(auth, password), cookie_password=password
        )
        assert isinstance(session.authenticate(), AuthenticateWithSessionCookieSuccessResponse)
    jwks = client.user_management.get_jwks(client_id=server.client_id)
    assert [k.kid for k in jwks.keys] == [new_kid, old_kid]
    assert emulator.remove_signing_key(old_kid)
    assert [k.kid for k in client.user_management.get_jwks(client_id=server.client_id).keys] == [
        new_kid
    ]
    rotated = httpx.post(
        f"{server.base_url}/_emulator/keys/rotate",
        headers={"Authorization": f"Bearer {server.api_key}"},
    ).json()
    assert rotated["kids"][1] == new_kid and rotated["kid"].startswith("key_")
