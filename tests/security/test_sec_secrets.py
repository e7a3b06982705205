"""Secrets: __Host- cookies end to end, password rotation, weak configs refused at start-up
(checklist D2, D4, D5, H5; rows 14, 40)."""

from __future__ import annotations

import pytest
from sechelpers import (
    OTHER_PASSWORD,
    PASSWORD,
    SESSION_COOKIE,
    base_options,
    check_safe,
    make_harness,
    parse_set_cookie,
    seal_session,
    session_sets,
)

from authkit_middleware import AuthKitMiddleware, AuthKitWSGIMiddleware
from authkit_middleware.core.errors import ConfigError
from authkit_middleware.emulator import Emulator, EmulatorServer

pytestmark = pytest.mark.category("secrets-config")


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
def test_host_prefix_end_to_end_over_https(kind: str) -> None:
    https = "https://app.example.com/callback"
    with (
        Emulator(auto_login=True, redirect_uris=[https]).serve() as srv,
        make_harness(kind, srv, redirect_uri=https, cookie_name="__Host-wos-session") as h,
    ):
        b = h.browser()
        _, url = b.start_login("returnTo=/dash")
        callback = b.authorize(url)
        r = b.get(callback)
        assert r.status_code == 302 and r.headers["location"] == "https://app.example.com/dash"
        sets = session_sets(r, "__Host-wos-session")
        assert sets
        for header in sets:
            _, _, attrs = parse_set_cookie(header)
            assert "secure" in attrs and attrs.get("path") == "/" and "domain" not in attrs
        for header in r.headers.get_list("set-cookie"):
            assert "Secure" in header  # the verifier deletion too
        assert b.get("/dash").status_code == 200
        assert b.me()["user"]["email"] == "alice@example.com"


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
def test_password_rotation(kind: str, emulator: Emulator, server: EmulatorServer) -> None:
    old_cookie = seal_session(emulator.issue_session("alice@example.com"), OTHER_PASSWORD)
    with make_harness(kind, server, cookie_password=(PASSWORD, OTHER_PASSWORD)) as h:
        b = h.browser()
        r = b.request("GET", "/dash", cookie=f"{SESSION_COOKIE}={old_cookie}", use_jar=False)
        assert r.status_code == 200
        resealed = session_sets(r)
        assert resealed, "an old-password cookie is re-sealed with the primary"
        new_value = parse_set_cookie(resealed[0])[1]
    with make_harness(kind, server, cookie_password=PASSWORD) as h:
        b = h.browser()
        assert b.is_signed_in(cookie=f"{SESSION_COOKIE}={new_value}")
        # The retired password's cookie is anonymous once the password is dropped.
        r = b.request("GET", "/dash", cookie=f"{SESSION_COOKIE}={old_cookie}", use_jar=False)
        check_safe(r)
        assert r.status_code == 401


WEAK = {
    "short-password": {"cookie_password": "x" * 31},
    "samesite-none-insecure": {"cookie_samesite": "none", "cookie_secure": False},
    "http-redirect-off-localhost": {"redirect_uri": "http://app.example.com/callback"},
    "host-prefix-on-http": {"cookie_name": "__Host-session"},
    "host-prefix-with-domain": {
        "redirect_uri": "https://app.example.com/callback",
        "cookie_name": "__Host-session",
        "cookie_domain": "example.com",
    },
    "empty-password-in-rotation": {"cookie_password": (PASSWORD, "")},
}


@pytest.mark.parametrize("case", list(WEAK))
@pytest.mark.parametrize("cls", [AuthKitMiddleware, AuthKitWSGIMiddleware])
def test_weak_settings_refused_at_startup(server: EmulatorServer, case: str, cls: type) -> None:
    options = base_options(server, **WEAK[case])
    with pytest.raises(ConfigError) as info:
        cls(lambda *a: None, **options)
    message = str(info.value)
    assert "x" * 31 not in message and PASSWORD not in message
    assert server.api_key not in message
