"""Helpers for driving the example apps in-process against a real emulator over HTTP.

- :func:`load_example` imports ``examples/<dir>/<file>.py`` by path (the example
  folders are scripts, not packages) under a stable module name.
- :class:`Browser` is one synchronous HTTP client per "browser" for either kind of
  app: ``httpx.ASGITransport`` (driven on one private event loop, so the
  middleware's async WorkOS client stays on the loop that created it) or
  ``httpx.WSGITransport``. Cookies persist like in a browser; redirects are not
  followed, so every hop is asserted.
- :func:`sign_in` walks the hosted sign-in: app ``/login`` -> emulator authorize
  (auto-login: straight back) -> app callback.
"""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Literal
from urllib.parse import quote

import httpx
from authkit_test_support.clock import Clock
from authkit_test_support.middleware import emulator_settings
from workos import AsyncWorkOSClient, WorkOSClient

from authkit_middleware import AuthKitConfig, AuthKitMiddleware, AuthKitWSGIMiddleware
from authkit_middleware.emulator import EmulatorServer

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples"
ORIGIN = "http://localhost:3000"
HTML = {"accept": "text/html,application/xhtml+xml"}
JSON = {"accept": "application/json"}
SESSION_COOKIE = "wos-session"


def load_example(relative: str, module_name: str) -> ModuleType:
    """Import ``examples/<relative>`` once per process as ``module_name``."""
    loaded = sys.modules.get(module_name)
    if loaded is not None:
        return loaded
    path = EXAMPLES_DIR / relative
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module


def django_project() -> ModuleType:
    """The Django example's one-file project (configures settings once per process)."""
    return load_example("django/demo_project.py", "demo_project")


@dataclass(frozen=True)
class Example:
    """One runnable example: its kind and how to build its wrapped app from options."""

    name: str
    kind: Literal["asgi", "wsgi"]
    build: Callable[..., Any]
    #: A 403 for a browser is a page (FastAPI's HTTPException answers JSON, by design).
    html_forbidden: bool = True


def _factory(relative: str, module_name: str, attribute: str = "create_app") -> Callable[..., Any]:
    def build(**options: Any) -> Any:
        return getattr(load_example(relative, module_name), attribute)(**options)

    return build


EXAMPLES: tuple[Example, ...] = (
    Example("flask", "wsgi", _factory("flask/app.py", "example_flask_app")),
    Example(
        "fastapi",
        "asgi",
        _factory("fastapi/app.py", "example_fastapi_app"),
        html_forbidden=False,
    ),
    Example("starlette", "asgi", _factory("starlette/app.py", "example_starlette_app")),
    Example(
        "django-asgi",
        "asgi",
        lambda **options: django_project().create_asgi_app(**options),
    ),
    Example(
        "django-wsgi",
        "wsgi",
        lambda **options: django_project().create_wsgi_app(**options),
    ),
    Example("plain-asgi", "asgi", _factory("plain_asgi/app.py", "example_plain_asgi_app")),
    Example("plain-wsgi", "wsgi", _factory("plain_wsgi/app.py", "example_plain_wsgi_app")),
)


def find_middleware(app: Any) -> AuthKitMiddleware | AuthKitWSGIMiddleware:
    """The AuthKit middleware inside an example's app object (Flask keeps it in wsgi_app)."""
    layer = app
    for _ in range(8):
        if isinstance(layer, (AuthKitMiddleware, AuthKitWSGIMiddleware)):
            return layer
        layer = getattr(layer, "wsgi_app", None) or getattr(layer, "app", None)
    raise AssertionError(f"no AuthKit middleware in {app!r}")


class Browser:
    """A cookie-keeping HTTP client for one in-process app (ASGI or WSGI)."""

    def __init__(self, app: Any, runner: asyncio.Runner | None) -> None:
        self._runner = runner
        self._async: httpx.AsyncClient | None = None
        self._sync: httpx.Client | None = None
        if runner is not None:
            self._async = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url=ORIGIN, timeout=10
            )
        else:
            self._sync = httpx.Client(
                transport=httpx.WSGITransport(app=app), base_url=ORIGIN, timeout=10
            )

    @property
    def cookies(self) -> httpx.Cookies:
        client = self._async if self._async is not None else self._sync
        assert client is not None
        return client.cookies

    def request(
        self, method: str, url: str, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        if url.startswith(ORIGIN):
            url = url[len(ORIGIN) :] or "/"
        if self._async is not None:
            assert self._runner is not None
            return self._runner.run(self._async.request(method, url, headers=headers))
        assert self._sync is not None
        return self._sync.request(method, url, headers=headers)

    def get(self, url: str, headers: dict[str, str] | None = None) -> httpx.Response:
        return self.request("GET", url, headers)

    def post(self, url: str, headers: dict[str, str] | None = None) -> httpx.Response:
        return self.request("POST", url, headers)

    def close(self) -> None:
        if self._async is not None:
            assert self._runner is not None
            self._runner.run(self._async.aclose())
        if self._sync is not None:
            self._sync.close()


class Harness:
    """One example app wired to the emulator, plus the browsers that visit it.

    ASGI apps run on one private event loop shared by all their browsers, so the
    middleware's async WorkOS client stays on the loop that created it.
    """

    def __init__(self, example: Example, server: EmulatorServer, clock: Clock) -> None:
        self.example = example
        self.server = server
        self.emulator = server.emulator
        self._runner = asyncio.Runner() if example.kind == "asgi" else None
        self._async_client: AsyncWorkOSClient | None = None
        client: WorkOSClient | AsyncWorkOSClient
        if self._runner is not None:
            client = self._async_client = server.async_workos_client()
        else:
            client = server.workos_client()  # closed when the server stops
        self.config = AuthKitConfig(
            **emulator_settings(server, cookie_password="examples-test-cookie-password-0123456789")
        )
        self.app = example.build(config=self.config, client=client)
        self.middleware = find_middleware(self.app)
        self.middleware.kit.clock = clock
        self._browsers: list[Browser] = []

    def browser(self) -> Browser:
        browser = Browser(self.app, self._runner)
        self._browsers.append(browser)
        return browser

    def close(self) -> None:
        for browser in self._browsers:
            browser.close()
        if self._runner is not None:
            if self._async_client is not None:
                self._runner.run(self._async_client.close())
            self._runner.close()


def session_cookies(response: httpx.Response) -> list[str]:
    """The Set-Cookie headers that write or delete the session cookie."""
    return [
        c for c in response.headers.get_list("set-cookie") if c.startswith(f"{SESSION_COOKIE}=")
    ]


def sign_in(
    browser: Browser,
    emulator_http: httpx.Client,
    user: str = "alice@example.com",
    return_to: str = "/dashboard",
) -> httpx.Response:
    """The hosted sign-in, hop by hop; returns the callback's redirect response."""
    start = browser.get(f"/login?returnTo={quote(return_to)}&login_hint={quote(user)}", HTML)
    assert start.status_code == 302, start.text
    authorize = emulator_http.get(start.headers["location"])
    assert authorize.status_code in (302, 303), authorize.text
    callback = authorize.headers["location"]
    assert callback.startswith(f"{ORIGIN}/callback?"), callback
    done = browser.get(callback, HTML)
    assert done.status_code == 302, done.text
    assert done.headers["location"] == ORIGIN + return_to
    assert len(session_cookies(done)) == 1
    return done
