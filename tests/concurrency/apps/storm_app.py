"""The app the storm tests run under real servers (uvicorn, gunicorn), one per worker.

Configured by the environment only: ``WORKOS_*`` from the emulator (``server.env()``),
``WORKOS_COOKIE_PASSWORD``, ``WORKOS_REDIRECT_URI`` and, for the coordinated runs,
``WORKOS_REDIS_URL``. ``STORM_READY_DIR``: each worker drops a file named after its
pid there once the app is built, so the test knows every worker is up.

``/api/*`` is protected (JSON 401 when signed out); ``/pid`` is open.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from authkit_middleware import AuthKitMiddleware, AuthKitWSGIMiddleware

OPTIONS: dict[str, Any] = {
    "protected_paths": ("/api/*",),
    # An expired access token is expired: no leeway, so the storm refreshes for real.
    "jwt_leeway": 0,
}


def _pid(_request: Request) -> PlainTextResponse:
    return PlainTextResponse(str(os.getpid()))


def _me(request: Request) -> JSONResponse:
    auth = request.scope["authkit"]
    return JSONResponse({"pid": os.getpid(), "user": auth.user.email if auth.user else None})


asgi_app = AuthKitMiddleware(
    Starlette(routes=[Route("/pid", _pid), Route("/api/me", _me)]), **OPTIONS
)


def _wsgi_inner(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    if environ.get("PATH_INFO") == "/pid":
        body = str(os.getpid()).encode()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [body]
    auth = environ["authkit"]
    data = {"pid": os.getpid(), "user": auth.user.email if auth.user else None}
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(data).encode()]


wsgi_app = AuthKitWSGIMiddleware(_wsgi_inner, **OPTIONS)

_ready = os.environ.get("STORM_READY_DIR")
if _ready:
    Path(_ready, str(os.getpid())).write_text("ready")
