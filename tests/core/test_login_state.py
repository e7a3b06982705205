"""Sign-in flow state + PKCE: round trip, tamper, expiry, skew, purposes, cookie names."""

from __future__ import annotations

import base64
import hashlib
import re
import time
from collections.abc import Mapping
from typing import Any

import pytest
from cryptography.fernet import Fernet
from hypothesis import given, settings
from hypothesis import strategies as st

from authkit_middleware.core.cookies import CookieOptions, parse_cookie_header
from authkit_middleware.core.errors import AuthKitError, SealError
from authkit_middleware.core.login_state import (
    LEGACY_VERIFIER_COOKIE,
    MAX_SEALED_STATE_LENGTH,
    LoginState,
    LoginStateError,
    create_login_state,
    fnv1a32,
    is_document_navigation,
    is_verifier_cookie_name,
    new_pkce,
    open_login_state,
    pkce_challenge,
    stale_verifier_cookies,
    verifier_cookie_name,
    verifier_set_cookie,
)
from authkit_middleware.core.seal import Sealer

PW = "login-state-password-at-least-32-chars"
OTHER_PW = "another-password-that-is-32-chars-long"
NOW = 1_700_000_000.0
REDIRECT = "https://app.example/callback"
SEALER = Sealer(PW)
VERIFIER_OPTIONS = CookieOptions(name="wos-auth-verifier", max_age=600)


def create(
    sealer: Any = SEALER,
    *,
    return_to: str | None = "/dashboard?tab=1",
    custom_state: str | None = None,
    now: float = NOW,
    max_custom_state_bytes: int = 2048,
    cookie_options: CookieOptions | None = None,
) -> tuple[LoginState, str]:
    return create_login_state(
        sealer,
        return_to=return_to,
        custom_state=custom_state,
        redirect_uri=REDIRECT,
        now=now,
        max_custom_state_bytes=max_custom_state_bytes,
        cookie_options=cookie_options,
    )


def assert_invalid(sealed: Any, *, sealer: Any = SEALER, now: float = NOW) -> None:
    with pytest.raises(LoginStateError) as info:
        open_login_state(sealer, sealed, now=now)
    assert info.value.code == "invalid_login_state"
    assert info.value.status == 400


# -- PKCE -------------------------------------------------------------------------------


def test_rfc7636_appendix_b_vector() -> None:
    assert (
        pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
        == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )


def test_new_pkce() -> None:
    seen = set()
    for _ in range(50):
        verifier, challenge = new_pkce()
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", verifier)
        assert len(base64.urlsafe_b64decode(verifier + "=")) == 32
        digest = hashlib.sha256(verifier.encode()).digest()
        assert challenge == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        seen.add(verifier)
    assert len(seen) == 50


# -- create / open ------------------------------------------------------------------------


def test_round_trip_and_wire_shape() -> None:
    state, sealed = create(custom_state="opaque-app-state")
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", state.nonce
    )
    assert state.return_pathname == "/dashboard?tab=1"
    assert state.issued_at == 1_700_000_000_000
    assert state.redirect_uri == REDIRECT
    assert sealed.startswith("Fe26.2*")
    raw = SEALER.unseal(sealed, purpose="login_state", now=NOW)
    assert raw == {
        "nonce": state.nonce,
        "codeVerifier": state.code_verifier,
        "returnPathname": "/dashboard?tab=1",
        "customState": "opaque-app-state",
        "issuedAt": 1_700_000_000_000,
        "redirectUri": REDIRECT,
    }
    assert open_login_state(SEALER, sealed, now=NOW + 1) == state


def test_optional_fields_are_omitted_not_null() -> None:
    state, sealed = create_login_state(
        SEALER,
        return_to=None,
        custom_state=None,
        redirect_uri=None,
        now=NOW,
        max_custom_state_bytes=2048,
    )
    raw = SEALER.unseal(sealed, purpose="login_state", now=NOW)
    assert set(raw) == {"nonce", "codeVerifier", "returnPathname", "issuedAt"}
    assert raw["returnPathname"] == "/"
    assert open_login_state(SEALER, sealed, now=NOW) == state


def test_each_flow_is_distinct() -> None:
    (a, sa), (b, sb) = create(), create()
    assert a.nonce != b.nonce and a.code_verifier != b.code_verifier and sa != sb
    assert verifier_cookie_name(sa) != verifier_cookie_name(sb)


@pytest.mark.parametrize("hostile", ["//evil.com", "https://evil.com", "/\\evil", "/%2f%2fevil"])
def test_return_to_is_sanitised_before_sealing(hostile: str) -> None:
    state, sealed = create(return_to=hostile)
    assert state.return_pathname == "/"
    assert SEALER.unseal(sealed, purpose="login_state", now=NOW)["returnPathname"] == "/"


