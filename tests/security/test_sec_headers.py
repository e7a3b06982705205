"""Huge headers, odd paths, websockets and lifespan (checklist D10, H2; rows 15, 39)."""

from __future__ import annotations

import time

import pytest
from sechelpers import SECRET_BODY, SESSION_COOKIE, Harness, check_safe, record_ws_close
from starlette.websockets import WebSocketDisconnect

from authkit_middleware.core.cookies import get_cookie, parse_cookie_header

pytestmark = pytest.mark.category("headers-paths")


@pytest.mark.parametrize("kb", [8, 16, 32, 64])
def test_huge_cookie_header(harness: Harness, kb: int) -> None:
    b = harness.browser()
    filler = "a" * (kb * 1024)
    for cookie in (
        f"{SESSION_COOKIE}={filler}",
        f"junk={filler}; {SESSION_COOKIE}=x",
        f"{SESSION_COOKIE}.0={filler[:4000]}; {SESSION_COOKIE}.1={filler}",
    ):
        for path in ("/", "/dash", "/auth/me", "/callback?code=x&state=y"):
            r = b.request("GET", path, cookie=cookie, use_jar=False)
            check_safe(r)


def test_many_cookies(harness: Harness) -> None:
    b = harness.browser()
    cookie = "; ".join(f"wos-auth-verifier-{i:08x}=v{i}" for i in range(2000))
    cookie += "; " + "; ".join(f"{SESSION_COOKIE}.{i}=x" for i in range(300))
    for path in ("/", "/dash", "/login", "/logout", "/auth/me"):
        r = b.request("GET", path, cookie=cookie, use_jar=False)
        check_safe(r, trusted=(harness.server.base_url,))
        assert len(r.headers.get_list("set-cookie")) < 64, "deletions must stay bounded"


def test_cve_2024_7592_shape_is_linear(harness: Harness) -> None:
    """Row 15: 8-64 KB of backslashes and quotes: parsing stays linear and fast."""
    for kb in (8, 64):
        nasty = '"' + "\\\\" * (kb * 512) + '"'
        header = f"{SESSION_COOKIE}={nasty}; x={nasty}"
        start = time.perf_counter()
        for _ in range(10):
            parse_cookie_header(header)
            get_cookie(header, SESSION_COOKIE)
        assert (time.perf_counter() - start) / 10 < 0.05
        start = time.perf_counter()
        r = harness.browser().request("GET", "/dash", cookie=header, use_jar=False)
        check_safe(r)
        assert time.perf_counter() - start < 1.0


def test_huge_other_headers(harness: Harness) -> None:
    b = harness.browser()
    big = "x" * 65_000
    for headers in (
        {"accept": "text/html," + big},
        {"authorization": "Bearer " + big},
        {"authorization": "Bearer a.b.c"},
        {"sec-fetch-site": big, "origin": big, "user-agent": big},
    ):
        for path in ("/", "/dash", "/logout", "/auth/me"):
            check_safe(b.request("GET", path, headers=headers), trusted=(harness.server.base_url,))


PATHS = [
    "/DASH",
    "/Dash",
    "/dash/",
    "/dash/../dash",
    "/./dash",
    "//dash",
    "/dash%2F",
    "/%64ash",
    "/dash;x=1",
    "/dash%00",
    "/dash\u00e9",
    "/d\u00e4sh",
    "/dash/%C0%AF",
    "/dash/%ff",
    "/api/%2e%2e/dash",
    "/api/\u65e5\u672c",
    "/callback/..",
    "/login%00",
    "/auth/me/",
    "/%2e%2e/%2e%2e/etc/passwd",
]


@pytest.mark.parametrize("path", PATHS)
def test_odd_paths_never_bypass_protection(harness: Harness, path: str) -> None:
    """Signed out: an odd spelling of a protected path never reaches protected content."""
    b = harness.browser()
    for method in ("GET", "HEAD", "POST", "PUT", "DELETE"):
        r = b.request(method, path)
        check_safe(r, trusted=(harness.server.base_url,))
        assert SECRET_BODY not in r.text


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "POST", "OPTIONS", "FOO"])
def test_methods_on_protected_path(harness: Harness, method: str) -> None:
    r = harness.browser().request(method, "/dash")
    check_safe(r)
    assert r.status_code in (401, 405)


def test_websocket_signed_out_is_closed_4401(emulator: object, server: object) -> None:
    from sechelpers import make_harness

    with make_harness("asgi", server) as h:  # type: ignore[arg-type]
        assert h.ws is not None
        with pytest.raises(WebSocketDisconnect) as info, h.ws("/ws") as ws:
            ws.receive_text()
        assert info.value.code == 4401
        record_ws_close()
        with (
            pytest.raises(WebSocketDisconnect) as info,
            h.ws("/ws", headers={"cookie": f"{SESSION_COOKIE}=garbage"}) as ws,
        ):
            ws.receive_text()
        assert info.value.code == 4401
        record_ws_close()
        # An open websocket passes through, and a signed-in one on /ws works.
        with h.ws("/open-ws") as ws:
            assert ws.receive_text() == SECRET_BODY
        b = h.browser()
        b.login()
        with h.ws("/ws", headers={"cookie": b.cookie_header()}) as ws:
            assert ws.receive_text() == SECRET_BODY
        assert h.events == ["startup"], "lifespan passes through the middleware"
