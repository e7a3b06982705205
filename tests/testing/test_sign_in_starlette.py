"""The test helpers with Starlette's and FastAPI's TestClient."""

from __future__ import annotations

import pytest
from fastapi import FastAPI, Request
from helpers_apps import config_for, starlette_app
from starlette.testclient import TestClient

from authkit_middleware import AuthKitMiddleware
from authkit_middleware.emulator import EmulatorServer
from authkit_middleware.testing import (
    advance_clock,
    clear_session_cookie,
    expire_session,
    find_middleware,
    revoke_session,
    sign_in,
)


def test_sign_in_one_line_with_add_middleware(authkit_emulator: EmulatorServer) -> None:
    app = starlette_app()
    app.add_middleware(AuthKitMiddleware, config=config_for(authkit_emulator))
    with TestClient(app) as client:
        assert client.get("/private", headers={"accept": "application/json"}).status_code == 401
        session = sign_in(
            client,
            app,
            authkit_emulator,
            "alice@example.com",
            organization="Acme Inc",
            role="admin",
            permissions=["widgets:write"],
        )
        body = client.get("/admin").json()
    assert body == {
        "email": "alice@example.com",
        "org": session.organization_id,
        "role": "admin",
        "permissions": ["widgets:write"],
        "impersonator": None,
    }
    assert session.auth.has_permission("widgets:write")
    assert session.cookie_name == "wos-session"
    assert session.cookie_value.startswith("Fe26.2*")


def test_missing_permission_is_403(authkit_emulator: EmulatorServer) -> None:
    app = AuthKitMiddleware(starlette_app(), config=config_for(authkit_emulator))
    client = TestClient(app)
    sign_in(client, app, authkit_emulator, "carol@example.com", organization="Acme Inc")
    headers = {"accept": "application/json"}
    assert client.get("/private", headers=headers).json()["role"] == "member"
    assert client.get("/admin", headers=headers).status_code == 403


def test_new_user_org_and_membership_are_created(authkit_emulator: EmulatorServer) -> None:
    app = AuthKitMiddleware(starlette_app(), config=config_for(authkit_emulator))
    client = TestClient(app)
    session = sign_in(
        client,
        None,  # found through the client
        authkit_emulator,
        "dora@new.test",
        organization="Initech",
        role="billing",
        permissions=["invoices:read"],
    )
    body = client.get("/private").json()
    assert body["email"] == "dora@new.test"
    assert body["role"] == "billing" and body["permissions"] == ["invoices:read"]
    emulator = authkit_emulator.emulator
    assert emulator.get_organization("Initech")["id"] == session.organization_id


def test_fastapi(authkit_emulator: EmulatorServer) -> None:
    api = FastAPI()

    @api.get("/private")
    def private(request: Request) -> dict[str, str | None]:
        auth = request.scope["authkit"]
        return {"email": auth.user.email, "org": auth.organization_id}

    api.add_middleware(AuthKitMiddleware, config=config_for(authkit_emulator))
    client = TestClient(api)
    sign_in(client, api, authkit_emulator, "alice@example.com", organization="Globex")
    globex = authkit_emulator.emulator.get_organization("Globex")
    assert client.get("/private").json() == {"email": "alice@example.com", "org": globex["id"]}


def test_find_middleware_in_apps_and_clients(authkit_emulator: EmulatorServer) -> None:
    config = config_for(authkit_emulator)
    app = starlette_app()
    app.add_middleware(AuthKitMiddleware, config=config)
    middleware = find_middleware(app)
    assert middleware.config is config
    assert find_middleware(TestClient(app)) is middleware
    assert find_middleware(middleware) is middleware
    with pytest.raises(LookupError, match="pass the middleware"):
        find_middleware(starlette_app())


def test_expired_session_is_refreshed(authkit_emulator: EmulatorServer) -> None:
    app = AuthKitMiddleware(starlette_app(), config=config_for(authkit_emulator))
    client = TestClient(app)
    session = sign_in(client, app, authkit_emulator, "alice@example.com", expired=True)
    emulator = authkit_emulator.emulator
    response = client.get("/private")
    assert response.json()["email"] == "alice@example.com"
    assert emulator.count("refresh_token") == 1
    assert client.cookies["wos-session"] != session.cookie_value  # rotated


def test_expire_session_then_refresh_then_revoke(authkit_emulator: EmulatorServer) -> None:
    app = AuthKitMiddleware(starlette_app(), config=config_for(authkit_emulator))
    client = TestClient(app)
    emulator = authkit_emulator.emulator
    session = sign_in(client, app, authkit_emulator, "alice@example.com")
    assert client.get("/private").status_code == 200
    assert emulator.count("refresh_token") == 0

    expire_session(app, authkit_emulator)
    assert client.get("/private").json()["email"] == "alice@example.com"
    assert emulator.count("refresh_token") == 1

    assert revoke_session(authkit_emulator, session)
    assert client.get("/private").status_code == 200  # the access token is still valid
    expire_session(app, authkit_emulator)
    response = client.get("/private", headers={"accept": "application/json"})
    assert response.status_code == 401


def test_advancing_only_the_middleware_clock(authkit_emulator: EmulatorServer) -> None:
    app = AuthKitMiddleware(starlette_app(), config=config_for(authkit_emulator))
    client = TestClient(app)
    sign_in(client, app, authkit_emulator)
    advance_clock(app, 3600)
    # the emulator still mints tokens for "an hour ago": the refresh is unusable
    assert client.get("/private", headers={"accept": "application/json"}).status_code == 401


def test_clear_session_cookie_signs_out(authkit_emulator: EmulatorServer) -> None:
    app = AuthKitMiddleware(starlette_app(), config=config_for(authkit_emulator))
    client = TestClient(app)
    sign_in(client, app, authkit_emulator)
    clear_session_cookie(client)
    assert client.get("/").json()["email"] is None


def test_impersonation(authkit_emulator: EmulatorServer) -> None:
    app = AuthKitMiddleware(starlette_app(), config=config_for(authkit_emulator))
    client = TestClient(app)
    sign_in(client, app, authkit_emulator, "carol@example.com", impersonator="admin@corp.test")
    assert client.get("/").json()["impersonator"] == "admin@corp.test"
