"""``AuthKitConfig``: keywords > environment, validated once, all problems together.

Why this shape:

- **Fail at startup, not per request** (H5): a short password, a missing client id
  or an ``http`` redirect URI outside localhost raise :class:`ConfigError` when the
  middleware is built, listing *every* problem at once, one line each naming the
  option, its environment variable and the fix.
- **Secrets never print** (architecture rules): ``api_key`` shows at most its last 4
  characters in ``repr``/``str``; cookie passwords show only how many there are; no
  error message contains either.
- **Hot-path values are computed once** in ``__post_init__`` (cookie attribute
  suffixes, origin, JWKS URL), so a request never re-derives them.

Env variables match the AuthKit JS libraries (``WORKOS_COOKIE_NAME`` defaults to
``wos-session``, ``WORKOS_COOKIE_MAX_AGE`` to 400 days...), so one ``.env`` serves a
Next.js app and a Python service sharing the session cookie.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal
from urllib.parse import SplitResult, urlsplit

from .cookies import (
    VERIFIER_COOKIE_PREFIX,
    CookieOptions,
    is_valid_cookie_name,
    session_cookie_options,
    verifier_cookie_options,
)
from .errors import ConfigError
from .hooks import check_hook_options
from .redirects import safe_return_path

__all__ = ["DEFAULT_BASE_URL", "MIN_PASSWORD_LENGTH", "AuthKitConfig"]

DEFAULT_BASE_URL = "https://api.workos.com"
#: iron's ``minPasswordlength``; authkit-nextjs / authkit-session enforce the same (D4).
MIN_PASSWORD_LENGTH = 32
_GENERATE_PASSWORD = "generate one with `authkit-middleware password` or `openssl rand -base64 24`"
_GENERATE_FERNET = (
    'generate one with `python -c "from cryptography.fernet import Fernet; '
    'print(Fernet.generate_key().decode())"`'
)

#: option -> environment variables read by ``from_env`` (first set wins).
ENV_VARS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "api_key": ("WORKOS_API_KEY",),
        "client_id": ("WORKOS_CLIENT_ID",),
        "redirect_uri": ("WORKOS_REDIRECT_URI",),
        "cookie_password": ("WORKOS_COOKIE_PASSWORD",),
        "seal_format": ("WORKOS_SEAL_FORMAT",),
        "base_url": ("WORKOS_BASE_URL",),
        "issuer": ("WORKOS_ISSUER",),
        "cookie_name": ("WORKOS_COOKIE_NAME",),
        "cookie_domain": ("WORKOS_COOKIE_DOMAIN",),
        "cookie_max_age": ("WORKOS_COOKIE_MAX_AGE",),
        "cookie_samesite": ("WORKOS_COOKIE_SAMESITE", "WORKOS_COOKIE_SAME_SITE"),
        "cookie_secure": ("WORKOS_COOKIE_SECURE",),
        "jwt_leeway": ("WORKOS_JWT_LEEWAY",),
        "refresh_buffer": ("WORKOS_REFRESH_BUFFER_SECONDS",),
        "request_timeout": ("WORKOS_REQUEST_TIMEOUT",),
        "token_attestation": ("WORKOS_TOKEN_ATTESTATION",),
        "after_sign_in_path": ("WORKOS_AFTER_SIGN_IN_PATH",),
        "after_sign_out_url": ("WORKOS_AFTER_SIGN_OUT_URL",),
        "protected_paths": ("WORKOS_PROTECTED_PATHS",),
        "public_paths": ("WORKOS_PUBLIC_PATHS",),
        "accept_bearer_tokens": ("WORKOS_ACCEPT_BEARER",),
        "credential_precedence": ("WORKOS_CREDENTIAL_PRECEDENCE",),
        "debug": ("WORKOS_DEBUG",),
    }
)
PASSWORD_FALLBACKS_ENV = "WORKOS_COOKIE_PASSWORD_FALLBACKS"

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
# A route path: rooted, not "//", no query/fragment/backslash/whitespace/controls.
_ROUTE = re.compile(r"/(?!/)[^\s?#\\\x00-\x1f\x7f]*")
_PATTERN = re.compile(r"/[^\s\\\x00-\x1f\x7f]*")
_DOMAIN = re.compile(r"\.?[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")
_URL_JUNK = re.compile(r"[\s\x00-\x1f\x7f\\]")
_EMPTY_RULES: Mapping[str, tuple[str, ...]] = MappingProxyType({})
#: path-rule options -> what their values name.
_RULE_OPTIONS: Mapping[str, str] = MappingProxyType(
    {
        "permission_rules": "permissions",
        "role_rules": "roles",
        "entitlement_rules": "entitlements",
        "feature_flag_rules": "feature flags",
    }
)


def _where(name: str) -> str:
    """``"cookie_name (WORKOS_COOKIE_NAME)"``: where a problem comes from."""
    env = ENV_VARS.get(name)
    return f"{name} ({' or '.join(env)})" if env else f"{name} (keyword only)"


def _show(value: object) -> str:
    """A short repr of a non-secret value for error messages."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_loopback(host: str) -> bool:
    """localhost, *.localhost (RFC 6761), 127.0.0.0/8 and ::1: where http is acceptable."""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _mask_api_key(key: object) -> str:
    """``'sk_…1234'``: at most the last 4 characters, and only of a long key."""
    if not isinstance(key, str) or not key:
        return "''"
    if len(key) < 16:
        return "'…'"
    head = "sk_" if key.startswith("sk_") else ""
    return f"'{head}…{key[-4:]}'"


