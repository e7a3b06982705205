"""Hostile session cookies through both adapters (checklist D3, D5, D8, D10, D11; rows 6, 13-16)."""

from __future__ import annotations

import os
import time

import pytest
from sechelpers import (
    OTHER_PASSWORD,
    PASSWORD,
    SESSION_COOKIE,
    Browser,
    Harness,
    check_safe,
    seal_session,
    session_deletions,
    session_sets,
)

from authkit_middleware.core.cookies import MAX_COOKIE_BYTES, parse_cookie_header
from authkit_middleware.core.login_state import create_login_state
from authkit_middleware.core.seal import Sealer
from authkit_middleware.emulator import EmulatorServer

pytestmark = pytest.mark.category("session-cookie")


@pytest.fixture(scope="module")
def valid_cookie(server: EmulatorServer) -> str:
    """A genuine session (access token valid for minutes) sealed with the app password."""
    return seal_session(server.emulator.issue_session("alice@example.com"))


def signed_in(h: Harness) -> tuple[Browser, str]:
    b = h.browser()
    b.login("/")
    value = b.session_cookie()
    assert value is not None and b.is_signed_in()
    return b, value


def _flip(value: str, at: int) -> str:
    ch = value[at]
    return value[:at] + ("A" if ch != "A" else "B") + value[at + 1 :]


