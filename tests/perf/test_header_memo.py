"""The session cache's memo by whole Cookie header (the steady-state fast lane).

It may only ever answer what a lookup by the session cookie's value would: the same
entry, never past its expiry, never after a sign-out removed the session, bounded.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from authkit_middleware import AuthKitWSGIMiddleware
from authkit_middleware.core.auth import ANONYMOUS, Auth, User
from authkit_middleware.core.caches import SessionCache
from authkit_middleware.core.session import TokenResponse, encode_session
from authkit_middleware.emulator import Emulator
from authkit_middleware.emulator.server import EmulatorServer

PASSWORD = "perf-tests-cookie-password-0123456789abcdef"
ALICE = Auth(user=User(id="user_alice"))


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with Emulator(access_token_ttl=300).serve() as srv:
        yield srv


def _middleware(server: EmulatorServer, **options: Any) -> AuthKitWSGIMiddleware:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"in" if environ["authkit"].is_authenticated else b"out"]

    return AuthKitWSGIMiddleware(
        app,
        api_key=server.api_key,
        client_id=server.client_id,
        base_url=server.base_url,
        redirect_uri="http://localhost:3000/callback",
        cookie_password=PASSWORD,
        protected_paths=("/dash",),
        **options,
    )


def _cookie(mw: AuthKitWSGIMiddleware, server: EmulatorServer) -> str:
    tokens = server.emulator.issue_session("alice@example.com")
    session = TokenResponse.from_dict(tokens).to_session()
    return str(mw.kit.sealer.seal(encode_session(session, camel=True), purpose="session"))


def _get(mw: AuthKitWSGIMiddleware, header: str | None, path: str = "/dash") -> str:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "HTTP_ACCEPT": "application/json",
        "HTTP_ORIGIN": "http://localhost:3000",
    }
    if header is not None:
        environ["HTTP_COOKIE"] = header
    seen: list[str] = []

    def start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
        seen.append(status)

    b"".join(mw(environ, start_response))
    return seen[0]


# --------------------------------------------------------------------------- unit


def test_header_memo_answers_only_a_current_entry() -> None:
    cache = SessionCache(8)
    cache.put("value", ALICE, 100.0)
    entry = cache.entry("value", 0.0)
    assert entry is not None
    cache.remember_header(b"a=1; wos-session=value", "value", entry)
    assert cache.by_header(b"a=1; wos-session=value", 99.9) is ALICE
    # Same expiry as the entry it came from.
    assert cache.by_header(b"a=1; wos-session=value", 100.0) is None
    # str and bytes headers never answer for each other.
    assert cache.by_header("a=1; wos-session=value", 0.0) is None


def test_header_memo_is_emptied_by_a_removal_or_replacement() -> None:
    cache = SessionCache(8)
    cache.put("value", ALICE, 100.0)
    entry = cache.entry("value", 0.0)
    assert entry is not None
    cache.remember_header("h", "value", entry)
    cache.pop("value")  # a sign-out
    assert cache.by_header("h", 0.0) is None
    # A stale entry (removed after it was looked up) is never remembered.
    cache.remember_header("h", "value", entry)
    assert cache.by_header("h", 0.0) is None
    cache.put("value", ALICE, 100.0)
    entry = cache.entry("value", 0.0)
    assert entry is not None
    cache.remember_header("h", "value", entry)
    cache.put("value", ANONYMOUS, 100.0)  # replaced: the memo must not keep the old one
    assert cache.by_header("h", 0.0) is None


def test_header_memo_is_bounded() -> None:
    cache = SessionCache(16)
    cache.put("value", ALICE, 1e12)
    entry = cache.entry("value", 0.0)
    assert entry is not None
    for i in range(10_000):
        cache.remember_header(f"n={i}; wos-session=value", "value", entry)
        assert cache.header_count() <= 16
    assert cache.by_header("n=9999; wos-session=value", 0.0) is ALICE
    assert cache.by_header("n=0; wos-session=value", 0.0) is None


def test_size_zero_caches_nothing() -> None:
    cache = SessionCache(0)
    cache.put("value", ALICE, 1e12)
    assert len(cache) == 0 and cache.get("value", 0.0) is None


# --------------------------------------------------------------------------- middleware


def test_repeated_header_is_answered_from_the_memo(server: EmulatorServer) -> None:
    mw = _middleware(server)
    header = f"theme=dark; wos-session={_cookie(mw, server)}"
    assert _get(mw, header).startswith("200")  # verified, cached by value
    assert _get(mw, header).startswith("200")  # by value, header remembered
    assert mw.kit.sessions.header_count() == 1
    now = time.time()
    assert mw.kit.sessions.by_header(header, now) is mw.kit.fast_auth("/dash", "", header, now)
    # Another header around the same cookie is looked up by value, then remembered.
    assert _get(mw, "lang=fr; " + header).startswith("200")
    assert mw.kit.sessions.header_count() == 2


def test_sign_out_ends_the_memo_answer(server: EmulatorServer) -> None:
    mw = _middleware(server)
    header = f"theme=dark; wos-session={_cookie(mw, server)}"
    assert _get(mw, header).startswith("200")
    assert _get(mw, header).startswith("200")
    assert mw.kit.sessions.by_header(header, time.time()) is not None
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/logout",
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "HTTP_ACCEPT": "application/json",
        "HTTP_ORIGIN": "http://localhost:3000",
        "HTTP_SEC_FETCH_SITE": "same-origin",
        "HTTP_COOKIE": header,
        "CONTENT_LENGTH": "0",
    }
    seen: list[str] = []

    def start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
        seen.append(status)

    b"".join(mw(environ, start_response))
    assert seen[0].startswith("200"), seen
    assert mw.kit.sessions.by_header(header, time.time()) is None
    # The same header again: verified afresh, and the ended session is refused.
    assert _get(mw, header).startswith("401")


def test_memo_never_outlives_the_session(server: EmulatorServer) -> None:
    offset = [0.0]
    mw = _middleware(server)
    mw.kit.clock = lambda: time.time() + offset[0]
    header = f"wos-session={_cookie(mw, server)}"
    assert _get(mw, header).startswith("200")
    assert _get(mw, header).startswith("200")
    assert mw.kit.sessions.header_count() == 1
    offset[0] = 400.0  # past the 300 s access token: no memo answer, a refresh instead
    assert mw.kit.fast_auth("/dash", "", header) is None
