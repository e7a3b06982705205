"""Every example in headless Chromium, through the emulator's hosted sign-in pages.

Each example runs under a real server (ASGI: uvicorn or hypercorn; WSGI: waitress or
gunicorn) from the ``servers`` harness; the emulator runs in this process with its
interactive pages (user picker, email + password, sign-up). Each test gets a fresh
browser context. Screenshots go to ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import pytest
from servers.harness import (
    EXPIRY_TTL,
    HARNESS_ASGI,
    HARNESS_WSGI,
    REFRESH_BUFFER,
    TLS,
    RunningServer,
    all_targets,
    representative,
    self_signed_cert,
    start_server,
)

from authkit_middleware.emulator import Emulator
from authkit_middleware.emulator.server import EmulatorServer

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

ALICE = "alice@example.com"
CAROL = "carol@example.com"
NAMES = {ALICE: "Alice Anderson", CAROL: "Carol Chen"}

#: The server each example runs under here: both servers of each kind get a share.
SERVER_FOR = {
    "fastapi": "uvicorn",
    "starlette": "uvicorn",
    "plain_asgi": "uvicorn",
    "django-asgi": "hypercorn",
    "flask": "waitress",
    "plain_wsgi": "waitress",
    "django-wsgi": "gunicorn",
    HARNESS_ASGI.name: "uvicorn",
    HARNESS_WSGI.name: "waitress",
}


def _apps() -> list[Any]:
    return [
        pytest.param((SERVER_FOR[t.name], t), id=f"{t.name}@{SERVER_FOR[t.name]}")
        for t in all_targets()
    ]


over_examples = pytest.mark.parametrize("app_server", _apps(), indirect=True)


# --------------------------------------------------------------------------- helpers


def at(running: RunningServer, path: str) -> Any:
    """A ``wait_for_url`` predicate: the app's ``path`` (query ignored)."""
    want = running.url(path)
    return lambda url: url.split("?")[0] == want


def on_emulator(emulator: Emulator) -> Any:
    base = emulator.base_url or ""
    return lambda url: url.startswith(base)


def user_id(emulator: Emulator, email: str) -> str:
    user = emulator.get_user(email)
    assert user is not None
    return str(user["id"])


def pick_user(page: Page, emulator: Emulator, email: str) -> None:
    """On the emulator's sign-in page, click the user in the picker."""
    page.wait_for_url(on_emulator(emulator))
    page.locator(f'button[data-user-id="{user_id(emulator, email)}"]').click()


def sign_in(
    page: Page, running: RunningServer, emulator: Emulator, path: str = "/dashboard"
) -> None:
    """Sign in as alice through the picker, starting from ``path``; wait to land there."""
    page.goto(running.url(path))
    pick_user(page, emulator, ALICE)
    page.wait_for_url(at(running, path.split("?")[0]))


def shows(page: Page, email: str = ALICE) -> bool:
    text = page.content()
    return email in text or NAMES.get(email, "\x00") in text


def cookie_map(context: BrowserContext) -> dict[str, dict[str, Any]]:
    return {c["name"]: dict(c) for c in context.cookies()}


def verifier_cookies(context: BrowserContext) -> list[str]:
    return [n for n in cookie_map(context) if n.startswith("wos-auth-verifier")]


def me(page: Page) -> dict[str, Any]:
    """``/auth/me`` fetched by the page itself (its cookies, same origin)."""
    result = page.evaluate(
        "async () => { const r = await fetch('/auth/me', {headers: {accept: 'application/json'}});"
        " return {status: r.status, body: await r.json()}; }"
    )
    assert result["status"] == 200, result
    return dict(result["body"])


def sleep_until_refresh_due(page: Page, emulator: Emulator) -> int:
    """Sleep just past expiry minus the refresh buffer (~2 s with the short TTL).

    Returns the emulator's refresh count by then. On a slow machine ``/auth/me``
    may itself have refreshed (sign-in took longer than the window): it then
    reports the new token's expiry, so the sleep still ends where a refresh is due.
    """
    expires_at = me(page)["expires_at"]
    wait = expires_at - REFRESH_BUFFER - time.time() + 0.3
    assert wait <= EXPIRY_TTL, wait
    time.sleep(max(wait, 0.0))
    return emulator.count("refresh_token")


def shot(page: Page, directory: Path, name: str) -> None:
    page.screenshot(path=str(directory / f"{name}.png"), full_page=True)


# --------------------------------------------------------------------------- sign-in


