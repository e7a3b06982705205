"""Harness for the security battery: both adapters, one browser, one scoreboard.

Every hostile case goes through a real middleware (ASGI over a Starlette app, WSGI
over a Flask app) talking to the emulator over loopback HTTP. ``Browser`` keeps its
own cookie jar (so a test can plant any byte string as a cookie), and every response
it sees is checked by :func:`check_safe` and counted in :data:`STATS`, which the
``pytest_terminal_summary`` hook of this directory prints as a table.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, quote, unquote_to_bytes, urlsplit

import httpx
from flask import Flask, jsonify, request
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket

from authkit_middleware import AuthKitMiddleware, AuthKitWSGIMiddleware
from authkit_middleware.core.engine import AuthKit
from authkit_middleware.emulator import Emulator, EmulatorServer

ORIGIN = "http://localhost:3000"
REDIRECT_URI = ORIGIN + "/callback"
PASSWORD = "correct-horse-battery-staple-0123456789"
OTHER_PASSWORD = "another-password-entirely-abcdefghijklmnop"
SESSION_COOKIE = "wos-session"
#: What protected handlers return: it must never reach a signed-out client.
SECRET_BODY = "TOP-SECRET-PAYLOAD"
PROTECTED = ("/dash", "/dash/*", "/api/*", "/ws")


# ----------------------------------------------------------------------- scoreboard


@dataclass
class Tally:
    cases: int = 0
    status_2xx: int = 0
    status_3xx: int = 0
    status_4xx: int = 0
    status_5xx: int = 0
    wrong_sessions: int = 0
    off_origin: int = 0
    ws_closed: int = 0
    passed_tests: int = 0
    failed_tests: int = 0


STATS: defaultdict[str, Tally] = defaultdict(Tally)
_STATS_LOCK = threading.Lock()
#: The category of the test currently running (set by the conftest from the marker).
CURRENT: dict[str, str] = {"category": "uncategorised"}
#: Secret values seen during the current test; the conftest asserts none is logged.
SECRETS: set[str] = set()


def record(status: int, *, wrong_session: bool = False, off_origin: bool = False) -> None:
    with _STATS_LOCK:
        tally = STATS[CURRENT["category"]]
        tally.cases += 1
        if status < 300:
            tally.status_2xx += 1
        elif status < 400:
            tally.status_3xx += 1
        elif status < 500:
            tally.status_4xx += 1
        else:
            tally.status_5xx += 1
        tally.wrong_sessions += wrong_session
        tally.off_origin += off_origin


def record_ws_close() -> None:
    with _STATS_LOCK:
        tally = STATS[CURRENT["category"]]
        tally.cases += 1
        tally.ws_closed += 1


def note_secret(value: str | None) -> None:
    """Remember a value that must never appear in a log line (long enough to be unique)."""
    if value and len(value) >= 8:
        SECRETS.add(value)


# ----------------------------------------------------------------------- inner apps


def _auth_dict(auth: Any) -> dict[str, Any]:
    if auth is None or not auth.is_authenticated:
        return {"authenticated": False}
    return {
        "authenticated": True,
        "user": auth.user.id,
        "role": auth.role,
        "permissions": list(auth.permissions),
    }


def starlette_app(events: list[str]) -> Starlette:
    from contextlib import asynccontextmanager

    async def home(req: Request) -> PlainTextResponse:
        return PlainTextResponse("home")

    async def secret(req: Request) -> PlainTextResponse:
        auth = req.scope.get("authkit")
        assert auth is not None and auth.is_authenticated, "app reached without a session"
        return PlainTextResponse(SECRET_BODY)

    async def whoami(req: Request) -> JSONResponse:
        return JSONResponse(_auth_dict(req.scope.get("authkit")))

    async def ws(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text(SECRET_BODY)
        await websocket.close()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> Any:
        events.append("startup")
        yield
        events.append("shutdown")

    return Starlette(
        routes=[
            Route("/", home, methods=["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"]),
            Route("/dash", secret, methods=["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"]),
            Route("/dash/{rest:path}", secret),
            Route("/api/{rest:path}", secret),
            Route("/whoami", whoami),
            WebSocketRoute("/ws", ws),
            WebSocketRoute("/open-ws", ws),
        ],
        lifespan=lifespan,
    )


def flask_app() -> Flask:
    app = Flask("security")
    methods = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"]

    @app.route("/", methods=methods)
    def home() -> str:
        return "home"

    @app.route("/dash", methods=methods)
    @app.route("/dash/<path:rest>")
    @app.route("/api/<path:rest>")
    def secret(rest: str = "") -> str:
        auth = request.environ.get("authkit")
        assert auth is not None and auth.is_authenticated, "app reached without a session"
        return SECRET_BODY

    @app.route("/whoami")
    def whoami() -> Any:
        return jsonify(_auth_dict(request.environ.get("authkit")))

    return app


# ----------------------------------------------------------------------- the browser


def parse_set_cookie(header: str) -> tuple[str, str, dict[str, str]]:
    first, *attrs = header.split(";")
    name, _, value = first.partition("=")
    parsed: dict[str, str] = {}
    for attr in attrs:
        key, _, val = attr.strip().partition("=")
        parsed[key.lower()] = val
    return name.strip(), value.strip(), parsed


def is_deletion(header: str) -> bool:
    _, value, attrs = parse_set_cookie(header)
    return value == "" or attrs.get("max-age") == "0"


def session_sets(response: httpx.Response, cookie_name: str = SESSION_COOKIE) -> list[str]:
    """Set-Cookie headers that *grant* a session (a value, not a deletion)."""
    out = []
    for header in response.headers.get_list("set-cookie"):
        name, _, _ = parse_set_cookie(header)
        if (name == cookie_name or name.startswith(cookie_name + ".")) and not is_deletion(header):
            out.append(header)
    return out


def session_deletions(response: httpx.Response, cookie_name: str = SESSION_COOKIE) -> list[str]:
    out = []
    for header in response.headers.get_list("set-cookie"):
        name, _, _ = parse_set_cookie(header)
        if (name == cookie_name or name.startswith(cookie_name + ".")) and is_deletion(header):
            out.append(header)
    return out


def same_origin(location: str, origin: str = ORIGIN) -> bool:
    """Whether a browser following ``location`` (resolved against the app) stays home."""
    resolved = httpx.URL(origin + "/").join(location)
    want = urlsplit(origin)
    return (resolved.scheme, resolved.host, resolved.port) == (
        want.scheme,
        want.hostname,
        want.port,
    )


class Browser:
    """A client of one adapter with a hand-kept cookie jar (any bytes can be planted)."""

    def __init__(self, kind: str, send: Callable[..., httpx.Response], kit: AuthKit) -> None:
        self.kind = kind
        self._send = send
        self.kit = kit
        self.jar: dict[str, str] = {}
        self.history: list[httpx.Response] = []

    # -- cookies

    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.jar.items())

    def absorb(self, response: httpx.Response) -> None:
        for header in response.headers.get_list("set-cookie"):
            name, value, _ = parse_set_cookie(header)
            if is_deletion(header):
                self.jar.pop(name, None)
            else:
                self.jar[name] = value
                note_secret(value)

    def session_cookie(self) -> str | None:
        name = self.kit.config.cookie_name
        if name in self.jar:
            return self.jar[name]
        parts = []
        i = 0
        while f"{name}.{i}" in self.jar:
            parts.append(self.jar[f"{name}.{i}"])
            i += 1
        return "".join(parts) or None

    # -- requests

    def request(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str | bytes] | None = None,
        cookie: str | bytes | None = None,
        use_jar: bool = True,
        html: bool = False,
        absorb: bool = True,
    ) -> httpx.Response:
        hdrs: dict[str, str | bytes] = {}
        if html:
            hdrs["accept"] = "text/html"
        if cookie is not None:
            hdrs["cookie"] = cookie
        elif use_jar and self.jar:
            hdrs["cookie"] = self.cookie_header()
        hdrs.update(headers or {})
        response = self._send(method, path, hdrs)
        self.history.append(response)
        if absorb:
            self.absorb(response)
        return response

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("GET", path, **kw)

    def me(self, *, cookie: str | bytes | None = None) -> dict[str, Any]:
        response = self.request("GET", "/auth/me", cookie=cookie, absorb=False)
        assert response.status_code < 500, response.text
        data: dict[str, Any] = response.json()
        return data

    def is_signed_in(self, *, cookie: str | bytes | None = None) -> bool:
        return self.me(cookie=cookie).get("user") is not None

    # -- flows

    def start_login(self, query: str = "") -> tuple[httpx.Response, str]:
        """``GET /login``: the response and the WorkOS authorize URL."""
        response = self.get("/login" + (f"?{query}" if query else ""))
        assert response.status_code == 302, response.text
        return response, response.headers["location"]

    def authorize(self, authorize_url: str) -> str:
        """What the emulator (auto-login) redirects the browser to: the callback path."""
        r = _external().get(authorize_url)
        assert r.status_code in (302, 303), r.text
        location = r.headers["location"]
        assert location.startswith(ORIGIN_OF(self.kit)), location
        query = parse_qs(urlsplit(location).query)
        for v in query.get("code", []):
            note_secret(v)
        return location[len(ORIGIN_OF(self.kit)) :]

    def login(self, return_to: str | None = None, *, login_hint: str | None = None) -> str:
        """A full sign-in; returns the callback response's Location."""
        params = []
        if return_to is not None:
            params.append("returnTo=" + quote(return_to, safe=""))
        if login_hint:
            params.append("login_hint=" + quote(login_hint, safe=""))
        _, url = self.start_login("&".join(params))
        callback = self.authorize(url)
        r = self.get(callback)
        assert r.status_code == 302, (r.status_code, r.text)
        location: str = r.headers["location"]
        return location


