"""Every example app, signed in with the user-facing helpers of ``authkit_middleware.testing``.

``test_examples.py`` walks the browser-like sign-in on purpose; here each test signs
in with one ``sign_in(...)`` line, the way an app's own test suite would, and then
checks what the session gives: the dashboard, ``/api/me``, the permission route for
users made with ``role=``/``permissions=``, a transparent refresh after
``expire_session``/``advance_clock``, and the sign-out after ``revoke_session``.

Each test gets a fresh emulator from the plugin's ``authkit_emulator`` fixture, so the
clocks the helpers move never leak into another test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest
from authkit_test_support.clock import Clock
from examples_support import (
    EXAMPLES,
    HTML,
    JSON,
    ORIGIN,
    Browser,
    Example,
    Harness,
    session_cookies,
)

from authkit_middleware.emulator import EmulatorServer
from authkit_middleware.testing import (
    advance_clock,
    expire_session,
    revoke_session,
    session_cookie,
    sign_in,
)

pytestmark = pytest.mark.parametrize("example", EXAMPLES, ids=[e.name for e in EXAMPLES])


class Visitor:
    """A browser as ``sign_in`` sees a test client: its cookie jar and its origin.

    ``sign_in`` files the cookie under the client's host (``base_url``), so the
    cookie the middleware writes on a refresh replaces it instead of joining it.
    """

    base_url = httpx.URL(ORIGIN)

    def __init__(self, browser: Browser) -> None:
        self.browser = browser
        self.cookies = browser.cookies

    def get(self, url: str, headers: dict[str, str] | None = None) -> httpx.Response:
        return self.browser.get(url, headers)


@pytest.fixture
def harness_for(authkit_emulator: EmulatorServer) -> Iterator[Callable[[Example], Harness]]:
    """Build an example against this test's own emulator (real time on both sides)."""
    made: list[Harness] = []

    def make(example: Example) -> Harness:
        harness = Harness(example, authkit_emulator, Clock())
        made.append(harness)
        return harness

    yield make
    for harness in made:
        harness.close()


HarnessFor = Callable[[Example], Harness]


def visitor(harness: Harness) -> Visitor:
    return Visitor(harness.browser())


def assert_signed_out(client: Visitor) -> None:
    page = client.get("/dashboard", HTML)
    assert page.status_code == 307, page.text
    assert page.headers["location"] == "/login?returnTo=/dashboard"
    api = client.get("/api/me", JSON)
    assert api.status_code == 401, api.text


def test_dashboard_and_api_me(
    example: Example, harness_for: HarnessFor, authkit_emulator: EmulatorServer
) -> None:
    harness = harness_for(example)
    client = visitor(harness)
    session = sign_in(
        client, harness.app, authkit_emulator, "alice@example.com", organization="Acme Inc"
    )
    acme = session.organization_id
    assert acme is not None and session.auth.role == "admin"

    dashboard = client.get("/dashboard", HTML)
    assert dashboard.status_code == 200, dashboard.text
    for shown in ("Alice Anderson", "alice@example.com", acme, "admin", "widgets:write"):
        assert shown in dashboard.text
    assert session_cookies(dashboard) == []  # a valid session is not rewritten

    me = client.get("/api/me", JSON)
    assert me.status_code == 200, me.text
    assert me.json() == {
        "id": session.user.id,
        "email": "alice@example.com",
        "name": "Alice Anderson",
        "organization_id": acme,
        "role": "admin",
        "permissions": ["widgets:read", "widgets:write", "members:manage"],
    }


