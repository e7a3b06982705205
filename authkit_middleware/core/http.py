"""Neutral request and response values that the adapters translate.

An adapter reads the few request facts the core needs in one pass over the headers
(``RequestInfo``) and turns a ``Response`` back into ASGI messages or a WSGI
``start_response`` call. Nothing here knows about a framework.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

#: Headers on every response that sets or depends on the session (checklist B9, H1).
NO_STORE = "private, no-cache, no-store, must-revalidate, max-age=0"

#: Response header names that are neither Cache-Control nor Vary, as frameworks
#: send them. The adapters' signed-in wrappers (Werkzeug and Django title-case,
#: ASGI lowercase) pass these over with one dict lookup, before any case folding:
#: a shortcut only, every other name still gets the full check. Measured with a
#: Flask request around it, the lookup saves about 0.15 µs per signed-in response.
COMMON_HEADER_NAMES: tuple[str, ...] = (
    "Content-Type",
    "Content-Length",
    "Content-Encoding",
    "Content-Disposition",
    "Content-Language",
    "Content-Security-Policy",
    "Cross-Origin-Opener-Policy",
    "Date",
    "ETag",
    "Last-Modified",
    "Location",
    "Referrer-Policy",
    "Server",
    "Set-Cookie",
    "Strict-Transport-Security",
    "X-Content-Type-Options",
    "X-Frame-Options",
)


@dataclass(slots=True)
class RequestInfo:
    """The request facts the core decides on. ``path`` excludes the mount prefix."""

    method: str
    path: str
    query_string: str = ""
    root_path: str = ""
    cookie: str | None = None
    accept: str | None = None
    authorization: str | None = None
    origin: str | None = None
    content_type: str | None = None
    sec_fetch_site: str | None = None
    sec_fetch_dest: str | None = None
    sec_fetch_mode: str | None = None
    purpose: str | None = None
    user_agent: str | None = None
    client_ip: str | None = None
    #: The request body, read by the adapters only for the one route that needs it
    #: (``POST {switch_organization_path}``), at most a few KiB; None otherwise.
    body: bytes | None = None
    #: The engine's memo of the session cookie's value: ``(cookie header, cookie
    #: name, value)``, so ``fast`` and ``authenticate`` find it once per request (the
    #: same string then hashes once for every cache lookup). Valid only while
    #: ``cookie`` is that very header object; not part of the constructor or equality.
    session_cookie_memo: tuple[str, str, str | None] | None = field(
        default=None, init=False, repr=False, compare=False
    )
    #: ``(value, opened)``: the session cookie value the adapters' fast lane tried
    #: to open and could not finish (a refresh or a JWKS fetch is due, it would not
    #: open...): the full path goes on from the engine's ``opened`` instead of
    #: unsealing again. Not part of the constructor.
    opened_cookie: tuple[str | None, object] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    @property
    def wants_html(self) -> bool:
        """A browser navigation gets pages and redirects; everything else gets JSON."""
        accept = self.accept
        return accept is not None and "text/html" in accept

    @property
    def full_path(self) -> str:
        """Path and query as the browser asked for it (for ``returnTo``)."""
        return f"{self.path}?{self.query_string}" if self.query_string else self.path

    @property
    def is_prefetch(self) -> bool:
        return (self.purpose or "").lower() == "prefetch"


@dataclass(slots=True)
class Response:
    """A complete response produced by the core (auth routes, refusals, errors)."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    #: Set on the standard error answers (``core.hooks.ErrorEvent``) for ``on_error``.
    error_event: Any = field(default=None, compare=False, repr=False)

    def add_cookies(self, set_cookies: Iterable[str]) -> Response:
        self.headers.extend(("set-cookie", c) for c in set_cookies)
        return self


def no_store_headers() -> list[tuple[str, str]]:
    return [("cache-control", NO_STORE), ("pragma", "no-cache"), ("vary", "Cookie")]


def redirect(
    location: str, *, status: int = 302, extra: Iterable[tuple[str, str]] = ()
) -> Response:
    """A redirect that is never cached and leaks no referrer (checklist B9)."""
    headers = [
        ("location", location),
        *no_store_headers(),
        ("referrer-policy", "no-referrer"),
        ("content-length", "0"),
        *extra,
    ]
    return Response(status, headers, b"")