@dataclass(frozen=True)
class _URL:
    """The parts of a validated absolute URL that the config derives values from."""

    scheme: str
    host: str
    origin: str
    path: str


def _origin(parts: SplitResult, scheme: str, host: str) -> str:
    port = parts.port
    shown = f"[{host}]" if ":" in host else host
    if port is None or (scheme, port) in (("https", 443), ("http", 80)):
        return f"{scheme}://{shown}"
    return f"{scheme}://{shown}:{port}"


def _check_url(name: str, value: object, problems: list[str], example: str) -> _URL | None:
    """An absolute http(s) URL with a host; plain http only on loopback (H5, D1).

    URLs are never echoed: one with ``user:password@`` would leak the password.
    """
    where = _where(name)
    if not isinstance(value, str) or not value:
        problems.append(f"{where}: is required; set it to an absolute URL such as {example}")
        return None
    if _URL_JUNK.search(value):
        problems.append(f"{where}: must not contain whitespace, control characters or '\\'")
        return None
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        problems.append(f"{where}: is not a valid URL (check the host and port)")
        return None
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    found = len(problems)
    if scheme not in ("http", "https") or not host:
        problems.append(f"{where}: must be an absolute http(s) URL with a host, such as {example}")
        return None
    if parts.username is not None or parts.password is not None:
        problems.append(f"{where}: must not contain credentials (user:password@)")
    if scheme == "http" and not _is_loopback(host):
        problems.append(
            f"{where}: plain http is only allowed for localhost, 127.0.0.0/8 and [::1]; use https"
        )
    if "#" in value:
        problems.append(f"{where}: must not contain a fragment ('#...'); remove it")
    if len(problems) > found:
        return None
    return _URL(scheme=scheme, host=host, origin=_origin(parts, scheme, host), path=parts.path)


