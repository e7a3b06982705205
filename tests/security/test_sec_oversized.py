"""Oversized sessions: chunked within the cap, reassembled, shrunk, refused past the cap
(checklist D7-D9; row 17)."""

from __future__ import annotations

import pytest
from sechelpers import SESSION_COOKIE, Harness, check_safe, parse_set_cookie

from authkit_middleware.core.cookies import MAX_COOKIE_BYTES

pytestmark = pytest.mark.category("oversized-session")


def _big_user(h: Harness, email: str, n: int) -> None:
    h.emulator.add_user(email, first_name="Big", last_name="Perms")
    slugs = [f"resource-{i:04d}:" + "a-long-permission-action-name" for i in range(n)]
    h.emulator.add_membership(email, "Globex", role="admin", permissions=slugs)


def test_large_session_is_chunked_reassembled_and_shrunk(harness: Harness) -> None:
    _big_user(harness, "big@example.com", 150)
    b = harness.browser()
    _, url = b.start_login("login_hint=big@example.com")
    r = b.get(b.authorize(url))
    assert r.status_code == 302, r.text
    sets = [c for c in r.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE)]
    names = [parse_set_cookie(c)[0] for c in sets]
    assert len(names) >= 2 and all(n.startswith(SESSION_COOKIE + ".") for n in names), names
    for header in sets:
        name, value, _ = parse_set_cookie(header)
        assert len(name) + len(value) <= MAX_COOKIE_BYTES
        assert len(header) <= MAX_COOKIE_BYTES
    me = b.me()
    assert me["user"]["email"] == "big@example.com"
    assert len(me["permissions"]) == 150
    assert b.get("/dash").status_code == 200
    # Shrink: sign in as a small user in the same browser: all chunks are deleted.
    b.login(login_hint="alice@example.com")
    assert SESSION_COOKIE in b.jar
    assert not [n for n in b.jar if n.startswith(SESSION_COOKIE + ".")], b.jar.keys()
    assert b.me()["user"]["email"] == "alice@example.com"


@pytest.mark.parametrize("n", [220, 400])
def test_session_past_the_cap_is_a_clear_error(harness: Harness, n: int) -> None:
    _big_user(harness, "huge@example.com", n)
    b = harness.browser()
    _, url = b.start_login("login_hint=huge@example.com")
    r = b.get(b.authorize(url), html=True)
    check_safe(r)
    assert r.status_code == 400
    # 220 slugs: the seal needs > max_cookie_chunks chunks. 400: the access token itself
    # is over the verifier's 16 KiB cap; both are the same clear error, no session.
    assert "cookie_too_large" in r.text
    assert not b.is_signed_in()
    # No cookie above the browser limit was ever emitted.
    for header in r.headers.get_list("set-cookie"):
        assert len(header) <= MAX_COOKIE_BYTES


def test_stored_payload_is_minimal(harness: Harness) -> None:
    """D9: the seal holds the tokens and the user object, never a whole SDK response
    (plus the 22-character attestation of the access token, core.attestation)."""
    b = harness.browser()
    b.login()
    value = b.session_cookie()
    assert value
    data = harness.kit.sealer.unseal(value, purpose="session")
    assert set(data) <= {
        "accessToken",
        "refreshToken",
        "user",
        "impersonator",
        "organizationId",
        "authenticationMethod",
        "attestation",
    }, set(data)
    assert len(data["attestation"]) == 22
