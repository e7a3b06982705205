"""``core.lane.memo_lane``, the lane's steady-state front: it may only answer what the
engine's own lane (``AuthKit._lane``) would, from what that lane already decided.

- unit: the closure over plain sets and a dict, with a fake clock;
- a hypothesis property: on any sequence of requests, ``kit.lane`` (the front) and
  ``kit._lane`` (the engine alone) give the same answer;
- the engine's bookkeeping: which paths and headers the front may answer, bounded;
- end to end: a mounted callback is never answered from memory, a replaced clock is
  the one the front reads, debug mode has no front.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from authkit_test_support.clock import Clock
from authkit_test_support.middleware import (
    ORIGIN,
    call_wsgi,
    emulator_settings,
    get_environ,
    in_or_out_app,
    seal_session,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from authkit_middleware import AuthKitWSGIMiddleware
from authkit_middleware.core.auth import ANONYMOUS, Auth, User
from authkit_middleware.core.config import AuthKitConfig
from authkit_middleware.core.engine import ANONYMOUS_HEADER_MEMO, HEADER_MEMO_SLACK, AuthKit
from authkit_middleware.core.lane import UNREADABLE, LaneMiss, memo_lane, no_lane
from authkit_middleware.core.rules import _MEMO_SIZE
from authkit_middleware.emulator.server import EmulatorServer

PASSWORD = "memo-lane-tests-cookie-password-0123456789"
ALICE = Auth(user=User(id="user_alice"))

# --------------------------------------------------------------------------- unit


class _Otherwise:
    """The engine's lane stand-in: records each call, answers ``"engine"``."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def __call__(self, path: Any, root_path: Any, cookie_header: Any) -> Any:
        self.calls.append((path, root_path, cookie_header))
        return "engine"


def _front(now: list[float]) -> tuple[Any, _Otherwise]:
    otherwise = _Otherwise()
    lane = memo_lane(
        {"/", "/dash"},
        {"/"},
        {"h=1; wos-session=v": (ALICE, 100.0)},
        {"theme=dark"},
        lambda: now[0],
        ANONYMOUS,
        otherwise,
    )
    return lane, otherwise


def test_a_remembered_header_is_answered_until_its_entry_expires() -> None:
    now = [99.0]
    lane, otherwise = _front(now)
    assert lane("/dash", "", "h=1; wos-session=v") is ALICE
    assert lane("/", "/mount", "h=1; wos-session=v") is ALICE
    assert otherwise.calls == []
    now[0] = 100.0  # the entry's expiry: the engine decides (a refresh is due)
    assert lane("/dash", "", "h=1; wos-session=v") == "engine"
    assert otherwise.calls == [("/dash", "", "h=1; wos-session=v")]


def test_only_listed_paths_and_exact_headers_are_answered() -> None:
    lane, otherwise = _front([0.0])
    assert lane("/other", "", "h=1; wos-session=v") == "engine"  # not a session path
    assert lane("/dash", "", "h=1; wos-session=v ") == "engine"  # not the same header
    assert lane("/dash", "", b"h=1; wos-session=v") == "engine"  # bytes never match str
    assert lane(None, None, "h=1; wos-session=v") == "engine"
    assert len(otherwise.calls) == 4


def test_signed_out_is_answered_on_open_paths_only() -> None:
    lane, otherwise = _front([0.0])
    assert lane("/", "", None) is ANONYMOUS
    assert lane("/", "", "") is ANONYMOUS
    assert lane("/", "", "theme=dark") is ANONYMOUS  # remembered: no session cookie
    # A sign-in path, an unknown header, a path not seen: the engine's to answer.
    assert lane("/dash", "", None) == "engine"
    assert lane("/dash", "", "theme=dark") == "engine"
    assert lane("/", "", "theme=light") == "engine"
    assert lane("/x", "", None) == "engine"
    assert len(otherwise.calls) == 4


