"""Open redirects: every corpus line through both adapters (checklist A8, C1-C3; row 9)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

import pytest
from sechelpers import ORIGIN, Harness, check_safe, record, same_origin

from authkit_middleware.core.login_state import open_login_state
from authkit_middleware.core.redirects import resolve_return_to

pytestmark = pytest.mark.category("open-redirect")

CORPUS = [
    line
    for line in (Path(__file__).parents[1] / "data" / "openredirects.txt")
    .read_text(encoding="utf-8")
    .splitlines()
    if line.strip()
]
EXTRA = [
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "https://evil.com",
    "//evil.com",
    "/\\evil.com",
    "https:/evil.com",
    "/%09/evil.com",
    "\t//evil.com",
    "/\x00",
    " /evil",
    "/\r\nLocation: https://evil.com",
    "///evil.com",
    "/.//evil.com",
    "\\\\evil.com",
    "/@evil.com",
    "http://localhost:3000@evil.com",
    "/%2F%2Fevil.com",
    "/%252F%252Fevil.com",
    "/\uff45\uff56\uff49\uff4c.com",
    "//evil%E3%80%82com",
]
PAYLOADS = CORPUS + EXTRA


def _variants(line: str) -> list[str]:
    """The line as typed into a URL, the line as a value, and its unescaped form."""
    return [line, unquote(line)]


def _query(value: str, *, raw: bool) -> str:
    return "returnTo=" + (value if raw else quote(value, safe=""))


def test_corpus_size() -> None:
    assert len(CORPUS) >= 550


def test_every_payload_stays_on_origin_via_sealed_state(harness: Harness) -> None:
    """All payloads: /login seals a return path; the callback would redirect home."""
    b = harness.browser()
    kit = harness.kit
    queries: dict[str, str] = {}
    for line in PAYLOADS:
        for value in _variants(line):
            queries.setdefault(_query(value, raw=False), line)
            if not any(c in "#&+%" or not c.isprintable() or c.isspace() for c in value):
                queries.setdefault(_query(value, raw=True), line)
    checked = 0
    for query, line in queries.items():
        r = b.request("GET", "/login?" + query, use_jar=False, absorb=False)
        check_safe(r, trusted=(harness.server.base_url,))
        assert r.status_code == 302
        state = parse_qs(urlsplit(r.headers["location"]).query)["state"][0]
        login_state = open_login_state(kit.sealer, state, now=kit.clock())
        target = resolve_return_to(kit.config.origin, login_state.return_pathname)
        assert same_origin(target), (line, target)
        assert login_state.return_pathname.startswith("/")
        assert not login_state.return_pathname.startswith(("//", "/\\"))
        checked += 1
    assert checked >= len(PAYLOADS)


@pytest.mark.parametrize("index", range(0, len(PAYLOADS), 41))
def test_sample_through_real_callback(harness: Harness, index: int) -> None:
    """A sample of the corpus through login -> WorkOS -> callback: Location stays home."""
    line = PAYLOADS[index]
    for value in _variants(line):
        b = harness.browser()
        location = b.login(value)
        record(302, off_origin=not same_origin(location))
        assert same_origin(location), (line, location)
        assert location.startswith(ORIGIN + "/")
        assert not location[len(ORIGIN) :].startswith("//")


def test_callback_query_cannot_override_return_to(harness: Harness) -> None:
    """A8: returnTo on the callback URL is ignored; only the sealed one counts."""
    b = harness.browser()
    _, url = b.start_login("returnTo=/dash")
    callback = b.authorize(url)
    for extra in ("returnTo=https://evil.com", "return_to=//evil.com", "redirect=//evil.com"):
        callback += "&" + extra
    r = b.get(callback)
    check_safe(r, allow_session=True)
    assert r.headers["location"] == ORIGIN + "/dash"


def test_logout_return_to_is_ignored(harness: Harness) -> None:
    """Row 35 / C4: logout never redirects to a request-supplied URL."""
    b = harness.browser()
    b.login()
    for query in (
        "return_to=https://evil.com",
        "returnTo=//evil.com",
        "redirect_uri=https://e.vil",
    ):
        r = b.request("POST", "/logout?" + query, html=True)
        check_safe(r, trusted=(harness.server.base_url,))
        assert "evil" not in r.headers["location"] and "e.vil" not in r.headers["location"]
        b.login()