def test_return_pathname_is_resanitised_after_opening() -> None:
    """A8 defence in depth: a state sealed elsewhere (a JS app sharing the password,
    an older release) with a hostile path still opens to a safe one."""
    _, good = create()
    payload = SEALER.unseal(good, purpose="login_state", now=NOW)
    payload["returnPathname"] = "//evil.com"
    resealed = SEALER.seal(payload, purpose="login_state", ttl=600, now=NOW)
    assert open_login_state(SEALER, resealed, now=NOW).return_pathname == "/"


def test_fernet_sealer_round_trip() -> None:
    sealer = Sealer(Fernet.generate_key().decode(), format="fernet")
    now = time.time()
    state, sealed = create(sealer, now=now)
    assert open_login_state(sealer, sealed, now=now + 5) == state


# -- refusals ----------------------------------------------------------------------------------


def test_tampered_state_is_refused() -> None:
    _, sealed = create()
    for index in (10, len(sealed) // 2, len(sealed) - 5):
        flipped = "A" if sealed[index] != "A" else "B"
        assert_invalid(sealed[:index] + flipped + sealed[index + 1 :])
    assert_invalid(sealed[:-10])
    assert_invalid(sealed + "x")


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_any_single_character_change_is_refused(data: st.DataObject) -> None:
    _, sealed = create(now=NOW)
    index = data.draw(st.integers(min_value=0, max_value=len(sealed) - 1))
    char = data.draw(st.sampled_from("AZaz09*~_-.!"))
    if char == sealed[index]:
        return
    assert_invalid(sealed[:index] + char + sealed[index + 1 :])


def test_wrong_password_is_refused() -> None:
    _, sealed = create()
    assert_invalid(sealed, sealer=Sealer(OTHER_PW))
    # ... but a rotated sealer that still lists the old password opens it.
    assert open_login_state(Sealer([OTHER_PW, PW]), sealed, now=NOW).redirect_uri == REDIRECT


@pytest.mark.parametrize(
    "value", ["", "garbage", "Fe26.2*1*", "x" * (MAX_SEALED_STATE_LENGTH + 1), None, 7]
)
def test_malformed_values_are_refused(value: Any) -> None:
    assert_invalid(value)


def test_expiry_at_exactly_600_seconds() -> None:
    _, sealed = create(now=NOW)
    assert open_login_state(SEALER, sealed, now=NOW + 600).issued_at == 1_700_000_000_000
    assert_invalid(sealed, now=NOW + 600.001)
    assert_invalid(sealed, now=NOW + 601)
    assert_invalid(sealed, now=NOW + 3600)


class TTLIgnoringSealer:
    """A sealer that ignores ``ttl`` entirely: the payload's issuedAt must still expire
    the state (authkit-session ``state.spec.ts``)."""

    def __init__(self) -> None:
        self.inner = Sealer(PW)

    def seal(
        self,
        data: Mapping[str, Any],
        *,
        purpose: Any = "session",
        ttl: int = 0,
        now: float | None = None,
    ) -> str:
        return self.inner.seal(data, purpose=purpose, ttl=0, now=now)

    def unseal(
        self, sealed: str, *, purpose: Any = "session", now: float | None = None
    ) -> dict[str, Any]:
        return self.inner.unseal(sealed, purpose=purpose, now=now)


def test_issued_at_expires_even_when_the_seal_ttl_is_ignored() -> None:
    sealer = TTLIgnoringSealer()
    _, sealed = create(sealer, now=NOW)
    assert open_login_state(sealer, sealed, now=NOW + 600)
    assert_invalid(sealed, sealer=sealer, now=NOW + 600.001)
    assert_invalid(sealed, sealer=sealer, now=NOW + 86_400)


def test_future_skew_is_bounded_to_60_seconds() -> None:
    sealer = TTLIgnoringSealer()
    _, ahead_60 = create(sealer, now=NOW + 60)
    assert open_login_state(sealer, ahead_60, now=NOW)
    _, ahead_61 = create(sealer, now=NOW + 60.001)
    assert_invalid(ahead_61, sealer=sealer, now=NOW)
    _, far = create(sealer, now=NOW + 3600)
    assert_invalid(far, sealer=sealer, now=NOW)


def test_session_seal_is_refused_as_login_state_and_vice_versa() -> None:
    """A7 / CVE-2023-48309: purposes are domain-separated in both directions."""
    state, sealed = create()
    session_sealed = SEALER.seal(state.to_dict(), purpose="session", now=NOW)
    assert_invalid(session_sealed)
    with pytest.raises(SealError):
        SEALER.unseal(sealed, purpose="session", now=NOW)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.pop("nonce"),
        lambda d: d.update(nonce=""),
        lambda d: d.update(nonce=5),
        lambda d: d.pop("codeVerifier"),
        lambda d: d.update(codeVerifier="short"),
        lambda d: d.update(codeVerifier="x" * 43 + " "),
        lambda d: d.pop("issuedAt"),
        lambda d: d.update(issuedAt="1700000000000"),
        lambda d: d.update(issuedAt=True),
        lambda d: d.update(returnPathname=["/"]),
        lambda d: d.update(customState={"a": 1}),
        lambda d: d.update(redirectUri=3),
    ],
)
def test_schema_is_checked(mutate: Any) -> None:
    state, _ = create()
    payload = state.to_dict()
    mutate(payload)
    assert_invalid(SEALER.seal(payload, purpose="login_state", ttl=600, now=NOW))


