"""Framework-native test clients on the examples, Litestar, the entry points, the helpers."""

from __future__ import annotations

import asyncio
import io
import os
from typing import Any

import httpx
import pytest
from authkit_test_support.middleware import emulator_settings
from examples_support import (
    HTML,
    JSON,
    ORIGIN,
    SESSION_COOKIE,
    Browser,
    django_project,
    load_example,
    session_cookies,
)

from authkit_middleware import ANONYMOUS, Auth, AuthKitMiddleware, AuthKitWSGIMiddleware, User
from authkit_middleware.core.guards import (
    MiddlewareNotInstalledError,
    auth_from,
    refusal,
    requirement,
    verdict,
)
from authkit_middleware.core.http import RequestInfo
from authkit_middleware.emulator import Emulator, EmulatorServer

ALICE = Auth(
    user=User(id="user_alice", email="alice@example.com", first_name="Alice", last_name="A"),
    organization_id="org_acme",
    role="admin",
    permissions=("widgets:read", "widgets:write"),
)
BOB = Auth(user=User(id="user_bob", email="bob@example.com", first_name="Bob"))


def test_flask_test_client_full_flow(
    emulator: Emulator, emulator_server: EmulatorServer, emulator_http: httpx.Client
) -> None:
    """Flask's own test client goes through ``app.wsgi_app``, so the middleware runs."""
    module = load_example("flask/app.py", "example_flask_app")
    app = module.create_app(
        **emulator_settings(
            emulator_server,
            cookie_password="flask-test-client-cookie-password-0123",
            client=emulator_server.workos_client(),
        )
    )
    client = app.test_client()
    base = {"base_url": ORIGIN}

    assert client.get("/dashboard", headers=HTML, **base).status_code == 307
    start = client.get("/login?returnTo=/dashboard", headers=HTML, **base)
    assert start.status_code == 302
    callback = emulator_http.get(start.headers["location"]).headers["location"]
    done = client.get(callback[len(ORIGIN) :], headers=HTML, **base)
    assert done.status_code == 302 and done.headers["location"] == f"{ORIGIN}/dashboard"
    page = client.get("/dashboard", headers=HTML, **base)
    assert page.status_code == 200 and "Alice Anderson" in page.get_data(as_text=True)
    me = client.get("/api/me", headers=JSON, **base)
    assert me.status_code == 200 and me.get_json()["role"] == "admin"


def test_django_test_client_with_auth_in_environ() -> None:
    """Django's test client bypasses the WSGI entry point: put the ``Auth`` in the environ."""
    django_project()
    from django.test import Client

    client = Client()
    signed_out = client.get("/dashboard", HTTP_ACCEPT=HTML["accept"], authkit=ANONYMOUS)
    assert signed_out.status_code == 307
    assert signed_out["Location"] == "/login?returnTo=/dashboard"
    api = client.get("/api/me", HTTP_ACCEPT="application/json", authkit=ANONYMOUS)
    assert api.status_code == 401 and api.json()["error"] == "unauthorized"

    page = client.get("/dashboard", authkit=ALICE)
    assert page.status_code == 200
    text = page.content.decode()
    assert "Alice A" in text and "org_acme" in text and "widgets:write" in text
    assert client.get("/api/me", authkit=ALICE).json()["permissions"] == list(ALICE.permissions)
    assert client.get("/widgets/new", authkit=ALICE).status_code == 200
    assert client.get("/widgets/new", HTTP_ACCEPT=HTML["accept"], authkit=BOB).status_code == 403
    # The context processor gives templates ``auth`` on public pages too.
    assert "Sign out" in client.get("/", authkit=ALICE).content.decode()

    with pytest.raises(MiddlewareNotInstalledError):
        client.get("/dashboard")


def test_django_entry_points(
    monkeypatch: pytest.MonkeyPatch, emulator: Emulator, emulator_server: EmulatorServer
) -> None:
    """``asgi.py`` / ``wsgi.py`` build ``application`` from the environment, lazily."""
    django_project()
    for key, value in emulator_server.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("WORKOS_REDIRECT_URI", f"{ORIGIN}/callback")
    monkeypatch.setenv("WORKOS_COOKIE_PASSWORD", "entry-point-cookie-password-0123456789")
    asgi = load_example("django/asgi.py", "example_django_asgi")
    wsgi = load_example("django/wsgi.py", "example_django_wsgi")
    assert isinstance(asgi.application, AuthKitMiddleware)
    assert asgi.application is asgi.application
    assert isinstance(wsgi.application, AuthKitWSGIMiddleware)
    browser = Browser(wsgi.application, None)
    try:
        assert browser.get("/", HTML).status_code == 200
        assert browser.get("/dashboard", HTML).status_code == 307
    finally:
        browser.close()