@over_examples
def test_pick_a_user_and_land_on_the_deep_link(
    app_server: RunningServer,
    emulator: Emulator,
    context: BrowserContext,
    screenshots: Path,
) -> None:
    page = context.new_page()
    page.goto(app_server.url("/dashboard?tab=usage&sort=desc"))
    page.wait_for_url(on_emulator(emulator))
    assert "Sign in" in page.title()
    shot(page, screenshots, "emulator-sign-in")
    pick_user(page, emulator, ALICE)
    page.wait_for_url(at(app_server, "/dashboard"))
    assert parse_qs(urlsplit(page.url).query) == {"tab": ["usage"], "sort": ["desc"]}
    assert shows(page, ALICE)
    shot(page, screenshots, f"{app_server.target.name}-signed-in")

    cookies = cookie_map(context)
    session = cookies["wos-session"]
    assert session["httpOnly"] is True
    assert session["sameSite"] == "Lax"
    assert session["secure"] is False  # plain http on loopback
    assert session["path"] == "/"
    assert verifier_cookies(context) == []


@over_examples
def test_sign_in_with_email_and_password(
    app_server: RunningServer, emulator: Emulator, context: BrowserContext
) -> None:
    page = context.new_page()
    page.goto(app_server.url("/login?returnTo=/dashboard"))
    page.wait_for_url(on_emulator(emulator))
    form = page.locator("form#sign-in")
    form.locator("input[name=email]").fill(CAROL)
    form.locator("input[name=password]").fill("not-the-password")
    form.locator("button[type=submit]").click()
    assert page.locator("[role=alert]").inner_text().startswith("Incorrect")
    form = page.locator("form#sign-in")
    form.locator("input[name=password]").fill("password")
    form.locator("button[type=submit]").click()
    page.wait_for_url(at(app_server, "/dashboard"))
    assert shows(page, CAROL)
    assert verifier_cookies(context) == []


@over_examples
def test_sign_up_a_new_user(
    app_server: RunningServer,
    emulator: Emulator,
    context: BrowserContext,
    screenshots: Path,
) -> None:
    email = "dana@example.com"
    page = context.new_page()
    page.goto(app_server.url("/signup?returnTo=/dashboard"))
    page.wait_for_url(on_emulator(emulator))
    form = page.locator("form#sign-up")
    form.locator("input[name=first_name]").fill("Dana")
    form.locator("input[name=last_name]").fill("Diaz")
    form.locator("input[name=email]").fill(email)
    form.locator("input[name=password]").fill("correct horse battery")
    shot(page, screenshots, "emulator-sign-up")
    form.locator("button[type=submit]").click()
    page.wait_for_url(at(app_server, "/dashboard"))
    assert "Dana Diaz" in page.content() or email in page.content()
    assert emulator.get_user(email) is not None


# --------------------------------------------------------------------------- session life


@over_examples
def test_session_survives_reload_and_new_tab(
    app_server: RunningServer, emulator: Emulator, context: BrowserContext
) -> None:
    page = context.new_page()
    sign_in(page, app_server, emulator)
    page.reload()
    assert page.url.startswith(app_server.url("/dashboard"))
    assert shows(page)
    tab = context.new_page()
    tab.goto(app_server.url("/dashboard"))
    assert tab.url.startswith(app_server.url("/dashboard"))  # no trip to the emulator
    assert shows(tab)
    assert emulator.count("authorization_code") == 1


@over_examples
def test_two_tabs_signing_in_at_once_both_succeed(
    app_server: RunningServer, emulator: Emulator, context: BrowserContext
) -> None:
    first, second = context.new_page(), context.new_page()
    first.goto(app_server.url("/dashboard?tab=one"))
    second.goto(app_server.url("/dashboard?tab=two"))
    first.wait_for_url(on_emulator(emulator))
    second.wait_for_url(on_emulator(emulator))
    assert len(verifier_cookies(context)) == 2  # one per flow: neither overwrote the other
    pick_user(first, emulator, ALICE)
    pick_user(second, emulator, ALICE)
    first.wait_for_url(at(app_server, "/dashboard"))
    second.wait_for_url(at(app_server, "/dashboard"))
    assert parse_qs(urlsplit(first.url).query) == {"tab": ["one"]}
    assert parse_qs(urlsplit(second.url).query) == {"tab": ["two"]}
    assert shows(first) and shows(second)
    assert verifier_cookies(context) == []


