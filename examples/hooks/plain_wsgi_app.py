"""A bare WSGI app: hooks need no framework.

python examples/hooks/plain_wsgi_app.py  # http://localhost:3000 (emulator if no WORKOS_*)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from userstore import options

from authkit_middleware import AuthKitWSGIMiddleware


def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    user = environ["authkit"].user
    body = f"<h1>{environ['PATH_INFO']}</h1><p>Signed in as {user.email if user else 'nobody'}</p>"
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
    return [body.encode()]


def create_app(**overrides: Any) -> AuthKitWSGIMiddleware:
    return AuthKitWSGIMiddleware(app, **options(**overrides))


if __name__ == "__main__":
    from wsgiref.simple_server import make_server

    from authkit_middleware.dev import ensure_workos_environment

    ensure_workos_environment(port=3000)
    make_server("localhost", 3000, create_app()).serve_forever()
