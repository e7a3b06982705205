"""Starlette: the shared SQLite upsert, plus an ``on_error`` hook for API clients.

python examples/hooks/starlette_app.py  # http://localhost:3000 (emulator if no WORKOS_*)
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route
from userstore import options

from authkit_middleware import AuthKitMiddleware
from authkit_middleware.core.hooks import ErrorEvent, HookResponse


def on_error(event: ErrorEvent) -> HookResponse | None:
    """Browsers get ``error_template``; API clients get the app's own JSON shape."""
    if event.request.wants_html:
        return None
    body = f'{{"ok": false, "reason": "{event.code}"}}'
    return HookResponse(event.status, body.encode(), {"content-type": "application/json"})


async def page(request: Request) -> HTMLResponse:
    user = request.scope["authkit"].user
    who = user.email if user else "nobody"
    return HTMLResponse(f"<h1>{request.url.path}</h1><p>Signed in as {who}</p>")


def create_app(**overrides: Any) -> AuthKitMiddleware:
    app = Starlette(routes=[Route(p, page) for p in ("/", "/onboarding", "/dashboard")])
    return AuthKitMiddleware(app, **options(on_error=on_error, **overrides))


if __name__ == "__main__":
    import uvicorn

    from authkit_middleware.dev import ensure_workos_environment

    ensure_workos_environment(port=3000)
    uvicorn.run(create_app(), port=3000)