def test_js_shape_with_nulls_and_float_issued_at_is_accepted() -> None:
    state, _ = create()
    payload = {**state.to_dict(), "customState": None, "redirectUri": None, "issuedAt": 1.7e12}
    opened = open_login_state(
        SEALER, SEALER.seal(payload, purpose="login_state", ttl=600, now=NOW), now=NOW
    )
    assert opened.custom_state is None and opened.issued_at == 1_700_000_000_000


# -- limits -------------------------------------------------------------------------------------


def test_custom_state_limit_counts_utf8_bytes() -> None:
    create(custom_state="é" * 1024)  # 2048 bytes: fits
    with pytest.raises(LoginStateError) as info:
        create(custom_state="é" * 1024 + "x")
    error = info.value
    assert (error.code, error.status) == ("custom_state_too_large", 400)
    assert "é" not in error.message
    with pytest.raises(LoginStateError):
        create(custom_state="abc", max_custom_state_bytes=2)


def test_verifier_cookie_limit() -> None:
    _, sealed = create(custom_state="s" * 100, cookie_options=VERIFIER_OPTIONS)
    header = verifier_set_cookie(VERIFIER_OPTIONS, sealed)
    assert header.startswith(verifier_cookie_name(sealed) + "=" + sealed + "; Path=/; Max-Age=600")
    assert parse_cookie_header(header.split(";", 1)[0]) == {verifier_cookie_name(sealed): sealed}
    with pytest.raises(LoginStateError) as info:
        create(
            custom_state="s" * 3000, max_custom_state_bytes=4000, cookie_options=VERIFIER_OPTIONS
        )
    assert info.value.code == "verifier_cookie_too_large"


def test_domain_shrinks_the_verifier_budget() -> None:
    """The cap is on the serialised Set-Cookie, so attributes count (aks pkce.spec.ts)."""
    with_domain = CookieOptions(name="x", domain="a" * 200 + ".example.com", max_age=600)
    sizes = range(2000, 3200, 20)
    fits_plain = max(n for n in sizes if _fits(n, VERIFIER_OPTIONS))
    fits_domain = max(n for n in sizes if _fits(n, with_domain))
    assert fits_domain < fits_plain


def _fits(size: int, options: CookieOptions) -> bool:
    try:
        create(custom_state="s" * size, max_custom_state_bytes=10_000, cookie_options=options)
    except LoginStateError:
        return False
    return True


def test_login_state_error_forms() -> None:
    bare = LoginStateError("invalid_login_state")
    assert bare.code == "invalid_login_state" and "sign in again" in bare.message
    explicit = LoginStateError("Too big.", code="verifier_cookie_too_large")
    assert explicit.code == "verifier_cookie_too_large" and explicit.message == "Too big."
    assert isinstance(bare, AuthKitError)


def test_repr_hides_the_verifier() -> None:
    state, _ = create()
    assert state.code_verifier not in repr(state)


# -- verifier cookie names and eviction ----------------------------------------------------------


def _fnv_reference(data: bytes) -> int:
    """Independent formulation: XOR then multiply via shifts (the FNV paper's form)."""
    h = 2166136261
    for b in data:
        h ^= b
        h = (h + (h << 1) + (h << 4) + (h << 7) + (h << 8) + (h << 24)) % 2**32
    return h


@pytest.mark.parametrize(
    ("data", "expected"),
    [(b"", 0x811C9DC5), (b"a", 0xE40C292C), (b"foobar", 0xBF9CF968)],
)
def test_fnv1a32_vectors(data: bytes, expected: int) -> None:
    assert fnv1a32(data) == expected == _fnv_reference(data)


