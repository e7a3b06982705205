"""Users, organisations, memberships, JWKS, logout/revoke and error shapes, via the SDK."""

from __future__ import annotations

import asyncio
import base64
import hashlib

import httpx
import pytest
from cryptography import x509
from workos import (
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    UnprocessableEntityError,
)

from authkit_middleware.emulator import EmulatorServer


def test_jwks_parses_with_every_required_field(server: EmulatorServer) -> None:
    jwks = server.workos_client().user_management.get_jwks(client_id=server.client_id)
    (key,) = jwks.keys
    assert (key.alg, key.kty, key.use) == ("RS256", "RSA", "sig")
    assert key.kid.startswith("key_")
    der = base64.b64decode(key.x_5_c[0])
    cert = x509.load_der_x509_certificate(der)
    assert cert.public_key().public_numbers().e == 65537  # type: ignore[union-attr]
    expected = base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode()
    assert key.x_5_t_s_256 == expected
    unknown = httpx.get(f"{server.base_url}/sso/jwks/client_unknown")
    assert unknown.status_code == 404 and "message" in unknown.json()


def test_users_and_organizations(server: EmulatorServer) -> None:
    client = server.workos_client()
    alice = server.emulator.get_user("alice@example.com")
    acme = server.emulator.get_organization("Acme Inc")
    assert alice is not None and acme is not None
    user = client.user_management.get_user(alice["id"])
    assert (user.email, user.first_name, user.email_verified) == (
        "alice@example.com",
        "Alice",
        True,
    )
    org = client.organizations.get_organization(acme["id"])
    assert org.name == "Acme Inc" and [d.domain for d in org.domains] == ["acme.test"]
    with pytest.raises(NotFoundError) as missing:
        client.user_management.get_user("user_missing")
    assert missing.value.request_id.startswith("req_")
    with pytest.raises(NotFoundError):
        client.organizations.get_organization("org_missing")


def test_memberships_list_filters_and_paginates(server: EmulatorServer) -> None:
    client = server.workos_client()
    emulator = server.emulator
    alice = emulator.get_user("alice@example.com")
    acme = emulator.get_organization("Acme Inc")
    assert alice is not None and acme is not None
    by_user = client.organization_membership.list_organization_memberships(user_id=alice["id"])
    assert {m.organization_name for m in by_user.data} == {"Acme Inc", "Globex"}
    by_org = client.organization_membership.list_organization_memberships(
        organization_id=acme["id"], order="asc"
    )
    assert [m.user.email for m in by_org.data] == ["alice@example.com", "carol@example.com"]
    first = client.organization_membership.list_organization_memberships(
        organization_id=acme["id"], limit=1, order="asc"
    )
    assert len(first.data) == 1 and first.list_metadata.after == first.data[0].id
    walked = [m.user.email for m in first.auto_paging_iter()]
    assert walked == ["alice@example.com", "carol@example.com"]
    one = client.organization_membership.get_organization_membership(by_org.data[0].id)
    assert one.role.slug == "admin" and [r.slug for r in one.roles] == ["admin"]
    assert one.user.email == "alice@example.com"
    with pytest.raises(BadRequestError) as neither:
        client.organization_membership.list_organization_memberships()
    assert neither.value.code == "missing_user_id_or_organization_id"
    with pytest.raises(NotFoundError):
        client.organization_membership.get_organization_membership("om_missing")
    emulator.add_membership("bob@example.com", "Globex", status="inactive")
    bob = emulator.get_user("bob@example.com")
    assert bob is not None
    listed = client.organization_membership.list_organization_memberships(user_id=bob["id"])
    assert listed.data == []
    inactive = client.organization_membership.list_organization_memberships(
        user_id=bob["id"], statuses=["inactive"]
    )
    assert [m.status.value for m in inactive.data] == ["inactive"]  # type: ignore[union-attr]


def test_async_client_reads(server: EmulatorServer) -> None:
    alice = server.emulator.get_user("alice@example.com")
    assert alice is not None

    async def scenario() -> tuple[str, int]:
        client = server.async_workos_client()
        try:
            user = await client.user_management.get_user(alice["id"])
            page = await client.organization_membership.list_organization_memberships(
                user_id=alice["id"]
            )
            return user.email, len(page.data)
        finally:
            await client.close()

    assert asyncio.run(scenario()) == ("alice@example.com", 2)


def test_api_key_is_required(server: EmulatorServer) -> None:
    wrong = server.workos_client(api_key="sk_test_wrong")
    alice = server.emulator.get_user("alice@example.com")
    assert alice is not None
    with pytest.raises(AuthenticationError) as caught:
        wrong.user_management.get_user(alice["id"])
    assert caught.value.response_json == {"message": "Unauthorized"}
    no_key = httpx.get(f"{server.base_url}/user_management/users/{alice['id']}")
    assert no_key.status_code == 401
    control = httpx.get(f"{server.base_url}/_emulator")
    assert control.status_code == 401


def test_logout_and_revoke(server: EmulatorServer, browser: httpx.Client) -> None:
    client = server.workos_client()
    emulator = server.emulator
    session = emulator.issue_session("bob@example.com")
    sid = emulator.sessions()[0]["id"]
    outside = browser.get(
        client.user_management.get_logout_url(session_id=sid, return_to="https://evil.example/")
    )
    assert outside.status_code == 200 and "You are signed out" in outside.text
    with pytest.raises(BadRequestError):
        client.user_management.authenticate_with_refresh_token(
            refresh_token=session["refresh_token"]
        )
    missing = browser.get("/user_management/sessions/logout")
    unknown = browser.get("/user_management/sessions/logout", params={"session_id": "session_x"})
    assert missing.status_code == unknown.status_code == 422
    assert "message" in unknown.json()

    other = emulator.issue_session("carol@example.com")
    other_sid = next(s["id"] for s in emulator.sessions() if s["user_id"] != session["user"]["id"])
    client.user_management.revoke_session(session_id=other_sid)
    with pytest.raises(BadRequestError) as revoked:
        client.user_management.authenticate_with_refresh_token(refresh_token=other["refresh_token"])
    assert revoked.value.error == "invalid_grant"
    with pytest.raises(BadRequestError):
        client.user_management.revoke_session(session_id="session_unknown")


def test_health_request_id_and_not_implemented(server: EmulatorServer) -> None:
    health = httpx.get(f"{server.base_url}/health")
    assert health.json()["status"] == "ok" and health.headers["x-request-id"]
    client = server.workos_client()
    with pytest.raises(NotFoundError) as caught:
        client.user_management.list_users()
    assert caught.value.code == "emulator_not_implemented"
    assert caught.value.response_json == {
        "code": "emulator_not_implemented",
        "message": "The authkit-middleware emulator does not implement GET /user_management/users",
    }


def test_validation_errors_are_422(server: EmulatorServer) -> None:
    client = server.workos_client()
    alice = server.emulator.get_user("alice@example.com")
    assert alice is not None
    with pytest.raises(UnprocessableEntityError) as caught:
        client.organization_membership.list_organization_memberships(
            user_id=alice["id"], limit=1000
        )
    assert caught.value.code == "invalid_request_parameters"