def _as_tuple(value: object) -> object:
    """A str stays one item; any other sequence becomes a tuple (sets are refused
    later: password order matters, the first one seals)."""
    if isinstance(value, str) or value is None:
        return value
    if isinstance(value, Sequence):
        return tuple(value)
    return value


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class AuthKitConfig:
    """Everything the middleware needs, validated once. Build with keywords or
    :meth:`from_env`; derive variants with :meth:`replace`.

    Required: ``api_key``, ``client_id``, ``redirect_uri``, ``cookie_password``.
    See ``docs/`` for every option; each one's environment variable is in
    :data:`ENV_VARS`.
    """

    # -- WorkOS ---------------------------------------------------------------------
    api_key: str = field(default="", repr=False)
    client_id: str = ""
    #: Absolute URL WorkOS sends the browser back to; its path is the callback route.
    redirect_uri: str = ""
    #: One password, or several newest first (the first seals, all unseal: rotation).
    cookie_password: str | Sequence[str] = field(default="", repr=False)
    seal_format: Literal["iron", "fernet"] = "iron"
    base_url: str = DEFAULT_BASE_URL
    #: Expected ``iss`` of access tokens (one or several); None skips the check.
    issuer: str | Sequence[str] | None = None
    # -- session cookie -------------------------------------------------------------
    cookie_name: str = "wos-session"
    cookie_domain: str | None = None
    cookie_max_age: int = 34_560_000
    cookie_samesite: str = "lax"
    #: None: Secure when the redirect URI is https or SameSite is None.
    cookie_secure: bool | None = None
    # -- tokens and network ---------------------------------------------------------
    jwt_leeway: float = 60.0
    #: Seconds before expiry to refresh proactively; None: auto (60, or 30 for short tokens).
    refresh_buffer: float | None = None
    request_timeout: float = 5.0
    #: Seal, next to each access token this middleware verified, an attestation (a MAC
    #: keyed from the API key), so that another worker's first sight of the cookie
    #: skips the RS256 check; False: verify every new cookie's token with RS256.
    token_attestation: bool = True
    # -- routes ---------------------------------------------------------------------
    login_path: str = "/login"
    signup_path: str = "/signup"
    logout_path: str = "/logout"
    session_endpoint: str | None = "/auth/me"
    switch_organization_path: str | None = "/auth/switch-organization"
    after_sign_in_path: str = "/"
    after_sign_out_url: str | None = None
    # -- protection -----------------------------------------------------------------
    protected_paths: tuple[str, ...] = ()
    public_paths: tuple[str, ...] = ()
    permission_rules: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: _EMPTY_RULES, hash=False
    )
    role_rules: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: _EMPTY_RULES, hash=False
    )
    #: Entitlements a path demands (every one listed), like ``permission_rules``.
    entitlement_rules: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: _EMPTY_RULES, hash=False
    )
    #: Feature flags a path demands (every one listed), like ``permission_rules``.
    feature_flag_rules: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: _EMPTY_RULES, hash=False
    )
    #: Accept ``Authorization: Bearer <access token>`` (API clients); False ignores it.
    accept_bearer_tokens: bool = True
    #: Which credential a request carrying both a session cookie and a bearer token
    #: uses (decided by presence; the other is ignored). See docs/api-clients.md.
    credential_precedence: Literal["cookie", "bearer"] = "cookie"
    # -- limits ---------------------------------------------------------------------
    max_pending_flows: int = 5
    session_cache_size: int = 10_000
    jwks_cache_ttl: float = 300.0
    jwks_refetch_cooldown: float = 30.0
    max_custom_state_bytes: int = 2048
    max_cookie_chunks: int = 4
    logout_cross_site_get: bool = False
    debug: bool = False
    # -- extension points (keyword only, docs/hooks.md) -----------------------------
    #: ``(SignInEvent) -> None | str | HookResponse``; sync or async (ASGI only).
    on_sign_in: Callable[[Any], Any] | None = None
    #: ``(SignOutEvent) -> None``; sync or async (ASGI only).
    on_sign_out: Callable[[Any], Any] | None = None
    #: ``(RefreshEvent) -> None``; sync or async (ASGI only).
    on_refresh: Callable[[Any], Any] | None = None
    #: ``(ErrorEvent) -> None | str | HookResponse``; sync or async (ASGI only).
    on_error: Callable[[Any], Any] | None = None
    #: HTML with ``{title}``, ``{message}``, ``{code}``, ``{action_url}`` (escaped).
    error_template: str | None = None
    #: ``(ErrorEvent) -> str | HookResponse``: renders the HTML error page (plain def).
    error_page: Callable[[Any], Any] | None = None

    # -- derived once in __post_init__ (not constructor arguments) ------------------
    cookie_passwords: tuple[str, ...] = field(init=False, repr=False, compare=False)
    issuers: tuple[str, ...] = field(init=False, compare=False)
    callback_path: str = field(init=False, compare=False)
    #: ``scheme://host[:port]`` of the redirect URI: every redirect we build starts here.
    origin: str = field(init=False, compare=False)
    is_https: bool = field(init=False, compare=False)
    jwks_url: str = field(init=False, compare=False)
    cookie_secure_effective: bool = field(init=False, compare=False)
    resolved_after_sign_out_url: str = field(init=False, compare=False)
    session_cookie_options: CookieOptions = field(init=False, compare=False)
    #: Verifier cookie attributes under the legacy name; ``.with_name()`` per flow.
    verifier_cookie_options: CookieOptions = field(init=False, compare=False)

    # -- construction ---------------------------------------------------------------

    def __post_init__(self) -> None:
        self._normalise()
        problems: list[str] = []
        redirect = _check_url(
            "redirect_uri", self.redirect_uri, problems, "https://app.example.com/callback"
        )
        base = _check_url("base_url", self.base_url, problems, DEFAULT_BASE_URL)
        for check in _CHECKS:
            check(self, problems)
        callback_path = (redirect.path or "/") if redirect else "/callback"
        if redirect is not None and callback_path == "/":
            # WorkOS redirects to the exact URI: a bare origin would make the home
            # page the callback route.
            problems.append(
                f"{_where('redirect_uri')}: needs a callback path, e.g. "
                f"{redirect.origin}/callback (the middleware serves the sign-in callback there)"
            )
        _check_cookie_security(self, redirect, problems)
        _check_routes(self, callback_path, problems)
        sign_out = _check_after_sign_out(self, problems)
        if problems:
            raise ConfigError(problems)
        assert redirect is not None and base is not None  # no problems: both parsed
        self._derive(redirect, callback_path, sign_out)

    def _normalise(self) -> None:
        """Canonical forms before validation: tuples for sequences, lowercase enums."""
        put = object.__setattr__
        for name in ("cookie_password", "issuer", "protected_paths", "public_paths"):
            put(self, name, _as_tuple(getattr(self, name)))
        for name in ("protected_paths", "public_paths"):
            value = getattr(self, name)
            if isinstance(value, str):
                put(self, name, (value,))
        for name in ("seal_format", "cookie_samesite", "credential_precedence"):
            value = getattr(self, name)
            if isinstance(value, str):
                put(self, name, value.strip().lower())
        for name in ("jwt_leeway", "refresh_buffer", "request_timeout", "jwks_cache_ttl"):
            value = getattr(self, name)
            if _is_int(value):
                put(self, name, float(value))
        if _is_int(self.jwks_refetch_cooldown):
            put(self, "jwks_refetch_cooldown", float(self.jwks_refetch_cooldown))
        for name in _RULE_OPTIONS:
            value = getattr(self, name)
            if isinstance(value, Mapping):
                rules = {k: _as_tuple(v) for k, v in value.items()}
                rules = {k: (v,) if isinstance(v, str) else v for k, v in rules.items()}
                put(self, name, MappingProxyType(rules))
        put(self, "cookie_passwords", _passwords(self.cookie_password))
        issuer = self.issuer
        put(self, "issuers", (issuer,) if isinstance(issuer, str) else (issuer or ()))

    def _derive(self, redirect: _URL, callback_path: str, sign_out: str) -> None:
        put = object.__setattr__
        put(self, "callback_path", callback_path)
        put(self, "origin", redirect.origin)
        put(self, "is_https", redirect.scheme == "https")
        put(self, "jwks_url", f"{self.base_url.rstrip('/')}/sso/jwks/{self.client_id}")
        secure = self.cookie_secure
        if secure is None:
            secure = self.is_https or self.cookie_samesite == "none"
        put(self, "cookie_secure_effective", secure)
        if sign_out.startswith("/"):
            sign_out = redirect.origin + sign_out
        put(self, "resolved_after_sign_out_url", sign_out)
        put(self, "session_cookie_options", session_cookie_options(self))
        put(self, "verifier_cookie_options", verifier_cookie_options(self, VERIFIER_COOKIE_PREFIX))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> AuthKitConfig:
        """Read ``WORKOS_*`` variables (``os.environ`` by default); keywords win.

        An empty variable counts as unset. Values that do not parse are reported
        together with every other problem in one :class:`ConfigError`.
        """
        env: Mapping[str, str] = os.environ if environ is None else environ
        problems: list[str] = []
        kwargs: dict[str, Any] = {}
        for name, variables in ENV_VARS.items():
            if name in overrides:
                continue
            found = _read_env(env, variables)
            if found is None:
                continue
            variable, raw = found
            try:
                kwargs[name] = _ENV_PARSERS.get(name, _parse_str)(raw)
            except ValueError as error:
                problems.append(f"{name} ({variable}): {error}")
        if "cookie_password" not in overrides:
            _env_fallbacks(env, kwargs, problems)
        kwargs.update(overrides)
        try:
            config = cls(**kwargs)
        except ConfigError as error:
            raise ConfigError([*problems, *error.problems]) from None
        if problems:
            raise ConfigError(problems)
        return config

    def replace(self, **changes: Any) -> AuthKitConfig:
        """A validated copy with ``changes`` applied (unknown names: ``TypeError``)."""
        return dataclasses.replace(self, **changes)

    def effective_refresh_buffer(self, token_lifetime: float) -> float:
        """Seconds before ``exp`` to refresh: the configured value, else 60 s, or 30 s
        for tokens living <= 300 s (authkit-nextjs); 0 disables proactive refresh."""
        if self.refresh_buffer is not None:
            return self.refresh_buffer
        return 30.0 if token_lifetime <= 300 else 60.0

    def __repr__(self) -> str:
        shown: list[str] = []
        for f in dataclasses.fields(self):
            if not f.init:
                continue
            if f.name == "api_key":
                shown.append(f"api_key={_mask_api_key(self.api_key)}")
            elif f.name == "cookie_password":
                shown.append(f"cookie_password=<{len(self.cookie_passwords)} hidden>")
            else:
                value = getattr(self, f.name)
                if isinstance(value, MappingProxyType):
                    value = dict(value)
                shown.append(f"{f.name}={value!r}")
        return f"AuthKitConfig({', '.join(shown)})"

    __str__ = __repr__


