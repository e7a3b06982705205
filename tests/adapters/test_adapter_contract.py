"""The ASGI and WSGI adapters keep their protocol contracts.

Pure-ASGI pitfalls (python-anchors part e): lifespan and unknown scopes pass through,
websockets get the user and are closed (never redirected) when refused, Set-Cookie
headers are appended (never merged), ``Vary`` is merged, a cacheable response that
sets a cookie is made ``no-store``, ``root_path`` mounts keep their prefix. PEP 3333:
the app's iterable (and so its ``close()``) reaches the server untouched, ``exc_info``
goes through ``start_response``, ``SCRIPT_NAME`` mounts keep their prefix.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterable, Iterator
from typing import Any

import httpx
import pytest
from authkit_test_support.clock import Clock
from authkit_test_support.middleware import emulator_settings, seal_session

from authkit_middleware import AuthKitMiddleware, AuthKitWSGIMiddleware
from authkit_middleware.core.auth import Auth
from authkit_middleware.emulator import Emulator
from authkit_middleware.emulator.server import EmulatorServer

PASSWORD = "adapter-contract-password-0123456789abcdef"


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with Emulator(auto_login=True).serve() as srv:
        yield srv


def options(server: EmulatorServer, **extra: Any) -> dict[str, Any]:
    return emulator_settings(
        server, **{"cookie_password": PASSWORD, "protected_paths": ("/private*",), **extra}
    )


def session_cookie(server: EmulatorServer, middleware: Any) -> str:
    """A real session cookie for alice, sealed the way the middleware seals it."""
    data = server.emulator.issue_session("alice@example.com")
    return f"wos-session={seal_session(middleware.kit, data)}"


# ---------------------------------------------------------------------- ASGI


class Recorder:
    """A raw ASGI app that records what reached it and answers with fixed headers."""

    def __init__(self, headers: list[tuple[bytes, bytes]] | None = None) -> None:
        self.scopes: list[dict[str, Any]] = []
        self.headers = headers or [(b"content-type", b"text/plain")]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.scopes.append(scope)
        if scope["type"] == "lifespan":
            message = await receive()
            assert message["type"] == "lifespan.startup"
            await send({"type": "lifespan.startup.complete"})
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.close", "code": 1000})
            return
        await send({"type": "http.response.start", "status": 200, "headers": list(self.headers)})
        await send({"type": "http.response.body", "body": b"ok"})


def run_asgi(
    app: Any, scope: dict[str, Any], inbound: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []
    queue = list(inbound or [{"type": "http.request", "body": b"", "more_body": False}])

    async def receive() -> dict[str, Any]:
        return queue.pop(0) if queue else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


def http_scope(
    path: str, *, cookie: str | None = None, accept: str = "text/html", root_path: str = ""
) -> dict[str, Any]:
    headers = [(b"accept", accept.encode()), (b"host", b"localhost:3000")]
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": root_path + path,
        "raw_path": (root_path + path).encode(),
        "root_path": root_path,
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 5000),
        "server": ("localhost", 3000),
    }


def response_headers(sent: list[dict[str, Any]]) -> list[tuple[str, str]]:
    start = next(m for m in sent if m["type"] == "http.response.start")
    return [(k.decode(), v.decode()) for k, v in start["headers"]]


def test_lifespan_and_unknown_scopes_pass_through(server: EmulatorServer) -> None:
    inner = Recorder()
    app = AuthKitMiddleware(inner, **options(server))
    sent = run_asgi(
        app, {"type": "lifespan", "asgi": {"version": "3.0"}}, [{"type": "lifespan.startup"}]
    )
    assert sent == [{"type": "lifespan.startup.complete"}]
    assert inner.scopes[0]["type"] == "lifespan"
    assert "authkit" not in inner.scopes[0]


def test_a_signed_out_websocket_on_a_protected_path_is_closed_not_redirected(
    server: EmulatorServer,
) -> None:
    inner = Recorder()
    app = AuthKitMiddleware(inner, **options(server))
    scope = {**http_scope("/private/ws"), "type": "websocket", "scheme": "ws"}
    scope.pop("method")
    sent = run_asgi(app, scope, [{"type": "websocket.connect"}])
    assert sent == [{"type": "websocket.close", "code": 4401}]
    assert inner.scopes == []


def test_a_websocket_gets_the_user_attached(server: EmulatorServer) -> None:
    inner = Recorder()
    app = AuthKitMiddleware(inner, **options(server))
    scope = {
        **http_scope("/private/ws", cookie=session_cookie(server, app)),
        "type": "websocket",
        "scheme": "ws",
    }
    scope.pop("method")
    sent = run_asgi(app, scope, [{"type": "websocket.connect"}])
    assert sent[0] == {"type": "websocket.accept"}
    auth = inner.scopes[0]["authkit"]
    assert (
        isinstance(auth, Auth) and auth.user is not None and auth.user.email == "alice@example.com"
    )
    assert inner.scopes[0]["user"].is_authenticated


def test_signed_out_requests_see_anonymous_and_starlette_conventions(
    server: EmulatorServer,
) -> None:
    inner = Recorder()
    app = AuthKitMiddleware(inner, **options(server))
    run_asgi(app, http_scope("/open"))
    scope = inner.scopes[0]
    assert scope["authkit"].is_authenticated is False
    assert scope["user"].is_authenticated is False
    assert list(scope["auth"].scopes) == []


@pytest.mark.parametrize("first_request", [True, False])
def test_cookie_headers_split_by_http2_are_joined(
    server: EmulatorServer, first_request: bool
) -> None:
    """RFC 9113 §8.2.3: an HTTP/2 client may send the Cookie header as several fields;
    the session cookie in the second one still signs the user in (first request
    and answered from memory)."""
    inner = Recorder()
    app = AuthKitMiddleware(inner, **options(server))
    cookie = session_cookie(server, app)
    if not first_request:
        run_asgi(app, http_scope("/private", cookie=cookie))
    scope = http_scope("/private", cookie="theme=dark")
    scope["headers"].append((b"cookie", cookie.encode()))
    sent = run_asgi(app, scope)
    assert sent[0]["status"] == 200
    assert inner.scopes[-1]["authkit"].is_authenticated


def test_session_responses_get_no_store_merged_vary_and_keep_the_apps_cookies(
    server: EmulatorServer,
) -> None:
    inner = Recorder(
        [
            (b"content-type", b"text/plain"),
            (b"cache-control", b"public, max-age=3600"),
            (b"vary", b"Accept-Encoding"),
            (b"set-cookie", b"theme=dark; Path=/"),
            (b"set-cookie", b"lang=en; Path=/"),
        ]
    )
    app = AuthKitMiddleware(inner, **options(server))
    sent = run_asgi(app, http_scope("/open", cookie=session_cookie(server, app)))
    headers = response_headers(sent)
    cache_control = [v for k, v in headers if k == "cache-control"]
    assert (
        len(cache_control) == 1
        and "no-store" in cache_control[0]
        and "public" not in cache_control[0]
    )
    assert [v for k, v in headers if k == "vary"] == ["Accept-Encoding, Cookie"]
    assert [v for k, v in headers if k == "set-cookie"] == ["theme=dark; Path=/", "lang=en; Path=/"]
    assert inner.scopes[0]["authkit"].is_authenticated


def test_a_refresh_appends_its_set_cookie_after_the_apps_own(server: EmulatorServer) -> None:
    inner = Recorder([(b"set-cookie", b"theme=dark; Path=/")])
    app = AuthKitMiddleware(inner, **options(server))
    cookie = session_cookie(server, app)
    app.kit.clock = Clock(offset=290)  # inside the refresh buffer
    sent = run_asgi(app, http_scope("/open", cookie=cookie))
    cookies = [v for k, v in response_headers(sent) if k == "set-cookie"]
    assert cookies[0] == "theme=dark; Path=/"
    assert len(cookies) == 2 and cookies[1].startswith("wos-session=Fe26.2*")


def test_open_signed_out_responses_are_left_untouched(server: EmulatorServer) -> None:
    inner = Recorder([(b"cache-control", b"public, max-age=60")])
    app = AuthKitMiddleware(inner, **options(server))
    sent = run_asgi(app, http_scope("/open"))
    assert response_headers(sent) == [("cache-control", "public, max-age=60")]


def test_a_root_path_mount_keeps_its_prefix_in_redirects(server: EmulatorServer) -> None:
    inner = Recorder()
    app = AuthKitMiddleware(inner, **options(server))
    sent = run_asgi(app, http_scope("/private/page", root_path="/app"))
    start = sent[0]
    assert start["status"] == 307
    assert dict(response_headers(sent))["location"] == "/app/login?returnTo=/private/page"
    sent = run_asgi(app, http_scope("/login", root_path="/app"))
    assert sent[0]["status"] == 302


def test_starlette_add_middleware_form_works(server: EmulatorServer) -> None:
    from starlette.applications import Starlette
    from starlette.authentication import requires
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    @requires("authenticated", redirect=None)
    async def private(request: Request) -> PlainTextResponse:
        return PlainTextResponse(request.user.display_name)

    star = Starlette(routes=[Route("/me", private)])
    star.add_middleware(AuthKitMiddleware, **options(server))

    async def go() -> tuple[int, int, str]:
        transport = httpx.ASGITransport(app=star)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://localhost:3000"
        ) as client:
            anonymous = await client.get("/me")
            middleware = star.middleware_stack
            while not isinstance(middleware, AuthKitMiddleware):
                middleware = middleware.app  # type: ignore[union-attr]
            cookie = session_cookie(server, middleware)
            signed_in = await client.get("/me", headers={"cookie": cookie})
            return anonymous.status_code, signed_in.status_code, signed_in.text

    anonymous, signed_in, text = asyncio.run(go())
    assert anonymous == 403  # Starlette's own requires() answer
    assert signed_in == 200 and text == "Alice Anderson"


# ---------------------------------------------------------------------- WSGI


class ClosingBody:
    """A response iterable whose close() must be reached by the server (PEP 3333)."""

    def __init__(self) -> None:
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        yield b"ok"

    def close(self) -> None:
        self.closed = True


def wsgi_environ(path: str, *, cookie: str | None = None, script_name: str = "") -> dict[str, Any]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": script_name,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "3000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_ACCEPT": "text/html",
        "wsgi.url_scheme": "http",
        "wsgi.input": None,
        "wsgi.errors": sys.stderr,
    }
    if cookie:
        environ["HTTP_COOKIE"] = cookie
    return environ


def test_wsgi_returns_the_apps_iterable_so_close_is_forwarded(server: EmulatorServer) -> None:
    body = ClosingBody()
    seen: list[dict[str, Any]] = []

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        seen.append(environ)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return body

    middleware = AuthKitWSGIMiddleware(app, **options(server))
    calls: list[tuple[str, list[tuple[str, str]]]] = []
    result = middleware(
        wsgi_environ("/open", cookie=session_cookie(server, middleware)),
        lambda s, h, e=None: calls.append((s, h)),
    )
    assert result is body
    assert b"".join(result) == b"ok"
    result.close()  # type: ignore[attr-defined]
    assert body.closed
    assert seen[0]["authkit"].user.email == "alice@example.com"
    headers = dict(calls[0][1])
    assert "no-store" in headers["Cache-Control"] and headers["Vary"] == "Cookie"


def test_wsgi_passes_exc_info_through_start_response(server: EmulatorServer) -> None:
    received: list[Any] = []

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            start_response(
                "500 Internal Server Error", [("Content-Type", "text/plain")], sys.exc_info()
            )
        return [b"error"]

    middleware = AuthKitWSGIMiddleware(app, **options(server))

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        received.append(exc_info)

    middleware(wsgi_environ("/open", cookie=session_cookie(server, middleware)), start_response)
    assert received[0] is not None and received[0][0] is RuntimeError


def test_wsgi_script_name_mounts_keep_their_prefix(server: EmulatorServer) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        start_response("200 OK", [])
        return [b"ok"]

    middleware = AuthKitWSGIMiddleware(app, **options(server))
    calls: list[tuple[str, list[tuple[str, str]]]] = []
    middleware(
        wsgi_environ("/private/x", script_name="/app"), lambda s, h, e=None: calls.append((s, h))
    )
    status, headers = calls[0]
    assert status.startswith("307")
    assert dict(headers)["location"] == "/app/login?returnTo=/private/x"


def test_wsgi_unicode_paths_are_decoded_as_utf8(server: EmulatorServer) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        start_response("200 OK", [])
        return [b"ok"]

    middleware = AuthKitWSGIMiddleware(app, **options(server))
    calls: list[tuple[str, list[tuple[str, str]]]] = []
    path = "/private/café".encode().decode("latin-1")  # as a PEP 3333 server hands it over
    middleware(wsgi_environ(path), lambda s, h, e=None: calls.append((s, h)))
    assert dict(calls[0][1])["location"] == "/login?returnTo=/private/caf%C3%A9"
