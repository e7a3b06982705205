"""Cookie header parsing (bounded, linear), Set-Cookie building, chunking (D7, D8, D10, D12)."""

from __future__ import annotations

import time
from http.cookies import SimpleCookie

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from authkit_middleware.core.config import AuthKitConfig
from authkit_middleware.core.cookies import (
    DELETE_EXPIRES,
    MAX_COOKIE_BYTES,
    MAX_COOKIE_HEADER_BYTES,
    MAX_COOKIE_VALUE_BYTES,
    CookieOptions,
    chunk_cookie,
    chunk_names,
    delete_cookie,
    delete_cookie_and_chunks,
    get_cookie,
    is_valid_cookie_name,
    join_cookie,
    parse_cookie_header,
    session_cookie_options,
    set_cookie,
    verifier_cookie_options,
)
from authkit_middleware.core.errors import CookieTooLargeError

PW = "p" * 32
SESSION = CookieOptions(name="wos-session", max_age=34560000)


def config(**kw: object) -> AuthKitConfig:
    base: dict[str, object] = {
        "api_key": "sk_test_1234567890abcdef",
        "client_id": "client_123",
        "redirect_uri": "https://app.example/callback",
        "cookie_password": PW,
    }
    base.update(kw)
    return AuthKitConfig(**base)  # type: ignore[arg-type]


def header_values(set_cookies: list[str]) -> dict[str, str]:
    """name -> value of Set-Cookie strings (the part before the first ';')."""
    out = {}
    for line in set_cookies:
        pair = line.split(";", 1)[0]
        name, _, value = pair.partition("=")
        out[name] = value
    return out


# -- parsing ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, {}),
        ("", {}),
        ("a=1", {"a": "1"}),
        ("a=1; b=2", {"a": "1", "b": "2"}),
        ("a=1;b=2;;  c = 3 ", {"a": "1", "b": "2", "c": "3"}),
        ("a=1; a=2", {"a": "1"}),  # first occurrence wins
        ('a="quoted"; b=""', {"a": "quoted", "b": ""}),
        ('a="unbalanced', {"a": '"unbalanced'}),
        ('a="\\\\\\"x"', {"a": '\\\\\\"x'}),  # no unescaping at all
        ("novalue; =nameless; b=2", {"b": "2"}),
        ("a=b=c", {"a": "b=c"}),
        ("wos-session=Fe26.2*1*abc~2", {"wos-session": "Fe26.2*1*abc~2"}),
        ("a=%20x", {"a": "%20x"}),  # no percent-decoding
        ("\ta=1\t;\tb=2", {"a": "1", "b": "2"}),
    ],
)
def test_parse_cookie_header(header: str | None, expected: dict[str, str]) -> None:
    assert parse_cookie_header(header) == expected
    for name, value in expected.items():
        assert get_cookie(header, name) == value


def test_parse_skips_oversized_values_and_later_occurrence_wins() -> None:
    big = "x" * (MAX_COOKIE_VALUE_BYTES + 1)
    header = f"a={big}; b=2; a=small"
    assert parse_cookie_header(header) == {"b": "2", "a": "small"}
    assert get_cookie(header, "a") == "small"
    ok = "y" * MAX_COOKIE_VALUE_BYTES
    assert parse_cookie_header(f"a={ok}")["a"] == ok


def test_parse_ignores_bytes_past_the_header_cap_without_cutting_a_cookie() -> None:
    filler = "; ".join(f"c{i}={'v' * 1000}" for i in range(40))  # ~40 KB
    header = f"first=1; {filler}; wos-session=late"
    assert len(header) > MAX_COOKIE_HEADER_BYTES
    parsed = parse_cookie_header(header)
    assert parsed["first"] == "1"
    assert "wos-session" not in parsed
    assert all(v == "v" * 1000 for k, v in parsed.items() if k != "first")
    assert get_cookie(header, "wos-session") is None
    # A single giant pair with no ';' before the cap: nothing is read.
    assert parse_cookie_header("a=" + "x" * (MAX_COOKIE_HEADER_BYTES + 10)) == {}


@pytest.mark.parametrize(
    ("header", "name", "expected"),
    [
        ("xwos-session=1; wos-session=2", "wos-session", "2"),
        ("wos-session2=1; wos-session=2", "wos-session", "2"),
        ("a=wos-session=evil; wos-session=ok", "wos-session", "ok"),
        ("a=x wos-session=evil", "wos-session", None),
        ("wos-session", "wos-session", None),
        ("wos-session ;wos-session=1", "wos-session", "1"),
        ("  wos-session  =  v  ", "wos-session", "v"),
        ("a=1", "wos-session", None),
        ("a=1", "bad name", None),
        ("a b=1", "a", None),
        ("a=1", "", None),
    ],
)
def test_get_cookie_boundaries(header: str, name: str, expected: str | None) -> None:
    assert get_cookie(header, name) == expected
    assert parse_cookie_header(header).get(name) == expected