# -- validation helpers (module functions: small, and kept off the slotted class) ---


def _passwords(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,) if value else ()
    if isinstance(value, tuple):
        return tuple(value)
    return ()


def _check_required(config: AuthKitConfig, problems: list[str]) -> None:
    if not isinstance(config.api_key, str) or not config.api_key:
        problems.append(
            f"{_where('api_key')}: is required; copy the API key (sk_...) from the WorkOS dashboard"
        )
    if not isinstance(config.client_id, str) or not config.client_id:
        problems.append(
            f"{_where('client_id')}: is required; copy the client ID (client_...) from "
            "the WorkOS dashboard"
        )
    elif not config.client_id.isprintable() or any(c in config.client_id for c in "/?# "):
        problems.append(f"{_where('client_id')}: holds characters a client ID never has")


def _check_passwords(config: AuthKitConfig, problems: list[str]) -> None:
    """D4: >= 32 characters each; report lengths, never values (D5: rotation list)."""
    where = _where("cookie_password")
    value = config.cookie_password
    if not isinstance(value, (str, tuple)) or (
        isinstance(value, tuple) and not all(isinstance(p, str) for p in value)
    ):
        problems.append(f"{where}: must be a str or a sequence of str (newest first)")
        return
    passwords = config.cookie_passwords
    if not passwords:
        problems.append(
            f"{where}: is required (at least {MIN_PASSWORD_LENGTH} characters); "
            f"{_GENERATE_PASSWORD}"
        )
        return
    for position, password in enumerate(passwords):
        label = where if position == 0 else f"{where} fallback #{position}"
        if len(password) < MIN_PASSWORD_LENGTH:
            problems.append(
                f"{label}: must be at least {MIN_PASSWORD_LENGTH} characters "
                f"(currently {len(password)} characters); {_GENERATE_PASSWORD}"
            )
    if config.seal_format == "fernet" and not _is_fernet_key(passwords[0]):
        problems.append(
            f"{where}: seal_format='fernet' needs a Fernet key (url-safe base64 of 32 "
            f"bytes, 44 characters, as workos-python uses); {_GENERATE_FERNET}"
        )


