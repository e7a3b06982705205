"""The fast lane answers exactly what the full path would: a differential property.

``debug=True`` makes both adapters skip the lane (every request takes the full path),
so two middlewares alike but for ``debug`` must give the same answer to the same kind
of request: status, who is signed in, whether the session cookie is replaced or
deleted. Every combination of the cookie (none, valid, expired, tampered, another
user's token in it, signed out here, an old password, chunked, junk, bearer-shaped...),
the path (open, sign-in only, permission rules, the middleware's own routes) and the
shape of the Cookie header is tried. The lane's middleware is asked three times (first
sight, then from memory by value, then by the whole header); each middleware gets its
own equivalent session, since refresh tokens are single-use.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from authkit_test_support.middleware import (
    call_wsgi,
    emulator_settings,
    get_environ,
    in_or_out_app,
    seal_session,
)

from authkit_middleware import AuthKitWSGIMiddleware
from authkit_middleware.core.session import TokenResponse, encode_session
from authkit_middleware.core.tokens import unverified_claims
from authkit_middleware.emulator import Emulator
from authkit_middleware.emulator.server import EmulatorServer
from authkit_middleware.testing import mint_session

NEW = "lane-differential-new-password-0123456789ab"
OLD = "lane-differential-old-password-0123456789ab"

KINDS = [
    "none",
    "valid",
    "expired",
    "tampered",
    "other_user_token",
    "signed_out_here",
    "old_password",
    "chunked",
    "junk",
    "bearer_shaped",
    "empty",
]
PATHS = ["/", "/dash", "/admin", "/root", "/auth/me", "/login", "/callback"]
SHAPES = ["alone", "after", "before", "both"]


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with Emulator(access_token_ttl=300).serve() as srv:
        yield srv


def _middleware(server: EmulatorServer, *, debug: bool) -> AuthKitWSGIMiddleware:
    return AuthKitWSGIMiddleware(
        in_or_out_app,
        **emulator_settings(
            server,
            cookie_password=(NEW, OLD),
            protected_paths=("/dash*", "/admin", "/root"),
            permission_rules={"/admin": ["widgets:write"], "/root": ["nobody:has-this"]},
            debug=debug,
        ),
    )


def _cookie_pairs(mw: AuthKitWSGIMiddleware, server: EmulatorServer, kind: str) -> list[str]:
    """``name=value`` pairs carrying a session of ``kind`` for ``mw``."""
    emulator = server.emulator
    kit = mw.kit
    if kind == "none":
        return []
    if kind == "junk":
        return ["wos-session=not-a-seal"]
    if kind == "empty":
        return ["wos-session="]
    if kind == "bearer_shaped":
        return ["wos-session=Bearer x"]
    if kind == "expired":
        return [f"wos-session={mint_session(mw, emulator, expired=True).cookie_value}"]
    tokens = emulator.issue_session("alice@example.com")
    if kind == "old_password":
        old = AuthKitWSGIMiddleware(in_or_out_app, **emulator_settings(server, cookie_password=OLD))
        return [f"wos-session={seal_session(old.kit, tokens)}"]
    if kind == "other_user_token":
        bob = emulator.issue_session("bob@example.com")
        session = TokenResponse.from_dict({**tokens, "access_token": bob["access_token"]})
        value = kit.sealer.seal(encode_session(session.to_session(), camel=True), purpose="session")
        return [f"wos-session={value}"]
    value = seal_session(kit, tokens)
    if kind == "signed_out_here":
        sid = unverified_claims(tokens["access_token"])["sid"]
        kit._ended_sessions.put(sid, True, time.time() + 3600)
    if kind == "tampered":
        at = len(value) // 3
        value = value[:at] + ("A" if value[at] != "A" else "B") + value[at + 1 :]
    if kind == "chunked":
        half = len(value) // 2
        return [f"wos-session.0={value[:half]}", f"wos-session.1={value[half:]}"]
    return [f"wos-session={value}"]


def _header(pairs: list[str], shape: str) -> str | None:
    before = ["_ga=GA1.1.123.456"] if shape in ("before", "both") else []
    after = ["theme=dark"] if shape in ("after", "both") else []
    cookies = before + pairs + after
    return "; ".join(cookies) if cookies else None


def _outcome(answer: Any) -> tuple[Any, ...]:
    """What must agree: status code, who the app or ``/auth/me`` saw, and what
    happened to the session cookie (replaced, deleted, untouched)."""
    status = int(answer.status.split()[0])
    who: Any = answer.body if status == 200 and answer.body in (b"in", b"out") else None
    if status == 200 and answer.body.startswith(b"{"):
        user = json.loads(answer.body).get("user")
        who = None if user is None else user.get("email")
    session = [c for c in answer.set_cookies if c.startswith("wos-session")]
    deleted = any("Max-Age=0" in c for c in session)
    replaced = any("Max-Age=0" not in c for c in session)
    return status, who, deleted, replaced


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("kind", KINDS)
def test_the_lane_answers_what_the_full_path_answers(
    server: EmulatorServer, kind: str, path: str
) -> None:
    """Every kind of cookie on every kind of path, in every header shape (the space is
    small: all of it, rather than a sample)."""
    for shape in SHAPES:
        lane, full = _middleware(server, debug=False), _middleware(server, debug=True)
        extra = {"QUERY_STRING": "code=x&state=y"} if path == "/callback" else {}
        answers = {}
        for name, mw in (("lane", lane), ("full", full)):
            header = _header(_cookie_pairs(mw, server, kind), shape)
            environ = get_environ(path, cookie=header, **extra)
            answers[name] = _outcome(call_wsgi(mw, dict(environ)))
            if name == "lane" and not answers[name][3]:
                # Again (nothing was re-sealed): for a session that verified, found by
                # value (the header is remembered), then by the whole header
                # (``core.lane.memo_lane``); the same answer each time.
                for _ in range(2):
                    again = _outcome(call_wsgi(mw, dict(environ)))
                    assert again == answers[name], (kind, path, shape, again)
        assert answers["lane"] == answers["full"], (kind, path, shape, answers)
