"""The session cache's memo by whole Cookie header (the steady-state fast lane).

It may only ever answer what a lookup by the session cookie's value would: the same
entry, never past its expiry, never after a sign-out removed the session, bounded.
"""

from __future__ import annotations

import time
from typing import Any

from authkit_test_support.clock import Clock
from authkit_test_support.middleware import (
    ORIGIN,
    call_wsgi,
    emulator_settings,
    get_environ,
    in_or_out_app,
    seal_session,
)

from authkit_middleware import AuthKitWSGIMiddleware
from authkit_middleware.core.auth import ANONYMOUS, Auth, User
from authkit_middleware.core.caches import SessionCache
from authkit_middleware.emulator.server import EmulatorServer

PASSWORD = "perf-tests-cookie-password-0123456789abcdef"
ALICE = Auth(user=User(id="user_alice"))


def _middleware(server: EmulatorServer, **options: Any) -> AuthKitWSGIMiddleware:
    settings = emulator_settings(
        server, cookie_password=PASSWORD, protected_paths=("/dash",), **options
    )
    return AuthKitWSGIMiddleware(in_or_out_app, **settings)


def _cookie(mw: AuthKitWSGIMiddleware, server: EmulatorServer) -> str:
    return seal_session(mw.kit, server.emulator.issue_session("alice@example.com"))


def _get(mw: AuthKitWSGIMiddleware, header: str | None, path: str = "/dash") -> str:
    """The status of a GET of ``path`` with ``header`` as the whole Cookie header."""
    return call_wsgi(mw, get_environ(path, cookie=header, HTTP_ORIGIN=ORIGIN)).status


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
        "HTTP_ORIGIN": ORIGIN,
        "HTTP_SEC_FETCH_SITE": "same-origin",
        "HTTP_COOKIE": header,
        "CONTENT_LENGTH": "0",
    }
    status = call_wsgi(mw, environ).status
    assert status.startswith("200"), status
    assert mw.kit.sessions.by_header(header, time.time()) is None
    # The same header again: verified afresh, and the ended session is refused.
    assert _get(mw, header).startswith("401")


def test_memo_never_outlives_the_session(server: EmulatorServer) -> None:
    clock = Clock()
    mw = _middleware(server)
    mw.kit.clock = clock
    header = f"wos-session={_cookie(mw, server)}"
    assert _get(mw, header).startswith("200")
    assert _get(mw, header).startswith("200")
    assert mw.kit.sessions.header_count() == 1
    clock.offset = 400.0  # past the 300 s access token: no memo answer, a refresh instead
    assert mw.kit.fast_auth("/dash", "", header) is None


def test_a_padded_header_is_answered_but_not_remembered(server: EmulatorServer) -> None:
    """One session padded with junk cookies must not fill the memo with huge keys."""
    from authkit_middleware.core.engine import HEADER_MEMO_SLACK

    mw = _middleware(server)
    value = _cookie(mw, server)
    assert _get(mw, f"wos-session={value}").startswith("200")  # verified, cached
    for i in range(3):
        padded = f"junk{i}={'x' * (HEADER_MEMO_SLACK + 10)}; wos-session={value}"
        assert _get(mw, padded).startswith("200")  # answered by value
    assert mw.kit.sessions.header_count() == 0
    near = f"junk={'x' * (HEADER_MEMO_SLACK - 40)}; wos-session={value}"
    assert _get(mw, near).startswith("200")
    assert mw.kit.sessions.header_count() == 1
