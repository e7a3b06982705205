"""A raw ASGI callable (no framework) behind ``AuthKitMiddleware``.

Run it (no configuration: the embedded AuthKit emulator starts when WORKOS_API_KEY
is unset)::

    python examples/plain_asgi/app.py       # http://localhost:3000  (PORT to change)

Protection is configuration, not code: ``protected_paths`` makes ``/dashboard``,
``/api/*`` and ``/widgets/*`` need a session (browsers are sent to sign in, API
clients get 401 JSON) and ``permission_rules`` makes ``/widgets/new`` need
``widgets:write`` (403). The app reads ``scope["authkit"]``.

``app`` (``examples/plain_asgi/app.py:app``) is built from the ``WORKOS_*``
environment on first access; tests call :func:`create_app` with their own options.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

from authkit_middleware import Auth, AuthKitMiddleware

if (EXAMPLES := str(Path(__file__).resolve().parents[1])) not in sys.path:
    sys.path.append(EXAMPLES)  # for examples/_shared: the look all the examples share
from _shared.pages import Pages, lazy_app, profile

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

pages = Pages("plain ASGI")


async def respond(send: Send, status: int, content_type: str, body: bytes) -> None:
    headers = [(b"content-type", content_type.encode()), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def application(scope: Scope, receive: Receive, send: Send) -> None:
    """The whole app: four routes, no framework."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    auth: Auth = scope["authkit"]
    path = scope["path"]
    html = "text/html; charset=utf-8"
    if path == "/":
        await respond(send, 200, html, pages.home(auth).encode())
    elif path == "/dashboard":
        await respond(send, 200, html, pages.dashboard(auth).encode())
    elif path == "/api/me":
        await respond(send, 200, "application/json", json.dumps(profile(auth)).encode())
    elif path == "/widgets/new":
        await respond(send, 200, html, pages.new_widget(auth).encode())
    else:
        await respond(send, 404, "text/plain; charset=utf-8", b"Not found")


def create_app(**options: Any) -> AuthKitMiddleware:
    """The app; ``options`` go to the middleware (any ``AuthKitConfig`` field, ``config``)."""
    options.setdefault("protected_paths", ("/dashboard", "/api/*", "/widgets/*"))
    options.setdefault("permission_rules", {"/widgets/new": ("widgets:write",)})
    return AuthKitMiddleware(application, **options)  # the one line


#: ``app``: built from the ``WORKOS_*`` environment on first access (importing starts nothing).
__getattr__ = lazy_app(globals(), create_app)


if __name__ == "__main__":
    import uvicorn

    from authkit_middleware.dev import ensure_workos_environment

    port = int(os.environ.get("PORT", "3000"))
    ensure_workos_environment(port=port)
    uvicorn.run(create_app(), host="localhost", port=port)
