"""Organisation switching end to end: both adapters and both drivers against the emulator."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from authkit_test_support.bearer import ORIGIN, Client, client_factory, config_for
from authkit_test_support.bearer import organization_id as org
from authkit_test_support.environment import loopback_without_proxy

from authkit_middleware.core.engine import AuthKit
from authkit_middleware.core.http import RequestInfo
from authkit_middleware.core.session import decode_session
from authkit_middleware.drivers.aio import AsyncDriver
from authkit_middleware.drivers.sync import SyncDriver
from authkit_middleware.emulator import Emulator
from authkit_middleware.emulator.server import EmulatorServer

SWITCH = "/auth/switch-organization"
FORM = "application/x-www-form-urlencoded"
HTML = "text/html,application/xhtml+xml"
MakeClient = Callable[..., Client]


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    loopback_without_proxy(monkeypatch)


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    emulator = Emulator()
    emulator.add_organization("Initech", require="sso")
    emulator.add_membership("alice@example.com", "Initech", role="member")
    emulator.add_organization("Hooli", require="mfa_enrollment")
    emulator.add_membership("alice@example.com", "Hooli", role="member")
    emulator.add_organization("Umbrella")  # alice is not a member
    with emulator.serve() as srv:
        yield srv


@pytest.fixture
def emulator(server: EmulatorServer) -> Emulator:
    return server.emulator


@pytest.fixture(params=["asgi", "wsgi"])
def make_client(request: pytest.FixtureRequest, server: EmulatorServer) -> Iterator[MakeClient]:
    with client_factory(request.param, server) as make:
        yield make


def cookie_from(response: httpx.Response) -> str:
    values = response.headers.get_list("set-cookie")
    assert len(values) == 1, values
    name_value = values[0].split(";", 1)[0]
    name, _, value = name_value.partition("=")
    assert name == "wos-session" and value
    return value


def claims_of(token: str) -> dict[str, Any]:
    import base64

    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def refresh_at_emulator(server: EmulatorServer, refresh_token: str) -> httpx.Response:
    return httpx.post(
        f"{server.base_url}/user_management/authenticate",
        json={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": server.client_id,
            "client_secret": server.api_key,
        },
    )


def switch(
    client: Client,
    cookie: str | None,
    organization_id: str,
    *,
    return_to: str | None = "/projects?tab=1",
    accept: str = HTML,
    as_json: bool = False,
    origin: str | None = ORIGIN,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    sent = {"accept": accept, **(headers or {})}
    if origin is not None:
        sent["origin"] = origin
    fields = {"organization_id": organization_id}
    if return_to is not None:
        fields["returnTo"] = return_to
    if as_json:
        return client.request("POST", SWITCH, cookie=cookie, headers=sent, json=fields)
    return client.request("POST", SWITCH, cookie=cookie, headers=sent, data=fields)


# --------------------------------------------------------------------------- the switch


def test_alice_switches_from_acme_to_globex(
    make_client: MakeClient, emulator: Emulator, server: EmulatorServer
) -> None:
    client = make_client()
    acme, globex = org(emulator, "Acme Inc"), org(emulator, "Globex")
    tokens = emulator.issue_session("alice@example.com", organization_id=acme)
    cookie = client.seal(tokens)
    before = client.get("/api/me", cookie=cookie).json()
    assert (before["organization_id"], before["role"]) == (acme, "admin")

    response = switch(client, cookie, globex)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/projects?tab=1"
    new_cookie = cookie_from(response)

    # The new cookie's token carries the new organisation, role and permissions.
    session = decode_session(client.kit.sealer.unseal(new_cookie, purpose="session"))
    claims = claims_of(session.access_token)
    assert claims["org_id"] == globex
    assert claims["role"] == "member"
    assert claims["permissions"] == ["widgets:read"]
    after = client.get("/api/me", cookie=new_cookie).json()
    assert (after["organization_id"], after["role"], after["permissions"]) == (
        globex,
        "member",
        ["widgets:read"],
    )
    assert after["entitlements"] == []

    # WorkOS rotated the refresh token: the old one is spent.
    old = refresh_at_emulator(server, tokens["refresh_token"])
    assert old.status_code == 400
    assert old.json()["error"] == "invalid_grant"
    assert refresh_at_emulator(server, session.refresh_token).status_code == 200
    assert (
        emulator.calls("/user_management/authenticate", grant_type="refresh_token")[0].status == 200
    )


def test_json_clients_get_the_new_organisation_as_json(
    make_client: MakeClient, emulator: Emulator
) -> None:
    client = make_client()
    acme, globex = org(emulator, "Acme Inc"), org(emulator, "Globex")
    cookie = client.seal(emulator.issue_session("alice@example.com", organization_id=globex))
    response = switch(client, cookie, acme, accept="application/json", as_json=True)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["organization_id"] == acme
    assert body["role"] == "admin"
    assert body["permissions"] == ["widgets:read", "widgets:write", "members:manage"]
    assert body["entitlements"] == ["pro-plan"]
    assert body["feature_flags"] == ["new-dashboard"]
    assert body["redirect_to"] == "/projects?tab=1"
    assert client.get("/api/me", cookie=cookie_from(response)).json()["organization_id"] == acme


def test_unsafe_return_to_falls_back_to_after_sign_in_path(
    make_client: MakeClient, emulator: Emulator
) -> None:
    client = make_client(after_sign_in_path="/home")
    cookie = client.seal(emulator.issue_session("alice@example.com"))
    for hostile in ("https://evil.example/", "//evil.example", "/\\evil.example"):
        response = switch(client, cookie, org(emulator, "Globex"), return_to=hostile)
        assert response.status_code == 303
        assert response.headers["location"] == "/home"
        cookie = cookie_from(response)


def test_sec_fetch_site_same_origin_is_enough_without_origin(
    make_client: MakeClient, emulator: Emulator
) -> None:
    client = make_client()
    cookie = client.seal(emulator.issue_session("alice@example.com"))
    response = switch(
        client,
        cookie,
        org(emulator, "Globex"),
        origin=None,
        headers={"sec-fetch-site": "same-origin"},
    )
    assert response.status_code == 303


# --------------------------------------------------------------------------- step-ups


@pytest.mark.parametrize(
    ("name", "reason"), [("Initech", "sso_required"), ("Hooli", "mfa_enrollment")]
)
def test_step_up_org_sends_the_user_through_sign_in_for_it(
    make_client: MakeClient, emulator: Emulator, server: EmulatorServer, name: str, reason: str
) -> None:
    client = make_client()
    tokens = emulator.issue_session("alice@example.com", organization_id=org(emulator, "Acme Inc"))
    cookie = client.seal(tokens)
    target = org(emulator, name)
    response = switch(client, cookie, target)
    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    assert location.path == "/login"
    query = parse_qs(location.query)
    assert query["organization_id"] == [target]
    assert query["returnTo"] == ["/projects?tab=1"]
    assert query["login_hint"] == ["alice@example.com"]
    assert "set-cookie" not in response.headers

    # The login route then starts a sign-in scoped to that organisation.
    login = client.get(response.headers["location"], headers={"accept": HTML})
    assert login.status_code == 302
    assert parse_qs(urlsplit(login.headers["location"]).query)["organization_id"] == [target]

    api = switch(client, cookie, target, accept="application/json", as_json=True)
    assert api.status_code == 403
    assert api.json()["error"] == reason
    assert api.json()["login_url"].startswith(f"/login?organization_id={target}")
    # The session is untouched: its refresh token still works (spent here, last).
    assert refresh_at_emulator(server, tokens["refresh_token"]).status_code == 200


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize("target", ["Umbrella", "org_01DOESNOTEXIST"])
def test_non_member_or_unknown_org_is_403_and_the_session_survives(
    make_client: MakeClient, emulator: Emulator, server: EmulatorServer, target: str
) -> None:
    client = make_client()
    tokens = emulator.issue_session("alice@example.com")
    cookie = client.seal(tokens)
    organization_id = org(emulator, target) if target == "Umbrella" else target
    for accept in ("application/json", HTML):
        response = switch(client, cookie, organization_id, accept=accept)
        assert response.status_code == 403
        assert "set-cookie" not in response.headers
        if accept == "application/json":
            assert response.json()["error"] == "organization_not_available"
        else:
            assert "organization_not_available" in response.text
    assert client.get("/api/me", cookie=cookie).status_code == 200
    assert refresh_at_emulator(server, tokens["refresh_token"]).status_code == 200


@pytest.mark.parametrize(
    ("origin", "headers"),
    [
        ("https://evil.example", {}),
        ("null", {}),
        ("http://localhost:3001", {}),
        ("https://evil.example", {"sec-fetch-site": "same-origin"}),
        (None, {"sec-fetch-site": "cross-site"}),
        (None, {"sec-fetch-site": "same-site"}),
        (None, {}),
    ],
)
def test_cross_site_posts_are_403_and_never_reach_workos(
    make_client: MakeClient,
    emulator: Emulator,
    origin: str | None,
    headers: dict[str, str],
) -> None:
    client = make_client()
    cookie = client.seal(emulator.issue_session("alice@example.com"))
    emulator.clear_calls()
    response = switch(client, cookie, org(emulator, "Globex"), origin=origin, headers=headers)
    assert response.status_code == 403
    assert "set-cookie" not in response.headers
    assert emulator.count("refresh_token") == 0


def test_method_body_and_session_checks(make_client: MakeClient, emulator: Emulator) -> None:
    client = make_client()
    globex = org(emulator, "Globex")
    cookie = client.seal(emulator.issue_session("alice@example.com"))
    api = {"accept": "application/json", "origin": ORIGIN}

    get = client.request("GET", SWITCH, cookie=cookie, headers=api)
    assert get.status_code == 405 and get.headers["allow"] == "POST"

    big = client.request(
        "POST",
        SWITCH,
        cookie=cookie,
        headers={**api, "content-type": FORM},
        content=b"organization_id=" + b"a" * 5000,
    )
    assert big.status_code == 413

    xml = client.request(
        "POST",
        SWITCH,
        cookie=cookie,
        headers={**api, "content-type": "text/xml"},
        content=b"<org/>",
    )
    assert xml.status_code == 415

    for bad in ("", "../../x", "org id", "a" * 200):
        response = switch(client, cookie, bad, accept="application/json")
        assert response.status_code == 400, bad
        assert response.json()["error"] == "invalid_request"

    not_json = client.request(
        "POST",
        SWITCH,
        cookie=cookie,
        headers={**api, "content-type": "application/json"},
        content=b"[1, 2]",
    )
    assert not_json.status_code == 400

    signed_out = switch(client, None, globex, accept="application/json")
    assert signed_out.status_code == 401
    browser = switch(client, None, globex)
    assert browser.status_code == 303
    assert browser.headers["location"].startswith("/login?returnTo=")
    assert emulator.count("refresh_token") == 0


def test_bearer_clients_cannot_switch_through_the_route(
    make_client: MakeClient, emulator: Emulator
) -> None:
    client = make_client()
    token = emulator.issue_session("alice@example.com")["access_token"]
    response = client.request(
        "POST",
        SWITCH,
        token=token,
        headers={"accept": "application/json", "origin": ORIGIN},
        data={"organization_id": org(emulator, "Globex")},
    )
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"


def test_revoked_session_is_401(make_client: MakeClient, emulator: Emulator) -> None:
    client = make_client()
    tokens = emulator.issue_session("alice@example.com")
    cookie = client.seal(tokens)
    session_id = claims_of(tokens["access_token"])["sid"]
    assert emulator.revoke_session(session_id)
    response = switch(client, cookie, org(emulator, "Globex"), accept="application/json")
    assert response.status_code == 401
    assert response.json()["error"] == "session_expired"


def test_workos_outage_is_503_and_the_session_is_kept(
    make_client: MakeClient, emulator: Emulator, server: EmulatorServer
) -> None:
    client = make_client()
    tokens = emulator.issue_session("alice@example.com")
    cookie = client.seal(tokens)
    emulator.inject_failure("/user_management/authenticate", status=503, count=None)
    response = switch(client, cookie, org(emulator, "Globex"), accept="application/json")
    assert response.status_code == 503
    assert "retry-after" in response.headers
    emulator.clear_failures()
    assert refresh_at_emulator(server, tokens["refresh_token"]).status_code == 200


# --------------------------------------------------------------------------- drivers


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_driver_switch_organization_for_frameworks(
    server: EmulatorServer, emulator: Emulator, mode: str
) -> None:
    kit = AuthKit(config_for(server))
    acme, globex = org(emulator, "Acme Inc"), org(emulator, "Globex")
    client = Client("wsgi", config_for(server))  # only to seal a cookie
    try:
        cookie = client.seal(emulator.issue_session("alice@example.com", organization_id=acme))
        info = RequestInfo(
            method="POST",
            path="/settings/org",
            cookie=f"wos-session={cookie}",
            origin=ORIGIN,
            accept="application/json",
        )
        cross = RequestInfo(
            method="POST",
            path="/settings/org",
            cookie=f"wos-session={cookie}",
            origin="https://evil.example",
        )
        if mode == "sync":
            driver = SyncDriver(kit)
            refused = driver.switch_organization(cross, globex)
            result = driver.switch_organization(info, globex)
            driver.client.close()
        else:
            adriver = AsyncDriver(kit)

            async def go() -> Any:
                try:
                    return (
                        await adriver.switch_organization(cross, globex),
                        await adriver.switch_organization(info, globex),
                    )
                finally:
                    await adriver.client.close()

            refused, result = asyncio.run(go())
        assert not refused.ok and refused.error is not None
        assert refused.error.code == "cross_site_request"
        assert result.ok, result.error
        assert result.auth.organization_id == globex
        assert result.auth.role == "member"
        assert len(result.set_cookies) == 1 and result.set_cookies[0].startswith("wos-session=")
    finally:
        client.close()
