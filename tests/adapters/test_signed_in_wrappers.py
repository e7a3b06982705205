"""The signed-in wrappers of ``start_response`` (WSGI) and ``send`` (ASGI): every
fast-lane hit goes through them. They pass the common header names over in one
lookup (``COMMON_HEADER_NAMES``) and append the defaults when the app set neither
Cache-Control nor Vary; whatever the app sent, the answer must be the full rewrite's.

- the shortcut's names are never a cache header, in any spelling;
- hypothesis: for any header list (common names, Cache-Control and Vary in any case,
  other names), each wrapper sends exactly what the full rewrite would;
- end to end: an app that sets its own cache headers, in odd spellings, on a
  signed-in request answered by the front gets one merged Cache-Control and Vary.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from authkit_test_support.middleware import (
    call_wsgi,
    emulator_settings,
    get_environ,
    seal_session,
)
from hypothesis import given
from hypothesis import strategies as st

from authkit_middleware import AuthKitMiddleware, AuthKitWSGIMiddleware, asgi, wsgi
from authkit_middleware.core.http import COMMON_HEADER_NAMES
from authkit_middleware.emulator import Emulator
from authkit_middleware.emulator.server import EmulatorServer

PASSWORD = "signed-in-wrapper-tests-cookie-password-0123"
CACHE_NAMES = ("cache-control", "vary")


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with Emulator().serve() as srv:
        yield srv


def test_the_shortcut_never_passes_over_a_cache_header() -> None:
    for names in (COMMON_HEADER_NAMES, wsgi._OTHER_HEADER_NAMES):
        assert all(name.lower() not in CACHE_NAMES for name in names)
    assert all(name.lower() not in (b"cache-control", b"vary") for name in asgi._OTHER_HEADER_NAMES)
    # Both spellings a framework sends: as listed (Werkzeug, Django) and lowercase.
    assert {"Content-Type", "content-type"} <= set(wsgi._OTHER_HEADER_NAMES)
    assert b"content-type" in asgi._OTHER_HEADER_NAMES


def _any_case(name: str) -> st.SearchStrategy[str]:
    return st.tuples(*(st.sampled_from((c.lower(), c.upper())) for c in name)).map("".join)


_NAMES = st.one_of(
    st.sampled_from(COMMON_HEADER_NAMES),
    st.sampled_from(COMMON_HEADER_NAMES).map(str.lower),
    st.sampled_from(CACHE_NAMES).flatmap(_any_case),
    st.from_regex(r"\AX-[A-Za-z]{1,12}\Z"),
    st.sampled_from(("Vary-Not", "Cache-Controls", "Expires", "Pragma", "ETAG")),
)
_VALUES = st.from_regex(r"\A[ -~]{0,30}\Z")
_HEADERS = st.lists(st.tuples(_NAMES, _VALUES), max_size=8)


@given(_HEADERS)
def test_wsgi_wrapper_sends_what_the_full_rewrite_would(headers: list[tuple[str, str]]) -> None:
    sent: list[tuple[str, list[tuple[str, str]], Any]] = []

    def start_response(status: str, out: list[tuple[str, str]], exc_info: Any = None) -> None:
        sent.append((status, out, exc_info))

    before = list(headers)
    wsgi._session_start_response(start_response, "200 OK", headers)
    assert sent == [("200 OK", wsgi._rewrite_headers(before, ()), None)]
    assert headers == before  # the app's own list is left as it was
    out = sent[0][1]
    assert sum(1 for name, _ in out if name.lower() == "cache-control") == 1
    assert sum(1 for name, _ in out if name.lower() == "vary") == 1


@given(_HEADERS)
def test_asgi_wrapper_sends_what_the_full_rewrite_would(headers: list[tuple[str, str]]) -> None:
    raw = [(name.lower().encode(), value.encode()) for name, value in headers]
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    message = {"type": "http.response.start", "status": 200, "headers": list(raw)}
    asyncio.run(asgi._signed_in_send(send, message))
    assert sent == [{**message, "headers": asgi._cache_headers(raw, ())}]
    assert message["headers"] == raw


def _apps_own_cache_headers(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response(
        "200 OK",
        [
            ("Content-Type", "text/plain"),
            ("CACHE-CONTROL", "public, max-age=60"),
            ("vary", "Accept-Encoding"),
        ],
    )
    return [b"in" if environ["authkit"].is_authenticated else b"out"]


def test_the_front_merges_an_apps_own_cache_headers_wsgi(server: EmulatorServer) -> None:
    mw = AuthKitWSGIMiddleware(
        _apps_own_cache_headers, **emulator_settings(server, cookie_password=PASSWORD)
    )
    value = seal_session(mw.kit, server.emulator.issue_session("alice@example.com"))
    header = f"theme=dark; wos-session={value}"
    for _ in range(3):  # first sight, found by value, then the front alone
        answer = call_wsgi(mw, get_environ("/dash", cookie=header))
        assert answer.body == b"in"
        cache = [v for k, v in answer.headers if k.lower() == "cache-control"]
        vary = [v for k, v in answer.headers if k.lower() == "vary"]
        assert len(cache) == 1 and "no-store" in cache[0] and "public" not in cache[0]
        assert vary == ["Accept-Encoding, Cookie"]
    assert header in mw.kit._header_memo


def test_the_front_merges_an_apps_own_cache_headers_asgi(server: EmulatorServer) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        headers = [
            (b"content-type", b"text/plain"),
            (b"Cache-Control", b"public, max-age=60"),
            (b"VARY", b"Accept-Encoding"),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"in"})

    mw = AuthKitMiddleware(app, **emulator_settings(server, cookie_password=PASSWORD))
    value = seal_session(mw.kit, server.emulator.issue_session("alice@example.com"))
    header = f"theme=dark; wos-session={value}".encode()

    async def request() -> list[tuple[bytes, bytes]]:
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {
            "type": "http",
            "method": "GET",
            "path": "/dash",
            "root_path": "",
            "query_string": b"",
            "headers": [(b"host", b"localhost:3000"), (b"cookie", header)],
        }
        await mw(scope, receive, send)
        assert sent[0]["status"] == 200
        return list(sent[0]["headers"])

    for _ in range(3):
        headers = asyncio.run(request())
        cache = [v for k, v in headers if k.lower() == b"cache-control"]
        vary = [v for k, v in headers if k.lower() == b"vary"]
        assert len(cache) == 1 and b"no-store" in cache[0] and b"public" not in cache[0]
        assert vary == [b"Accept-Encoding, Cookie"]
    assert header in mw.kit._header_memo
