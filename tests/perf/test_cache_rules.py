"""The session cache's correctness rules, which the fast path depends on (not timings).

- bounded: a million distinct cookies leave at most ``maxsize`` entries;
- never a session past its access token's expiry (clock control, no sleeping);
- only successful verifications are cached: a tampered or expired cookie is
  verified again on its next request, never answered from memory.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from authkit_test_support.clock import Clock
from authkit_test_support.middleware import (
    call_wsgi,
    emulator_settings,
    get_environ,
    in_or_out_app,
    seal_session,
)

from authkit_middleware import AuthKitWSGIMiddleware
from authkit_middleware.core.auth import ANONYMOUS, Auth, User
from authkit_middleware.core.caches import SessionCache
from authkit_middleware.core.http import RequestInfo
from authkit_middleware.core.tokens import unverified_claims
from authkit_middleware.emulator.server import EmulatorServer

PASSWORD = "perf-tests-cookie-password-0123456789abcdef"
EMAIL = "alice@example.com"


def _middleware(server: EmulatorServer, clock: Clock, **options: Any) -> AuthKitWSGIMiddleware:
    settings = emulator_settings(
        server, cookie_password=PASSWORD, protected_paths=("/dash",), **options
    )
    mw = AuthKitWSGIMiddleware(in_or_out_app, **settings)
    mw.kit.clock = clock
    return mw


def _cookie(mw: AuthKitWSGIMiddleware, server: EmulatorServer) -> str:
    return seal_session(mw.kit, server.emulator.issue_session(EMAIL))


def _get(mw: AuthKitWSGIMiddleware, value: str | None, path: str = "/dash") -> tuple[str, bytes]:
    """GET ``path`` with the session cookie ``value`` behind another cookie."""
    cookie = None if value is None else f"theme=dark; wos-session={value}"
    answer = call_wsgi(mw, get_environ(path, cookie=cookie))
    return answer.status, answer.body


def _count_verifications(mw: AuthKitWSGIMiddleware, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The cookies unsealed for verification (once per request that is not answered
    from memory, on the synchronous attempt and the generator path alike)."""
    calls: list[str] = []
    original = mw.kit._open_session

    def counting(value: str, now: float) -> Any:
        calls.append(value)
        return original(value, now)

    monkeypatch.setattr(mw.kit, "_open_session", counting)
    return calls


# --------------------------------------------------------------------------- bounded


def test_a_million_distinct_cookies_stay_within_maxsize() -> None:
    cache = SessionCache(64)
    auth = Auth(user=User(id="user_1"))
    for i in range(1_000_000):
        cache.put(f"cookie-{i}", auth, 1e12)
        if len(cache) > 64:
            pytest.fail(f"{len(cache)} entries after {i + 1} inserts")
    assert len(cache) == 64
    # FIFO: the newest survive, the oldest went.
    assert cache.get("cookie-999999", 0.0) is auth
    assert cache.get("cookie-0", 0.0) is None


def test_configured_session_cache_size_bounds_the_middleware(server: EmulatorServer) -> None:
    mw = _middleware(server, Clock(), session_cache_size=3)
    cookies = [_cookie(mw, server) for _ in range(6)]
    for value in cookies:
        assert _get(mw, value) == ("200 OK", b"in")
    assert len(mw.kit.sessions) <= 3


# --------------------------------------------------------------------------- expiry


def test_cache_entry_is_not_served_at_or_after_its_deadline() -> None:
    cache = SessionCache(8)
    auth = Auth(user=User(id="user_1"))
    cache.put("c", auth, 1000.0)
    assert cache.get("c", 999.999) is auth
    assert cache.get("c", 1000.0) is None
    assert cache.get("c", 999.0) is None  # an expired entry is dropped, not revived


