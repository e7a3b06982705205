"""The fast lane's first sight of a session cookie (``AuthKit._first_sight``).

A plain new cookie is verified in the lane, without the full path. Anything else
goes to the full path, which must answer exactly as before, from what the lane
already opened: each cookie is unsealed once per request, whatever happens.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from authkit_test_support.middleware import (
    call_wsgi,
    emulator_settings,
    get_environ,
    seal_session,
)

from authkit_middleware import AuthKitWSGIMiddleware
from authkit_middleware.core.tokens import unverified_claims
from authkit_middleware.emulator.server import EmulatorServer
from authkit_middleware.testing import mint_session

OLD = "first-sight-old-password-0123456789abcdefgh"
NEW = "first-sight-new-password-0123456789abcdefgh"


def _middleware(server: EmulatorServer, **options: Any) -> AuthKitWSGIMiddleware:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        auth = environ["authkit"]
        return [auth.user.email.encode() if auth.is_authenticated else b"out"]

    settings: dict[str, Any] = {
        "cookie_password": NEW,
        "protected_paths": ("/dash", "/admin", "/root"),
        "permission_rules": {"/admin": ["widgets:write"], "/root": ["nobody:has-this"]},
        **options,
    }
    return AuthKitWSGIMiddleware(app, **emulator_settings(server, **settings))


def _warm(mw: AuthKitWSGIMiddleware, server: EmulatorServer) -> None:
    """One request first, so that the signing keys are held (no JWKS fetch due)."""
    cookie = seal_session(mw.kit, server.emulator.issue_session("bob@example.com"))
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/dash",
        "HTTP_COOKIE": "wos-session=" + cookie,
    }
    call_wsgi(mw, environ)


class Seen:
    """What one request did: unseals, full-path decisions, status, Set-Cookies."""

    def __init__(self, mw: AuthKitWSGIMiddleware, monkeypatch: pytest.MonkeyPatch) -> None:
        self.unseals = 0
        self.full_path = 0
        opened, decide = mw.kit._open_session, mw.driver.decide

        def counting_open(value: str, now: float) -> Any:
            self.unseals += 1
            return opened(value, now)

        def counting_decide(request: Any) -> Any:
            self.full_path += 1
            return decide(request)

        monkeypatch.setattr(mw.kit, "_open_session", counting_open)
        monkeypatch.setattr(mw.driver, "decide", counting_decide)
        self.mw = mw

    def get(self, cookie: str, path: str = "/dash") -> tuple[str, list[str], bytes]:
        self.unseals = self.full_path = 0
        environ = get_environ(path, cookie=f"theme=dark; wos-session={cookie}")
        answer = call_wsgi(self.mw, environ)
        return answer.status, answer.set_cookies, answer.body


def test_a_plain_new_cookie_is_verified_in_the_lane(
    server: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    mw = _middleware(server)
    _warm(mw, server)
    seen = Seen(mw, monkeypatch)
    cookie = seal_session(mw.kit, server.emulator.issue_session("alice@example.com"))
    assert seen.get(cookie) == ("200 OK", [], b"alice@example.com")
    assert (seen.unseals, seen.full_path) == (1, 0)
    assert seen.get(cookie)[0] == "200 OK"
    assert (seen.unseals, seen.full_path) == (0, 0)  # then from memory


def test_a_path_with_permissions_verifies_once_and_decides_on_the_full_path(
    server: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    mw = _middleware(server)
    _warm(mw, server)
    seen = Seen(mw, monkeypatch)
    alice = server.emulator.issue_session("alice@example.com")
    assert "widgets:write" in unverified_claims(alice["access_token"])["permissions"]
    assert seen.get(seal_session(mw.kit, alice), "/admin")[0] == "200 OK"
    assert (seen.unseals, seen.full_path) == (1, 1)
    again = seal_session(mw.kit, server.emulator.issue_session("alice@example.com"))
    assert seen.get(again, "/root")[0].startswith("403")
    assert (seen.unseals, seen.full_path) == (1, 1)


def test_a_cookie_that_will_not_open_is_deleted_after_one_try(
    server: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    mw = _middleware(server)
    _warm(mw, server)
    seen = Seen(mw, monkeypatch)
    good = seal_session(mw.kit, server.emulator.issue_session("alice@example.com"))
    tampered = good[:40] + ("A" if good[40] != "A" else "B") + good[41:]
    status, cookies, _ = seen.get(tampered)
    assert status.startswith("401")
    assert any(c.startswith("wos-session=;") for c in cookies), cookies
    assert (seen.unseals, seen.full_path) == (1, 1)


def test_an_old_password_cookie_is_resealed_after_one_unseal(
    server: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = _middleware(server, cookie_password=OLD)
    cookie = seal_session(old.kit, server.emulator.issue_session("alice@example.com"))
    mw = _middleware(server, cookie_password=(NEW, OLD))
    _warm(mw, server)
    seen = Seen(mw, monkeypatch)
    status, cookies, body = seen.get(cookie)
    assert (status, body) == ("200 OK", b"alice@example.com")
    assert any(c.startswith("wos-session=Fe26.2") for c in cookies), cookies  # re-sealed
    assert (seen.unseals, seen.full_path) == (1, 1)


def test_an_expired_token_is_refreshed_after_one_unseal(
    server: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    mw = _middleware(server)
    _warm(mw, server)
    cookie = mint_session(mw, server.emulator, "alice@example.com", expired=True).cookie_value
    seen = Seen(mw, monkeypatch)
    status, cookies, body = seen.get(cookie)
    assert (status, body) == ("200 OK", b"alice@example.com")
    assert any(c.startswith("wos-session=Fe26.2") for c in cookies), cookies  # refreshed
    assert (seen.unseals, seen.full_path) == (1, 1)


def test_a_session_signed_out_here_is_refused_after_one_unseal(
    server: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    mw = _middleware(server)
    _warm(mw, server)
    tokens = server.emulator.issue_session("alice@example.com")
    mw.kit._ended_sessions.put(unverified_claims(tokens["access_token"])["sid"], True, 1e12)
    seen = Seen(mw, monkeypatch)
    status, cookies, _ = seen.get(seal_session(mw.kit, tokens))
    assert status.startswith("401")
    assert any(c.startswith("wos-session=;") for c in cookies), cookies
    assert (seen.unseals, seen.full_path) == (1, 1)


def test_a_cold_key_set_goes_to_the_full_path_which_fetches_it(
    server: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    mw = _middleware(server)  # a new middleware: no JWKS fetched yet
    seen = Seen(mw, monkeypatch)
    cookie = seal_session(mw.kit, server.emulator.issue_session("alice@example.com"))
    assert seen.get(cookie)[0] == "200 OK"
    assert (seen.unseals, seen.full_path) == (1, 1)
    assert mw.kit.sessions.get(cookie, time.time()) is not None
