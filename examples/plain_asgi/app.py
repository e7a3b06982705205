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
from collections.abc import Awaitable, Callable, MutableMapping
from html import escape
from typing import Any

from authkit_middleware import Auth, AuthKitMiddleware

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

STYLE = """
body { margin:0; font:16px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
  background:#f5f6f8; color:#1f2328; }
header { background:#fff; border-bottom:1px solid #e5e7eb; }
nav, main { max-width:46rem; margin:0 auto; padding:.9rem 1.25rem; }
nav { display:flex; gap:1rem; align-items:center; }
nav .brand { font-weight:700; margin-right:auto; }
nav a { color:#4338ca; text-decoration:none; }
main section { background:#fff; border-radius:12px; padding:1.5rem 1.75rem; margin-top:1.5rem;
  box-shadow:0 1px 3px rgba(0,0,0,.06); }
h1 { font-size:1.5rem; margin:0 0 .75rem; }
dl { display:grid; grid-template-columns:max-content 1fr; gap:.4rem 1.25rem; margin:0; }
dt { color:#6b7280; } dd { margin:0; }
code, .tag { background:#eef0f4; padding:.1rem .4rem; border-radius:6px; font-size:.88rem; }
.tag { display:inline-block; margin:0 .3rem .3rem 0; }
.button, button { display:inline-block; padding:.55rem 1rem; border-radius:8px; border:0;
  background:#4f46e5; color:#fff; font:inherit; font-weight:600; text-decoration:none;
  cursor:pointer; }
.button.secondary { background:#eef0f4; color:#1f2328; }
form { display:inline; margin:0; }
"""


def page(title: str, body: str, auth: Auth) -> str:
    account = (
        '<form method="post" action="/logout"><button type="submit">Sign out</button></form>'
        if auth.is_authenticated
        else '<a class="button" href="/login">Sign in</a>'
    )
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)} · AuthKit + plain ASGI</title><style>{STYLE}</style></head>
<body><header><nav><span class="brand">AuthKit + plain ASGI</span>
<a href="/">Home</a><a href="/dashboard">Dashboard</a><a href="/api/me">/api/me</a>
<a href="/widgets/new">Widgets</a>{account}</nav></header>
<main><section>{body}</section></main></body></html>"""


def home_body(auth: Auth) -> str:
    if auth.user is not None:
        return (
            f"<h1>Welcome</h1><p>Signed in as <strong>{escape(auth.user.display_name)}"
            '</strong>.</p><p><a class="button" href="/dashboard">Open the dashboard</a></p>'
        )
    return (
        "<h1>Welcome</h1><p>This page is public. The dashboard needs you to sign in.</p>"
        '<p><a class="button" href="/login">Sign in</a> '
        '<a class="button secondary" href="/signup">Create an account</a></p>'
    )


def dashboard_body(auth: Auth) -> str:
    user = auth.user
    assert user is not None  # the middleware only lets signed-in requests through
    tags = "".join(f'<span class="tag">{escape(p)}</span>' for p in auth.permissions) or "none"
    return f"""<h1>Dashboard</h1><dl>
<dt>Name</dt><dd>{escape(user.display_name)}</dd>
<dt>Email</dt><dd>{escape(user.email or "")}</dd>
<dt>Organization</dt><dd>{escape(auth.organization_id or "none")}</dd>
<dt>Role</dt><dd>{escape(auth.role or "none")}</dd>
<dt>Permissions</dt><dd>{tags}</dd></dl>"""


def me_json(auth: Auth) -> dict[str, Any]:
    assert auth.user is not None
    return {
        "id": auth.user.id,
        "email": auth.user.email,
        "name": auth.user.display_name,
        "organization_id": auth.organization_id,
        "role": auth.role,
        "permissions": list(auth.permissions),
    }


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
        await respond(send, 200, html, page("Home", home_body(auth), auth).encode())
    elif path == "/dashboard":
        await respond(send, 200, html, page("Dashboard", dashboard_body(auth), auth).encode())
    elif path == "/api/me":
        await respond(send, 200, "application/json", json.dumps(me_json(auth)).encode())
    elif path == "/widgets/new":
        body = (
            "<h1>New widget</h1><p>You hold <code>widgets:write</code>, "
            "so you may create widgets here.</p>"
        )
        await respond(send, 200, html, page("New widget", body, auth).encode())
    else:
        await respond(send, 404, "text/plain; charset=utf-8", b"Not found")


def create_app(**options: Any) -> AuthKitMiddleware:
    """The app; ``options`` go to the middleware (any ``AuthKitConfig`` field, ``config``)."""
    options.setdefault("protected_paths", ("/dashboard", "/api/*", "/widgets/*"))
    options.setdefault("permission_rules", {"/widgets/new": ("widgets:write",)})
    return AuthKitMiddleware(application, **options)  # the one line


_app: AuthKitMiddleware | None = None


def __getattr__(name: str) -> Any:
    """``app`` is built from the environment on first access (importing is side-effect free)."""
    global _app
    if name == "app":
        if _app is None:
            _app = create_app()
        return _app
    raise AttributeError(name)


if __name__ == "__main__":
    import uvicorn

    from authkit_middleware.dev import ensure_workos_environment

    port = int(os.environ.get("PORT", "3000"))
    ensure_workos_environment(port=port)
    uvicorn.run(create_app(), host="localhost", port=port)