def test_permission_route(
    example: Example, harness_for: HarnessFor, authkit_emulator: EmulatorServer
) -> None:
    harness = harness_for(example)

    # Users, organisation and memberships made on the fly by the helper.
    editor = visitor(harness)
    sign_in(
        editor,
        harness.app,
        authkit_emulator,
        "dora@example.com",
        organization="Initech",
        role="editor",
        permissions=["widgets:read", "widgets:write"],
    )
    allowed = editor.get("/widgets/new", HTML)
    assert allowed.status_code == 200, allowed.text
    assert "widgets:write" in allowed.text

    viewer = visitor(harness)
    sign_in(
        viewer,
        harness.app,
        authkit_emulator,
        "erin@example.com",
        organization="Initech",
        role="viewer",
        permissions=["widgets:read"],
    )
    page = viewer.get("/dashboard", HTML)
    assert page.status_code == 200 and "erin@example.com" in page.text
    assert viewer.get("/widgets/new", HTML).status_code == 403
    assert viewer.get("/widgets/new", JSON).status_code == 403

    # The same user, given the permission on the same membership, is let in.
    sign_in(
        viewer,
        harness.app,
        authkit_emulator,
        "erin@example.com",
        organization="Initech",
        permissions=["widgets:read", "widgets:write"],
    )
    assert viewer.get("/widgets/new", HTML).status_code == 200


@pytest.mark.parametrize("move", ["expire_session", "advance_clock"])
def test_expiry_refreshes_transparently(
    example: Example, move: str, harness_for: HarnessFor, authkit_emulator: EmulatorServer
) -> None:
    harness = harness_for(example)
    emulator = authkit_emulator.emulator
    client = visitor(harness)
    sign_in(client, harness.app, authkit_emulator, "carol@example.com", organization="Acme Inc")
    assert client.get("/api/me", JSON).status_code == 200
    assert emulator.count("refresh_token") == 0

    if move == "expire_session":
        expire_session(harness.app, authkit_emulator)
    else:
        ttl = emulator.config.access_token_ttl + harness.config.jwt_leeway + 1
        advance_clock(harness.app, ttl, authkit_emulator)

    page = client.get("/dashboard", HTML)
    assert page.status_code == 200, page.text
    assert "carol@example.com" in page.text
    assert len(session_cookies(page)) == 1
    assert len(page.headers.get_list("set-cookie")) == 1
    assert emulator.count("refresh_token") == 1

    again = client.get("/api/me", JSON)
    assert again.status_code == 200 and again.json()["email"] == "carol@example.com"
    assert session_cookies(again) == []  # the refreshed cookie is the one sent now
    assert emulator.count("refresh_token") == 1


def test_minted_expired_refreshes_on_first_use(
    example: Example, harness_for: HarnessFor, authkit_emulator: EmulatorServer
) -> None:
    harness = harness_for(example)
    client = visitor(harness)
    sign_in(client, harness.app, authkit_emulator, "bob@example.com", expired=True)
    page = client.get("/dashboard", HTML)
    assert page.status_code == 200 and "Bob Baker" in page.text
    assert len(session_cookies(page)) == 1
    assert authkit_emulator.emulator.count("refresh_token") == 1


def test_revoked_session_is_signed_out_once_expired(
    example: Example, harness_for: HarnessFor, authkit_emulator: EmulatorServer
) -> None:
    harness = harness_for(example)
    client = visitor(harness)
    session = sign_in(client, harness.app, authkit_emulator, "alice@example.com")
    assert client.get("/api/me", JSON).status_code == 200

    assert revoke_session(authkit_emulator, session) is True
    # The access token is not introspected per request: still valid until it expires.
    assert client.get("/api/me", JSON).status_code == 200

    # Once it has expired, the refresh is refused: signed out. (The cookie itself is
    # only deleted after the refresh grace window, see ``_refresh_refused``.)
    expire_session(harness.app, authkit_emulator)
    assert_signed_out(client)
    assert authkit_emulator.emulator.count("refresh_token") >= 1


def test_session_cookie_for_a_raw_header(
    example: Example, harness_for: HarnessFor, authkit_emulator: EmulatorServer
) -> None:
    harness = harness_for(example)
    name, value = session_cookie(harness.app, authkit_emulator, "bob@example.com")
    client = visitor(harness)
    me = client.get("/api/me", {**JSON, "cookie": f"{name}={value}"})
    assert me.status_code == 200 and me.json()["email"] == "bob@example.com"
    assert_signed_out(client)  # nothing was put in the jar