def _is_fernet_key(key: str) -> bool:
    import binascii

    from cryptography.fernet import Fernet

    try:
        Fernet(key)
    except (ValueError, TypeError, binascii.Error):
        return False
    return True


def _check_enums(config: AuthKitConfig, problems: list[str]) -> None:
    if config.seal_format not in ("iron", "fernet"):
        problems.append(
            f"{_where('seal_format')}: must be 'iron' (default, JS-compatible) or "
            f"'fernet' (workos-python-compatible), not {_show(config.seal_format)}"
        )
    if config.cookie_samesite not in ("lax", "strict", "none"):
        problems.append(
            f"{_where('cookie_samesite')}: must be 'lax', 'strict' or 'none', "
            f"not {_show(config.cookie_samesite)}"
        )
    if config.cookie_secure is not None and not isinstance(config.cookie_secure, bool):
        problems.append(f"{_where('cookie_secure')}: must be True, False or None (auto)")
    if config.credential_precedence not in ("cookie", "bearer"):
        problems.append(
            f"{_where('credential_precedence')}: must be 'cookie' (default: a request with "
            "both uses its session cookie) or 'bearer', "
            f"not {_show(config.credential_precedence)}"
        )


def _check_issuers(config: AuthKitConfig, problems: list[str]) -> None:
    issuer = config.issuer
    if issuer is None:
        return
    if (
        not isinstance(issuer, (str, tuple))
        or not all(isinstance(i, str) and i.strip() for i in config.issuers)
        or not config.issuers
    ):
        problems.append(
            f"{_where('issuer')}: must be a non-empty str or a sequence of them "
            "(comma-separated in the environment)"
        )


