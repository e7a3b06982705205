"""POST /user_management/authenticate through the real SDK (sync and async)."""

from __future__ import annotations

import asyncio

import httpx
import jwt
import pytest
from workos import BadRequestError, create_public_client
from workos._errors import (
    AuthenticationError,
    MfaEnrollmentError,
    OrganizationSelectionRequiredError,
    SsoRequiredError,
)

from authkit_middleware.emulator import Emulator, EmulatorServer
from tests.emulator.conftest import REDIRECT_URI, sign_in


def _claims(token: str) -> dict[str, object]:
    return jwt.decode(token, options={"verify_signature": False})


def test_pkce_flow_with_a_public_client(server: EmulatorServer, browser: httpx.Client) -> None:
    public = create_public_client(client_id=server.client_id, base_url=server.base_url)
    try:
        started = public.user_management.get_authorization_url_with_pkce(
            redirect_uri=REDIRECT_URI, provider="authkit"
        )
        query = sign_in(browser, started["url"])
        assert query["state"] == started["state"]
        result = public.user_management.authenticate_with_code_pkce(
            code=query["code"], code_verifier=started["code_verifier"]
        )
    finally:
        public.close()
    assert result.user.email == "alice@example.com"
    claims = _claims(result.access_token)
    assert claims["sub"] == result.user.id and claims["org_id"] == result.organization_id
    assert claims["iss"] == f"{server.base_url}/user_management/{server.client_id}"
    assert claims["exp"] == claims["iat"] + 300  # type: ignore[operator]
    assert isinstance(claims["auth_time"], int) and isinstance(claims["sid"], str)
    assert claims["role"] == "admin"
    assert claims["entitlements"] == ["pro-plan"] and claims["feature_flags"] == ["new-dashboard"]


def test_pkce_with_authenticate_with_code_and_a_secret(
    server: EmulatorServer, browser: httpx.Client
) -> None:
    client = server.workos_client()
    started = client.user_management.get_authorization_url_with_pkce(
        redirect_uri=REDIRECT_URI, provider="authkit"
    )
    query = sign_in(browser, started["url"], "bob@example.com")
    result = client.user_management.authenticate_with_code(
        code=query["code"], code_verifier=started["code_verifier"]
    )
    assert result.user.email == "bob@example.com" and result.organization_id is None
    assert "org_id" not in _claims(result.access_token)


def test_wrong_verifier_is_rejected_and_burns_the_code(
    server: EmulatorServer, browser: httpx.Client
) -> None:
    client = server.workos_client()
    started = client.user_management.get_authorization_url_with_pkce(
        redirect_uri=REDIRECT_URI, provider="authkit"
    )
    query = sign_in(browser, started["url"])
    with pytest.raises(BadRequestError) as wrong:
        client.user_management.authenticate_with_code_pkce(
            code=query["code"], code_verifier="w" * 43
        )
    assert wrong.value.error == "invalid_grant"
    with pytest.raises(BadRequestError) as replay:
        client.user_management.authenticate_with_code_pkce(
            code=query["code"], code_verifier=started["code_verifier"]
        )
    assert replay.value.error == "invalid_grant"


def test_code_replay_is_rejected(server: EmulatorServer, browser: httpx.Client) -> None:
    client = server.workos_client()
    url = client.user_management.get_authorization_url(
        redirect_uri=REDIRECT_URI, provider="authkit"
    )
    code = sign_in(browser, url)["code"]
    client.user_management.authenticate_with_code(code=code)
    with pytest.raises(BadRequestError) as replay:
        client.user_management.authenticate_with_code(code=code)
    assert replay.value.error == "invalid_grant"
    assert replay.value.error_description == f"The code '{code}' has expired or is invalid."


def test_code_expires_after_ten_minutes(browser: httpx.Client) -> None:
    now = [1_800_000_000.0]
    with Emulator(clock=lambda: now[0], auto_login=True).serve() as server:
        client = server.workos_client()
        url = client.user_management.get_authorization_url(
            redirect_uri=REDIRECT_URI, provider="authkit"
        )
        with httpx.Client() as plain:
            code = plain.get(url).headers["location"].split("code=")[1].split("&")[0]
        now[0] += 601
        with pytest.raises(BadRequestError) as expired:
            client.user_management.authenticate_with_code(code=code)
    assert expired.value.error == "invalid_grant"


def test_secret_required_without_pkce_and_checked_when_given(
    server: EmulatorServer, browser: httpx.Client
) -> None:
    url = server.workos_client().user_management.get_authorization_url(
        redirect_uri=REDIRECT_URI, provider="authkit"
    )
    code = sign_in(browser, url)["code"]
    public = create_public_client(client_id=server.client_id, base_url=server.base_url)
    wrong = server.workos_client(api_key="sk_test_wrong")
    try:
        with pytest.raises(BadRequestError) as missing:
            public.user_management.authenticate_with_code(code=code)
        assert missing.value.error == "invalid_client"
        with pytest.raises(AuthenticationError):  # wrong Bearer key: 401
            wrong.user_management.authenticate_with_code(code=code)
    finally:
        public.close()
    bad_secret = httpx.post(
        f"{server.base_url}/user_management/authenticate",
        json={
            "grant_type": "authorization_code",
            "client_id": server.client_id,
            "client_secret": "nope",
            "code": code,
        },
    )
    assert bad_secret.status_code == 400 and bad_secret.json()["error"] == "invalid_client"
    # Still usable: none of the refusals consumed it.
    assert server.workos_client().user_management.authenticate_with_code(code=code).user


