"""A minimal plain WSGI app behind ``AuthKitWSGIMiddleware`` (the harness's WSGI app)."""

from __future__ import annotations

import html
import json
from collections.abc import Iterable
from typing import Any

from authkit_middleware import AuthKitWSGIMiddleware

PROTECTED = ("/dashboard", "/dashboard/*", "/api/*")
PERMISSIONS = {"/widgets/new": ("widgets:write",)}


def _page(title: str, body: str) -> bytes:
    return (
        f"<!doctype html><html><head><title>{html.escape(title)}</title></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    ).encode()


def inner(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    auth = environ.get("authkit")
    user = auth.user if auth is not None else None
    path = environ.get("PATH_INFO") or "/"
    ctype = "text/html; charset=utf-8"
    status = "200 OK"
    if path == "/":
        who = html.escape(user.email) if user else "nobody"
        body = _page("Home", f'<p id="who">Signed in as {who}</p>')
    elif path == "/dashboard":
        query = html.escape(environ.get("QUERY_STRING", ""))
        body = _page(
            "Dashboard",
            f'<p id="who">{html.escape(user.email)}</p>'
            f'<p id="name">{html.escape(user.display_name)}</p>'
            f'<p id="query">{query}</p>'
            '<form method="post" action="logout"><button id="sign-out">Sign out</button></form>',
        )
    elif path == "/api/me":
        ctype = "application/json"
        body = json.dumps({"email": user.email, "permissions": list(auth.permissions)}).encode()
    elif path == "/widgets/new":
        body = _page("New widget", f"<p>{html.escape(user.email)} may write widgets</p>")
    else:
        status, body = "404 Not Found", _page("Not found", "")
    start_response(status, [("Content-Type", ctype), ("Content-Length", str(len(body)))])
    return [body]


app = AuthKitWSGIMiddleware(inner, protected_paths=PROTECTED, permission_rules=PERMISSIONS)