_EXTERNAL: list[httpx.Client] = []


def _external() -> httpx.Client:
    """One shared client for the browser's hops to the emulator (an SSL context each
    time a client is built costs ~15 ms); closed at the end of the session."""
    if not _EXTERNAL:
        _EXTERNAL.append(httpx.Client(follow_redirects=False, timeout=10, verify=False))
    return _EXTERNAL[0]


def close_external() -> None:
    while _EXTERNAL:
        _EXTERNAL.pop().close()


def ORIGIN_OF(kit: AuthKit) -> str:
    return kit.config.origin


def check_safe(
    response: httpx.Response,
    *,
    allow_session: bool = False,
    trusted: tuple[str, ...] = (),
    origin: str = ORIGIN,
    cookie_name: str = SESSION_COOKIE,
) -> None:
    """The outcome every hostile case must have; counted in the scoreboard."""
    status = response.status_code
    granted = bool(session_sets(response, cookie_name)) and not allow_session
    location = response.headers.get("location")
    off = False
    if location is not None and not same_origin(location, origin):
        off = not any(location.startswith(t) for t in trusted)
    leaked = SECRET_BODY in response.text and not allow_session
    record(status, wrong_session=granted or leaked, off_origin=off)
    assert status < 500 or status in (502, 503), (status, response.text[:300])
    assert not granted, response.headers.get_list("set-cookie")
    assert not leaked, "protected content served without a session"
    assert not off, location
    if response.headers.get_list("set-cookie"):
        assert "no-store" in response.headers.get("cache-control", ""), response.headers


