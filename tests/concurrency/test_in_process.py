"""Refresh storms inside one process (ASGI via httpx, WSGI via threads), with and
without the Redis coordinator; grace window, two-strike rule, Redis going down."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from authkit_test_support.clock import Clock
from authkit_test_support.middleware import emulator_settings
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from authkit_middleware import AuthKitMiddleware, AuthKitWSGIMiddleware
from authkit_middleware.coordination.redis import RedisCoordinator
from authkit_middleware.emulator import EmulatorServer

from .storm import (
    COOKIE_NAME,
    COOKIE_PASSWORD,
    REDIRECT_URI,
    RedisServer,
    expired_session_cookie,
    slow_refreshes,
)

N = 50
REFRESH = "refresh_token"


def _options(server: EmulatorServer) -> dict[str, Any]:
    return emulator_settings(
        server,
        redirect_uri=REDIRECT_URI,
        cookie_password=COOKIE_PASSWORD,
        protected_paths=("/api/*",),
        jwt_leeway=0,
    )


def _me(request: Request) -> JSONResponse:
    auth = request.scope["authkit"]
    return JSONResponse({"user": auth.user.email if auth.user else None})


def asgi_app(server: EmulatorServer, **kw: Any) -> AuthKitMiddleware:
    return AuthKitMiddleware(Starlette(routes=[Route("/api/me", _me)]), **_options(server), **kw)


def wsgi_app(server: EmulatorServer, **kw: Any) -> AuthKitWSGIMiddleware:
    def inner(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        auth = environ["authkit"]
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps({"user": auth.user.email if auth.user else None}).encode()]

    return AuthKitWSGIMiddleware(inner, **_options(server), **kw)


Result = tuple[int, list[str]]


def asgi_storm(app: AuthKitMiddleware, cookie: str, n: int = N) -> list[Result]:
    async def main() -> list[Result]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost:3000") as c:
            headers = {"cookie": f"{COOKIE_NAME}={cookie}", "accept": "application/json"}
            rs = await asyncio.gather(*(c.get("/api/me", headers=headers) for _ in range(n)))
        return [(r.status_code, r.headers.get_list("set-cookie")) for r in rs]

    return asyncio.run(asyncio.wait_for(main(), 30))


def wsgi_storm(app: AuthKitWSGIMiddleware, cookie: str, n: int = N) -> list[Result]:
    barrier = threading.Barrier(n, timeout=10)

    def one(_: int) -> Result:
        seen: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc: Any = None) -> Any:
            seen["status"] = int(status.split()[0])
            seen["cookies"] = [v for k, v in headers if k.lower() == "set-cookie"]
            return lambda _b: None

        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": "/api/me",
            "HTTP_COOKIE": f"{COOKIE_NAME}={cookie}",
            "HTTP_ACCEPT": "application/json",
            "wsgi.url_scheme": "http",
            "SERVER_NAME": "localhost",
            "SERVER_PORT": "3000",
        }
        barrier.wait()
        b"".join(app(environ, start_response))
        return seen["status"], seen["cookies"]

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n), timeout=30))


def deletes(cookies: list[str]) -> bool:
    return any(c.startswith(COOKIE_NAME) and "Max-Age=0" in c for c in cookies)


def all_ok(results: list[Result]) -> bool:
    return all(s == 200 and c and not deletes(c) for s, c in results)


@pytest.fixture
def emulator(emulator_server: EmulatorServer) -> EmulatorServer:
    slow_refreshes(emulator_server.emulator)
    return emulator_server


@pytest.fixture
def private_redis() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


# --------------------------------------------------------------------------- single-flight


def test_asgi_single_flight_one_process(emulator: EmulatorServer) -> None:
    results = asgi_storm(asgi_app(emulator), expired_session_cookie(emulator.emulator))
    assert all_ok(results)
    assert emulator.emulator.count(REFRESH) == 1


def test_wsgi_single_flight_one_process(emulator: EmulatorServer) -> None:
    results = wsgi_storm(wsgi_app(emulator), expired_session_cookie(emulator.emulator))
    assert all_ok(results)
    assert emulator.emulator.count(REFRESH) == 1


@pytest.mark.parametrize("flavour", ["asgi", "wsgi"])
def test_two_apps_sharing_redis_refresh_once(
    emulator: EmulatorServer, redis_url: str, flavour: str
) -> None:
    """Two middleware instances = two "processes" (separate caches), one Redis."""
    make: Callable[..., Any] = asgi_app if flavour == "asgi" else wsgi_app
    run: Callable[..., list[Result]] = asgi_storm if flavour == "asgi" else wsgi_storm
    a = make(emulator, coordinator=RedisCoordinator(redis_url))
    b = make(emulator, coordinator=RedisCoordinator(redis_url))
    cookie = expired_session_cookie(emulator.emulator)
    out: dict[str, list[Result]] = {}
    threads = [
        threading.Thread(target=lambda k=k, app=app: out.__setitem__(k, run(app, cookie, 25)))
        for k, app in (("a", a), ("b", b))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert all_ok(out["a"]) and all_ok(out["b"])
    assert emulator.emulator.count(REFRESH) == 1


# --------------------------------------------------------------------------- grace, two strikes


def test_late_requests_within_the_grace_window_then_the_two_strike_rule(
    emulator: EmulatorServer, redis_url: str
) -> None:
    coordinator = RedisCoordinator(redis_url, result_ttl=1)
    winner = asgi_app(emulator, coordinator=coordinator)
    other = asgi_app(emulator, coordinator=coordinator)  # another worker: no local grace
    old = expired_session_cookie(emulator.emulator)
    assert all_ok(asgi_storm(winner, old, 10))
    assert emulator.emulator.count(REFRESH) == 1

    # Within the window: the old cookie adopts the new session, in both workers.
    for app in (winner, other):
        [(status, cookies)] = asgi_storm(app, old, 1)
        assert status == 200 and cookies and not deletes(cookies)
    assert emulator.emulator.count(REFRESH) == 1

    # After the window (Redis result expired, local grace expired): WorkOS is asked,
    # says invalid_grant. First refusal: 401 for this request, no deletion (it may be a
    # race lost to a worker whose fresh cookie is on its way).
    time.sleep(1.1)
    skewed = Clock(offset=31.0)
    other.kit.clock = skewed
    [(status, cookies)] = asgi_storm(other, old, 1)
    assert (status, cookies) == (401, [])
    assert emulator.emulator.count(REFRESH) == 2
    # Second strike, a grace window later: the cookie is deleted; WorkOS is not asked again.
    skewed.offset = 62.0
    [(status, cookies)] = asgi_storm(other, old, 1)
    assert status == 401 and deletes(cookies)
    assert emulator.emulator.count(REFRESH) == 2


def test_a_transient_failure_under_coordination_signs_nobody_out(
    emulator: EmulatorServer, redis_url: str
) -> None:
    emulator.emulator.clear_failures()
    emulator.emulator.inject_failure(
        "/user_management/authenticate", grant_type=REFRESH, status=503, count=1, latency=0.2
    )
    a = wsgi_app(emulator, coordinator=RedisCoordinator(redis_url))
    b = wsgi_app(emulator, coordinator=RedisCoordinator(redis_url))
    cookie = expired_session_cookie(emulator.emulator)
    results = wsgi_storm(a, cookie, 10) + wsgi_storm(b, cookie, 10)
    assert not any(deletes(c) for _, c in results)
    assert {s for s, _ in results} <= {200, 502, 503}
    assert emulator.emulator.count(REFRESH, status=503) == 1
    time.sleep(2.1)  # the shared transient failure is forgotten after 2 s
    assert all_ok(wsgi_storm(b, cookie, 10))


# --------------------------------------------------------------------------- Redis down


@pytest.mark.parametrize("flavour", ["asgi", "wsgi"])
def test_redis_down_falls_back_to_in_process(
    emulator: EmulatorServer,
    private_redis: RedisServer,
    caplog: pytest.LogCaptureFixture,
    flavour: str,
) -> None:
    make: Callable[..., Any] = asgi_app if flavour == "asgi" else wsgi_app
    run: Callable[..., list[Result]] = asgi_storm if flavour == "asgi" else wsgi_storm
    app = make(emulator, coordinator=RedisCoordinator(private_redis.url))
    first, second = (
        expired_session_cookie(emulator.emulator),
        expired_session_cookie(emulator.emulator),
    )
    assert all_ok(run(app, first, 20))
    assert emulator.emulator.count(REFRESH) == 1
    private_redis.stop()
    caplog.set_level(logging.WARNING, logger="authkit_middleware.coordination")
    started = time.monotonic()
    assert all_ok(run(app, second, 20))
    assert time.monotonic() - started < 5
    assert emulator.emulator.count(REFRESH) == 2  # in-process single-flight: one more
    warnings = [r for r in caplog.records if "coordinator unavailable" in r.getMessage()]
    assert len(warnings) == 1  # once per interval, not once per request