@settings(max_examples=1000)
@given(st.text())
def test_parser_never_raises(header: str) -> None:
    result = parse_cookie_header(header)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in result.items())
    assert all(len(v) <= MAX_COOKIE_VALUE_BYTES for v in result.values())


_COOKIE_ALPHABET = st.sampled_from([*'ab=; \t"\\,x-.', "wos-session", "a.0", "\x00"])


@settings(max_examples=1000)
@given(
    st.lists(_COOKIE_ALPHABET, max_size=40).map("".join),
    st.sampled_from(["a", "b", "wos-session", "a.0", "x"]),
)
def test_get_cookie_agrees_with_parser(header: str, name: str) -> None:
    assert get_cookie(header, name) == parse_cookie_header(header).get(name)


@given(st.text(), st.text())
def test_get_cookie_agrees_with_parser_on_any_text(header: str, name: str) -> None:
    assert get_cookie(header, name) == parse_cookie_header(header).get(name)


@given(
    st.dictionaries(
        st.from_regex(r"[A-Za-z0-9_-]{1,12}", fullmatch=True),
        st.from_regex(r"[A-Za-z0-9*~._-]{0,50}", fullmatch=True),
        max_size=8,
    )
)
def test_round_trip_of_well_formed_headers(cookies: dict[str, str]) -> None:
    header = "; ".join(f"{k}={v}" for k, v in cookies.items())
    assert parse_cookie_header(header) == cookies
    for k, v in cookies.items():
        assert get_cookie(header, k) == v


def _elapsed(func: object, header: str) -> float:
    start = time.perf_counter()
    for _ in range(5):
        func(header)  # type: ignore[operator]
    return (time.perf_counter() - start) / 5


@pytest.mark.parametrize(
    "header",
    [
        '"' + "\\" * 8190 + '"',  # CVE-2024-7592 shape
        'a="' + "\\\\" * 4094 + '"',
        'a="' + '\\"' * 4094 + '"',
        ";" * 8192,
        "=" * 8192,
        "a=1;" * 2048,
        " " * 8192,
        "wos-session" * 744,
        "wos-session " * 682,
        ("wos-session=" + "x" * 9000 + ";") * 3,
        "a=" + "wos-session=" * 680,
    ],
)
def test_hostile_headers_parse_in_linear_time(header: str) -> None:
    """D10 regression guard: generous bound, a quadratic parser takes seconds here."""
    assert _elapsed(parse_cookie_header, header) < 0.05
    assert _elapsed(lambda h: get_cookie(h, "wos-session"), header) < 0.05


def test_parser_matches_simplecookie_on_ordinary_headers() -> None:
    header = "a=1; b=two; wos-session=Fe26.2**x*y~2"
    jar = SimpleCookie()
    jar.load(header)
    assert parse_cookie_header(header) == {k: m.value for k, m in jar.items()}


# -- CookieOptions / Set-Cookie -------------------------------------------------------------


def test_set_cookie_session_defaults() -> None:
    assert set_cookie(SESSION, "v") == (
        "wos-session=v; Path=/; Max-Age=34560000; Secure; HttpOnly; SameSite=Lax"
    )


def test_set_cookie_all_attributes() -> None:
    opts = CookieOptions(
        name="n", path="/app", domain="example.com", secure=False, samesite="strict", max_age=5
    )
    assert set_cookie(opts, "v") == (
        "n=v; Path=/app; Domain=example.com; Max-Age=5; HttpOnly; SameSite=Strict"
    )
    none = CookieOptions(name="n", samesite="NONE", httponly=False)
    assert none.samesite == "None"
    assert set_cookie(none, "") == "n=; Path=/; Secure; SameSite=None"


def test_delete_cookie_matches_attributes() -> None:
    opts = CookieOptions(name="n", domain=".example.com", samesite="none", max_age=99)
    deleted = delete_cookie(opts)
    assert deleted == (
        f"n=; Path=/; Domain=.example.com; Max-Age=0; Expires={DELETE_EXPIRES}; Secure; "
        "HttpOnly; SameSite=None"
    )
    set_attrs = set(set_cookie(opts, "v").split("; ")[1:]) - {"Max-Age=99"}
    del_attrs = set(deleted.split("; ")[1:]) - {"Max-Age=0", f"Expires={DELETE_EXPIRES}"}
    assert set_attrs == del_attrs


