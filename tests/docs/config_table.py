"""Generate the option table of ``docs/configuration.md`` from ``AuthKitConfig``.

Run ``python tests/docs/config_table.py --write`` after adding or changing an option;
``test_config_table.py`` fails while the table in the page is out of date. Each
option's description is its ``#:`` comment in ``core/config.py``, else the entry in
``DESCRIPTIONS`` below.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "configuration.md"
BEGIN = "<!-- BEGIN GENERATED: options (python tests/docs/config_table.py --write) -->"
END = "<!-- END GENERATED: options -->"

DESCRIPTIONS = {
    "api_key": "WorkOS API key (`sk_...`). Never printed: `repr` shows the last 4 characters.",
    "client_id": "WorkOS client ID (`client_...`) of the same environment as the API key.",
    "seal_format": "`iron` (JS-compatible `Fe26.2`) or `fernet` (workos-python's format).",
    "base_url": "WorkOS API base URL (the emulator's URL in development and tests).",
    "cookie_name": "Session cookie name (the AuthKit JS libraries' default).",
    "cookie_domain": "Cookie `Domain`; unset means host-only. Must cover the redirect URI host.",
    "cookie_max_age": "Cookie `Max-Age` in seconds (400 days, the browser maximum).",
    "cookie_samesite": "`lax`, `strict` or `none` (`none` requires Secure, hence https).",
    "jwt_leeway": "Clock skew tolerated when verifying access tokens, in seconds (0..300).",
    "request_timeout": "Deadline of each WorkOS call, in seconds.",
    "login_path": "Route that starts a sign-in (`?returnTo=/path`).",
    "signup_path": "Route that starts a sign-up.",
    "logout_path": "Route that signs out (POST; same-site GET).",
    "session_endpoint": "JSON view of the signed-in user (never the tokens); None disables it.",
    "switch_organization_path": "POST route that switches organisation; None disables it.",
    "after_sign_in_path": "Where a sign-in without `returnTo` lands.",
    "after_sign_out_url": "Where sign-out lands: a path of this app or an absolute URL.",
    "protected_paths": "Glob patterns that need a signed-in user (`/*` is everything).",
    "public_paths": "Glob patterns that stay public even inside `protected_paths`.",
    "permission_rules": "Pattern -> permissions a path demands (every one listed).",
    "role_rules": "Pattern -> roles a path accepts (any one listed).",
    "accept_bearer_tokens": "Accept `Authorization: Bearer <access token>` from API clients.",
    "max_pending_flows": "Concurrent sign-ins per browser before older verifier cookies go.",
    "session_cache_size": (
        "Verified sessions kept in memory, and as many remembered Cookie headers (about"
        " 4 KiB per session with a 1 KB cookie, ~40 MiB when full; 0 disables the cache)."
    ),
    "jwks_cache_ttl": "Seconds the JWKS is trusted before it is fetched again.",
    "jwks_refetch_cooldown": "Minimum seconds between refetches for an unknown `kid`.",
    "max_custom_state_bytes": "Largest custom OAuth `state` accepted.",
    "max_cookie_chunks": "Most chunks (`name.0`, `name.1`...) a large session may use.",
    "logout_cross_site_get": "Allow sign-out by a cross-site GET (off: CSRF sign-outs).",
    "debug": "Verbose logging of decisions (never secrets).",
}


def _comments() -> dict[str, str]:
    """``#:`` comment lines right above each field in ``AuthKitConfig``'s source."""
    from authkit_middleware.core.config import AuthKitConfig

    lines = inspect.getsource(AuthKitConfig).splitlines()
    found: dict[str, str] = {}
    pending: list[str] = []
    for line in lines:
        text = line.strip()
        if text.startswith("#:"):
            pending.append(text[2:].strip())
            continue
        match = re.match(r"([a-z_]+)\s*:", text)
        if match and pending:
            found[match.group(1)] = " ".join(pending)
        pending = []
    return found


def _default(f: dataclasses.Field[Any]) -> str:
    if f.default is not dataclasses.MISSING:
        value = f.default
    elif f.default_factory is not dataclasses.MISSING:
        value = f.default_factory()
    else:
        return "required"
    if f.name in ("api_key", "client_id", "redirect_uri", "cookie_password"):
        return "required"
    if isinstance(value, dict) or type(value).__name__ == "mappingproxy":
        return "`{}`"
    if f.name == "cookie_max_age":
        return "`34560000` (400 days)"
    if f.name == "refresh_buffer" and value is None:
        return "auto (60 s; 30 s for tokens living ≤ 300 s)"
    if f.name == "cookie_secure" and value is None:
        return "auto (Secure when https or SameSite=None)"
    return f"`{value!r}`"


def render() -> str:
    from authkit_middleware.core.config import ENV_VARS, PASSWORD_FALLBACKS_ENV, AuthKitConfig

    comments = _comments()
    rows = [
        "| Option | Environment variable | Default | What it does |",
        "|---|---|---|---|",
    ]
    for f in dataclasses.fields(AuthKitConfig):
        if not f.init:
            continue
        env = ENV_VARS.get(f.name, ())
        shown_env = " or ".join(f"`{v}`" for v in env) if env else "keyword only"
        if f.name == "cookie_password":
            shown_env += f" (+ `{PASSWORD_FALLBACKS_ENV}`)"
        description = comments.get(f.name) or DESCRIPTIONS.get(f.name, "")
        description = description.replace("|", "\\|").replace("``", "`")
        rows.append(f"| `{f.name}` | {shown_env} | {_default(f)} | {description} |")
    return "\n".join(rows)


def current_page_table() -> str:
    text = PAGE.read_text(encoding="utf-8")
    start = text.index(BEGIN) + len(BEGIN)
    return text[start : text.index(END)].strip()


def write() -> None:
    text = PAGE.read_text(encoding="utf-8")
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    PAGE.write_text(f"{head}{BEGIN}\n{render()}\n{END}{tail}", encoding="utf-8")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    if "--write" in sys.argv:
        write()
    else:
        print(render())
