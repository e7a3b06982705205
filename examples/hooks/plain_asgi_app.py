"""A bare ASGI app: hooks need no framework.

python examples/hooks/plain_asgi_app.py  # http://localhost:3000 (emulator if no WORKOS_*)
"""

from __future__ import annotations

from typing import Any

from userstore import options

from authkit_middleware import AuthKitMiddleware


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    user = scope["authkit"].user
    body = f"<h1>{scope['path']}</h1><p>Signed in as {user.email if user else 'nobody'}</p>"
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/html; charset=utf-8")],
        }
    )
    await send({"type": "http.response.body", "body": body.encode()})


def create_app(**overrides: Any) -> AuthKitMiddleware:
    return AuthKitMiddleware(app, **options(**overrides))


if __name__ == "__main__":
    import uvicorn

    from authkit_middleware.dev import ensure_workos_environment

    ensure_workos_environment(port=3000)
    uvicorn.run(create_app(), port=3000)
