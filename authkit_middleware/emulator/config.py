"""Settings of one emulator, and the URL rules (redirect and logout allow-lists).

Kept apart from the handlers because both the WSGI app and the in-process control
API read and change them (token lifetime and auto-login can change at run time).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from urllib.parse import urlsplit

#: Client id of the emulated WorkOS environment (anything works; this is the default).
DEFAULT_CLIENT_ID = "client_01EMULATOR0000000000000000"
#: API key the emulator accepts by default (a test key, never a real one).
DEFAULT_API_KEY = "sk_test_emulator"
#: Default access-token lifetime, as WorkOS's documented example.
DEFAULT_ACCESS_TOKEN_TTL = 300
#: Lifetime of authorization codes, pending sign-ins and pending authentication tokens.
CODE_TTL = 600

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


@dataclass
class EmulatorConfig:
    """What one emulator instance accepts and how it mints tokens."""

    client_id: str = DEFAULT_CLIENT_ID
    api_key: str = DEFAULT_API_KEY
    auto_login: bool = False
    access_token_ttl: int = DEFAULT_ACCESS_TOKEN_TTL
    #: ``iss`` of access tokens; default ``<base_url>/user_management/<client_id>``.
    issuer: str | None = None
    #: Extra allowed redirect URIs: exact URLs or ``fnmatch`` patterns.
    redirect_uris: tuple[str, ...] = ()
    #: Accept any http(s) URL on localhost / 127.0.0.1 / [::1], any port.
    allow_loopback_redirects: bool = True
    #: Extra allowed logout ``return_to`` URLs (exact or patterns); loopback always allowed.
    logout_redirects: tuple[str, ...] = ()
    #: Multi-org users must pick an org (403 ``organization_selection_required``).
    require_organization_selection: bool = False
    #: Status of ``sso_required``: 400 as the spec says, or 403 to get ``SsoRequiredError``.
    sso_required_status: int = 400

    def __post_init__(self) -> None:
        if self.access_token_ttl < 1:
            raise ValueError("access_token_ttl must be at least 1 second")
        if self.sso_required_status not in (400, 403):
            raise ValueError("sso_required_status must be 400 or 403")

    def redirect_allowed(self, uri: str) -> bool:
        """Whether ``redirect_uri`` may receive codes (never a fragment, http(s) only)."""
        if _matches(uri, self.redirect_uris):
            return True
        return self.allow_loopback_redirects and is_loopback_url(uri)

    def logout_return_allowed(self, uri: str) -> bool:
        """Whether logout may redirect to ``return_to``."""
        return is_loopback_url(uri) or _matches(uri, self.logout_redirects)


def is_loopback_url(uri: str) -> bool:
    """An absolute http(s) URL on a loopback host, without a fragment or userinfo."""
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return False
    return (
        parts.scheme in ("http", "https")
        and (parts.hostname or "") in LOOPBACK_HOSTS
        and not parts.fragment
        and "@" not in parts.netloc
    )


def _matches(uri: str, patterns: tuple[str, ...]) -> bool:
    if "#" in uri:
        return False
    return any(uri == p or fnmatch.fnmatchcase(uri, p) for p in patterns)