@given(st.binary(max_size=200))
def test_fnv1a32_matches_reference(data: bytes) -> None:
    assert fnv1a32(data) == _fnv_reference(data)


def test_verifier_cookie_name() -> None:
    assert verifier_cookie_name("") == "wos-auth-verifier-811c9dc5"
    assert verifier_cookie_name("a") == "wos-auth-verifier-e40c292c"
    _, sealed = create()
    name = verifier_cookie_name(sealed)
    assert re.fullmatch(r"wos-auth-verifier-[0-9a-f]{8}", name)
    assert name == f"wos-auth-verifier-{_fnv_reference(sealed.encode()):08x}"
    assert verifier_cookie_name("é") == f"wos-auth-verifier-{_fnv_reference('é'.encode()):08x}"


def test_is_verifier_cookie_name() -> None:
    assert is_verifier_cookie_name(LEGACY_VERIFIER_COOKIE)
    assert is_verifier_cookie_name("wos-auth-verifier-0a1b2c3d")
    assert not is_verifier_cookie_name("wos-auth-verifierEVIL")
    assert not is_verifier_cookie_name("wos-session")


def _names(count: int) -> list[str]:
    return [f"wos-auth-verifier-{i:08x}" for i in range(count)]


def test_eviction_semantics() -> None:
    keep = "wos-auth-verifier-ffffffff"
    noise = ["wos-session", "wos-auth-verifierEVIL", "theme"]
    assert stale_verifier_cookies(_names(4) + noise, keep=keep) == []
    assert stale_verifier_cookies(_names(5) + noise, keep=keep) == _names(5)
    # keep already on the request counts once.
    assert stale_verifier_cookies([*_names(4), keep], keep=keep) == []
    assert stale_verifier_cookies([*_names(5), keep], keep=keep) == _names(5)
    # the legacy name counts as a pending flow; duplicates count once.
    legacy = [LEGACY_VERIFIER_COOKIE, *_names(4), _names(4)[0]]
    assert stale_verifier_cookies(legacy, keep=keep) == [LEGACY_VERIFIER_COOKIE, *_names(4)]
    assert stale_verifier_cookies(_names(2), keep=keep, max_pending=2) == _names(2)
    assert stale_verifier_cookies(_names(1), keep=keep, max_pending=2) == []
    # without a new cookie only the ones present count.
    assert stale_verifier_cookies(_names(5), keep=None) == []
    assert stale_verifier_cookies(_names(6), keep=None) == _names(6)


def test_twenty_abandoned_logins_stay_bounded() -> None:
    """Attack table row 12: after any number of /login hits, <= 5 verifier cookies."""
    jar: set[str] = set()
    for i in range(20):
        _, sealed = create(now=NOW + i)
        name = verifier_cookie_name(sealed)
        for stale in stale_verifier_cookies(sorted(jar), keep=name):
            jar.discard(stale)
        jar.add(name)
        assert len(jar) <= 5


# -- document navigation --------------------------------------------------------------------------


HTML = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.mark.parametrize(
    ("method", "headers", "expected"),
    [
        ("GET", {"accept": HTML}, True),
        ("HEAD", {"accept": HTML}, True),
        ("GET", {"Accept": HTML, "Sec-Fetch-Dest": "document"}, True),
        ("GET", {"accept": "TEXT/HTML"}, True),
        ("POST", {"accept": HTML}, False),
        ("get", {"accept": HTML}, False),
        ("GET", {}, False),
        ("GET", {"accept": "application/json"}, False),
        ("GET", {"accept": "*/*"}, False),
        ("GET", {"accept": HTML, "purpose": "prefetch"}, False),
        ("GET", {"accept": HTML, "Sec-Purpose": "prefetch;prerender"}, False),
        ("GET", {"accept": HTML, "sec-fetch-dest": "iframe"}, False),
        ("GET", {"accept": HTML, "sec-fetch-dest": "empty"}, False),
    ],
)
def test_is_document_navigation(method: str, headers: dict[str, str], expected: bool) -> None:
    assert is_document_navigation(method, headers) is expected


def test_verifier_set_cookie_boundary_is_the_serialised_length() -> None:
    _, sealed = create()
    header = verifier_set_cookie(VERIFIER_OPTIONS, sealed)
    room = 3800 - len(header)
    padded = CookieOptions(name="x", path="/" + "p" * room, max_age=600)
    exact = verifier_set_cookie(padded, sealed)
    assert len(exact) == 3800
    tighter = CookieOptions(name="x", path="/" + "p" * (room + 1), max_age=600)
    with pytest.raises(LoginStateError):
        verifier_set_cookie(tighter, sealed)
