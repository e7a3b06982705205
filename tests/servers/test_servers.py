"""The full sign-in flow against real servers (uvicorn, hypercorn, gunicorn, waitress).

Every combo (see ``matrix.py``) is one server subprocess on its own port, pointed at
an emulator in this process (auto-login). Requests go over real sockets with httpx;
each test has its own cookie jar. Mounted combos serve the app under ``/app`` and
every URL, redirect and ``returnTo`` must keep that prefix.
"""

from __future__ import annotations

import dataclasses
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from authkit_middleware.emulator import Emulator
from authkit_middleware.emulator.server import EmulatorServer

from .harness import (
    EXPIRY_TTL,
    HTML,
    JSON,
    REFRESH_BUFFER,
    AppTarget,
    RunningServer,
    client,
    example_targets,
    serving,
    session_cookies,
    sign_in,
    verifier_cookies,
)
from .matrix import combos

pytestmark = pytest.mark.slow
over_combos = pytest.mark.parametrize("running", combos(), ids=lambda c: c.id, indirect=True)

ALICE = "alice@example.com"
BOB = "bob@example.com"


def shows_user(text: str, email: str = ALICE) -> bool:
    """A protected page shows the user by email or by name."""
    names = {ALICE: "Alice Anderson", BOB: "Bob Baker"}
    return email in text or names.get(email, "\x00") in text


def assert_json_error(response: object, status: int, code: str) -> None:
    """``status`` with a JSON body naming the error: the middleware's ``{"error": code}``
    or a framework's own shape (FastAPI: ``{"detail": ...}``)."""
    assert response.status_code == status, response.text[:300]  # type: ignore[attr-defined]
    ctype = response.headers["content-type"]  # type: ignore[attr-defined]
    assert ctype.startswith("application/json"), ctype
    body = response.json()  # type: ignore[attr-defined]
    assert body.get("error") == code or "detail" in body, body


def session_set_cookies(response: object, name: str = "wos-session") -> list[str]:
    headers = response.headers.get_list("set-cookie")  # type: ignore[attr-defined]
    return [h for h in headers if h.startswith((f"{name}=", f"{name}."))]


@over_combos
def test_public_home_is_open(running: RunningServer, emulator: Emulator) -> None:
    with client() as http:
        response = http.get(running.url("/"))
    assert response.status_code == 200, response.text[:500]
    assert not response.headers.get_list("set-cookie")


@over_combos
def test_api_signed_out_is_401_json(running: RunningServer, emulator: Emulator) -> None:
    with client() as http:
        response = http.get(running.url("/api/me"), headers=JSON)
    assert_json_error(response, 401, "unauthorized")
    assert "no-store" in response.headers["cache-control"]


@over_combos
def test_protected_page_redirects_to_login_keeping_prefix(
    running: RunningServer, emulator: Emulator
) -> None:
    with client() as http:
        response = http.get(running.url("/dashboard"), params={"tab": "a b"})
    assert response.status_code == 307
    location = urlsplit(response.headers["location"])
    assert location.path == f"{running.prefix}/login"
    assert parse_qs(location.query)["returnTo"] == ["/dashboard?tab=a+b"]
    assert "no-store" in response.headers["cache-control"]


@over_combos
def test_sign_in_lands_on_the_deep_link(running: RunningServer, emulator: Emulator) -> None:
    with client() as http:
        response = sign_in(http, running, "/dashboard?tab=usage&page=2")
        assert response.status_code == 200, response.text[:500]
        final = urlsplit(str(response.url))
        assert final.path == f"{running.prefix}/dashboard"
        assert parse_qs(final.query) == {"tab": ["usage"], "page": ["2"]}
        assert shows_user(response.text)
        # /dashboard -> /login -> emulator authorize -> callback -> /dashboard
        assert [r.status_code for r in response.history] == [307, 302, 302, 302]
        assert "no-store" in response.headers["cache-control"]
        assert session_cookies(http) == ["wos-session"]
        assert verifier_cookies(http) == []  # the callback expired this flow's verifier
        me = http.get(running.url("/api/me"), headers=JSON)
        assert me.status_code == 200
        assert ALICE in me.text
        session = http.get(running.url("/auth/me"), headers=JSON).json()
        assert session["authenticated"] is True
        assert session["user"]["email"] == ALICE
    assert emulator.count("authorization_code") == 1


@over_combos
def test_permission_guarded_route(running: RunningServer, emulator: Emulator) -> None:
    admin = running.target.admin_path
    with client() as http:
        sign_in(http, running, "/", ALICE)
        allowed = http.get(running.url(admin))
        assert allowed.status_code == 200, allowed.text[:500]
    with client() as http:
        sign_in(http, running, "/", BOB)
        html = http.get(running.url(admin))
        api = http.get(running.url(admin), headers=JSON)
    assert html.status_code == 403
    assert api.status_code == 403  # JSON from the middleware; the starlette example: a page
    if api.headers["content-type"].startswith("application/json"):
        assert_json_error(api, 403, "forbidden")