# ----------------------------------------------------------------------- factories


@dataclass
class Harness:
    """One middleware instance (ASGI or WSGI) and the emulator it talks to."""

    kind: str
    server: EmulatorServer
    app: Any
    kit: AuthKit
    send: Callable[..., httpx.Response]
    events: list[str] = field(default_factory=list)
    ws: Callable[..., Any] | None = None

    @property
    def emulator(self) -> Emulator:
        return self.server.emulator

    def browser(self) -> Browser:
        return Browser(self.kind, self.send, self.kit)


def base_options(server: EmulatorServer, **overrides: Any) -> dict[str, Any]:
    options: dict[str, Any] = {
        "api_key": server.api_key,
        "client_id": server.client_id,
        "base_url": server.base_url,
        "redirect_uri": REDIRECT_URI,
        "cookie_password": PASSWORD,
        "protected_paths": PROTECTED,
        "request_timeout": 1.0,
    }
    options.update(overrides)
    return options


@contextmanager
def make_harness(kind: str, server: EmulatorServer, **overrides: Any) -> Iterator[Harness]:
    options = base_options(server, **overrides)
    origin = urlsplit(options["redirect_uri"])
    base = f"{origin.scheme}://{origin.netloc}"
    note_secret(options["api_key"])
    pw = options["cookie_password"]
    for p in (pw,) if isinstance(pw, str) else pw:
        note_secret(p)
    if kind == "asgi":
        events: list[str] = []
        app = AuthKitMiddleware(starlette_app(events), **options)
        with TestClient(app, base_url=base, follow_redirects=False) as client:

            def send_asgi(method: str, path: str, headers: Mapping[str, Any]) -> httpx.Response:
                client.cookies.clear()
                return client.request(method, path, headers=dict(headers))

            yield Harness(
                kind, server, app, app.kit, send_asgi, events=events, ws=client.websocket_connect
            )
        return
    wsgi = AuthKitWSGIMiddleware(flask_app().wsgi_app, **options)
    transport = Pep3333Transport(app=wsgi)
    with httpx.Client(transport=transport, base_url=base, follow_redirects=False) as http:

        def send_wsgi(method: str, path: str, headers: Mapping[str, Any]) -> httpx.Response:
            http.cookies.clear()
            return http.request(method, path, headers=dict(headers))

        yield Harness(kind, server, wsgi, wsgi.kit, send_wsgi)


