"""Every example app, in-process, through the whole flow against a real emulator over HTTP.

Each test builds the example with its own ``create_app`` (ASGI through
``httpx.ASGITransport``, WSGI through ``httpx.WSGITransport``) pointed at a live
auto-login emulator, then signs in, reads the protected page and ``/api/me``,
lets the access token expire, signs out, and checks the refusals.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from authkit_test_support.clock import Clock
from examples_support import (
    EXAMPLES,
    HTML,
    JSON,
    ORIGIN,
    SESSION_COOKIE,
    Example,
    Harness,
    session_cookies,
    sign_in,
)

from authkit_middleware.emulator import Emulator

pytestmark = pytest.mark.parametrize("example", EXAMPLES, ids=[e.name for e in EXAMPLES])

HarnessFactory = Callable[[Example], Harness]


def assert_sign_in_redirect(response: httpx.Response, path: str) -> None:
    assert response.status_code == 307, response.text
    assert response.headers["location"] == f"/login?returnTo={path}"


def assert_unauthorized_json(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()  # a JSON body, whichever shape the framework uses


def test_signed_out(example: Example, harness_factory: HarnessFactory) -> None:
    harness = harness_factory(example)
    browser = harness.browser()

    home = browser.get("/", HTML)
    assert home.status_code == 200
    assert 'href="/login"' in home.text and 'href="/signup"' in home.text
    assert "<style>" in home.text

    assert_sign_in_redirect(browser.get("/dashboard", HTML), "/dashboard")
    assert_sign_in_redirect(browser.get("/widgets/new", HTML), "/widgets/new")
    assert_unauthorized_json(browser.get("/api/me", JSON))
    assert_unauthorized_json(browser.get("/api/me"))  # no Accept at all: an API client


def test_full_flow(
    example: Example,
    harness_factory: HarnessFactory,
    emulator: Emulator,
    emulator_http: httpx.Client,
    clock: Clock,
) -> None:
    harness = harness_factory(example)
    browser = harness.browser()

    # Sign in, landing back on the page that asked for it.
    sign_in(browser, emulator_http, "alice@example.com", return_to="/dashboard")
    dashboard = browser.get("/dashboard", HTML)
    assert dashboard.status_code == 200, dashboard.text
    alice = emulator.get_user("alice@example.com")
    acme = emulator.get_organization("Acme Inc")
    assert alice is not None and acme is not None
    for shown in ("Alice Anderson", "alice@example.com", acme["id"], "admin", "widgets:write"):
        assert shown in dashboard.text
    assert 'action="/logout"' in dashboard.text
    assert session_cookies(dashboard) == []  # a valid session is not rewritten

    me = browser.get("/api/me", JSON)
    assert me.status_code == 200
    assert me.json() == {
        "id": alice["id"],
        "email": "alice@example.com",
        "name": "Alice Anderson",
        "organization_id": acme["id"],
        "role": "admin",
        "permissions": ["widgets:read", "widgets:write", "members:manage"],
    }

    # The access token (300 s) runs out: refreshed transparently, one Set-Cookie.
    refreshes = emulator.count("refresh_token")
    clock.advance(290)
    page = browser.get("/dashboard", HTML)
    assert page.status_code == 200 and "Alice Anderson" in page.text
    assert len(session_cookies(page)) == 1
    assert len(page.headers.get_list("set-cookie")) == 1
    assert emulator.count("refresh_token") == refreshes + 1
    again = browser.get("/api/me", JSON)
    assert again.status_code == 200 and again.json()["email"] == "alice@example.com"
    assert session_cookies(again) == []  # the refreshed cookie is used from now on
    assert emulator.count("refresh_token") == refreshes + 1

    # Sign out: the WorkOS session ends, then the browser lands back on the app.
    (active,) = emulator.sessions()
    old_cookie = browser.cookies.get(SESSION_COOKIE)
    assert old_cookie
    signed_out = browser.post("/logout", HTML)
    assert signed_out.status_code == 303
    deleted = session_cookies(signed_out)
    assert len(deleted) == 1 and "Max-Age=0" in deleted[0]
    logout_url = signed_out.headers["location"]
    assert logout_url.startswith(f"{harness.server.base_url}/user_management/sessions/logout?")
    back = emulator_http.get(logout_url)
    assert back.status_code in (302, 303) and back.headers["location"] == f"{ORIGIN}/"
    assert emulator.count("/user_management/sessions/logout") == 1
    assert emulator.sessions() == []
    (ended,) = emulator.sessions(active_only=False)
    assert ended["id"] == active["id"] and ended["active"] is False

    assert browser.cookies.get(SESSION_COOKIE) is None
    assert_sign_in_redirect(browser.get("/dashboard", HTML), "/dashboard")
    assert_unauthorized_json(browser.get("/api/me", JSON))

    # A copy of the old cookie is dead too (its refresh token was revoked at WorkOS).
    replay = harness.browser()
    replay.cookies.set(SESSION_COOKIE, old_cookie)
    assert_sign_in_redirect(replay.get("/dashboard", HTML), "/dashboard")
    clock.advance(600)  # past the access token: only the refresh token could help
    assert_unauthorized_json(replay.get("/api/me", JSON))


def test_permission_route(
    example: Example,
    harness_factory: HarnessFactory,
    emulator: Emulator,
    emulator_http: httpx.Client,
) -> None:
    harness = harness_factory(example)

    alice = harness.browser()
    sign_in(alice, emulator_http, "alice@example.com", return_to="/widgets/new")
    allowed = alice.get("/widgets/new", HTML)
    assert allowed.status_code == 200, allowed.text
    assert "widgets:write" in allowed.text

    bob = harness.browser()
    sign_in(bob, emulator_http, "bob@example.com")
    page = bob.get("/dashboard", HTML)
    assert page.status_code == 200 and "Bob Baker" in page.text
    refused = bob.get("/widgets/new", HTML)
    assert refused.status_code == 403, refused.text
    if example.html_forbidden:
        assert "text/html" in refused.headers["content-type"]
        assert "denied" in refused.text.lower()
    else:
        assert refused.json() == {"detail": "You do not have access to this resource."}
    api_refused = bob.get("/widgets/new", JSON)
    assert api_refused.status_code == 403


BAD_COOKIES = ("garbage", "Fe26.2*1*not*a*real*seal", "", "%%%", "a" * 3000, "Fe26.2**")


def test_bad_cookie_is_signed_out(example: Example, harness_factory: HarnessFactory) -> None:
    browser = harness_factory(example).browser()
    for cookie in BAD_COOKIES:
        header = {"cookie": f"{SESSION_COOKIE}={cookie}"}
        home = browser.get("/", {**HTML, **header})
        assert home.status_code == 200 and 'href="/login"' in home.text, cookie
        assert_sign_in_redirect(browser.get("/dashboard", {**HTML, **header}), "/dashboard")
        assert_unauthorized_json(browser.get("/api/me", {**JSON, **header}))


def test_tampered_session_cookie(
    example: Example, harness_factory: HarnessFactory, emulator_http: httpx.Client
) -> None:
    harness = harness_factory(example)
    browser = harness.browser()
    sign_in(browser, emulator_http)
    value = browser.cookies.get(SESSION_COOKIE)
    assert value
    middle = len(value) // 2
    tampered = value[:middle] + ("A" if value[middle] != "A" else "B") + value[middle + 1 :]

    attacker = harness.browser()
    attacker.cookies.set(SESSION_COOKIE, tampered)
    page = attacker.get("/dashboard", HTML)
    assert_sign_in_redirect(page, "/dashboard")
    assert_unauthorized_json(attacker.get("/api/me", JSON))
    home = attacker.get("/", HTML)
    assert home.status_code == 200 and "Alice" not in home.text
