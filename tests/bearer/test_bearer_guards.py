"""Framework guards (FastAPI, Flask, Starlette scopes) for cookie and bearer requests alike."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from authkit_test_support.bearer import Client, config_for, organization_id
from authkit_test_support.environment import loopback_without_proxy

from authkit_middleware.core.auth import Auth
from authkit_middleware.core.guards import requirement, verdict
from authkit_middleware.emulator import Emulator
from authkit_middleware.emulator.server import EmulatorServer


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    loopback_without_proxy(monkeypatch)


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    with Emulator().serve() as srv:
        yield srv


@pytest.fixture
def emulator(server: EmulatorServer) -> Emulator:
    return server.emulator


@pytest.fixture
def sessions(emulator: Emulator) -> dict[str, dict[str, Any]]:
    """alice as Acme admin (pro-plan, new-dashboard), alice as Globex member, bob (no org)."""
    acme, globex = organization_id(emulator, "Acme Inc"), organization_id(emulator, "Globex")
    return {
        "acme": emulator.issue_session("alice@example.com", organization_id=acme),
        "globex": emulator.issue_session("alice@example.com", organization_id=globex),
        "bob": emulator.issue_session("bob@example.com"),
    }


def fastapi_app() -> Any:
    from fastapi import Depends, FastAPI

    from authkit_middleware.integrations.fastapi import (
        require,
        require_auth,
        require_entitlement,
        require_feature_flag,
        require_permission,
        require_role,
    )

    api = FastAPI()
    signed_in = Depends(require_auth)

    @api.get("/me")
    def me(auth: Auth = signed_in) -> dict[str, Any]:
        return {"source": auth.source}

    @api.get("/pro", dependencies=[Depends(require_entitlement("pro-plan"))])
    def pro() -> dict[str, bool]:
        return {"ok": True}

    @api.get("/flag", dependencies=[Depends(require_feature_flag("new-dashboard"))])
    def flag() -> dict[str, bool]:
        return {"ok": True}

    combo_guard = Depends(require(permission="widgets:write", role="admin", entitlement="pro-plan"))

    @api.get("/combo")
    def combo(auth: Auth = combo_guard) -> dict[str, Any]:
        return {"role": auth.role}

    @api.get("/perm", dependencies=[Depends(require_permission("widgets:write"))])
    def perm() -> dict[str, bool]:
        return {"ok": True}

    @api.get("/role", dependencies=[Depends(require_role("admin"))])
    def role() -> dict[str, bool]:
        return {"ok": True}

    return api


def flask_guarded_app() -> Any:
    from flask import Flask

    from authkit_middleware.integrations.flask import (
        current_auth,
        entitlement_required,
        feature_flag_required,
        login_required,
        permission_required,
        requires,
    )

    app = Flask(__name__)

    @app.get("/me")
    @login_required
    def me() -> Any:
        return {"source": current_auth.source}

    @app.get("/pro")
    @entitlement_required("pro-plan")
    def pro() -> Any:
        return {"ok": True}

    @app.get("/flag")
    @feature_flag_required("new-dashboard")
    def flag() -> Any:
        return {"ok": True}

    @app.get("/combo")
    @requires("widgets:write", "admin", entitlements="pro-plan")
    def combo() -> Any:
        return {"role": current_auth.role}

    @app.get("/perm")
    @permission_required("widgets:write")
    def perm() -> Any:
        return {"ok": True}

    @app.get("/role")
    @requires(roles="admin")
    def role() -> Any:
        return {"ok": True}

    return app


@pytest.fixture(params=["fastapi", "flask"])
def client(request: pytest.FixtureRequest, server: EmulatorServer) -> Iterator[Client]:
    if request.param == "fastapi":
        made = Client("asgi", config_for(server, protected_paths=()), app=fastapi_app())
    else:
        made = Client("wsgi", config_for(server, protected_paths=()), app=flask_guarded_app())
    yield made
    made.close()


@pytest.mark.parametrize("credential", ["bearer", "cookie"])
@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/me", {"acme", "globex", "bob"}),
        ("/pro", {"acme"}),
        ("/flag", {"acme"}),
        ("/combo", {"acme"}),
        ("/perm", {"acme"}),
        ("/role", {"acme"}),
    ],
)
def test_guards_for_both_credentials(
    client: Client,
    sessions: dict[str, dict[str, Any]],
    credential: str,
    path: str,
    allowed: set[str],
) -> None:
    for who, tokens in sessions.items():
        if credential == "bearer":
            response = client.get(path, token=tokens["access_token"])
        else:
            response = client.get(path, cookie=client.seal(tokens))
        if who in allowed:
            assert response.status_code == 200, (who, response.text)
            if path == "/me":
                assert response.json()["source"] == credential
        else:
            assert response.status_code == 403, (who, response.text)
            challenge = response.headers.get("www-authenticate")
            if credential == "bearer":
                assert challenge == 'Bearer error="insufficient_scope"'
            else:
                assert challenge is None


@pytest.mark.parametrize("path", ["/me", "/pro", "/combo"])
def test_guards_without_credentials_challenge_api_clients(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    browser = client.get(path, headers={"accept": "text/html"})
    assert browser.status_code == 307
    assert browser.headers["location"].startswith("/login?returnTo=")


def test_starlette_requires_with_role_entitlement_and_feature_scopes(
    server: EmulatorServer, sessions: dict[str, dict[str, Any]]
) -> None:
    client = Client("asgi", config_for(server))
    try:
        acme, globex = sessions["acme"]["access_token"], sessions["globex"]["access_token"]
        assert client.get("/scoped/pro", token=acme).status_code == 200
        assert client.get("/scoped/admin", token=acme).status_code == 200
        assert client.get("/scoped/pro", token=globex).status_code == 403
        assert client.get("/scoped/admin", token=globex).status_code == 403
    finally:
        client.close()


def test_scopes_and_verdict_on_auth_values() -> None:
    from authkit_middleware.core.auth import User

    auth = Auth(
        user=User(id="user_1"),
        role="admin",
        roles=("admin", "billing"),
        permissions=("a:b",),
        entitlements=("pro",),
        feature_flags=("beta",),
        source="bearer",
    )
    assert auth.scopes == (
        "authenticated",
        "a:b",
        "role:admin",
        "role:billing",
        "entitlement:pro",
        "feature:beta",
    )
    assert Auth().scopes == ()
    assert verdict(auth, requirement(entitlements="pro", feature_flags=["beta"])) is None
    assert verdict(auth, requirement(entitlements="enterprise")) == "forbidden"
    assert verdict(auth, requirement(feature_flags="gamma")) == "forbidden"
    assert verdict(Auth(), requirement(entitlements="pro")) == "unauthorized"
    with pytest.raises(ValueError):
        requirement(entitlements=[""])