def json_response(
    data: Any, *, status: int = 200, extra: Iterable[tuple[str, str]] = ()
) -> Response:
    body = json.dumps(data, separators=(",", ":")).encode()
    headers = [
        ("content-type", "application/json"),
        ("content-length", str(len(body))),
        *no_store_headers(),
        *extra,
    ]
    return Response(status, headers, body)


def html_response(
    body_html: str, *, status: int = 200, extra: Iterable[tuple[str, str]] = ()
) -> Response:
    body = body_html.encode()
    headers = [
        ("content-type", "text/html; charset=utf-8"),
        ("content-length", str(len(body))),
        *no_store_headers(),
        ("x-content-type-options", "nosniff"),
        ("content-security-policy", "default-src 'none'; style-src 'unsafe-inline'"),
        *extra,
    ]
    return Response(status, headers, body)


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
:root {{ color-scheme: light dark; }}
body {{ margin:0; min-height:100vh; display:grid; place-items:center;
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  background:#f4f5f7; color:#1f2328; }}
main {{ max-width: 28rem; margin: 1.5rem; padding: 2rem 2.25rem; background:#fff;
  border-radius: 14px; box-shadow: 0 1px 3px rgba(0,0,0,.08), 0 8px 24px rgba(0,0,0,.06); }}
h1 {{ font-size: 1.35rem; margin: 0 0 .5rem; }}
p {{ margin: .5rem 0 1.25rem; color:#4b5563; }}
code {{ font-size: .85rem; background:#f1f3f5; padding:.1rem .35rem; border-radius:4px; }}
a.button {{ display:inline-block; padding:.6rem 1.1rem; border-radius:8px; background:#4f46e5;
  color:#fff; text-decoration:none; font-weight:600; }}
a.button:hover {{ background:#4338ca; }}
small {{ display:block; margin-top:1.5rem; color:#9ca3af; }}
@media (prefers-color-scheme: dark) {{
  body {{ background:#0d1117; color:#e6edf3; }} main {{ background:#161b22; }}
  p {{ color:#9ba5b0; }} code {{ background:#21262d; }} }}
</style></head>
<body><main>
<h1>{title}</h1>
<p>{message}</p>
{action}
<small>Error code: <code>{code}</code></small>
</main></body></html>
"""


def error_page(
    *, title: str, message: str, code: str, action_url: str | None, action_label: str
) -> str:
    """A readable, neutrally branded error page; every value is HTML-escaped (B4)."""
    action = (
        f'<a class="button" href="{html.escape(action_url, quote=True)}">'
        f"{html.escape(action_label)}</a>"
        if action_url
        else ""
    )
    return _PAGE.format(
        title=html.escape(title),
        message=html.escape(message),
        code=html.escape(code),
        action=action,
    )


def session_cache_headers(
    cache_control: str | None, vary: str | None, *, cookies_set: bool, vary_on: str = "Cookie"
) -> tuple[str, str]:
    """Cache-Control and Vary for an app response that sets or depends on the session.

    A response that sets a session cookie is forced to ``no-store`` whatever the app
    said (checklist H1, row 37: a public cache must never store a Set-Cookie). One that
    merely depends on the session keeps the app's own ``private``/``no-store`` policy
    and loses only a ``public`` or absent one. ``Vary: Cookie`` is merged, never
    replacing what the app varies on (row 38). ``vary_on``: the request header the
    answer depended on, ``Cookie`` or, for a bearer token, ``Authorization``.
    """
    if cookies_set or not cache_control:
        new_cc = NO_STORE
    else:
        lowered = cache_control.lower()
        new_cc = (
            cache_control
            if ("private" in lowered or "no-store" in lowered) and "public" not in lowered
            else NO_STORE
        )
    if not vary:
        new_vary = vary_on
    elif vary.strip() == "*" or vary_on.lower() in (v.strip().lower() for v in vary.split(",")):
        new_vary = vary
    else:
        new_vary = f"{vary}, {vary_on}"
    return new_cc, new_vary