@pytest.mark.parametrize(
    "kwargs",
    [
        {"name": ""},
        {"name": "a b"},
        {"name": "a;b"},
        {"name": "a=b"},
        {"name": "n", "path": "relative"},
        {"name": "n", "path": "/a;b"},
        {"name": "n", "domain": "exa mple.com"},
        {"name": "n", "domain": "https://x.com"},
        {"name": "n", "samesite": "sometimes"},
        {"name": "n", "samesite": "none", "secure": False},
        {"name": "n", "max_age": -1},
        {"name": "n", "max_age": True},
    ],
)
def test_cookie_options_validation(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        CookieOptions(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["a;b", "a b", "a\r\nSet-Cookie: x=1", 'a"b', "a,b", "a\\b", "é"])
def test_set_cookie_refuses_header_injection(value: str) -> None:
    with pytest.raises(ValueError):
        set_cookie(SESSION, value)


def test_set_cookie_size_limit_is_name_plus_value() -> None:
    name = SESSION.name
    assert set_cookie(SESSION, "x" * (MAX_COOKIE_BYTES - len(name)))
    with pytest.raises(CookieTooLargeError) as info:
        set_cookie(SESSION, "x" * (MAX_COOKIE_BYTES - len(name) + 1))
    assert info.value.code == "cookie_too_large"
    assert "x" * 20 not in info.value.message


def test_with_name_keeps_attributes() -> None:
    other = SESSION.with_name("other")
    assert other.name == "other" and other.suffix == SESSION.suffix
    assert SESSION.with_name("wos-session") is SESSION


def test_is_valid_cookie_name() -> None:
    assert is_valid_cookie_name("wos-session")
    assert is_valid_cookie_name("__Host-x")
    assert not is_valid_cookie_name("a b")
    assert not is_valid_cookie_name("")
    assert not is_valid_cookie_name(3)


# -- chunking -----------------------------------------------------------------------------------


def test_small_value_is_not_chunked_and_deletes_stale_chunks() -> None:
    out = chunk_cookie(
        SESSION, "small", max_chunks=4, existing=["wos-session.0", "wos-session.1", "other"]
    )
    assert out[0] == set_cookie(SESSION, "small")
    assert sorted(out[1:]) == sorted(
        [f"wos-session.0={SESSION.delete_suffix}", f"wos-session.1={SESSION.delete_suffix}"]
    )


def test_large_value_is_chunked_and_deletes_unchunked_and_extra_chunks() -> None:
    value = "v" * 9000
    out = chunk_cookie(
        SESSION,
        value,
        max_chunks=4,
        existing=[
            "wos-session",
            "wos-session.0",
            "wos-session.5",
            "wos-session.x",
            "wos-session.01",
        ],
    )
    sets = [h for h in out if "Max-Age=0" not in h]
    deletes = [h for h in out if "Max-Age=0" in h]
    assert [h.split("=", 1)[0] for h in sets] == ["wos-session.0", "wos-session.1", "wos-session.2"]
    assert sorted(h.split("=", 1)[0] for h in deletes) == ["wos-session", "wos-session.5"]
    assert all(len(h.encode()) <= MAX_COOKIE_BYTES for h in sets)
    assert join_cookie(header_values(sets), "wos-session") == value


def test_chunk_over_cap_raises_clearly() -> None:
    with pytest.raises(CookieTooLargeError) as info:
        chunk_cookie(SESSION, "v" * 20_000, max_chunks=4)
    assert "max_cookie_chunks is 4" in info.value.message
    assert "needs 5 chunks" in info.value.message


def test_chunk_exact_boundary() -> None:
    fits = MAX_COOKIE_BYTES - len("wos-session=") - len(SESSION.suffix)
    assert len(chunk_cookie(SESSION, "v" * fits, max_chunks=1)) == 1
    assert chunk_cookie(SESSION, "v" * fits, max_chunks=1)[0].startswith("wos-session=")
    two = chunk_cookie(SESSION, "v" * (fits + 1), max_chunks=4)
    assert [h.split("=", 1)[0] for h in two] == ["wos-session.0", "wos-session.1"]


def test_chunk_with_unfittable_name() -> None:
    opts = CookieOptions(name="n" * 4100)
    with pytest.raises(CookieTooLargeError):
        chunk_cookie(opts, "", max_chunks=4)


@settings(max_examples=150, deadline=None)
@given(
    st.integers(min_value=0, max_value=20_000),
    st.sampled_from([SESSION, CookieOptions(name="n", domain="sub.example.com", max_age=1)]),
)
def test_chunk_join_round_trip(length: int, opts: CookieOptions) -> None:
    value = ("abcdefghij" * (length // 10 + 1))[:length]
    out = chunk_cookie(opts, value, max_chunks=6)
    assert len(out) <= 6
    assert all(len(h.encode()) <= MAX_COOKIE_BYTES for h in out)
    assert join_cookie(header_values(out), opts.name) == value
    # ... and through a real Cookie header as a browser would send it.
    header = "; ".join(f"{k}={v}" for k, v in header_values(out).items())
    assert join_cookie(parse_cookie_header(header), opts.name) == value


@given(st.integers(min_value=0, max_value=16_000), st.integers(min_value=0, max_value=16_000))
@settings(deadline=None, max_examples=60)
def test_rechunk_leaves_nothing_stale(first: int, second: int) -> None:
    """Write one size then another: after applying the Set-Cookies, the jar holds
    exactly the new value (stale parts deleted)."""
    jar: dict[str, str] = {}

    def apply(headers: list[str]) -> None:
        for name, value in header_values(headers).items():
            if value == "" and any(h.startswith(f"{name}=;") and "Max-Age=0" in h for h in headers):
                jar.pop(name, None)
            else:
                jar[name] = value

    apply(chunk_cookie(SESSION, "a" * first, max_chunks=4, existing=list(jar)))
    apply(chunk_cookie(SESSION, "b" * second, max_chunks=4, existing=list(jar)))
    assert join_cookie(jar, "wos-session") == "b" * second
    assert "wos-session" not in jar or not chunk_names("wos-session", jar)


@pytest.mark.parametrize(
    ("cookies", "expected"),
    [
        ({"n": "whole", "n.0": "a"}, "whole"),
        ({"n.0": "a", "n.1": "b", "n.2": "c"}, "abc"),
        ({"n.2": "c", "n.0": "a", "n.1": "b"}, "abc"),  # order of the header does not matter
        ({"n.0": "a", "n.2": "c"}, None),  # missing middle chunk
        ({"n.1": "b"}, None),  # no chunk 0
        ({"n.0": "a", "n.x": "evil", "n.01": "evil", "n.-1": "evil", "n.": "e"}, "a"),
        ({"n.0": "a", "n.1": "b", "n.10": "k"}, None),  # 10 without 2..9: a gap
        ({"nn.0": "a"}, None),
        ({}, None),
    ],
)
def test_join_cookie(cookies: dict[str, str], expected: str | None) -> None:
    assert join_cookie(cookies, "n") == expected


def test_join_cookie_respects_max_chunks() -> None:
    cookies = {f"n.{i}": str(i) for i in range(5)}
    assert join_cookie(cookies, "n") == "01234"
    assert join_cookie(cookies, "n", max_chunks=4) is None


def test_numeric_order_beyond_ten_chunks() -> None:
    value = "".join(chr(65 + i) for i in range(12))
    cookies = {f"n.{i}": value[i] for i in reversed(range(12))}
    assert join_cookie(cookies, "n") == value  # next-auth#8284: not lexicographic


def test_delete_cookie_and_chunks() -> None:
    out = delete_cookie_and_chunks(
        SESSION, ["wos-session.0", "wos-session.1", "wos-session.x", "a"]
    )
    assert [h.split("=", 1)[0] for h in out] == ["wos-session", "wos-session.0", "wos-session.1"]
    assert all(h.endswith(SESSION.delete_suffix) for h in out)


# -- options from the config -----------------------------------------------------------------


def test_session_cookie_options_from_config() -> None:
    opts = session_cookie_options(config())
    assert set_cookie(opts, "v") == (
        "wos-session=v; Path=/; Max-Age=34560000; Secure; HttpOnly; SameSite=Lax"
    )
    local = session_cookie_options(config(redirect_uri="http://localhost:3000/callback"))
    assert "Secure" not in set_cookie(local, "v")
    custom = session_cookie_options(
        config(cookie_domain="app.example", cookie_max_age=60, cookie_samesite="Strict")
    )
    assert set_cookie(custom, "v") == (
        "wos-session=v; Path=/; Domain=app.example; Max-Age=60; Secure; HttpOnly; SameSite=Strict"
    )
    assert config().session_cookie_options == opts


@pytest.mark.parametrize(
    ("samesite", "expected"), [("lax", "Lax"), ("strict", "Lax"), ("none", "None")]
)
def test_verifier_cookie_options(samesite: str, expected: str) -> None:
    opts = verifier_cookie_options(config(cookie_samesite=samesite), "wos-auth-verifier-0a1b2c3d")
    assert set_cookie(opts, "v") == (
        f"wos-auth-verifier-0a1b2c3d=v; Path=/; Max-Age=600; Secure; HttpOnly; SameSite={expected}"
    )


def test_verifier_cookie_options_keep_domain_and_secure() -> None:
    cfg = config(redirect_uri="http://localhost:8000/callback", cookie_domain="localhost")
    opts = verifier_cookie_options(cfg, "x")
    assert opts.domain == "localhost" and opts.secure is False and opts.max_age == 600
    assert cfg.verifier_cookie_options.name == "wos-auth-verifier"
