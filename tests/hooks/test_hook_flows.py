"""Hooks through both adapters: Starlette under ASGI, Flask under WSGI, emulator over HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
from authkit_test_support.clock import Clock
from hookharness import HTML, SESSION, cookie_names, session_set

from authkit_middleware import AuthKitConfig, AuthKitWSGIMiddleware, ConfigError
from authkit_middleware.core.hooks import (
    ErrorEvent,
    HookResponse,
    RefreshEvent,
    SignInEvent,
    SignOutEvent,
    sign_in_url,
)

# ---------------------------------------------------------------- the SQLite upsert


def user_store(path: Path) -> Any:
    """An app's own users table and the ``on_sign_in`` hook that keeps it current."""
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute(
            "CREATE TABLE users (id TEXT PRIMARY KEY, email TEXT, org TEXT, sign_ins INTEGER)"
        )

    def on_sign_in(event: SignInEvent) -> str | None:
        with contextlib.closing(sqlite3.connect(path)) as db, db:
            known = db.execute("SELECT 1 FROM users WHERE id = ?", (event.user.id,)).fetchone()
            db.execute(
                "INSERT INTO users (id, email, org, sign_ins) VALUES (?, ?, ?, 1) "
                "ON CONFLICT (id) DO UPDATE SET email = excluded.email, org = excluded.org, "
                "sign_ins = sign_ins + 1",
                (event.user.id, event.user.email, event.organization_id),
            )
        return None if known else "/onboarding"

    return on_sign_in


def rows(path: Path) -> list[tuple[Any, ...]]:
    with contextlib.closing(sqlite3.connect(path)) as db:
        return db.execute("SELECT email, sign_ins FROM users ORDER BY email").fetchall()


def test_sign_in_hook_upserts_users_and_sends_new_ones_to_onboarding(
    kind: str, make_browser: Any, tmp_path: Path
) -> None:
    db = tmp_path / "app.sqlite3"
    hook = user_store(db)
    first = make_browser(kind, on_sign_in=hook)
    answer = first.sign_in("/login?returnTo=/dashboard")
    assert answer.status_code == 302
    assert answer.headers["location"] == "http://localhost:3000/onboarding"
    assert session_set(answer)
    assert rows(db) == [("alice@example.com", 1)]
    assert first.get("/dashboard").json()["user"] == "alice@example.com"

    # A returning user (another browser, same app) goes where they were going.
    again = make_browser(kind, on_sign_in=hook)
    answer = again.sign_in("/login?returnTo=/dashboard")
    assert answer.headers["location"] == "http://localhost:3000/dashboard"
    assert rows(db) == [("alice@example.com", 2)]
    other = again.sign_in("/login", email="bob@example.com")
    assert other.headers["location"] == "http://localhost:3000/onboarding"
    assert rows(db) == [("alice@example.com", 2), ("bob@example.com", 1)]


def test_the_sign_in_event_carries_the_whole_response_and_no_secret_in_its_repr(
    kind: str, make_browser: Any
) -> None:
    events: list[SignInEvent] = []
    browser = make_browser(kind, on_sign_in=events.append)
    browser.sign_in("/login?returnTo=/welcome%3Ftab%3D1", email="carol@example.com")
    (event,) = events
    assert event.user.email == "carol@example.com"
    assert event.auth.user == event.user and event.auth.is_authenticated
    assert event.organization_id and event.organization_id == event.auth.organization_id
    assert event.authentication_method
    assert event.return_to == "/welcome?tab=1"
    assert event.custom_state is None
    assert event.access_token.count(".") == 2 and event.refresh_token
    assert event.raw["access_token"] == event.access_token
    assert event.request.method == "GET" and event.request.path == "/callback"
    assert "cookie" not in event.request.headers and "authorization" not in event.request.headers
    assert event.request.headers["accept"] == HTML
    shown = repr(event)
    for secret in (event.access_token, event.refresh_token):
        assert secret not in shown


