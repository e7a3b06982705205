"""safe_return_path / resolve_return_to: only same-origin relative paths survive (C1-C3)."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from authkit_middleware.core.redirects import (
    MAX_RETURN_PATH_LENGTH,
    resolve_return_to,
    safe_return_path,
)

ORIGIN = "https://app.example"
DEFAULT = "/fallback"
CORPUS = Path(__file__).resolve().parent.parent / "data" / "openredirects.txt"
_C0_DEL = re.compile(r"[\x00-\x1f\x7f]")
_TAB_NEWLINE = re.compile(r"[\t\n\r]")  # what the WHATWG URL parser strips anywhere


def _fully_unquoted(value: str) -> str:
    for _ in range(10):
        decoded = unquote(value)
        if decoded == value:
            break
        value = decoded
    return value


def _corpus() -> list[str]:
    lines = CORPUS.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 559
    return lines


def assert_same_origin(result: str) -> None:
    """The result, joined to the app origin, stays on the app origin (Python and a
    WHATWG-like reading: browsers drop TAB/LF/CR and treat '\\' like '/')."""
    if result == DEFAULT:
        return
    assert result.startswith("/")
    assert not result.startswith(("//", "/\\"))
    assert "\\" not in result
    assert not _C0_DEL.search(result)
    browser_view = _TAB_NEWLINE.sub("", result).replace("\\", "/")
    assert not browser_view.startswith("//")
    joined = urlsplit(urljoin(ORIGIN + "/", result))
    assert (joined.scheme, joined.netloc) == ("https", "app.example")
    absolute = resolve_return_to(ORIGIN, result)
    assert absolute == ORIGIN + result
    parsed = urlsplit(absolute)
    assert (parsed.scheme, parsed.netloc) == ("https", "app.example")


# -- the oauth2-proxy corpus ----------------------------------------------------------


def test_corpus_raw_unquoted_once_and_fully() -> None:
    kept = 0
    for line in _corpus():
        for candidate in (line, unquote(line), _fully_unquoted(line)):
            result = safe_return_path(candidate, DEFAULT)
            assert_same_origin(result)
            kept += result != DEFAULT
    # Lines such as "/https://google.com/" are same-origin paths (a segment named
    # "https:"), so they may survive; everything not rooted at one '/' may not.
    assert 0 < kept < 3 * 559


def test_corpus_lines_not_rooted_at_one_slash_all_fall_back() -> None:
    for line in _corpus():
        for candidate in (line, unquote(line), _fully_unquoted(line)):
            if not (candidate.startswith("/") and candidate[1:2] not in ("/", "\\")):
                assert safe_return_path(candidate, DEFAULT) == DEFAULT, candidate


def test_corpus_lines_that_survive_are_plain_paths() -> None:
    survivors = {line for line in _corpus() if safe_return_path(line, DEFAULT) != DEFAULT}
    for line in survivors:
        assert line.startswith("/") and line[1] not in "/\\"


# -- the classic hostile list ----------------------------------------------------------

HOSTILE = [
    "//evil.com",
    "///evil.com",
    "/\\evil.com",
    "\\\\evil.com",
    "\\/evil.com",
    "https:evil.com",
    "https:/evil.com",
    "https://evil.com",
    "HTTPS://evil.com/",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "/%2F%2Fevil.com",
    "/%2f%2fevil.com",
    "%2F%2Fevil.com",
    "/%5cevil.com",
    "/%5Cevil",
    "/%09/evil",
    "/%0a/evil",
    "/%252f%252fevil.com",  # double-encoded
    "/%25252f%25252fevil.com",  # triple: refused as layered encoding
    "\t//evil",
    "/\t/evil",
    "/\n/evil",
    " /evil",
    "/ /evil",
    "/path\r\nSet-Cookie: x=1",
    "/path%0d%0aLocation:%20https://evil.com",
    "/a\\b",
    "/\x00",
    "/a\x7f",
    "/\u2028/evil",
    "/\xa0/evil",
    "evil.com",
    "",
    "?x=/",
    "#/x",
    "/" + "a" * MAX_RETURN_PATH_LENGTH,
    "/%ff%fe",  # not UTF-8 once decoded
    "/\ud800",  # lone surrogate
    "/?q=%00",
    "/?q=%0d%0a",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_fall_back(value: str) -> None:
    assert safe_return_path(value, DEFAULT) == DEFAULT
    assert resolve_return_to(ORIGIN, value, DEFAULT) == ORIGIN + DEFAULT


@pytest.mark.parametrize("value", [None, 42, b"/bytes", ["/list"]])
def test_non_strings_fall_back(value: object) -> None:
    assert safe_return_path(value, DEFAULT) == DEFAULT  # type: ignore[arg-type]


LEGIT = [
    ("/", "/"),
    ("/dashboard", "/dashboard"),
    ("/dashboard?tab=1&x=%2F", "/dashboard?tab=1&x=%2F"),
    ("/a/b/", "/a/b/"),
    ("/café", "/café"),
    ("/caf%C3%A9", "/caf%C3%A9"),
    ("/日本語/ページ?q=検索", "/日本語/ページ?q=検索"),
    ("/search?q=a%20b", "/search?q=a%20b"),  # an encoded space in a query is fine
    ("/a?next=//evil.com", "/a?next=//evil.com"),  # same-origin: the query is data
    ("/javascript:alert(1)", "/javascript:alert(1)"),  # a path segment, not a scheme
    ("/@evil.com", "/@evil.com"),
    ("/a/../b", "/a/../b"),  # nothing normalised
    ("/page#section", "/page"),  # the fragment is dropped
    ("/page?x=1#frag", "/page?x=1"),
    ("/100%25", "/100%25"),
    ("/" + "a" * (MAX_RETURN_PATH_LENGTH - 1), "/" + "a" * (MAX_RETURN_PATH_LENGTH - 1)),
]


@pytest.mark.parametrize(("value", "expected"), LEGIT)
def test_legit_paths_are_kept(value: str, expected: str) -> None:
    assert safe_return_path(value, DEFAULT) == expected
    assert_same_origin(expected)


def test_default_is_slash() -> None:
    assert safe_return_path("//evil.com") == "/"
    assert safe_return_path(None) == "/"


def test_resolve_never_echoes_a_host() -> None:
    assert resolve_return_to("https://app.example/", "/x?y=1") == "https://app.example/x?y=1"
    assert resolve_return_to(ORIGIN, "https://evil.com/") == ORIGIN + "/"
    assert resolve_return_to(ORIGIN, "//evil.com", "/home") == ORIGIN + "/home"
    assert resolve_return_to(ORIGIN, None) == ORIGIN + "/"


# -- properties ---------------------------------------------------------------------------


@settings(max_examples=500)
@given(st.text())
def test_any_text_is_default_or_single_slash_path(value: str) -> None:
    result = safe_return_path(value, DEFAULT)
    assert result == DEFAULT or (
        result.startswith("/")
        and not result.startswith("//")
        and "\\" not in result
        and not _C0_DEL.search(result)
    )
    assert_same_origin(result)


_URLISH = st.lists(
    st.sampled_from([*"/\\:@.%?#&=abcAB09 \t\r\n", "%2f", "%5c", "%09", "%25"]),
    max_size=30,
).map("".join)


@settings(max_examples=800)
@given(
    st.lists(st.sampled_from(["/", "//", "\\", "%2f", "%5C", "%252f", "http:", "@"]), max_size=4),
    _URLISH,
)
def test_urlish_text_never_leaves_origin(prefix: list[str], rest: str) -> None:
    value = "".join(prefix) + rest
    for candidate in (value, unquote(value), _fully_unquoted(value)):
        assert_same_origin(safe_return_path(candidate, DEFAULT))


@given(
    st.text(
        alphabet=st.characters(
            blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp"), blacklist_characters="\\%#?/"
        ),
        max_size=40,
    )
)
def test_plain_segments_are_kept_verbatim(segment: str) -> None:
    value = "/x/" + segment
    if any(ch.isspace() or "\x80" <= ch <= "\x9f" for ch in segment):
        return
    assert safe_return_path(value, DEFAULT) == value