def _check_cookie_name(config: AuthKitConfig, problems: list[str]) -> None:
    where = _where("cookie_name")
    name = config.cookie_name
    if not is_valid_cookie_name(name):
        problems.append(
            f"{where}: must be a cookie token (letters, digits and !#$%&'*+-.^_`|~), "
            f"not {_show(name)}"
        )
    elif name.startswith(VERIFIER_COOKIE_PREFIX):
        problems.append(
            f"{where}: must not start with {VERIFIER_COOKIE_PREFIX!r} (sign-in verifier "
            "cookies use that prefix and are evicted); use the default 'wos-session'"
        )
    domain = config.cookie_domain
    if domain is not None and (not isinstance(domain, str) or not _DOMAIN.fullmatch(domain)):
        problems.append(
            f"{_where('cookie_domain')}: must be a host name such as 'example.com' "
            "(no scheme, port or path), or unset"
        )
    if not _is_int(config.cookie_max_age) or config.cookie_max_age < 0:
        problems.append(
            f"{_where('cookie_max_age')}: must be a whole number of seconds >= 0 "
            f"(default 34560000 = 400 days), not {_show(config.cookie_max_age)}"
        )


def _check_cookie_security(
    config: AuthKitConfig, redirect: _URL | None, problems: list[str]
) -> None:
    """D1/D2: SameSite=None needs Secure; ``__Host-``/``__Secure-`` need Secure; the
    Domain must cover the redirect URI host or the browser drops the cookie."""
    samesite = config.cookie_samesite
    explicit = config.cookie_secure if isinstance(config.cookie_secure, bool) else None
    # Unknown when redirect_uri is itself invalid: only the checks that need it wait.
    https = None if redirect is None else redirect.scheme == "https"
    secure: bool | None = explicit
    if secure is None and https is not None:
        secure = https or samesite == "none"
    if samesite == "none":
        if explicit is False:
            problems.append(
                f"{_where('cookie_secure')}: SameSite=None requires Secure; remove "
                "cookie_secure=False or use cookie_samesite='lax'"
            )
        if https is False:
            problems.append(
                f"{_where('cookie_samesite')}: SameSite=None requires Secure cookies, which "
                "need an https redirect_uri; use 'lax' for local http development"
            )
    name = config.cookie_name if isinstance(config.cookie_name, str) else ""
    domain = config.cookie_domain if isinstance(config.cookie_domain, str) else None
    lowered = name.lower()
    if lowered.startswith("__host-") and (secure is False or domain):
        problems.append(
            f"{_where('cookie_name')}: a '__Host-' cookie requires Secure (an https "
            "redirect_uri or cookie_secure=True) and no cookie_domain"
        )
    elif lowered.startswith("__secure-") and secure is False:
        problems.append(
            f"{_where('cookie_name')}: a '__Secure-' cookie requires Secure (an https "
            "redirect_uri or cookie_secure=True)"
        )
    if redirect is not None and domain and _DOMAIN.fullmatch(domain):
        bare = domain.lstrip(".").lower()
        if redirect.host != bare and not redirect.host.endswith("." + bare):
            problems.append(
                f"{_where('cookie_domain')}: {_show(domain)} does not cover the "
                "redirect_uri host, so browsers would refuse the cookie; use that host "
                "or a parent domain of it"
            )