def test_a_raising_sign_in_hook_gives_hook_failed_and_no_session(
    kind: str, make_browser: Any
) -> None:
    def broken(event: SignInEvent) -> None:
        raise RuntimeError("the app database is down")

    browser = make_browser(kind, on_sign_in=broken)
    login = browser.get("/login?returnTo=/dashboard")
    verifier = next(n for n in browser.jar if n.startswith("wos-auth-verifier"))
    answer = browser.get(browser.authorize(login))
    assert answer.status_code == 503
    assert "hook_failed" in answer.text and "Something went wrong" in answer.text
    assert "database is down" not in answer.text
    assert not session_set(answer)
    assert "Max-Age=0" in cookie_names(answer.headers.get_list("set-cookie"))[verifier]
    assert SESSION not in browser.jar and verifier not in browser.jar
    # Signed out: the protected page sends the browser to sign in.
    assert browser.get("/dashboard").status_code == 307
    # API clients get the same code as JSON.
    json_answer = make_browser(kind, on_sign_in=broken)
    callback = json_answer.authorize(json_answer.get("/login"))
    refused = json_answer.get(callback, accept="application/json")
    assert refused.status_code == 503 and refused.json()["error"] == "hook_failed"


def test_a_sign_in_hook_may_answer_itself_or_decline_the_session(
    kind: str, make_browser: Any
) -> None:
    welcome = make_browser(
        kind, on_sign_in=lambda e: HookResponse(200, f"<p>Hi {e.user.first_name}</p>")
    )
    answer = welcome.sign_in()
    assert answer.status_code == 200 and answer.text == "<p>Hi Alice</p>"
    assert answer.headers["content-type"].startswith("text/html")
    assert session_set(answer)
    assert welcome.get("/dashboard").status_code == 200

    declined = make_browser(
        kind, on_sign_in=lambda e: HookResponse(403, "Not on the guest list", set_session=False)
    )
    answer = declined.sign_in()
    assert answer.status_code == 403 and not session_set(answer)
    assert declined.get("/dashboard").status_code == 307


def test_an_unsafe_redirect_from_the_sign_in_hook_is_ignored(kind: str, make_browser: Any) -> None:
    browser = make_browser(kind, on_sign_in=lambda e: "https://evil.example/steal")
    answer = browser.sign_in("/login?returnTo=/dashboard")
    assert answer.headers["location"] == "http://localhost:3000/dashboard"


# ---------------------------------------------------------------- async / threads


def test_an_async_sign_in_hook_is_awaited_under_asgi(make_browser: Any) -> None:
    seen: list[tuple[str, bool]] = []

    async def on_sign_in(event: SignInEvent) -> str:
        await asyncio.sleep(0)
        seen.append((event.user.email or "", threading.current_thread() is threading.main_thread()))
        return "/welcome"

    browser = make_browser("asgi", on_sign_in=on_sign_in)
    answer = browser.sign_in()
    assert answer.headers["location"] == "http://localhost:3000/welcome"
    assert seen == [("alice@example.com", True)]  # on the event loop's thread


def test_a_plain_hook_under_asgi_runs_off_the_event_loop(make_browser: Any) -> None:
    threads: list[bool] = []

    def on_sign_in(event: SignInEvent) -> None:
        threads.append(threading.current_thread() is threading.main_thread())

    make_browser("asgi", on_sign_in=on_sign_in).sign_in()
    assert threads == [False]


@pytest.mark.parametrize("name", ["on_sign_in", "on_sign_out", "on_refresh", "on_error"])
def test_an_async_hook_is_refused_by_the_wsgi_middleware_at_start_up(
    make_browser: Any, name: str
) -> None:
    async def hook(event: Any) -> None:
        return None

    browser = make_browser("asgi")
    config = browser.config.replace(**{name: hook})
    with pytest.raises(ConfigError) as caught:
        AuthKitWSGIMiddleware(lambda environ, start: [], config=config)
    (problem,) = caught.value.problems
    assert problem.startswith(f"{name} (keyword only): is an async function")
    assert "plain def" in problem


