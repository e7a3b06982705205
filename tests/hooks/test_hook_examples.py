"""examples/hooks/*: each app upserts into SQLite at sign-in and shows the app's error page."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from authkit_test_support.clock import Clock
from authkit_test_support.middleware import emulator_settings
from hookharness import COOKIE_PASSWORD, ORIGIN, Browser

from authkit_middleware import AuthKitMiddleware, AuthKitWSGIMiddleware
from authkit_middleware.emulator.server import EmulatorServer

HOOKS_DIR = Path(__file__).resolve().parents[2] / "examples" / "hooks"
EXAMPLES = {
    "flask_app": "wsgi",
    "fastapi_app": "asgi",
    "starlette_app": "asgi",
    "django_app": "wsgi",
    "plain_asgi_app": "asgi",
    "plain_wsgi_app": "wsgi",
}


def load(name: str) -> ModuleType:
    module_name = f"example_hooks_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    if str(HOOKS_DIR) not in sys.path:
        sys.path.insert(0, str(HOOKS_DIR))  # the examples import their sibling userstore
    spec = importlib.util.spec_from_file_location(module_name, HOOKS_DIR / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def find_middleware(app: Any) -> Any:
    layer = app
    for _ in range(8):
        if isinstance(layer, (AuthKitMiddleware, AuthKitWSGIMiddleware)):
            return layer
        if hasattr(layer, "build_middleware_stack"):  # Starlette/FastAPI: built lazily
            layer = layer.build_middleware_stack()
            continue
        layer = getattr(layer, "wsgi_app", None) or getattr(layer, "app", None)
    raise AssertionError(f"no AuthKit middleware in {app!r}")


class ExampleBrowser(Browser):
    """The harness's browser, pointed at an example's app instead of the test apps."""

    def __init__(self, kind: str, app: Any, clock: Clock) -> None:
        self.kind = kind
        self.clock = clock
        self.jar = {}
        self.set_cookies = []
        self.loop = None
        if kind == "asgi":
            self.loop = asyncio.new_event_loop()
            self._async = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ORIGIN)
        else:
            self._sync = httpx.Client(transport=httpx.WSGITransport(app=app), base_url=ORIGIN)
        self.get("/")  # Starlette builds its middleware stack on the first request
        self.middleware = find_middleware(app)
        self.middleware.kit.clock = clock
        self.config = self.middleware.config


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_hook_example(name: str, server: EmulatorServer, clock: Clock, tmp_path: Path) -> None:
    module = load(name)
    with contextlib.ExitStack() as stack:
        if name == "django_app":
            # One Django configuration per process: apply this app's over whatever
            # another test module configured first.
            from django.test import override_settings

            stack.enter_context(override_settings(**module.SETTINGS))
        _run_hook_example(name, module, server, clock, tmp_path)


def _run_hook_example(
    name: str, module: Any, server: EmulatorServer, clock: Clock, tmp_path: Path
) -> None:
    database = str(tmp_path / "users.sqlite3")
    options = emulator_settings(server, cookie_password=COOKIE_PASSWORD)
    app = module.create_app(database=database, **options)
    browsers = [ExampleBrowser(EXAMPLES[name], app, clock) for _ in range(2)]
    try:
        first = browsers[0].sign_in("/login?returnTo=/dashboard")
        assert first.headers["location"] == f"{ORIGIN}/onboarding"
        page = browsers[0].get("/onboarding")
        assert page.status_code == 200 and "alice@example.com" in page.text
        again = browsers[1].sign_in("/login?returnTo=/dashboard")
        assert again.headers["location"] == f"{ORIGIN}/dashboard"
        userstore = sys.modules["userstore"]
        assert [userstore.sign_ins(database, uid) for uid in _ids(userstore, database)] == [2]
        error = browsers[0].get("/callback?code=x")
        assert error.status_code == 400
        assert "<title>Sign-in failed · Acme</title>" in error.text
        assert "code missing_auth_params" in error.text
    finally:
        for browser in browsers:
            browser.close()


def _ids(userstore: Any, database: str) -> list[str]:
    with contextlib.closing(userstore.connect(database)) as db:
        return [row[0] for row in db.execute("SELECT id FROM users")]
