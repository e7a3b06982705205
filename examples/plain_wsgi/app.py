"""A raw WSGI callable (no framework) behind ``AuthKitWSGIMiddleware``, served with wsgiref.

Run it (no configuration: the embedded AuthKit emulator starts when WORKOS_API_KEY
is unset)::

    python examples/plain_wsgi/app.py       # http://localhost:3000  (PORT to change)

Protection is configuration, not code: ``protected_paths`` makes ``/dashboard``,
``/api/*`` and ``/widgets/*`` need a session (browsers are sent to sign in, API
clients get 401 JSON) and ``permission_rules`` makes ``/widgets/new`` need
``widgets:write`` (403). The app reads ``environ["authkit"]``.

``app`` (``examples/plain_wsgi/app.py:app``) is built from the ``WORKOS_*``
environment on first access; tests call :func:`create_app` with their own options.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from authkit_middleware import Auth, AuthKitWSGIMiddleware

if (EXAMPLES := str(Path(__file__).resolve().parents[1])) not in sys.path:
    sys.path.append(EXAMPLES)  # for examples/_shared: the look all the examples share
from _shared.pages import Pages, lazy_app, profile

StartResponse = Callable[..., Any]

pages = Pages("plain WSGI")


def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """The whole app: four routes, no framework."""
    auth: Auth = environ["authkit"]
    path = environ.get("PATH_INFO") or "/"
    status, content_type = "200 OK", "text/html; charset=utf-8"
    if path == "/":
        body = pages.home(auth).encode()
    elif path == "/dashboard":
        body = pages.dashboard(auth).encode()
    elif path == "/api/me":
        body, content_type = json.dumps(profile(auth)).encode(), "application/json"
    elif path == "/widgets/new":
        body = pages.new_widget(auth).encode()
    else:
        status, content_type, body = "404 Not Found", "text/plain; charset=utf-8", b"Not found"
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [body]


def create_app(**options: Any) -> AuthKitWSGIMiddleware:
    """The app; ``options`` go to the middleware (any ``AuthKitConfig`` field, ``config``)."""
    options.setdefault("protected_paths", ("/dashboard", "/api/*", "/widgets/*"))
    options.setdefault("permission_rules", {"/widgets/new": ("widgets:write",)})
    return AuthKitWSGIMiddleware(application, **options)  # the one line


#: ``app``: built from the ``WORKOS_*`` environment on first access (importing starts nothing).
__getattr__ = lazy_app(globals(), create_app)


if __name__ == "__main__":
    from wsgiref.simple_server import make_server

    from authkit_middleware.dev import ensure_workos_environment

    port = int(os.environ.get("PORT", "3000"))
    ensure_workos_environment(port=port)
    with make_server("localhost", port, create_app()) as server:
        print(f"Serving on http://localhost:{port}/")
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()