def test_hook_options_are_validated_with_the_config(make_browser: Any) -> None:
    base = make_browser("asgi").config
    with pytest.raises(ConfigError) as caught:
        base.replace(
            on_sign_in="not callable", error_template="<h1>{title}</h1>{oops}", on_error=42
        )
    text = "\n".join(caught.value.problems)
    assert "on_sign_in (keyword only): must be a function" in text
    assert "on_error (keyword only): must be a function" in text
    assert "unknown placeholder(s) ['oops']" in text
    with pytest.raises(ConfigError, match=r"as '\{\{' or '\}\}'"):
        base.replace(error_template="<style>body { color: red }</style>")
    with pytest.raises(ConfigError, match="not a valid format string"):
        base.replace(error_template="<p>{title</p>")
    assert base.replace(error_template="<style>b {{ color: red }}</style>{title}").error_template

    async def page(event: ErrorEvent) -> str:
        return ""

    with pytest.raises(ConfigError, match="error_page"):
        base.replace(error_page=page)
    assert isinstance(base, AuthKitConfig)


# ---------------------------------------------------------------- custom state


def test_custom_state_round_trips_to_the_sign_in_hook(kind: str, make_browser: Any) -> None:
    events: list[SignInEvent] = []
    browser = make_browser(kind, on_sign_in=events.append)
    state = '{"plan": "pro", "invite": "é&x=1"}'
    login = browser.get(sign_in_url("/login", return_to="/dashboard", state=state))
    assert state not in login.headers["location"]  # sealed, not readable on the way
    answer = browser.get(browser.authorize(login))
    assert answer.status_code == 302
    assert events[0].custom_state == state
    assert events[0].return_to == "/dashboard"


def test_an_oversized_custom_state_is_refused_at_login(kind: str, make_browser: Any) -> None:
    browser = make_browser(kind, max_custom_state_bytes=64)
    ok = browser.get(sign_in_url(state="x" * 64))
    assert ok.status_code == 302
    browser.jar.clear()
    refused = browser.get(sign_in_url(state="é" * 33))  # 66 UTF-8 bytes
    assert refused.status_code == 400
    assert "custom_state_too_large" in refused.text
    assert not refused.headers.get_list("set-cookie")
    api = browser.get(sign_in_url(state="x" * 65), accept="application/json")
    assert api.status_code == 400 and api.json()["error"] == "custom_state_too_large"


# ---------------------------------------------------------------- refresh / sign-out


def test_the_refresh_hook_is_called_once_with_the_right_event(
    kind: str, make_browser: Any, clock: Clock
) -> None:
    refreshed: list[RefreshEvent] = []
    browser = make_browser(kind, on_refresh=refreshed.append)
    browser.sign_in()
    old_cookie = browser.jar[SESSION]
    assert browser.get("/dashboard").status_code == 200
    assert refreshed == []
    clock.advance(3600)
    page = browser.get("/dashboard")
    assert page.status_code == 200 and browser.jar[SESSION] != old_cookie
    assert browser.get("/dashboard").status_code == 200
    (event,) = refreshed
    assert event.user.email == "alice@example.com"
    assert event.auth.user == event.user
    assert event.session_id and event.session_id.startswith("session_")
    assert event.organization_id == event.auth.organization_id
    assert event.old_expires_at is not None and event.new_expires_at is not None
    assert event.new_expires_at > event.old_expires_at
    assert event.request.path == "/dashboard"


def test_the_sign_out_hook_is_called_once_with_the_right_event(
    kind: str, make_browser: Any
) -> None:
    signed_out: list[SignOutEvent] = []
    signed_in: list[SignInEvent] = []
    browser = make_browser(kind, on_sign_out=signed_out.append, on_sign_in=signed_in.append)
    browser.sign_in()
    answer = browser.request("POST", "/logout")
    assert answer.status_code == 303
    (event,) = signed_out
    assert event.user.email == "alice@example.com"
    assert event.session_id == signed_in[0].auth.session_id
    assert event.request.method == "POST"
    # Signing out again without a session calls nothing.
    browser.request("POST", "/logout")
    assert len(signed_out) == 1


