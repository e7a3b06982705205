"""The test helpers with httpx (ASGI and WSGI transports), Flask and Django clients."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from helpers_apps import config_for, flask_app, starlette_app, wsgi_app

from authkit_middleware import AuthKitConfig, AuthKitMiddleware, AuthKitWSGIMiddleware
from authkit_middleware.emulator import EmulatorServer
from authkit_middleware.testing import expire_session, sign_in

JSON = {"accept": "application/json"}


def test_httpx_async_client_over_asgi(authkit_emulator: EmulatorServer) -> None:
    app = AuthKitMiddleware(starlette_app(), config=config_for(authkit_emulator))

    async def scenario() -> list[Any]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            before = (await client.get("/private", headers=JSON)).status_code
            sign_in(client, None, authkit_emulator, "carol@example.com", organization="Acme Inc")
            body = (await client.get("/private")).json()
            expire_session(app, authkit_emulator)
            refreshed = (await client.get("/private")).json()
            return [before, body, refreshed, len(client.cookies.jar)]

    before, body, refreshed, jar_size = asyncio.run(scenario())
    assert before == 401
    assert body["email"] == "carol@example.com" and body["role"] == "member"
    assert refreshed == body
    assert authkit_emulator.emulator.count("refresh_token") == 1
    assert jar_size == 1  # the refreshed cookie replaced ours


def test_httpx_client_over_wsgi(authkit_emulator: EmulatorServer) -> None:
    app = AuthKitWSGIMiddleware(wsgi_app, config=config_for(authkit_emulator))
    transport = httpx.WSGITransport(app=app)
    with httpx.Client(transport=transport, base_url="http://testserver") as client:
        sign_in(client, app, authkit_emulator, "alice@example.com", organization="Globex")
        assert client.get("/private").json()["role"] == "member"
        assert client.get("/admin", headers=JSON).status_code == 403


def test_flask_test_client(authkit_emulator: EmulatorServer) -> None:
    app = flask_app()
    app.wsgi_app = AuthKitWSGIMiddleware(  # type: ignore[method-assign]
        app.wsgi_app, config=config_for(authkit_emulator)
    )
    client = app.test_client()
    assert client.get("/private", headers=JSON).status_code == 401
    session = sign_in(client, None, authkit_emulator, "alice@example.com", organization="Acme Inc")
    assert client.get("/admin").json["email"] == "alice@example.com"
    expire_session(app, authkit_emulator)
    assert client.get("/admin").json["role"] == "admin"
    cookie = client.get_cookie("wos-session")
    assert cookie is not None and cookie.value != session.cookie_value
    assert authkit_emulator.emulator.count("refresh_token") == 1


# ---------------------------------------------------------------------- Django


def _django_ready() -> None:
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(
            DEBUG=True,
            SECRET_KEY="test-only",
            ALLOWED_HOSTS=["*"],
            ROOT_URLCONF=__name__,
            INSTALLED_APPS=[],
            MIDDLEWARE=[],
        )
    django.setup()


def whoami(request: Any) -> Any:
    from django.http import JsonResponse
    from helpers_apps import auth_json

    from authkit_middleware.integrations.django import get_auth

    return JsonResponse(auth_json(get_auth(request)))


def _urlpatterns() -> list[Any]:
    from django.urls import path

    return [path("", whoami), path("private", whoami), path("admin", whoami)]


def __getattr__(name: str) -> Any:
    if name == "urlpatterns":  # this module is the ROOT_URLCONF of the tests below
        return _urlpatterns()
    raise AttributeError(name)


@pytest.fixture
def django_settings() -> Any:
    _django_ready()
    from django.test import override_settings

    with override_settings(ROOT_URLCONF=__name__, ALLOWED_HOSTS=["*"]):
        yield


@pytest.mark.usefixtures("django_settings")
def test_django_test_client(
    authkit_configured: AuthKitConfig, authkit_emulator: EmulatorServer
) -> None:
    from django.test import Client

    client = Client()
    session = sign_in(
        client,
        None,  # Django's client holds no middleware: the config comes from WORKOS_*
        authkit_emulator,
        "alice@example.com",
        organization="Acme Inc",
        role="admin",
        permissions=["widgets:write"],
    )
    assert client.get("/private").json() == {
        "email": "alice@example.com",
        "org": session.organization_id,
        "role": "admin",
        "permissions": ["widgets:write"],
        "impersonator": None,
    }
    assert client.cookies["wos-session"].value == session.cookie_value


@pytest.mark.usefixtures("django_settings")
def test_django_full_stack_through_the_wsgi_entry_point(
    authkit_configured: AuthKitConfig, authkit_emulator: EmulatorServer
) -> None:
    from django.core.wsgi import get_wsgi_application
    from werkzeug.test import Client

    application = AuthKitWSGIMiddleware(get_wsgi_application(), config=authkit_configured)
    client = Client(application)
    sign_in(client, application, authkit_emulator, "carol@example.com", organization="Acme Inc")
    assert client.get("/private").json["role"] == "member"