def test_a_lane_miss_is_false_and_every_auth_is_true() -> None:
    assert not LaneMiss("h", "v", None)
    assert not LaneMiss("h", None, UNREADABLE)
    assert LaneMiss("h", "v", None) == ("h", "v", None)
    assert ANONYMOUS and ALICE and Auth()
    assert no_lane("/", "", "wos-session=x") is None


# --------------------------------------------------------------------------- property

_CALLBACK = "/app/auth/callback"


def _kit() -> AuthKit:
    config = AuthKitConfig(
        api_key="sk_test_memo_lane",
        client_id="client_memo_lane",
        redirect_uri=f"{ORIGIN}{_CALLBACK}",
        cookie_password=PASSWORD,
        protected_paths=("/dash*", "/admin"),
        permission_rules={"/admin": ["widgets:write"]},
    )
    return AuthKit(config)


_PATHS = [
    "/",
    "/dash",
    "/dash/x",
    "/admin",
    "/login",
    "/logout",
    "/callback",
    "/auth/callback",
    _CALLBACK,
    "/caf\xc3\xa9",  # what a WSGI server hands over for /café
    "/café",
    "",
    None,
    "dash",
]
_ROOTS = ["", "/app", "/app/auth", None]
_HEADERS = [
    None,
    "",
    "theme=dark",
    "wos-session=alice",
    "theme=dark; wos-session=alice",
    "wos-session=unknown",
    "wos-session.0=al; wos-session.1=ice",
    "wos-session=Bearer x",
    "_ga=1; theme=dark",
    b"theme=dark; wos-session=alice",
    b"theme=dark",
]


def _same(a: Any, b: Any) -> bool:
    return a is b or (isinstance(a, LaneMiss) and a == b)


@settings(max_examples=300, deadline=None)
@given(
    steps=st.lists(
        st.tuples(
            st.sampled_from(_PATHS),
            st.sampled_from(_ROOTS),
            st.sampled_from(_HEADERS),
            st.sampled_from(["request", "tick", "sign_out"]),
        ),
        max_size=40,
    )
)
def test_the_front_answers_what_the_engine_answers(steps: list[tuple[Any, ...]]) -> None:
    """Whatever came before (the front's sets filled, the clock moved past the
    session's expiry, the session signed out), the front and the engine agree."""
    kit = _kit()
    clock = Clock()
    kit.clock = clock
    kit.sessions.put("alice", ALICE, clock() + 600.0)
    for path, root, header, action in steps:
        if action == "tick":
            clock.offset += 200.0
            continue
        if action == "sign_out":
            kit.sessions.pop("alice")
            continue
        front = kit.lane(path, root, header)
        engine = kit._lane(path, root, header)
        assert _same(front, engine), (path, root, header, front, engine)
        # And again, now that both have seen it (the sets and memos are filled).
        assert _same(kit.lane(path, root, header), kit._lane(path, root, header))


# --------------------------------------------------------------------------- bookkeeping


def test_the_front_never_answers_a_route_a_mounted_callback_or_a_rule_path() -> None:
    kit = _kit()
    kit.sessions.put("alice", ALICE, 1e12)
    for path, root, header in itertools.product(_PATHS, _ROOTS, _HEADERS):
        kit.lane(path, root, header)
        kit.lane(path, root, header)
    assert set(kit._session_paths) == {"/", "/dash", "/dash/x"}
    assert set(kit._open_paths) == {"/"}
    # A signed-in browser at /app + /auth/callback reaches the callback, not the app.
    assert kit.lane("/auth/callback", "/app", "wos-session=alice") is None
    assert kit.lane("/callback", "/app/auth", "wos-session=alice") is None


def test_the_front_s_paths_and_headers_are_bounded() -> None:
    kit = _kit()
    for i in range(3 * _MEMO_SIZE):
        kit.lane(f"/page/{i}", "", None)
        assert len(kit._session_paths) <= _MEMO_SIZE
        assert kit._open_paths.keys() <= kit._session_paths.keys()
    for i in range(3 * ANONYMOUS_HEADER_MEMO):
        kit.lane("/", "", f"n={i}")
        assert len(kit._anonymous_headers) <= ANONYMOUS_HEADER_MEMO
    assert "n=0" not in kit._anonymous_headers
    assert kit.lane("/", "", f"n={3 * ANONYMOUS_HEADER_MEMO - 1}") is ANONYMOUS