def seal_session(tokens: Mapping[str, Any], password: str = PASSWORD) -> str:
    """A session cookie value for an ``authenticate`` response, sealed as the engine does."""
    from authkit_middleware.core.seal import Sealer
    from authkit_middleware.core.session import TokenResponse, encode_session

    session = TokenResponse.from_dict(tokens).to_session()
    return Sealer((password,)).seal(encode_session(session, camel=True), purpose="session")


class Pep3333Transport(httpx.WSGITransport):
    """httpx's WSGI transport, but building the environ as real servers do (PEP 3333).

    httpx decodes header values as ASCII (a non-ASCII Cookie byte crashes the *test
    transport*) and hands over an already-decoded ``PATH_INFO``; gunicorn, waitress
    and werkzeug give latin-1 decoded bytes for both.
    """

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        import io
        import sys

        request.read()
        port = request.url.port or {"http": 80, "https": 443}[request.url.scheme]
        raw_path = request.url.raw_path.split(b"?", 1)[0]
        environ: dict[str, Any] = {
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": request.url.scheme,
            "wsgi.input": io.BytesIO(request.content),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            "REQUEST_METHOD": request.method,
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote_to_bytes(raw_path).decode("latin-1"),
            "QUERY_STRING": request.url.query.decode("latin-1"),
            "SERVER_NAME": request.url.host,
            "SERVER_PORT": str(port),
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
        }
        for key_b, value_b in request.headers.raw:
            key = key_b.decode("latin-1").upper().replace("-", "_")
            if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                key = "HTTP_" + key
            environ[key] = value_b.decode("latin-1")
        seen: dict[str, Any] = {}

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            seen["status"], seen["headers"] = status, headers
            return lambda _: None

        result = self.app(environ, start_response)
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in seen["headers"]]
        return httpx.Response(int(seen["status"].split()[0]), headers=headers, content=body)