@over_combos
def test_expired_access_token_is_refreshed_transparently(
    running: RunningServer, emulator: Emulator
) -> None:
    emulator.set_access_token_ttl(EXPIRY_TTL)
    with client() as http:
        assert sign_in(http, running, "/dashboard").status_code == 200
        # /auth/me reports the current token's expiry (a new one if a slow sign-in
        # already crossed the refresh point), so the sleep ends where one is due.
        expires_at = http.get(running.url("/auth/me"), headers=JSON).json()["expires_at"]
        # Sleep just past the refresh point (expiry minus the buffer): ~2 s, bounded.
        wait = expires_at - REFRESH_BUFFER - time.time() + 0.25
        assert wait <= EXPIRY_TTL
        time.sleep(max(wait, 0.0))
        before = emulator.count("refresh_token")
        old = http.cookies.get("wos-session")
        response = http.get(running.url("/dashboard"))
        assert response.status_code == 200, response.text[:500]
        assert shows_user(response.text)
        assert len(session_set_cookies(response)) == 1  # one Set-Cookie for the session
        assert emulator.count("refresh_token") == before + 1
        assert http.cookies.get("wos-session") != old
        # The new cookie is good as it is: no second refresh, no new cookie.
        again = http.get(running.url("/api/me"), headers=JSON)
        assert again.status_code == 200
        assert not session_set_cookies(again)
        assert emulator.count("refresh_token") == before + 1


@over_combos
def test_sign_out_ends_the_session_at_the_emulator(
    running: RunningServer, emulator: Emulator
) -> None:
    with client() as http:
        sign_in(http, running, "/dashboard")
        old_cookie = http.cookies.get("wos-session")
        session_id = http.get(running.url("/auth/me"), headers=JSON).json()["session_id"]
        assert [s["id"] for s in emulator.sessions()] == [session_id]

        response = http.post(running.url("/logout"))
        assert response.status_code == 303
        deletions = session_set_cookies(response)
        assert deletions and all("Max-Age=0" in c for c in deletions)
        logout_url = response.headers["location"]
        assert logout_url.startswith(emulator.base_url + "/user_management/sessions/logout")
        assert session_cookies(http) == []

        # The browser follows the redirect: the emulator ends the session, comes back.
        back = http.get(logout_url, follow_redirects=True)
        assert back.status_code == 200, back.text[:500]
        assert urlsplit(str(back.url)).netloc == urlsplit(running.origin).netloc
        assert emulator.sessions() == []

        again = http.get(running.url("/dashboard"))
        assert again.status_code == 307
        assert urlsplit(again.headers["location"]).path == f"{running.prefix}/login"

    # A copy of the old cookie is dead too, although its access token has not expired.
    with client() as thief:
        replay = {"cookie": f"wos-session={old_cookie}"}
        page = thief.get(running.url("/dashboard"), headers={**HTML, **replay})
        api = thief.get(running.url("/api/me"), headers={**JSON, **replay})
    assert page.status_code == 307
    assert api.status_code == 401


@over_combos
@pytest.mark.parametrize(
    "cookie",
    ["wos-session=garbage", "wos-session=Fe26.2**x*y", "wos-session.0=abc; wos-session.1=def"],
    ids=["garbage", "bad-seal", "bad-chunks"],
)
def test_garbage_cookie_is_signed_out_never_500(
    running: RunningServer, emulator: Emulator, cookie: str
) -> None:
    with client() as http:
        home = http.get(running.url("/"), headers={**HTML, "cookie": cookie})
        page = http.get(running.url("/dashboard"), headers={**HTML, "cookie": cookie})
        api = http.get(running.url("/api/me"), headers={**JSON, "cookie": cookie})
    assert home.status_code == 200, home.text[:500]
    assert page.status_code == 307
    assert urlsplit(page.headers["location"]).path == f"{running.prefix}/login"
    assert_json_error(api, 401, "unauthorized")
    # The unreadable cookie is deleted, not left to fail on every request.
    assert any("Max-Age=0" in c for c in session_set_cookies(page))


@pytest.mark.parametrize(
    "target", [t for t in example_targets() if t.kind == "asgi"], ids=lambda t: t.name
)
def test_hypercorn_loads_the_example_by_its_documented_path(
    emulator_server: EmulatorServer, target: AppTarget
) -> None:
    # hypercorn looks the app up with eval(attr, vars(module)), which misses the examples'
    # lazy module attribute; its factory form is what examples/README.md documents.
    factory = {"app:app": "app:create_app()", "asgi:application": "demo_project:create_asgi_app()"}
    target = dataclasses.replace(target, spec=factory[target.spec])
    env = emulator_server.env()
    with serving("hypercorn", target, env, direct=True) as running, client() as http:
        assert http.get(running.url("/")).status_code == 200