@pytest.mark.parametrize(
    ("relative", "module_name", "kind"),
    [
        ("flask/app.py", "example_flask_app", "wsgi"),
        ("fastapi/app.py", "example_fastapi_app", "asgi"),
        ("starlette/app.py", "example_starlette_app", "asgi"),
        ("plain_asgi/app.py", "example_plain_asgi_app", "asgi"),
        ("plain_wsgi/app.py", "example_plain_wsgi_app", "wsgi"),
    ],
)
def test_module_app_is_lazy_and_read_from_env(
    monkeypatch: pytest.MonkeyPatch, relative: str, module_name: str, kind: str
) -> None:
    """Importing an example builds nothing; ``module.app`` reads ``WORKOS_*`` once."""
    module = load_example(relative, module_name)
    monkeypatch.setattr(module, "_app", None)
    env = {
        "WORKOS_API_KEY": "sk_test_lazy",
        "WORKOS_CLIENT_ID": "client_lazy",
        "WORKOS_REDIRECT_URI": f"{ORIGIN}/callback",
        "WORKOS_COOKIE_PASSWORD": "lazy-app-cookie-password-0123456789abc",
        "WORKOS_BASE_URL": "http://127.0.0.1:9",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    app = module.app
    assert app is module.app
    middleware = app.wsgi_app if kind == "wsgi" and hasattr(app, "wsgi_app") else app
    assert middleware.config.client_id == "client_lazy"
    with pytest.raises(AttributeError):
        _ = module.no_such_attribute


def test_litestar_app_wrapped_in_one_line(
    emulator: Emulator, emulator_server: EmulatorServer, emulator_http: httpx.Client
) -> None:
    """Litestar is plain ASGI: ``AuthKitMiddleware(app)`` works, ``scope["authkit"]`` is set."""
    from litestar import Litestar, Request, get

    @get("/api/me", sync_to_thread=False)
    def me(request: Request[Any, Any, Any]) -> dict[str, Any]:
        auth: Auth = request.scope["authkit"]  # type: ignore[typeddict-item]
        assert auth.user is not None
        return {"email": auth.user.email, "role": auth.role}

    async def flow() -> None:
        client = emulator_server.async_workos_client()
        app = AuthKitMiddleware(
            Litestar(route_handlers=[me]),
            **emulator_settings(
                emulator_server,
                cookie_password="litestar-cookie-password-0123456789abc",
                protected_paths=["/api/*"],
                client=client,
            ),
        )
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=ORIGIN
        ) as browser:
            assert (await browser.get("/api/me", headers=JSON)).status_code == 401
            start = await browser.get("/login?returnTo=/api/me", headers=HTML)
            callback = emulator_http.get(start.headers["location"]).headers["location"]
            done = await browser.get(callback[len(ORIGIN) :], headers=HTML)
            assert len(session_cookies(done)) == 1
            response = await browser.get("/api/me", headers=JSON)
            assert response.status_code == 200
            assert response.json() == {"email": "alice@example.com", "role": "admin"}
            assert browser.cookies.get(SESSION_COOKIE)
        await client.close()

    asyncio.run(flow())


# -- the shared guard and the helpers' edges ---------------------------------------


def test_guard_verdicts() -> None:
    assert verdict(ANONYMOUS) == "unauthorized"
    assert verdict(ALICE) is None
    assert verdict(ALICE, requirement("widgets:write")) is None
    assert verdict(ALICE, requirement(["widgets:write", "nope"])) == "forbidden"
    assert verdict(ALICE, requirement(roles=("member", "admin"))) is None
    assert verdict(BOB, requirement(roles="admin")) == "forbidden"
    with pytest.raises(ValueError):
        requirement([""])


def test_guard_refusals_match_the_middleware() -> None:
    page = RequestInfo(method="GET", path="/a b", query_string="x=1", root_path="/app")
    page.accept = "text/html"
    response = refusal(page, ANONYMOUS, login_path="/signin")
    assert response is not None and response.status == 307
    assert dict(response.headers)["location"] == "/app/signin?returnTo=/a%20b%3Fx%3D1"
    post = RequestInfo(method="POST", path="/form", accept="text/html")
    answer = refusal(post, ANONYMOUS)
    assert answer is not None and answer.status == 303
    api = refusal(RequestInfo(method="GET", path="/api"), ANONYMOUS)
    assert api is not None and api.status == 401 and b'"unauthorized"' in api.body
    denied = refusal(page, BOB, requirement("widgets:write"))
    assert denied is not None and denied.status == 403 and b"Access denied" in denied.body
    assert refusal(page, ALICE, requirement("widgets:write")) is None
    with pytest.raises(MiddlewareNotInstalledError):
        auth_from({})