def test_refresh_rotates_and_reuse_is_rejected(server: EmulatorServer) -> None:
    client = server.workos_client()
    first = server.emulator.issue_session("alice@example.com")
    second = client.user_management.authenticate_with_refresh_token(
        refresh_token=first["refresh_token"]
    )
    assert second.refresh_token != first["refresh_token"]
    assert _claims(second.access_token)["sid"] == _claims(first["access_token"])["sid"]
    with pytest.raises(BadRequestError) as reused:
        client.user_management.authenticate_with_refresh_token(refresh_token=first["refresh_token"])
    assert reused.value.error == "invalid_grant"
    assert reused.value.error_description == "Invalid refresh token."
    with pytest.raises(BadRequestError):
        client.user_management.authenticate_with_refresh_token(refresh_token="unknown")
    third = client.user_management.authenticate_with_refresh_token(
        refresh_token=second.refresh_token
    )
    assert third.user.email == "alice@example.com"
    assert server.emulator.count("refresh_token") == 4
    assert server.emulator.count("refresh_token", status=400) == 2


def test_org_switch_on_refresh(server: EmulatorServer) -> None:
    client = server.workos_client()
    globex = server.emulator.get_organization("Globex")
    assert globex is not None
    session = server.emulator.issue_session("alice@example.com")
    switched = client.user_management.authenticate_with_refresh_token(
        refresh_token=session["refresh_token"], organization_id=globex["id"]
    )
    claims = _claims(switched.access_token)
    assert switched.organization_id == globex["id"] == claims["org_id"]
    assert claims["role"] == "member" and claims["entitlements"] == []

    bob = server.emulator.issue_session("bob@example.com")
    with pytest.raises(BadRequestError) as not_member:
        client.user_management.authenticate_with_refresh_token(
            refresh_token=bob["refresh_token"], organization_id=globex["id"]
        )
    assert not_member.value.error == "organization_membership_not_found"
    with pytest.raises(BadRequestError) as unknown:
        client.user_management.authenticate_with_refresh_token(
            refresh_token=bob["refresh_token"], organization_id="org_nope"
        )
    assert unknown.value.error == "organization_not_found"
    # A refused switch does not consume the refresh token.
    assert client.user_management.authenticate_with_refresh_token(
        refresh_token=bob["refresh_token"]
    )


def _step_up_world(**kw: object) -> Emulator:
    emulator = Emulator(**kw)  # type: ignore[arg-type]
    emulator.add_organization("Initech", require="sso")
    emulator.add_organization("Umbrella", require="mfa_enrollment")
    emulator.add_membership("alice@example.com", "Initech")
    emulator.add_membership("alice@example.com", "Umbrella")
    return emulator


def test_sso_required_follows_the_spec_400_shape() -> None:
    emulator = _step_up_world()
    with emulator.serve() as server:
        session = emulator.issue_session("alice@example.com")
        initech = emulator.get_organization("Initech")
        assert initech is not None
        with pytest.raises(BadRequestError) as caught:
            server.workos_client().user_management.authenticate_with_refresh_token(
                refresh_token=session["refresh_token"], organization_id=initech["id"]
            )
    body = caught.value.response_json
    assert caught.value.error == "sso_required" and body is not None
    assert body["email"] == "alice@example.com"
    assert body["connection_ids"] and body["pending_authentication_token"]


def test_sso_required_as_403_gives_sso_required_error() -> None:
    emulator = _step_up_world(sso_required_status=403)
    with emulator.serve() as server:
        session = emulator.issue_session("alice@example.com")
        with pytest.raises(SsoRequiredError) as caught:
            server.workos_client().user_management.authenticate_with_refresh_token(
                refresh_token=session["refresh_token"],
                organization_id=emulator.get_organization("Initech")["id"],  # type: ignore[index]
            )
    assert caught.value.pending_authentication_token
    assert caught.value.connection_ids


def test_mfa_enrollment_is_a_403_step_up() -> None:
    emulator = _step_up_world()
    with emulator.serve() as server:
        session = emulator.issue_session("alice@example.com")
        with pytest.raises(MfaEnrollmentError) as caught:
            server.workos_client().user_management.authenticate_with_refresh_token(
                refresh_token=session["refresh_token"],
                organization_id=emulator.get_organization("Umbrella")["id"],  # type: ignore[index]
            )
    assert caught.value.code == "mfa_enrollment"
    assert caught.value.pending_authentication_token
    assert caught.value.user is not None and caught.value.user["email"] == "alice@example.com"


