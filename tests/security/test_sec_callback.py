"""Hostile callbacks through both adapters (checklist B1-B11, A7; rows 1-8, 10, 32)."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from sechelpers import (
    OTHER_PASSWORD,
    PASSWORD,
    REDIRECT_URI,
    SESSION_COOKIE,
    Browser,
    Harness,
    check_safe,
    make_harness,
    note_secret,
    seal_session,
)

from authkit_middleware.core.login_state import create_login_state, verifier_cookie_name
from authkit_middleware.core.seal import Sealer
from authkit_middleware.emulator import Emulator, EmulatorServer

pytestmark = pytest.mark.category("callback")


def flow(b: Browser) -> tuple[str, str, str]:
    """Start a sign-in and let the emulator answer: (callback path, code, state)."""
    _, url = b.start_login("returnTo=/dash")
    callback = b.authorize(url)
    query = parse_qs(urlsplit(callback).query)
    return callback, query["code"][0], query["state"][0]


def exchanges(emulator: Emulator) -> int:
    return emulator.count("authorization_code")


def refused(h: Harness, b: Browser, path: str, *, method: str = "GET", status: int = 400) -> None:
    before = exchanges(h.emulator)
    r = b.request(method, path, html=True)
    check_safe(r, trusted=(h.server.base_url,))
    assert r.status_code == status, (r.status_code, r.text[:200])
    assert exchanges(h.emulator) == before, "a refused callback reached WorkOS"
    assert not b.is_signed_in()


def test_missing_params(harness: Harness) -> None:
    b = harness.browser()
    _, code, state = flow(b)
    q = quote(state, safe="")
    refused(harness, b, "/callback")
    refused(harness, b, f"/callback?code={code}")
    refused(harness, b, f"/callback?state={q}")
    refused(harness, b, f"/callback?code=&state={q}")
    refused(harness, b, f"/callback?code={code}&state=")


def test_no_flow_cookie_login_csrf(harness: Harness) -> None:
    """Row 2: the attacker's own valid code+state opened in the victim's browser."""
    attacker = harness.browser()
    callback, _, _ = flow(attacker)
    victim = harness.browser()
    refused(harness, victim, callback)


def test_mismatched_state(harness: Harness) -> None:
    b = harness.browser()
    _, code1, _ = flow(b)
    _, _, state2 = flow(b)
    other = harness.browser()
    _, _, foreign = flow(other)
    # b holds cookies for flows 1 and 2; the state of someone else's flow matches none.
    refused(harness, b, f"/callback?code={code1}&state={quote(foreign, safe='')}")
    # state2's own cookie is there but the tampered state differs from it.
    tampered = state2[:-3] + ("AAA" if not state2.endswith("AAA") else "BBB")
    refused(harness, b, f"/callback?code={code1}&state={quote(tampered, safe='')}")


@pytest.mark.parametrize("param", ["code", "state", "iss", "error"])
def test_repeated_params(harness: Harness, param: str) -> None:
    b = harness.browser()
    callback, code, state = flow(b)
    extra = {
        "code": f"code={code}",
        "state": f"state={quote(state, safe='')}",
        "iss": "iss=x&iss=x",
        "error": "error=x&error=x",
    }[param]
    refused(harness, b, f"{callback}&{extra}")
    # B3: the flow cookie was cleared by the refusal, so the clean URL fails too.
    refused(harness, b, callback)


def test_issuer_mismatch(emulator: Emulator, server: EmulatorServer) -> None:
    for kind in ("asgi", "wsgi"):
        with make_harness(kind, server, issuer=emulator.issuer) as h:
            b = h.browser()
            callback, _, _ = flow(b)
            refused(h, b, callback + "&iss=" + quote("https://evil.example", safe=""))
            b2 = h.browser()
            callback, _, _ = flow(b2)
            r = b2.get(callback + "&iss=" + quote(emulator.issuer, safe=""))
            assert r.status_code == 302 and b2.is_signed_in()


def test_error_description_is_escaped(harness: Harness) -> None:
    b = harness.browser()
    _, _, state = flow(b)
    script = "<script>alert(document.cookie)</script><img src=x onerror=alert(1)>"
    path = (
        f"/callback?error=access_denied&error_description={quote(script, safe='')}"
        f"&state={quote(state, safe='')}"
    )
    before = exchanges(harness.emulator)
    r = b.get(path, html=True)
    check_safe(r)
    assert r.status_code == 400
    assert "<script>" not in r.text and "<img" not in r.text
    assert "&lt;script&gt;" in r.text
    assert "default-src 'none'" in r.headers["content-security-policy"]
    assert exchanges(harness.emulator) == before
    # B4: the flow cookie is cleared.
    assert verifier_cookie_name(state) not in b.jar


def test_error_without_state_and_json_clients(harness: Harness) -> None:
    b = harness.browser()
    r = b.get("/callback?error=%3Cb%3Ex%3C/b%3E&error_description=%22%27%3E%3Csvg%3E")
    check_safe(r)
    assert r.status_code == 400 and r.headers["content-type"].startswith("application/json")
    assert "<svg>" not in r.text or r.json()["error_description"].endswith("<svg>")


def test_replayed_callback_url(harness: Harness) -> None:
    """Row 3: a consumed flow cannot be replayed, not even by the same browser."""
    b = harness.browser()
    callback, _, _ = flow(b)
    r = b.get(callback)
    assert r.status_code == 302 and b.is_signed_in()
    assert exchanges(harness.emulator) == 1
    b.request("POST", "/logout")
    refused(harness, b, callback)
    assert exchanges(harness.emulator) == 1


def test_replayed_code_in_a_new_flow(harness: Harness) -> None:
    """Row 32: a used code with a fresh, valid flow: WorkOS refuses -> 400, no session."""
    b = harness.browser()
    callback, code, _ = flow(b)
    assert b.get(callback).status_code == 302
    b.request("POST", "/logout")
    _, url = b.start_login()
    state = parse_qs(urlsplit(url).query)["state"][0]
    r = b.get(f"/callback?code={code}&state={quote(state, safe='')}", html=True)
    check_safe(r)
    assert r.status_code == 400 and "code_exchange_failed" in r.text
    assert not b.is_signed_in()


def test_code_injection_pkce_mismatch(harness: Harness) -> None:
    """Row 4: the victim's code pasted into the attacker's flow fails PKCE at WorkOS."""
    victim = harness.browser()
    _, victim_code, _ = flow(victim)
    attacker = harness.browser()
    _, url = attacker.start_login()
    state = parse_qs(urlsplit(url).query)["state"][0]
    r = attacker.get(f"/callback?code={victim_code}&state={quote(state, safe='')}", html=True)
    check_safe(r)
    assert r.status_code == 400
    assert exchanges(harness.emulator) == 1
    assert not attacker.is_signed_in()


def _plant(b: Browser, sealed: str) -> None:
    b.jar[verifier_cookie_name(sealed)] = sealed


def test_hostile_flow_states(harness: Harness) -> None:
    """Row 5 and 6: wrong key, expired, future, a session seal as state - no exchange."""
    b = harness.browser()
    _, code, _ = flow(b)
    now = time.time()
    mine = Sealer((PASSWORD,))
    other = Sealer((OTHER_PASSWORD,))
    cases = {
        "other-password": create_login_state(
            other, return_to="/", custom_state=None, redirect_uri=REDIRECT_URI, now=now
        )[1],
        "issued-61s-in-future": create_login_state(
            mine, return_to="/", custom_state=None, redirect_uri=REDIRECT_URI, now=now + 61
        )[1],
        "issued-601s-ago": create_login_state(
            mine, return_to="/", custom_state=None, redirect_uri=REDIRECT_URI, now=now - 601
        )[1],
        "session-seal-as-state": seal_session(harness.emulator.issue_session("alice@example.com")),
        "wrong-purpose": mine.seal({"nonce": "n"}, purpose="coordinator"),
        "not-a-seal": "x" * 40,
        "huge": "Fe26.2*" + "A" * 20_000,
    }
    for name, sealed in cases.items():
        fresh = harness.browser()
        _plant(fresh, sealed)
        refused(harness, fresh, f"/callback?code={code}&state={quote(sealed, safe='')}")
        assert name


def test_session_cookie_is_not_a_flow_state(harness: Harness) -> None:
    """A7 the other way round is in test_sec_cookies (login-state-as-session)."""
    value = seal_session(harness.emulator.issue_session("alice@example.com"))
    b = harness.browser()
    b.jar[verifier_cookie_name(value)] = value
    refused(harness, b, f"/callback?code=abcdefgh1234&state={quote(value, safe='')}")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/callback"),
        ("PUT", "/callback"),
        ("DELETE", "/callback"),
        ("PATCH", "/callback"),
        ("PUT", "/login"),
        ("DELETE", "/login"),
        ("POST", "/login"),
        ("PUT", "/logout"),
        ("DELETE", "/logout"),
        ("PUT", "/signup"),
    ],
)
def test_bad_methods(harness: Harness, method: str, path: str) -> None:
    b = harness.browser()
    callback, _, _ = flow(b)
    target = callback if path == "/callback" else path
    refused(harness, b, target, method=method, status=405)


def test_spoofed_host_headers(harness: Harness) -> None:
    """Row 10: Host / X-Forwarded-Host never reach redirect_uri or Location (A1, H3)."""
    b = harness.browser()
    evil = {"host": "evil.example", "x-forwarded-host": "evil.example", "forwarded": "host=evil"}
    r = b.request("GET", "/login?returnTo=/dash", headers=evil)
    check_safe(r, trusted=(harness.server.base_url,))
    query = parse_qs(urlsplit(r.headers["location"]).query)
    assert query["redirect_uri"] == [REDIRECT_URI]
    callback = b.authorize(r.headers["location"])
    r = b.request("GET", callback, headers=evil)
    assert r.status_code == 302
    assert r.headers["location"] == "http://localhost:3000/dash"
    r = b.request("GET", "/dash", headers=evil | {"accept": "text/html"})
    assert r.status_code == 200


def test_huge_code_and_state(harness: Harness) -> None:
    b = harness.browser()
    flow(b)
    big = "A" * 30_000
    note_secret(big)
    refused(harness, b, f"/callback?code={big}&state={big}")
    many = "&".join(f"p{i}=v" for i in range(2000))
    refused(harness, b, f"/callback?{many}")


def test_unchanged_session_cookie_not_merged(harness: Harness) -> None:
    """B8: a new sign-in replaces the old session cookie (no merge, no stale chunks)."""
    b = harness.browser()
    b.login(login_hint="alice@example.com")
    first = b.session_cookie()
    b.login(login_hint="carol@example.com")
    assert b.session_cookie() != first
    assert b.me()["user"]["email"] == "carol@example.com"
    assert not any(n.startswith(SESSION_COOKIE + ".") for n in b.jar)
