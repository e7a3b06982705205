"""AuthKitConfig: validation (all problems together), env vs keywords, no secret leaks."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from cryptography.fernet import Fernet
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from authkit_middleware.core.config import ENV_VARS, AuthKitConfig
from authkit_middleware.core.errors import ConfigError

API_KEY = "sk_test_a1b2c3d4e5f6g7h8i9j0WXYZ"
PW = "correct-horse-battery-staple-0123456789"
PW_OLD = "an-older-password-still-32-chars-long!!"
FERNET_KEY = Fernet.generate_key().decode()
GOOD: dict[str, Any] = {
    "api_key": API_KEY,
    "client_id": "client_01ABC",
    "redirect_uri": "https://app.example.com/auth/callback",
    "cookie_password": PW,
}
GOOD_ENV = {
    "WORKOS_API_KEY": API_KEY,
    "WORKOS_CLIENT_ID": "client_01ABC",
    "WORKOS_REDIRECT_URI": "https://app.example.com/auth/callback",
    "WORKOS_COOKIE_PASSWORD": PW,
}


def make(**kw: Any) -> AuthKitConfig:
    return AuthKitConfig(**{**GOOD, **kw})


def problems(**kw: Any) -> tuple[str, ...]:
    with pytest.raises(ConfigError) as info:
        make(**kw)
    return info.value.problems


def one_problem(**kw: Any) -> str:
    found = problems(**kw)
    assert len(found) == 1, found
    return found[0]


# -- defaults and derived values ---------------------------------------------------------


def test_defaults_and_derived_values() -> None:
    c = make()
    assert c.cookie_name == "wos-session"
    assert c.cookie_max_age == 34_560_000
    assert c.cookie_samesite == "lax"
    assert c.cookie_secure is None and c.cookie_secure_effective is True
    assert c.seal_format == "iron"
    assert c.callback_path == "/auth/callback"
    assert c.origin == "https://app.example.com"
    assert c.is_https is True
    assert c.jwks_url == "https://api.workos.com/sso/jwks/client_01ABC"
    assert c.cookie_passwords == (PW,)
    assert c.issuers == ()
    assert c.resolved_after_sign_out_url == "https://app.example.com/"
    assert (c.login_path, c.signup_path, c.logout_path) == ("/login", "/signup", "/logout")
    assert c.session_endpoint == "/auth/me"
    assert c.switch_organization_path == "/auth/switch-organization"
    assert c.jwt_leeway == 60.0 and c.request_timeout == 5.0 and c.refresh_buffer is None
    assert c.accept_bearer_tokens is True and c.logout_cross_site_get is False
    assert (c.max_pending_flows, c.max_cookie_chunks, c.max_custom_state_bytes) == (5, 4, 2048)
    assert c.session_cookie_options.suffix == (
        "; Path=/; Max-Age=34560000; Secure; HttpOnly; SameSite=Lax"
    )
    assert c.verifier_cookie_options.max_age == 600


@pytest.mark.parametrize("uri", ["https://app.example.com", "http://localhost:3000/"])
def test_a_redirect_uri_without_a_callback_path_is_refused(uri: str) -> None:
    # WorkOS redirects to the exact URI: the home page would become the callback.
    with pytest.raises(ConfigError, match="needs a callback path"):
        make(redirect_uri=uri)


@pytest.mark.parametrize(
    ("uri", "origin", "callback", "https"),
    [
        ("https://app.example.com:443/cb", "https://app.example.com", "/cb", True),
        ("https://APP.example.com:8443/cb?x=1", "https://app.example.com:8443", "/cb", True),
        ("http://localhost:3000/callback", "http://localhost:3000", "/callback", False),
        ("http://localhost:80/callback", "http://localhost", "/callback", False),
        ("http://127.0.0.5:8000/cb", "http://127.0.0.5:8000", "/cb", False),
        ("http://[::1]:8000/cb", "http://[::1]:8000", "/cb", False),
        ("http://app.localhost/cb", "http://app.localhost", "/cb", False),
    ],
)
def test_redirect_uri_derivations(uri: str, origin: str, callback: str, https: bool) -> None:
    c = make(redirect_uri=uri)
    assert (c.origin, c.callback_path, c.is_https, c.cookie_secure_effective) == (
        origin,
        callback,
        https,
        https,
    )


@pytest.mark.parametrize(
    ("uri", "fragment"),
    [
        ("http://app.example.com/callback", "plain http is only allowed for localhost"),
        ("http://10.0.0.1/callback", "plain http is only allowed"),
        ("http://localhost.evil.com/cb", "plain http is only allowed"),
        ("https://app.example.com/cb#frag", "must not contain a fragment"),
        ("/callback", "absolute http(s) URL with a host"),
        ("ftp://app.example.com/cb", "absolute http(s) URL with a host"),
        ("https:///cb", "absolute http(s) URL with a host"),
        ("https://app.example.com:99999/cb", "not a valid URL"),
        ("https://app.example.com/a b", "whitespace"),
        ("", "is required"),
    ],
)
def test_redirect_uri_problems(uri: str, fragment: str) -> None:
    problem = one_problem(redirect_uri=uri)
    assert problem.startswith("redirect_uri (WORKOS_REDIRECT_URI): ")
    assert fragment in problem


def test_redirect_uri_with_credentials_is_refused_without_echo() -> None:
    problem = one_problem(redirect_uri="https://user:hunter2hunter2@app.example.com/cb")
    assert "credentials" in problem and "hunter2" not in problem


# -- all problems together -------------------------------------------------------------------


def test_all_problems_are_reported_together() -> None:
    with pytest.raises(ConfigError) as info:
        AuthKitConfig(
            redirect_uri="http://app.example.com/cb",
            cookie_password="short",
            cookie_samesite="sometimes",
            jwt_leeway=301,
            login_path="login",
            max_cookie_chunks=0,
            debug="yes",  # type: ignore[arg-type]
        )
    error = info.value
    names = [p.split(" ", 1)[0] for p in error.problems]
    assert set(names) == {
        "redirect_uri",
        "api_key",
        "client_id",
        "cookie_password",
        "cookie_samesite",
        "jwt_leeway",
        "login_path",
        "max_cookie_chunks",
        "debug",
    }
    assert error.code == "invalid_config" and error.status == 500
    assert error.message.count("\n  - ") == len(error.problems)
    for problem in error.problems:
        assert "\n" not in problem
        option = problem.split(" ", 1)[0]
        env = ENV_VARS.get(option)
        assert (env[0] in problem) if env else ("(keyword only)" in problem)


def test_required_options() -> None:
    found = {p.split(" ", 1)[0] for p in problems(api_key="", client_id="", cookie_password="")}
    assert found == {"api_key", "client_id", "cookie_password"}


# -- passwords -----------------------------------------------------------------------------


def test_short_password_reports_length_not_value() -> None:
    problem = one_problem(cookie_password="tooshort-secret")
    assert "(currently 15 characters)" in problem
    assert "tooshort-secret" not in problem
    assert "at least 32 characters" in problem


def test_password_rotation_sequence() -> None:
    c = make(cookie_password=[PW, PW_OLD])
    assert c.cookie_passwords == (PW, PW_OLD)
    assert c.cookie_password == (PW, PW_OLD)  # normalised to a tuple (hashable)
    hash(c)
    problem = one_problem(cookie_password=[PW, "old-short"])
    assert "fallback #1" in problem and "(currently 9 characters)" in problem
    assert "old-short" not in problem


@pytest.mark.parametrize("value", [[], (), 42, [PW, 3], {PW}])
def test_password_bad_types(value: object) -> None:
    problem = one_problem(cookie_password=value)
    assert problem.startswith("cookie_password (WORKOS_COOKIE_PASSWORD)")


def test_fernet_format_needs_a_fernet_key() -> None:
    problem = one_problem(seal_format="fernet")
    assert "Fernet key" in problem and PW not in problem
    c = make(seal_format="FERNET", cookie_password=[FERNET_KEY, PW])
    assert c.seal_format == "fernet" and c.cookie_passwords == (FERNET_KEY, PW)
    assert "'iron'" in one_problem(seal_format="aes")


# -- URLs, issuer ------------------------------------------------------------------------


def test_base_url_and_jwks_url() -> None:
    c = make(base_url="https://auth.example.com/", client_id="client_X")
    assert c.jwks_url == "https://auth.example.com/sso/jwks/client_X"
    assert make(base_url="http://127.0.0.1:8787").jwks_url.startswith("http://127.0.0.1:8787/")
    assert "base_url (WORKOS_BASE_URL)" in one_problem(base_url="http://api.workos.com")


def test_issuer() -> None:
    assert make(issuer="https://api.workos.com").issuers == ("https://api.workos.com",)
    c = make(issuer=["https://a", "https://b"])
    assert c.issuers == ("https://a", "https://b") and c.issuer == ("https://a", "https://b")
    assert "issuer (WORKOS_ISSUER)" in one_problem(issuer=[])
    assert "issuer" in one_problem(issuer=["ok", ""])


# -- cookie attributes ----------------------------------------------------------------------


def test_samesite_is_case_insensitive_and_none_forces_secure() -> None:
    assert make(cookie_samesite="Strict").cookie_samesite == "strict"
    c = make(cookie_samesite="NONE")
    assert c.cookie_samesite == "none" and c.cookie_secure_effective is True
    assert c.session_cookie_options.samesite == "None"


def test_samesite_none_problems() -> None:
    assert "SameSite=None requires Secure" in one_problem(
        cookie_samesite="none", cookie_secure=False
    )
    problem = one_problem(cookie_samesite="none", redirect_uri="http://localhost:3000/cb")
    assert problem.startswith("cookie_samesite") and "https" in problem


def test_explicit_secure() -> None:
    assert make(cookie_secure=False).cookie_secure_effective is False
    local = make(redirect_uri="http://localhost/cb", cookie_secure=True)
    assert local.cookie_secure_effective is True
    assert "cookie_secure" in one_problem(cookie_secure="yes")


def test_cookie_prefixes() -> None:
    assert make(cookie_name="__Host-wos-session").cookie_name == "__Host-wos-session"
    assert "__Host-" in one_problem(cookie_name="__Host-s", cookie_domain="app.example.com")
    assert "__Host-" in one_problem(cookie_name="__Host-s", redirect_uri="http://localhost:3000/cb")
    assert "__Host-" in one_problem(cookie_name="__host-s", cookie_secure=False)
    assert "__Secure-" in one_problem(cookie_name="__Secure-s", cookie_secure=False)
    make(cookie_name="__Secure-s", cookie_domain="example.com")


@pytest.mark.parametrize("name", ["", "a b", "a;b", "a=b", "wos:session", "sessión"])
def test_cookie_name_must_be_a_token(name: str) -> None:
    assert one_problem(cookie_name=name).startswith("cookie_name (WORKOS_COOKIE_NAME)")


def test_cookie_name_must_not_collide_with_verifier_cookies() -> None:
    assert "wos-auth-verifier" in one_problem(cookie_name="wos-auth-verifier-session")


def test_cookie_domain() -> None:
    assert make(cookie_domain="example.com").session_cookie_options.domain == "example.com"
    make(cookie_domain=".example.com")
    make(cookie_domain="app.example.com")
    assert "does not cover" in one_problem(cookie_domain="other.com")
    assert "does not cover" in one_problem(cookie_domain="pp.example.com")
    assert "host name" in one_problem(cookie_domain="https://example.com")
    assert "host name" in one_problem(cookie_domain="example.com:443")


@pytest.mark.parametrize("value", [-1, 1.5, True, "100"])
def test_cookie_max_age(value: object) -> None:
    assert one_problem(cookie_max_age=value).startswith("cookie_max_age (WORKOS_COOKIE_MAX_AGE)")


# -- numbers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("jwt_leeway", -1),
        ("jwt_leeway", 300.5),
        ("jwt_leeway", float("nan")),
        ("refresh_buffer", -1),
        ("refresh_buffer", float("inf")),
        ("request_timeout", 0),
        ("request_timeout", float("inf")),
        ("request_timeout", "5"),
        ("max_pending_flows", 0),
        ("session_cache_size", -1),
        ("jwks_cache_ttl", 0),
        ("jwks_refetch_cooldown", -1),
        ("max_custom_state_bytes", 1.0),
        ("max_cookie_chunks", 0),
        ("accept_bearer_tokens", 1),
        ("logout_cross_site_get", None),
    ],
)
def test_number_and_flag_problems(option: str, value: object) -> None:
    assert one_problem(**{option: value}).startswith(option + " ")


def test_numbers_accept_ints_and_store_floats() -> None:
    c = make(jwt_leeway=0, refresh_buffer=0, request_timeout=1, jwks_cache_ttl=10)
    assert c.jwt_leeway == 0.0 and isinstance(c.jwt_leeway, float)
    assert c.refresh_buffer == 0.0 and isinstance(c.request_timeout, float)


def test_effective_refresh_buffer() -> None:
    assert make().effective_refresh_buffer(3600) == 60.0
    assert make().effective_refresh_buffer(300) == 30.0
    assert make(refresh_buffer=0).effective_refresh_buffer(300) == 0.0
    assert make(refresh_buffer=10).effective_refresh_buffer(3600) == 10.0


# -- routes --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["login", "//login", "/lo gin", "/login?x=1", "/a#b", "/a\\b", ""]
)
def test_route_must_be_a_plain_path(value: str) -> None:
    assert one_problem(login_path=value).startswith("login_path (keyword only)")


def test_routes_must_be_distinct() -> None:
    problem = one_problem(signup_path="/login")
    assert "signup_path" in problem and "login_path" in problem
    assert "callback path" in one_problem(logout_path="/auth/callback")
    assert "callback path" in one_problem(
        redirect_uri="https://app.example.com", login_path="/callback"
    )
    c = make(session_endpoint=None, switch_organization_path=None)
    assert c.session_endpoint is None


def test_after_sign_in_path() -> None:
    assert make(after_sign_in_path="/dashboard?x=1").after_sign_in_path == "/dashboard?x=1"
    for bad in ("//evil.com", "https://evil.com", "dashboard", "/a\\b"):
        assert one_problem(after_sign_in_path=bad).startswith("after_sign_in_path")


def test_after_sign_out_url() -> None:
    assert make(after_sign_out_url="/bye").resolved_after_sign_out_url == (
        "https://app.example.com/bye"
    )
    assert make(after_sign_out_url="https://www.example.org/").resolved_after_sign_out_url == (
        "https://www.example.org/"
    )
    assert one_problem(after_sign_out_url="//evil.com").startswith("after_sign_out_url")
    assert one_problem(after_sign_out_url="http://evil.com").startswith("after_sign_out_url")
    assert one_problem(after_sign_out_url="javascript:alert(1)").startswith("after_sign_out_url")


def test_protection_options() -> None:
    c = make(
        protected_paths=["/admin/*", "/api/**"],
        public_paths="/health",
        permission_rules={"/admin/*": "admin:read", "/billing": ["billing:read", "b:w"]},
        role_rules={"/ops/*": ("ops",)},
    )
    assert c.protected_paths == ("/admin/*", "/api/**")
    assert c.public_paths == ("/health",)
    assert dict(c.permission_rules) == {
        "/admin/*": ("admin:read",),
        "/billing": ("billing:read", "b:w"),
    }
    assert dict(c.role_rules) == {"/ops/*": ("ops",)}
    hash(c)
    with pytest.raises(TypeError):
        c.permission_rules["/x"] = ("y",)  # type: ignore[index]
    assert one_problem(protected_paths=["admin"]).startswith("protected_paths")
    assert one_problem(permission_rules={"admin": ("x",)}).startswith("permission_rules")
    assert one_problem(role_rules={"/a": [""]}).startswith("role_rules")
    assert one_problem(role_rules=["/a"]).startswith("role_rules")


# -- environment ---------------------------------------------------------------------------


def test_from_env_minimal() -> None:
    c = AuthKitConfig.from_env(GOOD_ENV)
    assert c == make()


def test_keywords_win_over_env() -> None:
    env = {**GOOD_ENV, "WORKOS_COOKIE_NAME": "from-env", "WORKOS_COOKIE_MAX_AGE": "nope"}
    c = AuthKitConfig.from_env(env, cookie_name="from-kw", cookie_max_age=10)
    assert c.cookie_name == "from-kw" and c.cookie_max_age == 10


def test_from_env_reads_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in GOOD_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("WORKOS_DEBUG", "on")
    c = AuthKitConfig.from_env()
    assert c.debug is True and c.client_id == "client_01ABC"


def test_from_env_parses_every_kind() -> None:
    env = {
        **GOOD_ENV,
        "WORKOS_SEAL_FORMAT": "iron",
        "WORKOS_BASE_URL": "https://auth.example.com",
        "WORKOS_ISSUER": "https://a, https://b",
        "WORKOS_COOKIE_NAME": "sess",
        "WORKOS_COOKIE_DOMAIN": "example.com",
        "WORKOS_COOKIE_MAX_AGE": " 3600 ",
        "WORKOS_COOKIE_SAME_SITE": "Strict",
        "WORKOS_COOKIE_SECURE": "TRUE",
        "WORKOS_JWT_LEEWAY": "30",
        "WORKOS_REFRESH_BUFFER_SECONDS": "0",
        "WORKOS_REQUEST_TIMEOUT": "2.5",
        "WORKOS_AFTER_SIGN_IN_PATH": "/home",
        "WORKOS_AFTER_SIGN_OUT_URL": "/bye",
        "WORKOS_PROTECTED_PATHS": "/admin/*, /api/*,,",
        "WORKOS_PUBLIC_PATHS": "/health",
        "WORKOS_ACCEPT_BEARER": "no",
        "WORKOS_DEBUG": "1",
        "WORKOS_COOKIE_PASSWORD_FALLBACKS": f"  {PW_OLD}\n{PW_OLD}x ",
    }
    c = AuthKitConfig.from_env(env)
    assert c.base_url == "https://auth.example.com"
    assert c.issuers == ("https://a", "https://b")
    assert (c.cookie_name, c.cookie_domain, c.cookie_max_age) == ("sess", "example.com", 3600)
    assert c.cookie_samesite == "strict" and c.cookie_secure is True
    assert (c.jwt_leeway, c.refresh_buffer, c.request_timeout) == (30.0, 0.0, 2.5)
    assert c.after_sign_in_path == "/home"
    assert c.resolved_after_sign_out_url == "https://app.example.com/bye"
    assert c.protected_paths == ("/admin/*", "/api/*") and c.public_paths == ("/health",)
    assert c.accept_bearer_tokens is False and c.debug is True
    assert c.cookie_passwords == (PW, PW_OLD, PW_OLD + "x")


def test_single_issuer_from_env_is_a_str() -> None:
    assert AuthKitConfig.from_env({**GOOD_ENV, "WORKOS_ISSUER": "https://a"}).issuer == "https://a"


def test_samesite_env_spellings() -> None:
    both = {**GOOD_ENV, "WORKOS_COOKIE_SAMESITE": "strict", "WORKOS_COOKIE_SAME_SITE": "none"}
    assert AuthKitConfig.from_env(both).cookie_samesite == "strict"


def test_empty_env_values_are_unset() -> None:
    env = {**GOOD_ENV, "WORKOS_COOKIE_MAX_AGE": "", "WORKOS_DEBUG": "  ", "WORKOS_ISSUER": ""}
    c = AuthKitConfig.from_env(env)
    assert c.cookie_max_age == 34_560_000 and c.debug is False and c.issuer is None


@pytest.mark.parametrize("word", ["1", "true", "Yes", "ON", "0", "false", "no", "Off"])
def test_env_booleans(word: str) -> None:
    expected = word.lower() in ("1", "true", "yes", "on")
    assert AuthKitConfig.from_env({**GOOD_ENV, "WORKOS_DEBUG": word}).debug is expected


def test_env_parse_errors_join_the_other_problems() -> None:
    env = {
        "WORKOS_CLIENT_ID": "client_1",
        "WORKOS_REDIRECT_URI": "https://app.example.com/cb",
        "WORKOS_COOKIE_MAX_AGE": "forever",
        "WORKOS_JWT_LEEWAY": "soon",
        "WORKOS_REQUEST_TIMEOUT": "inf",
        "WORKOS_ACCEPT_BEARER": "maybe",
        "WORKOS_COOKIE_PASSWORD": "short-secret-value",
    }
    with pytest.raises(ConfigError) as info:
        AuthKitConfig.from_env(env)
    text = "\n".join(info.value.problems)
    assert "cookie_max_age (WORKOS_COOKIE_MAX_AGE): must be a whole number, not 'forever'" in text
    assert "jwt_leeway (WORKOS_JWT_LEEWAY)" in text
    assert "request_timeout (WORKOS_REQUEST_TIMEOUT)" in text
    assert "accept_bearer_tokens (WORKOS_ACCEPT_BEARER)" in text and "1/0/true" in text
    assert "api_key (WORKOS_API_KEY): is required" in text
    assert "(currently 18 characters)" in text and "short-secret-value" not in text
    assert len(info.value.problems) == 6


def test_fallbacks_without_primary() -> None:
    env = {k: v for k, v in GOOD_ENV.items() if k != "WORKOS_COOKIE_PASSWORD"}
    env["WORKOS_COOKIE_PASSWORD_FALLBACKS"] = PW_OLD
    with pytest.raises(ConfigError) as info:
        AuthKitConfig.from_env(env)
    text = "\n".join(info.value.problems)
    assert "WORKOS_COOKIE_PASSWORD_FALLBACKS" in text and PW_OLD not in text


def test_keyword_password_ignores_env_fallbacks() -> None:
    env = {**GOOD_ENV, "WORKOS_COOKIE_PASSWORD_FALLBACKS": PW_OLD}
    assert AuthKitConfig.from_env(env, cookie_password=PW).cookie_passwords == (PW,)


def test_unknown_keyword_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        make(cookie_nmae="x")
    with pytest.raises(TypeError):
        AuthKitConfig.from_env(GOOD_ENV, cookie_nmae="x")
    with pytest.raises(TypeError):
        make().replace(cookie_nmae="x")


# -- immutability, replace -------------------------------------------------------------------


def test_frozen_and_slotted() -> None:
    c = make()
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.cookie_name = "x"  # type: ignore[misc]
    assert not hasattr(c, "__dict__")


def test_replace_revalidates_and_rederives() -> None:
    c = make()
    d = c.replace(redirect_uri="http://localhost:8000/cb", debug=True)
    assert d.origin == "http://localhost:8000" and d.cookie_secure_effective is False
    assert d.debug is True and c.debug is False
    assert d.session_cookie_options.secure is False
    with pytest.raises(ConfigError):
        c.replace(cookie_password="short")
    assert c.replace() == c and hash(c.replace()) == hash(c)


# -- secrets never leak -----------------------------------------------------------------------


def test_repr_masks_secrets() -> None:
    c = make(cookie_password=[PW, PW_OLD])
    text = repr(c)
    assert "api_key='sk_…WXYZ'" in text
    assert "cookie_password=<2 hidden>" in text
    assert API_KEY not in text and PW not in text and PW_OLD not in text
    assert str(c) == text
    assert "api_key='…'" in repr(make(api_key="short_key"))
    assert "api_key='…cdef'" in repr(make(api_key="0123456789abcdef"))


_SECRET = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=16, max_size=80)


@settings(max_examples=200)
@given(api_key=_SECRET, password=st.text(min_size=8, max_size=80))
def test_no_secret_in_repr_str_or_errors(api_key: str, password: str) -> None:
    # A random string can coincide with ordinary text of the message; rule that out
    # by rendering the same config with placeholder secrets first.
    placeholder_problems: tuple[str, ...] = ()
    try:
        placeholder = make(api_key="sk_x" * 5, cookie_password="y" * max(len(password), 1))
        baseline = repr(placeholder)
    except ConfigError as error:
        placeholder_problems = error.problems
        baseline = f"{error}\n{error!r}\n"  # "ConfigError(code=...": words a password may be
    baseline += "\n".join(placeholder_problems) + repr(make())
    assume(api_key not in baseline and password not in baseline)
    assume(api_key[-4:] != api_key)
    try:
        config = make(api_key=api_key, cookie_password=password)
    except ConfigError as error:
        rendered = [str(error), repr(error), error.message, *error.problems]
    else:
        rendered = [repr(config), str(config)]
    for text in rendered:
        assert api_key not in text
        assert password not in text


@settings(max_examples=100)
@given(password=st.text(min_size=1, max_size=31))
def test_short_passwords_report_only_their_length(password: str) -> None:
    assume(password not in one_problem(cookie_password="z" * len(password)))
    problem = one_problem(cookie_password=password)
    assert f"(currently {len(password)} characters)" in problem
    assert password not in problem