def test_organization_selection_flow(browser: httpx.Client) -> None:
    emulator = Emulator(require_organization_selection=True, auto_login=True)
    with emulator.serve() as server, httpx.Client() as plain:
        client = server.workos_client()
        url = client.user_management.get_authorization_url(
            redirect_uri=REDIRECT_URI, provider="authkit"
        )
        code = plain.get(url).headers["location"].split("code=")[1].split("&")[0]
        with pytest.raises(OrganizationSelectionRequiredError) as caught:
            client.user_management.authenticate_with_code(code=code)
        error = caught.value
        assert error.pending_authentication_token
        assert {o["name"] for o in error.organizations or []} == {"Acme Inc", "Globex"}
        globex = next(o for o in error.organizations or [] if o["name"] == "Globex")
        result = client.user_management.authenticate_with_organization_selection(
            pending_authentication_token=error.pending_authentication_token,
            organization_id=globex["id"],
        )
        assert result.organization_id == globex["id"]
        with pytest.raises(BadRequestError) as reused:
            client.user_management.authenticate_with_organization_selection(
                pending_authentication_token=error.pending_authentication_token,
                organization_id=globex["id"],
            )
        assert reused.value.code == "invalid_pending_authentication_token"
        assert emulator.count("organization-selection") == 2


def test_password_grant_and_invalid_credentials(server: EmulatorServer) -> None:
    client = server.workos_client()
    ok = client.user_management.authenticate_with_password(
        email="carol@example.com", password="password"
    )
    assert ok.user.email == "carol@example.com" and ok.organization_id
    with pytest.raises(BadRequestError) as caught:
        client.user_management.authenticate_with_password(
            email="carol@example.com", password="wrong"
        )
    assert caught.value.code == "invalid_credentials"


def test_unsupported_grant_and_bad_requests(server: EmulatorServer) -> None:
    url = f"{server.base_url}/user_management/authenticate"
    magic = httpx.post(
        url,
        json={
            "grant_type": "urn:workos:oauth:grant-type:magic-auth:code",
            "client_id": server.client_id,
        },
    )
    assert magic.status_code == 400 and magic.json()["error"] == "unsupported_grant_type"
    assert magic.json()["code"] == "emulator_not_implemented"
    bad_client = httpx.post(url, json={"grant_type": "refresh_token", "client_id": "client_x"})
    assert bad_client.json()["error"] == "invalid_client"
    not_json = httpx.post(url, content=b"{", headers={"content-type": "application/json"})
    assert not_json.status_code == 400


def test_impersonation_session(server: EmulatorServer) -> None:
    session = server.emulator.issue_session(
        "carol@example.com", impersonator={"email": "support@example.com", "reason": "ticket 42"}
    )
    assert session["impersonator"] == {"email": "support@example.com", "reason": "ticket 42"}
    assert session["authentication_method"] == "Impersonation"
    assert _claims(session["access_token"])["act"] == {"sub": "support@example.com"}
    refreshed = server.workos_client().user_management.authenticate_with_refresh_token(
        refresh_token=session["refresh_token"]
    )
    assert refreshed.impersonator is not None
    assert refreshed.impersonator.email == "support@example.com"
    assert _claims(refreshed.access_token)["act"] == {"sub": "support@example.com"}


def test_async_client_code_exchange_and_refresh(
    server: EmulatorServer, browser: httpx.Client
) -> None:
    sync = server.workos_client()
    started = sync.user_management.get_authorization_url_with_pkce(
        redirect_uri=REDIRECT_URI, provider="authkit"
    )
    query = sign_in(browser, started["url"], "carol@example.com")

    async def scenario() -> tuple[str, str]:
        client = server.async_workos_client()
        try:
            result = await client.user_management.authenticate_with_code_pkce(
                code=query["code"], code_verifier=started["code_verifier"]
            )
            refreshed = await client.user_management.authenticate_with_refresh_token(
                refresh_token=result.refresh_token
            )
            with pytest.raises(BadRequestError) as reused:
                await client.user_management.authenticate_with_refresh_token(
                    refresh_token=result.refresh_token
                )
            assert reused.value.error == "invalid_grant"
            return refreshed.user.email, str(refreshed.organization_id)
        finally:
            await client.close()

    email, org = asyncio.run(scenario())
    acme = server.emulator.get_organization("Acme Inc")
    assert acme is not None and (email, org) == ("carol@example.com", acme["id"])


def test_access_token_ttl_and_issuer_are_configurable() -> None:
    emulator = Emulator(access_token_ttl=60, issuer="https://auth.example.test")
    session = emulator.issue_session("bob@example.com")
    claims = _claims(session["access_token"])
    assert claims["exp"] == claims["iat"] + 60  # type: ignore[operator]
    assert claims["iss"] == "https://auth.example.test"
    emulator.set_access_token_ttl(5)
    claims = _claims(emulator.issue_session("bob@example.com")["access_token"])
    assert claims["exp"] == claims["iat"] + 5  # type: ignore[operator]