def test_flask_decorators_sync_async_roles_and_login_path() -> None:
    from flask import Flask

    from authkit_middleware.integrations.flask import (
        current_auth,
        login_required,
        role_required,
    )

    app = Flask(__name__)
    app.testing = True  # let the missing-middleware error reach the test

    @app.get("/admin")
    @role_required("admin")
    def admin() -> str:
        return f"admin {current_auth.user.email if current_auth.user else ''}"

    @app.get("/async")
    @login_required(login_path="/signin")
    async def async_view() -> str:
        await asyncio.sleep(0)
        return "async ok"

    client = app.test_client()
    env = {"authkit": ALICE}
    assert client.get("/admin", environ_base=env).get_data(as_text=True) == (
        "admin alice@example.com"
    )
    assert client.get("/admin", environ_base={"authkit": BOB}).status_code == 403
    assert client.get("/async", environ_base=env).get_data(as_text=True) == "async ok"
    redirected = client.get("/async", headers=HTML, environ_base={"authkit": ANONYMOUS})
    assert redirected.status_code == 307
    assert redirected.headers["location"] == "/signin?returnTo=/async"
    with pytest.raises(MiddlewareNotInstalledError):
        client.get("/admin")


def test_fastapi_dependencies_roles_and_websocket_free() -> None:
    from fastapi import Depends, FastAPI

    from authkit_middleware.integrations.fastapi import require_auth, require_role

    api = FastAPI()

    @api.get("/admin", dependencies=[Depends(require_role("admin"))])
    def admin() -> dict[str, bool]:
        return {"ok": True}

    @api.post("/things")
    def things(auth: Auth = Depends(require_auth)) -> dict[str, str | None]:  # noqa: B008
        return {"email": auth.user.email if auth.user else None}

    async def call(auth: Auth, method: str, path: str, accept: str) -> httpx.Response:
        async def app(scope: Any, receive: Any, send: Any) -> None:
            scope["authkit"] = auth
            await api(scope, receive, send)

        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=ORIGIN) as client:
            return await client.request(method, path, headers={"accept": accept})

    async def run() -> None:
        assert (await call(ALICE, "GET", "/admin", "application/json")).json() == {"ok": True}
        assert (await call(BOB, "GET", "/admin", "application/json")).status_code == 403
        api_401 = await call(ANONYMOUS, "POST", "/things", "application/json")
        assert api_401.status_code == 401
        assert api_401.headers["www-authenticate"].startswith("Bearer")
        browser = await call(ANONYMOUS, "POST", "/things", "text/html")
        assert browser.status_code == 303
        assert browser.headers["location"] == "/login?returnTo=/things"
        ok = await call(ALICE, "POST", "/things", "application/json")
        assert ok.json() == {"email": "alice@example.com"}

    asyncio.run(run())


def test_ensure_workos_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from authkit_middleware.dev import ensure_workos_environment

    for name in ("WORKOS_REDIRECT_URI", "WORKOS_COOKIE_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WORKOS_API_KEY", "sk_live_real")
    assert ensure_workos_environment(port=3999) is None
    assert "WORKOS_REDIRECT_URI" not in os.environ

    monkeypatch.delenv("WORKOS_API_KEY")
    out = io.StringIO()
    server = ensure_workos_environment(port=3999, out=out)
    assert server is not None
    try:
        assert os.environ["WORKOS_BASE_URL"] == server.base_url
        assert os.environ["WORKOS_API_KEY"] == server.api_key
        assert os.environ["WORKOS_CLIENT_ID"] == server.client_id
        assert os.environ["WORKOS_REDIRECT_URI"] == "http://localhost:3999/callback"
        assert len(os.environ["WORKOS_COOKIE_PASSWORD"]) >= 32
        text = out.getvalue()
        assert "http://localhost:3999/" in text and "alice@example.com" in text
        assert "password: password" in text
        assert server.emulator.config.auto_login is False
        # After sign-out WorkOS may send the browser back to the app.
        assert server.emulator.config.logout_return_allowed("http://localhost:3999/")
    finally:
        server.stop()

    monkeypatch.setenv("WORKOS_COOKIE_PASSWORD", "kept-cookie-password-0123456789abcdef")
    monkeypatch.delenv("WORKOS_API_KEY")
    other = ensure_workos_environment(port=4001, host="devbox.test", out=io.StringIO())
    assert other is not None
    try:
        assert os.environ["WORKOS_COOKIE_PASSWORD"] == "kept-cookie-password-0123456789abcdef"
        assert os.environ["WORKOS_REDIRECT_URI"] == "http://devbox.test:4001/callback"
        assert other.emulator.config.logout_return_allowed("http://devbox.test:4001/")
        assert other.emulator.config.redirect_allowed("http://devbox.test:4001/callback")
    finally:
        other.stop()
