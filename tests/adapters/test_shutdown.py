"""The middlewares close the connections they opened, and only those.

ASGI: at lifespan shutdown (after the app's own), the SDK client the middleware built
is closed and replaced by a fresh one, so an app whose lifespan runs again (a second
``TestClient`` context, a reload) still refreshes sessions through WorkOS. WSGI has
no shutdown event: ``close()`` does the same on demand. A client or coordinator the
caller passed in is never closed by us.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from authkit_test_support.middleware import emulator_settings
from flask import Flask
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient
from workos import AsyncWorkOSClient

from authkit_middleware import AuthKitMiddleware, AuthKitWSGIMiddleware
from authkit_middleware.coordination.redis import RedisCoordinator
from authkit_middleware.emulator import Emulator
from authkit_middleware.emulator.server import EmulatorServer
from authkit_middleware.testing import sign_in

PASSWORD = "shutdown-tests-cookie-password-0123456789abc"


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with Emulator().serve() as srv:
        yield srv


def options(server: EmulatorServer, **extra: Any) -> dict[str, Any]:
    return emulator_settings(
        server, **{"cookie_password": PASSWORD, "protected_paths": ("/private",), **extra}
    )


def starlette_app() -> Starlette:
    async def private(request: Request) -> PlainTextResponse:
        return PlainTextResponse(request.scope["authkit"].user.email)

    return Starlette(routes=[Route("/private", private)])


def _is_closed(client: Any) -> bool:
    return bool(client._backend._client.is_closed)


def test_lifespan_shutdown_closes_the_client_and_a_second_lifespan_still_refreshes(
    server: EmulatorServer,
) -> None:
    mw = AuthKitMiddleware(starlette_app(), **options(server))
    for _ in range(2):
        with TestClient(mw, base_url="http://localhost:3000") as client:
            sign_in(client, mw, server.emulator, expired=True)
            response = client.get("/private")  # a refresh through the SDK client
            assert response.status_code == 200, response.text
            assert "set-cookie" in response.headers
            used = mw.driver.client
            assert not _is_closed(used)
        assert _is_closed(used)
        assert mw.driver.client is not used and not _is_closed(mw.driver.client)


def test_a_client_passed_in_is_never_closed(server: EmulatorServer) -> None:
    mine = AsyncWorkOSClient(
        api_key=server.api_key, client_id=server.client_id, base_url=server.base_url
    )
    mw = AuthKitMiddleware(starlette_app(), client=mine, **options(server))
    with TestClient(mw, base_url="http://localhost:3000"):
        pass
    assert mw.driver.client is mine and not _is_closed(mine)
    asyncio.run(mine.close())


def test_only_a_coordinator_the_middleware_built_is_closed(
    server: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    async def aclose() -> None:
        calls.append("closed")

    # No Redis is reached: the coordinator connects lazily, and aclose is recorded.
    built = AuthKitMiddleware(starlette_app(), redis_url="redis://127.0.0.1:9/0", **options(server))
    monkeypatch.setattr(built.driver.coordinator, "aclose", aclose)
    asyncio.run(built.aclose())
    assert calls == ["closed"]

    given = RedisCoordinator("redis://127.0.0.1:9/0")
    monkeypatch.setattr(given, "aclose", aclose)
    mw = AuthKitMiddleware(starlette_app(), coordinator=given, **options(server))
    asyncio.run(mw.aclose())
    assert calls == ["closed"]


def test_wsgi_close_releases_the_client_and_keeps_serving(server: EmulatorServer) -> None:
    app = Flask("shutdown")

    @app.route("/private")
    def private() -> str:
        from flask import request

        return str(request.environ["authkit"].user.email)

    mw = AuthKitWSGIMiddleware(app.wsgi_app, **options(server))
    app.wsgi_app = mw  # type: ignore[method-assign]
    client = app.test_client()
    for _ in range(2):
        sign_in(client, mw, server.emulator, expired=True)
        response = client.get("/private", base_url="http://localhost:3000")
        assert response.status_code == 200, response.text
        used = mw.driver.client
        mw.close()
        assert _is_closed(used)
        assert mw.driver.client is not used
