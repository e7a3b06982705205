"""session_cookie, mint_session rules, the pytest fixtures, and import weight."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet
from helpers_apps import config_for, starlette_app
from starlette.testclient import TestClient

from authkit_middleware import AuthKitConfig, AuthKitMiddleware
from authkit_middleware.core.seal import Sealer
from authkit_middleware.emulator import EmulatorServer
from authkit_middleware.testing import (
    SignIn,
    configure_environment,
    mint_session,
    session_cookie,
)


def test_session_cookie_from_a_config_opens_with_the_middleware_sealer(
    authkit_emulator: EmulatorServer,
) -> None:
    config = config_for(authkit_emulator)
    name, value = session_cookie(config, authkit_emulator, "bob@example.com")
    assert name == "wos-session"
    payload = Sealer(config.cookie_passwords).unseal(value, purpose="session")
    assert payload["user"]["email"] == "bob@example.com"
    assert "accessToken" in payload and "refreshToken" in payload  # camelCase: iron


def test_fernet_format_and_custom_cookie_name(authkit_emulator: EmulatorServer) -> None:
    config = config_for(
        authkit_emulator,
        seal_format="fernet",
        cookie_password=Fernet.generate_key().decode(),
        cookie_name="wos_session",
    )
    app = AuthKitMiddleware(starlette_app(), config=config)
    client = TestClient(app)
    session = SignIn(authkit_emulator)(client, app, "bob@example.com")
    assert session.cookie_name == "wos_session"
    assert session.cookie_value.startswith("gAAAAA")
    payload = Sealer(config.cookie_passwords, format="fernet").unseal(
        session.cookie_value, purpose="session"
    )
    assert "access_token" in payload  # snake_case: workos-python's shape
    assert client.get("/").json()["email"] == "bob@example.com"


def test_existing_membership_takes_the_role_and_permissions_asked_for(
    authkit_emulator: EmulatorServer,
) -> None:
    config = config_for(authkit_emulator)
    session = mint_session(
        config, authkit_emulator, "alice@example.com", organization="Acme Inc", role="viewer"
    )
    assert session.auth.role == "viewer"
    # permissions were not given: the seeded ones stay
    assert "widgets:write" in session.auth.permissions
    session = mint_session(
        config, authkit_emulator, "alice@example.com", organization="Acme Inc", permissions=[]
    )
    assert session.auth.role == "viewer" and session.auth.permissions == ()


def test_organization_by_id_and_entitlements(authkit_emulator: EmulatorServer) -> None:
    config = config_for(authkit_emulator)
    acme = authkit_emulator.emulator.get_organization("Acme Inc")
    assert acme is not None
    session = mint_session(config, authkit_emulator, "bob@example.com", organization=acme["id"])
    assert session.organization_id == acme["id"]
    assert session.auth.entitlements == ("pro-plan",)
    new = mint_session(config, authkit_emulator, "bob@example.com", organization="org_TESTNEW")
    assert new.organization_id == "org_TESTNEW"


def test_refusals(authkit_emulator: EmulatorServer) -> None:
    config = config_for(authkit_emulator)
    with pytest.raises(ValueError, match="pass organization="):
        mint_session(config, authkit_emulator, "alice@example.com", role="admin")
    with pytest.raises(LookupError, match="pass an email"):
        mint_session(config, authkit_emulator, "user_01UNKNOWN")
    elsewhere = config.replace(base_url="http://127.0.0.1:9")
    with pytest.raises(ValueError, match="not to this emulator"):
        mint_session(elsewhere, authkit_emulator)
    other_client = config.replace(client_id="client_other")
    with pytest.raises(ValueError, match="client id"):
        mint_session(other_client, authkit_emulator)
    with pytest.raises(TypeError, match="cookie"):
        from authkit_middleware.testing import set_session_cookie

        set_session_cookie(object(), "a", "b")


def test_repr_hides_tokens(authkit_emulator: EmulatorServer) -> None:
    session = mint_session(config_for(authkit_emulator), authkit_emulator)
    text = repr(session)
    assert session.access_token not in text and session.refresh_token not in text
    assert session.cookie_value not in text
    assert session.cookie_header.startswith("wos-session=Fe26.2*")


def test_authkit_configured_fixture(
    authkit_configured: AuthKitConfig, authkit_emulator: EmulatorServer
) -> None:
    assert os.environ["WORKOS_BASE_URL"] == authkit_emulator.base_url
    assert authkit_configured.base_url == authkit_emulator.base_url
    assert authkit_configured.redirect_uri == "http://localhost/callback"
    assert len(authkit_configured.cookie_passwords[0]) >= 32


def test_authkit_sign_in_fixture_one_liner(
    authkit_configured: AuthKitConfig, authkit_sign_in: SignIn
) -> None:
    app = AuthKitMiddleware(starlette_app())  # from the environment
    client = TestClient(app)
    authkit_sign_in(client, app, user="carol@example.com", organization="Globex", role="owner")
    assert client.get("/").json()["role"] == "owner"
    authkit_sign_in.expire(app)
    assert client.get("/").json()["role"] == "owner"  # refreshed
    name, _ = authkit_sign_in.cookie(app, "bob@example.com")
    assert name == "wos-session"


def test_configure_environment_removes_other_workos_variables(
    authkit_emulator: EmulatorServer,
) -> None:
    env = {"WORKOS_COOKIE_NAME": "mine", "WORKOS_REDIS_URL": "redis://x", "HOME": "/h"}
    values = configure_environment(authkit_emulator, env)
    assert "WORKOS_COOKIE_NAME" not in env and "WORKOS_REDIS_URL" not in env
    assert env["HOME"] == "/h"
    assert values["WORKOS_API_KEY"] == authkit_emulator.api_key == env["WORKOS_API_KEY"]


def test_the_plugin_stays_import_light() -> None:
    code = (
        "import sys, authkit_middleware.testing.pytest_plugin as p; "
        "heavy = [m for m in ('authkit_middleware.testing.helpers', "
        "'authkit_middleware.emulator.emulator', 'authkit_middleware.doctor', "
        "'django', 'flask') if m in sys.modules]; print(heavy)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"
