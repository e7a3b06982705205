"""A Starlette (ASGI) and a Flask (WSGI) app behind the middleware, against the emulator.

Each test builds one app with the hooks it needs and drives it with :class:`Browser`
(``httpx.ASGITransport`` on a private event loop, or ``httpx.WSGITransport``). The
browser keeps its own cookie jar (httpx's jar and ``localhost`` do not mix) and never
follows redirects, so every hop is asserted. The emulator is reached over real
loopback HTTP by the unmodified ``workos`` SDK, and shares a clock with the
middleware so expiry is tested without sleeping.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from authkit_test_support.clock import Clock
from authkit_test_support.cookies import store_set_cookie
from authkit_test_support.middleware import emulator_settings
from flask import Flask, jsonify
from flask import request as flask_request
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from authkit_middleware import AuthKitConfig, AuthKitMiddleware, AuthKitWSGIMiddleware
from authkit_middleware.emulator.server import EmulatorServer

ORIGIN = "http://localhost:3000"
HTML = "text/html,application/xhtml+xml"
COOKIE_PASSWORD = "hooks-test-cookie-password-0123456789abcdef"
SESSION = "wos-session"


def whoami(auth: Any) -> dict[str, Any]:
    user = auth.user
    return {"user": user.email if user else None, "org": auth.organization_id}


def starlette_app() -> Starlette:
    async def page(request: Request) -> JSONResponse:
        return JSONResponse({"path": request.url.path, **whoami(request.scope["authkit"])})

    paths = ("/", "/dashboard", "/onboarding", "/welcome")
    return Starlette(routes=[Route(p, page) for p in paths])


def flask_app() -> Flask:
    app = Flask("hooks_test_app")

    @app.route("/")
    @app.route("/dashboard")
    @app.route("/onboarding")
    @app.route("/welcome")
    def page() -> Any:
        return jsonify({"path": flask_request.path, **whoami(flask_request.environ["authkit"])})

    return app


class Browser:
    """One browser (cookie jar) against one wrapped app."""

    def __init__(self, kind: str, server: EmulatorServer, clock: Clock, **options: Any) -> None:
        self.kind = kind
        self.server = server
        self.clock = clock
        options.setdefault("protected_paths", ("/dashboard",))
        self.config = AuthKitConfig(
            **emulator_settings(
                server, cookie_password=COOKIE_PASSWORD, request_timeout=3.0, **options
            )
        )
        self.jar: dict[str, str] = {}
        #: Every Set-Cookie header seen, in order.
        self.set_cookies: list[str] = []
        self.loop: asyncio.AbstractEventLoop | None = None
        if kind == "asgi":
            self.loop = asyncio.new_event_loop()
            self.middleware: Any = AuthKitMiddleware(starlette_app(), config=self.config)
            self._async = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=self.middleware), base_url=ORIGIN
            )
        else:
            flask = flask_app()
            self.middleware = AuthKitWSGIMiddleware(flask.wsgi_app, config=self.config)
            flask.wsgi_app = self.middleware  # type: ignore[method-assign]
            self._sync = httpx.Client(transport=httpx.WSGITransport(app=flask), base_url=ORIGIN)
        self.middleware.kit.clock = clock

    @property
    def kit(self) -> Any:
        return self.middleware.kit

    def close(self) -> None:
        if self.loop is not None:
            self.loop.run_until_complete(self._async.aclose())
            self.loop.run_until_complete(self.middleware.driver.client.close())
            self.loop.close()
        else:
            self._sync.close()
            self.middleware.driver.client.close()

    def request(
        self, method: str, target: str, *, accept: str = HTML, **headers: str
    ) -> httpx.Response:
        parts = urlsplit(target)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        sent = {"accept": accept, **headers}
        if self.jar:
            sent["cookie"] = "; ".join(f"{k}={v}" for k, v in self.jar.items())
        if self.loop is not None:
            response = self.loop.run_until_complete(self._async.request(method, path, headers=sent))
        else:
            response = self._sync.request(method, path, headers=sent)
        for header in response.headers.get_list("set-cookie"):
            self.set_cookies.append(header)
            store_set_cookie(self.jar, header)
        return response

    def get(self, target: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", target, **kwargs)

    def authorize(self, login: httpx.Response, email: str = "alice@example.com") -> str:
        """Follow the login redirect through the emulator (auto-login): the callback URL."""
        assert login.status_code == 302, login.text
        with httpx.Client() as http:
            hint = urlencode({"login_hint": email})
            answer = http.get(f"{login.headers['location']}&{hint}")
        assert answer.status_code == 302, answer.text
        callback = answer.headers["location"]
        assert callback.startswith(f"{ORIGIN}/callback?")
        return callback.removeprefix(ORIGIN)

    def sign_in(self, target: str = "/login", email: str = "alice@example.com") -> httpx.Response:
        """Start at ``target``; return the callback's answer."""
        return self.get(self.authorize(self.get(target), email))


def cookie_names(headers: list[str]) -> dict[str, str]:
    """name -> the whole Set-Cookie header."""
    named: dict[str, str] = {}
    for header in headers:
        named[header.split("=", 1)[0]] = header
    return named


def session_set(response: httpx.Response) -> bool:
    """Does this response set (not delete) a session cookie?"""
    for header in response.headers.get_list("set-cookie"):
        name, rest = header.split("=", 1)
        if name.split(".")[0] == SESSION and "Max-Age=0" not in rest and not rest.startswith(";"):
            return True
    return False
