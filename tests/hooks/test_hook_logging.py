"""No secret in any log line, at any level, with ``debug=True``, across a whole flow."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from authkit_test_support.clock import Clock
from hookharness import COOKIE_PASSWORD, SESSION

from authkit_middleware.core.hooks import SignInEvent, sign_in_url, tail
from authkit_middleware.core.session import decode_session

FORMAT = logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s")


def test_no_secret_reaches_any_log_line(
    kind: str, make_browser: Any, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, every level
    secrets: set[str] = {COOKIE_PASSWORD}
    events: list[SignInEvent] = []

    def on_sign_in(event: SignInEvent) -> None:
        events.append(event)
        if len(events) == 2:
            raise RuntimeError("second sign-in refused by the app")

    browser = make_browser(kind, debug=True, on_sign_in=on_sign_in, on_refresh=lambda e: None)
    secrets.add(browser.config.api_key)

    def collect_session() -> None:
        value = browser.jar.get(SESSION)
        if value:
            session = decode_session(browser.kit.sealer.unseal(value, purpose="session"))
            secrets.update((session.access_token, session.refresh_token))

    # sign-in, with an application state
    state = "app-state-that-must-stay-private-42"
    secrets.add(state)
    login = browser.get(sign_in_url(state=state, return_to="/dashboard"))
    callback = browser.authorize(login)
    query = parse_qs(urlsplit(callback).query)
    secrets.update(query["code"] + query["state"])
    assert browser.get(callback).status_code == 302
    collect_session()
    secrets.update((events[0].access_token, events[0].refresh_token))
    assert browser.get("/dashboard").status_code == 200  # cache miss, then hits
    assert browser.get("/dashboard").status_code == 200

    # refresh
    clock.advance(3600)
    assert browser.get("/dashboard").status_code == 200
    collect_session()

    # failures: a replayed code, a tampered state, a failing hook
    assert browser.get(callback).status_code == 400
    fresh = browser.authorize(browser.get("/login"))
    query = parse_qs(urlsplit(fresh).query)
    secrets.update(query["code"] + query["state"])
    assert browser.get(fresh.replace("code=", "code=x", 1)).status_code == 400
    second = make_browser(kind, debug=True, on_sign_in=on_sign_in)
    login = second.get("/login")
    failing = second.authorize(login)
    query = parse_qs(urlsplit(failing).query)
    secrets.update(query["code"] + query["state"])
    assert second.get(failing).status_code == 503
    secrets.update((events[1].access_token, events[1].refresh_token))

    # sign-out
    assert browser.request("POST", "/logout").status_code == 303

    for b in (browser, second):
        for header in b.set_cookies:
            value = header.split("=", 1)[1].split(";", 1)[0]
            if value:
                secrets.add(value)
    secrets.discard("")
    assert len(secrets) >= 12

    # Every record of the middleware, the workos SDK and its HTTP client; only the
    # test's own "browser" (its httpx lines show the URLs it visited) is left out.
    lines = [FORMAT.format(record) for record in caplog.records if not browser_line(record)]
    text = "\n".join(lines)
    for secret in secrets:
        leaks = [line for line in lines if secret in line]
        assert not leaks, f"a secret ending {tail(secret)} was logged: {leaks[0][:300]}"

    ours = [r.getMessage() for r in caplog.records if r.name.startswith("authkit_middleware")]
    expected = (
        "signed in user user_",
        "session refreshed for user user_",
        "signed out user user_",
        "sign-in callback refused: missing_pkce_cookie",
        "code exchange refused by WorkOS (invalid_grant)",
        "on_sign_in hook failed (RuntimeError); answering hook_failed",
        "session cache miss for cookie …",
        "fast path: /dashboard",
        "refreshing session of user user_",
        "sign-in tokens: access …",
    )
    for start in expected:
        assert any(m.startswith(start) for m in ours), start
    # The hook's traceback is there (at debug) for the developer, without secrets.
    assert "second sign-in refused by the app" in text


def browser_line(record: logging.LogRecord) -> bool:
    """A line of the test's own browser: ``httpx``/``httpcore`` carry the URLs it
    visits (its address bar, not a log of the middleware). The workos SDK talks
    through ``httpx2``/``httpcore2``, whose lines are checked."""
    return record.name == "httpx" or record.name.startswith("httpcore.")


def test_tail_shows_only_the_last_characters_of_long_values() -> None:
    assert tail("sk_test_abcdefghijklmnop1234") == "…1234"
    assert tail("short-secret") == "…"
    assert tail("") == "''" and tail(None) == "''"


def test_debug_lines_are_off_by_default(
    make_browser: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    browser = make_browser("wsgi")
    browser.sign_in()
    browser.get("/dashboard")
    ours = [r for r in caplog.records if r.name.startswith("authkit_middleware")]
    assert ours and all(r.levelno >= logging.INFO for r in ours)
