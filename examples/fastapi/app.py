"""FastAPI + AuthKit: ``AuthKitMiddleware(api)`` and ``Depends(require_auth)``.

Run it (no configuration: the embedded AuthKit emulator starts when WORKOS_API_KEY
is unset)::

    python examples/fastapi/app.py          # http://localhost:3000  (PORT to change)

Routes: ``/`` (public), ``/dashboard`` (signed in), ``/api/me`` (JSON, 401 when
signed out), ``/widgets/new`` (needs ``widgets:write``). The middleware adds
``/login``, ``/signup``, ``/callback``, ``/logout`` and ``/auth/me``.

``app`` (``examples/fastapi/app.py:app``, e.g. ``uvicorn app:app`` from this folder)
is built from the ``WORKOS_*`` environment on first access; tests call
:func:`create_app` with their own options.
"""

from __future__ import annotations

import os
from html import escape
from typing import Annotated, Any

from fastapi import Depends, FastAPI
from fastapi.responses import HTMLResponse

from authkit_middleware import Auth, AuthKitMiddleware
from authkit_middleware.integrations.fastapi import (
    OptionalAuth,
    RequiredAuth,
    require_auth,
    require_permission,
)

#: Dependencies as annotations: signed in (401 JSON / sign-in redirect otherwise) ...
SignedIn = Annotated[Auth, Depends(require_auth)]
#: ... and signed in holding the ``widgets:write`` permission (403 otherwise).
WidgetWriter = Annotated[Auth, Depends(require_permission("widgets:write"))]

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


def page(title: str, body: str, auth: Auth) -> HTMLResponse:
    account = (
        '<form method="post" action="/logout"><button type="submit">Sign out</button></form>'
        if auth.is_authenticated
        else '<a class="button" href="/login">Sign in</a>'
    )
    return HTMLResponse(
        f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)} · AuthKit + FastAPI</title><style>{STYLE}</style></head>
<body><header><nav><span class="brand">AuthKit + FastAPI</span>
<a href="/">Home</a><a href="/dashboard">Dashboard</a><a href="/api/me">/api/me</a>
<a href="/widgets/new">Widgets</a>{account}</nav></header>
<main><section>{body}</section></main></body></html>"""
    )


def profile(auth: Auth) -> str:
    user = auth.user
    assert user is not None
    tags = "".join(f'<span class="tag">{escape(p)}</span>' for p in auth.permissions) or "none"
    return f"""<dl>
<dt>Name</dt><dd>{escape(user.display_name)}</dd>
<dt>Email</dt><dd>{escape(user.email or "")}</dd>
<dt>Organization</dt><dd>{escape(auth.organization_id or "none")}</dd>
<dt>Role</dt><dd>{escape(auth.role or "none")}</dd>
<dt>Permissions</dt><dd>{tags}</dd></dl>"""


def create_app(**options: Any) -> AuthKitMiddleware:
    """The app; ``options`` go to the middleware (any ``AuthKitConfig`` field, ``config``)."""
    api = FastAPI(title="AuthKit + FastAPI", docs_url=None, redoc_url=None)

    @api.get("/", response_class=HTMLResponse)
    def home(auth: OptionalAuth) -> HTMLResponse:
        if auth.user is not None:
            body = (
                f"<h1>Welcome</h1><p>Signed in as <strong>{escape(auth.user.display_name)}"
                '</strong>.</p><p><a class="button" href="/dashboard">Open the dashboard</a></p>'
            )
        else:
            body = (
                "<h1>Welcome</h1><p>This page is public. The dashboard needs you to sign in.</p>"
                '<p><a class="button" href="/login">Sign in</a> '
                '<a class="button secondary" href="/signup">Create an account</a></p>'
            )
        return page("Home", body, auth)

    @api.get("/dashboard", response_class=HTMLResponse)
    def dashboard(auth: RequiredAuth) -> HTMLResponse:
        return page("Dashboard", "<h1>Dashboard</h1>" + profile(auth), auth)

    @api.get("/api/me")
    def api_me(auth: SignedIn) -> dict[str, Any]:
        assert auth.user is not None
        return {
            "id": auth.user.id,
            "email": auth.user.email,
            "name": auth.user.display_name,
            "organization_id": auth.organization_id,
            "role": auth.role,
            "permissions": list(auth.permissions),
        }

    @api.get("/widgets/new", response_class=HTMLResponse)
    def new_widget(auth: WidgetWriter) -> HTMLResponse:
        body = (
            "<h1>New widget</h1><p>You hold <code>widgets:write</code>, "
            "so you may create widgets here.</p>"
        )
        return page("New widget", body, auth)

    return AuthKitMiddleware(api, **options)  # the one line


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