def test_cached_session_ends_before_its_access_token_expires(
    server: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    mw = _middleware(server, clock)
    value = _cookie(mw, server)
    assert _get(mw, value) == ("200 OK", b"in")
    auth, until = mw.kit.sessions._data[value]
    assert auth.expires_at is not None and until <= auth.expires_at
    calls = _count_verifications(mw, monkeypatch)
    assert _get(mw, value) == ("200 OK", b"in") and calls == []  # steady state: memory
    # Past the token's expiry (our clock only): never answered from the cache.
    clock.offset = auth.expires_at - time.time() + 1
    assert mw.kit.fast_auth("/dash", "", f"wos-session={value}", clock()) is None
    assert mw.kit.sessions.get(value, clock()) is None
    _get(mw, value)
    assert calls == [value]  # verified (and refreshed) again, not served from memory


# --------------------------------------------------------------------------- failures


def test_tampered_cookie_is_never_cached(
    server: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    mw = _middleware(server, Clock())
    good = _cookie(mw, server)
    middle = len(good) // 2
    tampered = good[:middle] + ("A" if good[middle] != "A" else "B") + good[middle + 1 :]
    calls = _count_verifications(mw, monkeypatch)
    for attempt in (1, 2, 3):
        assert _get(mw, tampered)[0].startswith("401")
        assert tampered not in mw.kit.sessions._data
        assert len(calls) == attempt  # every request verifies it again
    assert mw.kit.fast_auth("/", "", f"wos-session={tampered}", time.time()) is None


def test_expired_token_cookie_is_never_cached(
    server: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    mw = _middleware(server, clock)
    value = _cookie(mw, server)
    # An hour on: the token in the cookie is long expired (refresh may still work).
    clock.offset = 3600
    calls = _count_verifications(mw, monkeypatch)
    for attempt in (1, 2):
        _get(mw, value)
        assert value not in mw.kit.sessions._data
        assert len(calls) == attempt


def test_revoked_session_is_verified_each_time(
    server: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refused refresh signs the request out; nothing is cached for that cookie."""
    clock = Clock()
    mw = _middleware(server, clock)
    tokens = server.emulator.issue_session(EMAIL)
    value = seal_session(mw.kit, tokens)
    assert server.emulator.revoke_session(unverified_claims(tokens["access_token"])["sid"])
    clock.offset = 3600
    calls = _count_verifications(mw, monkeypatch)
    for attempt in (1, 2):
        status, _ = _get(mw, value)
        assert status.startswith("401")
        assert value not in mw.kit.sessions._data
        assert len(calls) == attempt


# --------------------------------------------------------------------------- fast lane


@pytest.mark.parametrize(
    ("path", "cookie"),
    [
        ("/", None),
        ("/", "theme=dark"),
        ("/dash", None),
        ("/dash", "theme=dark"),
        ("/callback", None),
        ("/login", "theme=dark"),
        ("/x", "wos-session.0=abc; wos-session.1=def"),
        ("/dash", "wos-session=not-a-seal"),
    ],
)
def test_fast_auth_agrees_with_fast(server: EmulatorServer, path: str, cookie: str | None) -> None:
    mw = _middleware(server, Clock())
    now = time.time()
    lane = mw.kit.fast_auth(path, "", cookie, now)
    full = mw.kit.fast(RequestInfo("GET", path, cookie=cookie), now)
    if lane is not None:
        assert full is not None and full.auth is lane
    if path == "/" and lane is None:
        pytest.fail("an open path without a session cookie must take the fast lane")
    if lane is not None and lane is ANONYMOUS:
        assert path not in mw.kit.routes


# --------------------------------------------------------------------------- namespaces


def test_cookie_value_never_reaches_a_cached_bearer_token(server: EmulatorServer) -> None:
    """Bearer tokens are cached as ``"Bearer " + token`` in the same ``SessionCache``;
    a cookie ``wos-session=Bearer <token>`` (a space is a legal cookie-value byte
    after parsing) must not sign anyone in from that entry, on any lane."""
    mw = _middleware(server, Clock(), accept_bearer_tokens=True)
    now = time.time()
    token = server.emulator.issue_session(EMAIL)["access_token"]
    key = "Bearer " + token
    auth = Auth(user=User(id="user_bearer"), source="bearer", expires_at=int(now) + 300)
    mw.kit.sessions.put(key, auth, now + 300)
    header = f"theme=dark; wos-session={key}"
    assert mw.kit.fast_auth("/dash", "", header, now) is None
    assert mw.kit.fast(RequestInfo("GET", "/dash", cookie=header), now) is None
    status, body = _get(mw, key)
    assert status.startswith("401") and body != b"in"
    status, body = _get(mw, key, path="/")
    assert status.startswith("200") and body == b"out"
    assert mw.kit.sessions.get(key, now) is auth  # the bearer entry itself is untouched


def test_authorization_header_never_reaches_a_cached_cookie(server: EmulatorServer) -> None:
    """The other direction: a sealed cookie value sent as the whole Authorization
    header is not a bearer key and must not be answered from the cookie's entry."""
    mw = _middleware(server, Clock(), accept_bearer_tokens=True)
    value = _cookie(mw, server)
    assert _get(mw, value) == ("200 OK", b"in")  # verified and cached
    now = time.time()
    assert mw.kit.sessions.get(value, now) is not None
    request = RequestInfo("GET", "/dash", authorization=value)
    assert mw.kit.fast(request, now) is None


# --------------------------------------------------------------------------- attempt


def test_first_request_with_warm_keys_decides_without_the_generators(
    server: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new cookie whose token verifies with the cached keys: ``attempt`` decides,
    ``handle`` is never entered; an expired one goes on through ``handle`` once
    unsealed (not twice) and is still not cached."""
    clock = Clock()
    mw = _middleware(server, clock)
    assert _get(mw, _cookie(mw, server)) == ("200 OK", b"in")  # warms the JWKS
    handled: list[object] = []
    original = mw.kit.handle

    def counting(request: RequestInfo, now: float, urls: Any, head: Any = None) -> Any:
        handled.append(head)
        return original(request, now, urls, head)

    monkeypatch.setattr(mw.kit, "handle", counting)
    calls = _count_verifications(mw, monkeypatch)
    value = _cookie(mw, server)
    assert _get(mw, value) == ("200 OK", b"in")
    assert handled == [] and calls == [value] and value in mw.kit.sessions._data
    expired = _cookie(mw, server)
    clock.offset = 3600
    _get(mw, expired)
    assert len(handled) == 1 and handled[0] is not None  # the opened cookie, handed on
    assert calls == [value, expired] and expired not in mw.kit.sessions._data
