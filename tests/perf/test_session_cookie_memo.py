"""The engine finds the session cookie once per request, never a stale or foreign one."""

from __future__ import annotations

from authkit_middleware import AuthKitWSGIMiddleware
from authkit_middleware.core.engine import AuthKit
from authkit_middleware.core.http import RequestInfo

PASSWORD = "perf-tests-only-iron-password-0123456789abcdef"


def _kit(cookie_name: str = "wos-session") -> AuthKit:
    return AuthKitWSGIMiddleware(
        lambda environ, start_response: [],
        api_key="sk_test_x",
        client_id="client_x",
        base_url="http://127.0.0.1:9",
        redirect_uri="http://localhost:3000/callback",
        cookie_password=PASSWORD,
        cookie_name=cookie_name,
    ).kit


def test_memo_follows_the_header_and_the_cookie_name() -> None:
    kit = _kit()
    other = _kit("other-session")
    header = "a=1; wos-session=first; other-session=o"
    request = RequestInfo("GET", "/", cookie=header)
    assert kit._session_cookie(request, header) == "first"
    # Another kit (another cookie name) on the same request: its own value.
    assert other._session_cookie(request, header) == "o"
    assert kit._session_cookie(request, header) == "first"
    # A replaced header is read afresh.
    for header, value in (("wos-session=second", "second"), ("theme=dark", None)):
        request.cookie = header
        assert kit._session_cookie(request, header) == value


def test_memo_is_not_part_of_equality_or_repr() -> None:
    header = "wos-session=x"
    a = RequestInfo("GET", "/", cookie=header)
    b = RequestInfo("GET", "/", cookie=header)
    assert _kit()._session_cookie(a, header) == "x"
    assert a == b
    assert "memo" not in repr(a)
