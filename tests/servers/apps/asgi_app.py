"""A minimal Starlette app behind ``AuthKitMiddleware`` (the harness's ASGI app)."""

from __future__ import annotations

import html

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

from authkit_middleware import AuthKitMiddleware

PROTECTED = ("/dashboard", "/dashboard/*", "/api/*")
PERMISSIONS = {"/widgets/new": ("widgets:write",)}


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><html><head><title>{html.escape(title)}</title></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )


async def home(request: Request) -> HTMLResponse:
    user = request.user
    who = html.escape(user.email) if user.is_authenticated else "nobody"
    return _page("Home", f'<p id="who">Signed in as {who}</p><a href="/dashboard">Dashboard</a>')


async def dashboard(request: Request) -> HTMLResponse:
    auth = request.scope["authkit"]
    query = html.escape(request.url.query)
    body = (
        f'<p id="who">{html.escape(auth.user.email)}</p>'
        f'<p id="name">{html.escape(auth.user.display_name)}</p>'
        f'<p id="query">{query}</p>'
        '<form method="post" action="logout"><button id="sign-out">Sign out</button></form>'
    )
    return _page("Dashboard", body)


async def api_me(request: Request) -> JSONResponse:
    auth = request.scope["authkit"]
    return JSONResponse({"email": auth.user.email, "permissions": list(auth.permissions)})


async def new_widget(request: Request) -> HTMLResponse:
    return _page("New widget", f"<p>{html.escape(request.user.email)} may write widgets</p>")


inner = Starlette(
    routes=[
        Route("/", home),
        Route("/dashboard", dashboard),
        Route("/api/me", api_me),
        Route("/widgets/new", new_widget),
    ]
)
app = AuthKitMiddleware(inner, protected_paths=PROTECTED, permission_rules=PERMISSIONS)