def test_failing_observer_hooks_never_block_a_refresh_or_a_sign_out(
    kind: str, make_browser: Any, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(event: Any) -> None:
        raise RuntimeError("audit log unavailable")

    browser = make_browser(kind, on_refresh=broken, on_sign_out=broken)
    browser.sign_in()
    clock.advance(3600)
    assert browser.get("/dashboard").status_code == 200  # refreshed all the same
    answer = browser.request("POST", "/logout")
    assert answer.status_code == 303 and SESSION not in browser.jar
    failures = [r.getMessage() for r in caplog.records if "hook failed" in r.getMessage()]
    assert failures == [
        "on_refresh hook failed (RuntimeError); answering hook_failed",
        "on_sign_out hook failed (RuntimeError); answering hook_failed",
    ]


# ---------------------------------------------------------------- errors


def test_an_error_hook_renders_a_custom_page_and_keeps_the_cookies(
    kind: str, make_browser: Any
) -> None:
    errors: list[ErrorEvent] = []

    def on_error(event: ErrorEvent) -> HookResponse | None:
        errors.append(event)
        if not event.request.wants_html:
            return None  # API clients keep the standard JSON
        return HookResponse(
            event.status,
            f"<h1>Acme</h1><p>{event.code}</p><a href='{event.action_url}'>Retry</a>",
        )

    browser = make_browser(kind, on_error=on_error)
    login = browser.get("/login")
    verifier = next(n for n in browser.jar if n.startswith("wos-auth-verifier"))
    callback = browser.authorize(login)
    tampered = callback.replace("state=", "state=x", 1)
    answer = browser.get(tampered)
    assert answer.status_code == 400
    assert answer.text.startswith("<h1>Acme</h1><p>")
    assert errors[-1].code in ("missing_pkce_cookie", "oauth_state_mismatch")
    assert errors[-1].action_url == "/login"
    # The real flow still works: the custom page expired nothing it should not have.
    assert browser.get(callback).status_code == 302
    assert verifier not in browser.jar

    api = browser.get("/callback?code=x", accept="application/json")
    assert api.status_code == 400 and api.json()["error"] == "missing_auth_params"
    assert errors[-1].request.wants_html is False


def test_an_async_error_hook_under_asgi_and_a_failing_one(make_browser: Any) -> None:
    async def on_error(event: ErrorEvent) -> str:
        await asyncio.sleep(0)
        return f"<p>custom {event.code}</p>"

    page = make_browser("asgi", on_error=on_error).get("/callback?code=x")
    assert page.status_code == 400 and page.text == "<p>custom missing_auth_params</p>"

    def broken(event: ErrorEvent) -> str:
        raise ValueError("template missing")

    standard = make_browser("asgi", on_error=broken).get("/callback?code=x")
    assert standard.status_code == 400 and "missing_auth_params" in standard.text
    assert "Sign in again" in standard.text


def test_error_template_and_error_page_replace_the_html_escaped(
    kind: str, make_browser: Any
) -> None:
    template = (
        "<title>{title}</title><main><p>{message}</p><code>{code}</code>"
        "<a href='{action_url}'>again</a></main>"
    )
    browser = make_browser(kind, error_template=template)
    answer = browser.get("/callback?error=access_denied&error_description=%3Cscript%3Ex")
    assert answer.status_code == 400
    assert "<script>" not in answer.text and "&lt;script&gt;x" in answer.text
    assert "<code>authorization_error</code>" in answer.text
    assert "<title>Sign-in failed</title>" in answer.text
    assert answer.headers["content-type"].startswith("text/html")
    assert answer.headers["cache-control"].startswith("private, no-cache, no-store")
    json_answer = browser.get("/callback?code=x", accept="application/json")
    assert json_answer.json()["error"] == "missing_auth_params"

    def page(event: ErrorEvent) -> HookResponse:
        return HookResponse(event.status, f"<p>{event.code} / {event.status}</p>")

    custom = make_browser(kind, error_page=page).get("/callback?code=x")
    assert custom.status_code == 400 and custom.text == "<p>missing_auth_params / 400</p>"


def test_the_default_error_page_is_readable(kind: str, make_browser: Any) -> None:
    answer = make_browser(kind).get("/callback?code=x")
    assert answer.status_code == 400
    text = answer.text
    assert "<title>Sign-in failed</title>" in text
    assert "Missing required auth parameter." in text
    assert 'href="/login"' in text and "Sign in again" in text
    assert "<code>missing_auth_params</code>" in text
