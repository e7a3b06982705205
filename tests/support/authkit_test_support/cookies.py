"""The cookie jar of a test browser (a plain dict: httpx's jar and ``localhost`` do not mix)."""

from __future__ import annotations

from http.cookies import SimpleCookie


def store_set_cookie(jar: dict[str, str], header: str) -> None:
    """Apply one ``Set-Cookie`` header to ``jar`` (name -> value) as a browser would:
    a cookie with ``Max-Age=0`` or an empty value is removed, any other is stored."""
    cookie: SimpleCookie = SimpleCookie()
    cookie.load(header)
    for name, morsel in cookie.items():
        if morsel["max-age"] == "0" or not morsel.value:
            jar.pop(name, None)
        else:
            jar[name] = morsel.value
