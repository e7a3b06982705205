"""``get_cookie``'s common-shape shortcut gives the parser's answer on the edge shapes."""

from __future__ import annotations

import pytest

from authkit_middleware.core.cookies import (
    MAX_COOKIE_VALUE_BYTES,
    get_cookie,
    parse_cookie_header,
)

BIG = "x" * (MAX_COOKIE_VALUE_BYTES + 1)


@pytest.mark.parametrize(
    "header",
    [
        "wos-session=abc",
        "a=1; wos-session=abc",
        "a=1;wos-session=abc; b=2",
        "a=1;  wos-session=abc",
        "\twos-session=abc",
        ' wos-session="abc"',
        'wos-session="abc"; b=2',
        "wos-session= abc ; b=2",
        "wos-session=",
        "wos-session=; wos-session=second",
        "wos-session =abc",
        "wos-session2=x; wos-session=abc",
        "xwos-session=x; wos-session=abc",
        "a=wos-session=x; wos-session=abc",
        f"wos-session={BIG}; wos-session=small",
        f"a=1; wos-session={BIG}",
        "wos-session=abc\t",
        "wos-session",
        "wos-session; wos-session=abc",
    ],
)
def test_get_cookie_matches_the_parser(header: str) -> None:
    assert get_cookie(header, "wos-session") == parse_cookie_header(header).get("wos-session")