@over_examples
def test_expiry_while_browsing_refreshes_silently(
    app_server: RunningServer, emulator: Emulator, context: BrowserContext
) -> None:
    emulator.set_access_token_ttl(EXPIRY_TTL)
    page = context.new_page()
    sign_in(page, app_server, emulator)
    refreshes = sleep_until_refresh_due(page, emulator)
    before = cookie_map(context)["wos-session"]["value"]
    emulator_hits: list[str] = []
    page.on(
        "request", lambda r: emulator_hits.append(r.url) if on_emulator(emulator)(r.url) else None
    )
    page.goto(app_server.url("/dashboard?after=expiry"))
    assert page.url.startswith(app_server.url("/dashboard"))
    assert shows(page)
    assert emulator_hits == []  # refreshed server-side: the browser never left the app
    assert emulator.count("refresh_token") == refreshes + 1
    assert cookie_map(context)["wos-session"]["value"] != before


PARALLEL_FETCHES = """async () => {
  const one = async () => {
    const r = await fetch('/api/me', {headers: {accept: 'application/json'}});
    return {status: r.status, body: await r.text()};
  };
  return Promise.all(Array.from({length: 8}, one));
}"""


@over_examples
def test_parallel_fetches_after_expiry_keep_the_user_signed_in(
    app_server: RunningServer, emulator: Emulator, context: BrowserContext
) -> None:
    emulator.set_access_token_ttl(EXPIRY_TTL)
    page = context.new_page()
    sign_in(page, app_server, emulator)
    refreshes = sleep_until_refresh_due(page, emulator)
    results = page.evaluate(PARALLEL_FETCHES)
    assert [r["status"] for r in results] == [200] * 8, results
    assert all(ALICE in r["body"] for r in results)
    # Still signed in afterwards, with whichever cookie the browser kept.
    page.goto(app_server.url("/dashboard"))
    assert page.url.startswith(app_server.url("/dashboard"))
    assert shows(page)
    # Single-flight: eight requests with the same expired cookie, one refresh.
    assert emulator.count("refresh_token") == refreshes + 1


# --------------------------------------------------------------------------- sign-out


@over_examples
def test_sign_out_reaches_every_tab_and_the_back_button(
    app_server: RunningServer, emulator: Emulator, context: BrowserContext
) -> None:
    page = context.new_page()
    sign_in(page, app_server, emulator)
    other = context.new_page()
    response = other.goto(app_server.url("/dashboard"))
    assert response is not None
    assert "no-store" in response.headers.get("cache-control", "")
    assert shows(other)

    page.get_by_role("button", name="Sign out").first.click()
    page.wait_for_url(lambda url: url.split("?")[0] == app_server.url("/"))
    assert emulator.sessions() == []  # the browser went through the emulator's logout
    assert "wos-session" not in cookie_map(context)

    # The other tab: its next request is signed out (page and API).
    status = other.evaluate(
        "async () => (await fetch('/api/me', {headers: {accept: 'application/json'}})).status"
    )
    assert status == 401
    other.reload()
    other.wait_for_url(on_emulator(emulator))

    # Back to the dashboard from history: no-store means it is fetched again, and
    # signed out that means the sign-in page, not the cached protected content.
    page.go_back()
    page.wait_for_load_state()
    if page.url.startswith(app_server.url("/")):
        assert not shows(page), page.url
    else:  # sent to sign in again: the emulator's page (whose picker lists alice)
        assert on_emulator(emulator)(page.url), page.url
        assert "Sign in" in page.title()


# --------------------------------------------------------------------------- https


@pytest.fixture(scope="module")
def https_server(
    emulator_server: EmulatorServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    """The representative ASGI example under uvicorn over TLS (self-signed, localhost)."""
    certfile, keyfile = self_signed_cert(tmp_path_factory.mktemp("tls"))
    target = representative("asgi")
    running = start_server(
        "uvicorn", target, emulator_server.env(), tls=TLS(certfile, keyfile), host="localhost"
    )
    try:
        yield running
    finally:
        running.stop()


def test_cookies_over_https_are_secure(
    https_server: RunningServer,
    emulator: Emulator,
    make_context: Callable[..., BrowserContext],
    screenshots: Path,
) -> None:
    assert https_server.redirect_uri.startswith("https://localhost:")
    context = make_context(ignore_https_errors=True)  # the cert is self-signed
    page = context.new_page()
    sign_in(page, https_server, emulator)
    assert page.url.startswith("https://localhost:")
    assert shows(page)
    session = cookie_map(context)["wos-session"]
    assert session["secure"] is True
    assert session["httpOnly"] is True
    assert session["sameSite"] == "Lax"
    assert verifier_cookies(context) == []
    shot(page, screenshots, f"{https_server.target.name}-https-signed-in")