def _check_numbers(config: AuthKitConfig, problems: list[str]) -> None:
    leeway = config.jwt_leeway
    if not _is_number(leeway) or not 0 <= leeway <= 300:
        problems.append(
            f"{_where('jwt_leeway')}: must be a number of seconds in 0..300 "
            f"(default 60), not {_show(leeway)}"
        )
    buffer = config.refresh_buffer
    if buffer is not None and (not _is_number(buffer) or buffer < 0):
        problems.append(
            f"{_where('refresh_buffer')}: must be seconds >= 0 (0 disables proactive "
            f"refresh) or unset for auto, not {_show(buffer)}"
        )
    timeout = config.request_timeout
    if not _is_number(timeout) or timeout <= 0:
        problems.append(
            f"{_where('request_timeout')}: must be a number of seconds > 0 (default 5), "
            f"not {_show(timeout)}"
        )
    for name, low, inclusive in _NUMERIC_LIMITS:
        value = getattr(config, name)
        number_ok = _is_int(value) if name in _INT_FIELDS else _is_number(value)
        if not number_ok or value < low or (not inclusive and value == low):
            bound = f">= {low}" if inclusive else f"> {low}"
            kind = "an integer" if name in _INT_FIELDS else "a number"
            problems.append(f"{_where(name)}: must be {kind} {bound}, not {_show(value)}")
    for name in ("token_attestation", "accept_bearer_tokens", "logout_cross_site_get", "debug"):
        if not isinstance(getattr(config, name), bool):
            problems.append(f"{_where(name)}: must be True or False")


_INT_FIELDS = frozenset(
    {"max_pending_flows", "session_cache_size", "max_custom_state_bytes", "max_cookie_chunks"}
)
# (option, lower bound, bound inclusive)
_NUMERIC_LIMITS: tuple[tuple[str, float, bool], ...] = (
    ("max_pending_flows", 1, True),
    ("session_cache_size", 0, True),
    ("jwks_cache_ttl", 0, False),
    ("jwks_refetch_cooldown", 0, True),
    ("max_custom_state_bytes", 0, True),
    ("max_cookie_chunks", 1, True),
)


def _check_routes(config: AuthKitConfig, callback_path: str, problems: list[str]) -> None:
    """Our routes must be plain rooted paths and distinct, or one would shadow another."""
    routes: dict[str, str] = {}
    for name in (
        "login_path",
        "signup_path",
        "logout_path",
        "session_endpoint",
        "switch_organization_path",
    ):
        value = getattr(config, name)
        if value is None and name in ("session_endpoint", "switch_organization_path"):
            continue
        if not isinstance(value, str) or not _ROUTE.fullmatch(value):
            problems.append(
                f"{_where(name)}: must be a path starting with a single '/' without "
                f"query, fragment, '\\' or whitespace, not {_show(value)}"
            )
            continue
        if value == callback_path:
            problems.append(
                f"{_where(name)}: {value!r} is the callback path (the path of redirect_uri); "
                "choose another path"
            )
        elif value in routes:
            problems.append(
                f"{_where(name)}: {value!r} is also {routes[value]}; each route needs its own path"
            )
        routes.setdefault(value, name)
    after = config.after_sign_in_path
    if not isinstance(after, str) or safe_return_path(after, "") != after:
        problems.append(
            f"{_where('after_sign_in_path')}: must be a same-origin path such as "
            f"'/dashboard' (one leading '/', no scheme or host), not {_show(after)}"
        )
    for name in ("protected_paths", "public_paths"):
        _check_patterns(name, getattr(config, name), problems)
    for name in _RULE_OPTIONS:
        _check_rules(name, getattr(config, name), problems)


def _check_patterns(name: str, patterns: object, problems: list[str]) -> None:
    if not isinstance(patterns, tuple) or not all(
        isinstance(p, str) and _PATTERN.fullmatch(p) for p in patterns
    ):
        problems.append(
            f"{_where(name)}: must be glob patterns starting with '/' such as "
            "'/admin/*' (comma-separated in the environment)"
        )