def hostile_values(valid: str) -> dict[str, str | bytes]:
    """Name -> the raw session cookie value to plant (str) or the whole header (bytes)."""
    other = Sealer((OTHER_PASSWORD,))
    mine = Sealer((PASSWORD,))
    payload = mine.unseal(valid, purpose="session")
    state = create_login_state(
        mine, return_to="/", custom_state=None, redirect_uri=None, now=time.time()
    )[1]
    rnd = os.urandom(7500).hex()[:10_000]
    return {
        "bitflip-start": _flip(valid, 12),
        "bitflip-middle": _flip(valid, len(valid) // 2),
        "bitflip-end": _flip(valid, len(valid) - 2),
        "truncated-half": valid[: len(valid) // 2],
        "truncated-1": valid[:-1],
        "extended": valid + "A",
        "not-base64": "!!!not*a*seal%%%",
        "empty": "",
        "iron-prefix-only": "Fe26.2*1*",
        "iron-too-many-fields": valid + "*x*y",
        "fernet-shape": "gAAAAA" + "A" * 120,
        "random-10kb": rnd,
        "nul-byte": valid[:40] + "\x00" + valid[41:],
        "other-password": other.seal(payload, purpose="session"),
        "login-state-as-session": state,
        "valid-seal-wrong-shape": mine.seal({"hello": "world"}, purpose="session"),
        "valid-seal-bad-user": mine.seal(
            {"accessToken": "a.b.c", "refreshToken": "r", "user": {"id": ""}}, purpose="session"
        ),
        "valid-seal-garbage-token": mine.seal(
            {"accessToken": "not-a-jwt", "refreshToken": "bogus", "user": {"id": "user_x"}},
            purpose="session",
        ),
        "non-utf8": b"wos-session=\xff\xfe\xfd" + valid[:50].encode(),
        "quoted": f'"{valid}"x',
    }


CASE_NAMES = [
    "bitflip-start",
    "bitflip-middle",
    "bitflip-end",
    "truncated-half",
    "truncated-1",
    "extended",
    "not-base64",
    "empty",
    "iron-prefix-only",
    "iron-too-many-fields",
    "fernet-shape",
    "random-10kb",
    "nul-byte",
    "other-password",
    "login-state-as-session",
    "valid-seal-wrong-shape",
    "valid-seal-bad-user",
    "valid-seal-garbage-token",
    "non-utf8",
    "quoted",
]


@pytest.mark.parametrize("case", CASE_NAMES)
def test_hostile_session_cookie_is_signed_out(
    harness: Harness, valid_cookie: str, case: str
) -> None:
    valid = valid_cookie
    value = hostile_values(valid)[case]
    fresh = harness.browser()
    cookie = value if isinstance(value, bytes) else f"{SESSION_COOKIE}={value}"
    for path in ("/", "/dash", "/api/x", "/auth/me", "/logout"):
        r = fresh.request("GET", path, cookie=cookie, use_jar=False, absorb=False)
        check_safe(r, trusted=(harness.server.base_url,))
        if path in ("/dash", "/api/x"):
            assert r.status_code == 401
        if path == "/auth/me":
            assert r.json()["user"] is None
    assert not fresh.is_signed_in(cookie=cookie)
    # The genuine cookie still works: the rejections above were about the value.
    assert fresh.is_signed_in(cookie=f"{SESSION_COOKIE}={valid}")


@pytest.mark.parametrize(
    "case", ["bitflip-middle", "other-password", "login-state-as-session", "random-10kb"]
)
def test_undecryptable_cookie_is_deleted(harness: Harness, valid_cookie: str, case: str) -> None:
    """D11: anonymous plus a deletion with the cookie's own attributes."""
    valid = valid_cookie
    value = hostile_values(valid)[case]
    r = harness.browser().request("GET", "/", cookie=f"{SESSION_COOKIE}={value}", use_jar=False)
    check_safe(r)
    deletions = session_deletions(r)
    if case == "random-10kb":
        # Above the parser's per-value bound: never read, so nothing to delete.
        assert len(value) > 8192
        return
    assert deletions and "Path=/" in deletions[0] and "HttpOnly" in deletions[0]


def test_cookie_after_logout_is_dead(harness: Harness) -> None:
    b, valid = signed_in(harness)
    r = b.request("POST", "/logout", html=True)
    check_safe(r, trusted=(harness.server.base_url,))
    # The attacker kept a copy of the cookie: it must not sign anyone in again.
    again = harness.browser()
    for path in ("/dash", "/auth/me", "/"):
        r = again.request("GET", path, cookie=f"{SESSION_COOKIE}={valid}", use_jar=False)
        check_safe(r)
    assert not again.is_signed_in(cookie=f"{SESSION_COOKIE}={valid}")


def _chunks(value: str, n: int) -> list[str]:
    size = -(-len(value) // n)
    return [value[i * size : (i + 1) * size] for i in range(n)]


@pytest.mark.parametrize(
    "layout",
    ["missing-middle", "reordered", "gap", "too-many", "stale-extra-contiguous", "duplicated"],
)
def test_tampered_chunks_are_signed_out(harness: Harness, valid_cookie: str, layout: str) -> None:
    """Row 16: chunks that do not reassemble to our seal are anonymous, never a crash."""
    valid = valid_cookie
    parts = _chunks(valid, 3)
    names = {
        "missing-middle": [(0, parts[0]), (2, parts[2])],
        "reordered": [(0, parts[1]), (1, parts[0]), (2, parts[2])],
        "gap": [(0, parts[0]), (1, parts[1]), (3, parts[2])],
        "too-many": [(i, p) for i, p in enumerate(_chunks(valid, 5))],
        "stale-extra-contiguous": [(0, parts[0]), (1, parts[1]), (2, parts[2]), (3, "Zm9v")],
        "duplicated": [(0, parts[0]), (1, parts[0]), (2, parts[2])],
    }[layout]
    cookie = "; ".join(f"{SESSION_COOKIE}.{i}={p}" for i, p in names)
    fresh = harness.browser()
    r = fresh.request("GET", "/dash", cookie=cookie, use_jar=False)
    check_safe(r)
    assert r.status_code == 401
    assert not fresh.is_signed_in(cookie=cookie)


def test_chunks_reassemble_with_foreign_lookalikes(harness: Harness, valid_cookie: str) -> None:
    """Correct reassembly despite ``name.x``/``name.01``/``name.-1`` neighbours."""
    valid = valid_cookie
    parts = _chunks(valid, 3)
    cookie = "; ".join(
        [
            f"{SESSION_COOKIE}.x=junk",
            f"{SESSION_COOKIE}.2={parts[2]}",
            f"{SESSION_COOKIE}.01=junk",
            f"{SESSION_COOKIE}.0={parts[0]}",
            f"{SESSION_COOKIE}.-1=junk",
            f"{SESSION_COOKIE}.1={parts[1]}",
        ]
    )
    r = harness.browser().request("GET", "/dash", cookie=cookie, use_jar=False)
    assert r.status_code == 200
    assert not session_sets(r)


def test_parser_bounds() -> None:
    header = "; ".join(f"c{i}=v" for i in range(5000))
    parsed = parse_cookie_header(header)
    assert len(parsed) < 5000  # the header is cut at the byte cap
    assert MAX_COOKIE_BYTES == 4096
