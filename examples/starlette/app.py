"""Starlette + AuthKit: ``AuthKitMiddleware(app)`` and Starlette's own ``requires``.

Run it (no configuration: the embedded AuthKit emulator starts when WORKOS_API_KEY
is unset)::

    python examples/starlette/app.py        # http://localhost:3000  (PORT to change)

The middleware sets ``request.user`` and ``request.auth`` in Starlette's conventions,
so ``@requires("authenticated")`` and ``@requires("widgets:write")`` (a WorkOS
permission is a scope) work unchanged. ``protected_paths`` makes the middleware send
browsers to sign in and API clients a 401 JSON before a view runs; ``requires`` stays
on the views as a second line of defence and does the permission check (403).

``app`` (``examples/starlette/app.py:app``) is built from the ``WORKOS_*`` environment
on first access; tests call :func:`create_app` with their own options.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from authkit_middleware import AuthKitMiddleware
from authkit_middleware.asgi import request_info
from authkit_middleware.core.bearer import challenge
from authkit_middleware.core.guards import forbidden_response
from authkit_middleware.integrations.starlette import get_auth, requires

if (EXAMPLES := str(Path(__file__).resolve().parents[1])) not in sys.path:
    sys.path.append(EXAMPLES)  # for examples/_shared: the look all the examples share
from _shared.pages import Pages, lazy_app, profile

pages = Pages("Starlette")


async def home(request: Request) -> Response:
    return HTMLResponse(pages.home(get_auth(request)))


@requires("authenticated")
async def dashboard(request: Request) -> Response:
    return HTMLResponse(pages.dashboard(get_auth(request)))


@requires("authenticated", status_code=401)
async def api_me(request: Request) -> Response:
    return JSONResponse(profile(get_auth(request)))


@requires(["authenticated", "widgets:write"])
async def new_widget(request: Request) -> Response:
    return HTMLResponse(pages.new_widget(get_auth(request)))


async def forbidden(request: Request, exc: Exception) -> Response:
    """``requires`` raises 403: a page for browsers, and for API clients the JSON
    ``{"error": "forbidden", ...}`` the middleware and the other integrations send."""
    auth, info = get_auth(request), request_info(request.scope)
    if info.wants_html:
        body = (
            "<h1>Access denied</h1><p>Your account does not have the permission this page "
            'needs.</p><p><a class="button secondary" href="/">Back home</a></p>'
        )
        return HTMLResponse(pages.page("Access denied", body, auth), status_code=403)
    answer = forbidden_response(info)
    headers = dict(answer.headers)
    if auth.source == "bearer":  # RFC 6750: name what the token lacks, as the guards do
        headers["www-authenticate"] = challenge("insufficient_scope")
    return Response(answer.body, answer.status, headers=headers)


def create_app(**options: Any) -> AuthKitMiddleware:
    """The app; ``options`` go to the middleware (any ``AuthKitConfig`` field, ``config``)."""
    app = Starlette(
        routes=[
            Route("/", home),
            Route("/dashboard", dashboard),
            Route("/api/me", api_me),
            Route("/widgets/new", new_widget),
        ],
        exception_handlers={403: forbidden},
    )
    options.setdefault("protected_paths", ("/dashboard", "/api/*", "/widgets/*"))
    return AuthKitMiddleware(app, **options)  # the one line


#: ``app``: built from the ``WORKOS_*`` environment on first access (importing starts nothing).
__getattr__ = lazy_app(globals(), create_app)


if __name__ == "__main__":
    import uvicorn

    from authkit_middleware.dev import ensure_workos_environment

    port = int(os.environ.get("PORT", "3000"))
    ensure_workos_environment(port=port)
    uvicorn.run(create_app(), host="localhost", port=port)