def _check_rules(name: str, rules: object, problems: list[str]) -> None:
    what = _RULE_OPTIONS.get(name, "names")
    if not isinstance(rules, Mapping):
        problems.append(
            f"{_where(name)}: must be a mapping of path pattern to required {what}, "
            "e.g. {'/admin/*': ('admin',)}"
        )
        return
    for pattern, required in rules.items():
        if not isinstance(pattern, str) or not _PATTERN.fullmatch(pattern):
            problems.append(f"{_where(name)}: pattern {_show(pattern)} must start with '/'")
        if not isinstance(required, tuple) or not all(isinstance(r, str) and r for r in required):
            problems.append(
                f"{_where(name)}: the {what} for {_show(pattern)} must be a str or a "
                "sequence of non-empty str"
            )


def _check_after_sign_out(config: AuthKitConfig, problems: list[str]) -> str:
    """A path (joined to the redirect URI origin later) or an absolute URL."""
    value = config.after_sign_out_url
    if value is None:
        return "/"
    if isinstance(value, str) and value.startswith("/"):
        if safe_return_path(value, "") != value:
            problems.append(
                f"{_where('after_sign_out_url')}: must be a same-origin path such as '/' "
                "or an absolute https URL"
            )
        return value
    url = _check_url("after_sign_out_url", value, problems, "https://example.com/goodbye")
    return "/" if url is None else str(value)


_CHECKS: tuple[Callable[[AuthKitConfig, list[str]], None], ...] = (
    _check_required,
    _check_enums,
    _check_passwords,
    _check_issuers,
    _check_cookie_name,
    _check_numbers,
    check_hook_options,
)


# -- environment parsing -----------------------------------------------------------


def _read_env(env: Mapping[str, str], variables: tuple[str, ...]) -> tuple[str, str] | None:
    for variable in variables:
        raw = env.get(variable)
        if raw is not None and raw.strip():
            return variable, raw
    return None


def _parse_str(raw: str) -> str:
    return raw.strip()


def _parse_secret(raw: str) -> str:
    return raw  # as given: the JS libraries do not strip passwords either


def _parse_bool(raw: str) -> bool:
    word = raw.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ValueError(f"must be one of 1/0/true/false/yes/no/on/off, not {_show(raw)}")


def _parse_int(raw: str) -> int:
    try:
        return int(raw.strip(), 10)
    except ValueError:
        raise ValueError(f"must be a whole number, not {_show(raw)}") from None


def _parse_float(raw: str) -> float:
    try:
        value = float(raw.strip())
    except ValueError:
        raise ValueError(f"must be a number of seconds, not {_show(raw)}") from None
    if not math.isfinite(value):
        raise ValueError(f"must be a finite number of seconds, not {_show(raw)}")
    return value


def _parse_list(raw: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in raw.split(",") if item.strip())


def _parse_issuer(raw: str) -> str | tuple[str, ...]:
    items = _parse_list(raw)
    return items[0] if len(items) == 1 else items


_ENV_PARSERS: Mapping[str, Callable[[str], object]] = MappingProxyType(
    {
        "api_key": _parse_secret,
        "cookie_password": _parse_secret,
        "issuer": _parse_issuer,
        "cookie_max_age": _parse_int,
        "cookie_secure": _parse_bool,
        "jwt_leeway": _parse_float,
        "refresh_buffer": _parse_float,
        "request_timeout": _parse_float,
        "token_attestation": _parse_bool,
        "protected_paths": _parse_list,
        "public_paths": _parse_list,
        "accept_bearer_tokens": _parse_bool,
        "debug": _parse_bool,
    }
)


def _env_fallbacks(env: Mapping[str, str], kwargs: dict[str, Any], problems: list[str]) -> None:
    """``WORKOS_COOKIE_PASSWORD_FALLBACKS``: older passwords, whitespace-separated (D5)."""
    raw = env.get(PASSWORD_FALLBACKS_ENV)
    fallbacks = tuple(raw.split()) if raw else ()
    if not fallbacks:
        return
    primary = kwargs.get("cookie_password")
    if not primary:
        problems.append(
            f"cookie_password ({PASSWORD_FALLBACKS_ENV}): fallbacks are set but "
            "WORKOS_COOKIE_PASSWORD is not; set the current password there"
        )
        return
    kwargs["cookie_password"] = (primary, *fallbacks)