def test_only_headers_without_any_session_cookie_are_remembered_as_signed_out() -> None:
    kit = _kit()
    kit.sessions.put("alice", ALICE, 1e12)
    long = "junk=" + "x" * HEADER_MEMO_SLACK
    for header in ("wos-session=alice", "wos-session.0=al; wos-session.1=ice", long, "a=1"):
        assert kit.lane("/", "", header) is not None or header.startswith("wos-session.0")
    assert set(kit._anonymous_headers) == {"a=1"}
    assert kit.lane("/", "", long) is ANONYMOUS  # answered, just not remembered


# --------------------------------------------------------------------------- end to end


def _middleware(server: EmulatorServer, **options: Any) -> AuthKitWSGIMiddleware:
    settings = emulator_settings(
        server, cookie_password=PASSWORD, **{"protected_paths": ("/dash",), **options}
    )
    return AuthKitWSGIMiddleware(in_or_out_app, **settings)


def _value(mw: AuthKitWSGIMiddleware, server: EmulatorServer) -> str:
    return seal_session(mw.kit, server.emulator.issue_session("alice@example.com"))


def _signed_in_three_times(mw: AuthKitWSGIMiddleware, header: str) -> None:
    """First sight, then found by value (the header is remembered), then the front."""
    for _ in range(3):
        answer = call_wsgi(mw, get_environ("/dash", cookie=header, HTTP_ORIGIN=ORIGIN))
        assert answer.status.startswith("200") and answer.body == b"in"
    assert header in mw.kit._header_memo


def test_a_mounted_callback_is_never_answered_from_memory(server: EmulatorServer) -> None:
    mw = _middleware(server, redirect_uri=f"{ORIGIN}/app/callback")
    header = f"theme=dark; wos-session={_value(mw, server)}"
    _signed_in_three_times(mw, header)
    environ = get_environ(
        "/callback", cookie=header, SCRIPT_NAME="/app", QUERY_STRING="code=x&state=y"
    )
    answer = call_wsgi(mw, environ)
    # The callback ran (a state mismatch: 4xx), the app was not called.
    assert answer.status.startswith("4"), answer.status
    assert answer.body != b"in"


def test_a_replaced_clock_is_the_one_the_front_reads(server: EmulatorServer) -> None:
    mw = _middleware(server)
    header = f"wos-session={_value(mw, server)}"
    _signed_in_three_times(mw, header)
    assert mw.kit.lane("/dash", "", header) is not None
    clock = Clock()
    mw.kit.clock = clock
    assert mw.kit.clock is clock
    clock.offset = 400.0  # past the 300 s token: never served from memory
    assert not mw.kit.lane("/dash", "", header)


def test_debug_mode_has_no_front(server: EmulatorServer) -> None:
    mw = _middleware(server, debug=True)
    assert mw.kit.lane is no_lane
    mw.kit.clock = Clock()
    assert mw.kit.lane is no_lane
    header = f"wos-session={_value(mw, server)}"
    for _ in range(3):
        assert call_wsgi(mw, get_environ("/dash", cookie=header)).body == b"in"


@pytest.mark.parametrize("raw", ["/caf\xc3\xa9", "/\xe9"])
def test_a_non_ascii_wsgi_path_takes_the_full_path(server: EmulatorServer, raw: str) -> None:
    """WSGI hands over latin-1 decoded bytes: the rules must see the UTF-8 path."""
    mw = _middleware(server, protected_paths=("/café",))
    assert mw.kit.lane(raw, "", None) is None
    answer = call_wsgi(mw, get_environ(raw))
    expected = "401" if raw == "/caf\xc3\xa9" else "200"
    assert answer.status.startswith(expected), answer.status
