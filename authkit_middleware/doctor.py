"""``authkit-middleware doctor``: check the environment an app will start with.

:func:`run_checks` reads the ``WORKOS_*`` variables the middleware reads (the process
environment, or any mapping, e.g. an ``.env`` file loaded with :func:`read_env_file`)
and returns a list of :class:`Finding` values, each ``ok``, ``warning`` or ``error``
with one line saying what was found and one saying how to fix it:

- every :class:`~authkit_middleware.AuthKitConfig` validation problem (the same
  lines the middleware raises at startup, each naming the option and its variable);
- the cookie password's strength (length, an entropy estimate, low variety, known
  placeholder words), for every rotation password, **never printing it**;
- the redirect URI's shape (https off localhost, a callback path, no query string);
- cookie settings worth a second look (SameSite=None, an explicit Domain);
- ``WORKOS_REDIS_URL``, when set (cross-worker refresh coordination): a
  ``redis://``/``rediss://``/``unix://`` URL, the ``redis`` package installed, and a
  warning for plain ``redis://`` to a host that is not loopback;
- WorkOS itself: the base URL answers, the JWKS of the client id is found and holds
  a usable RS256 key (a 404 means the client id is unknown), and the API key is
  accepted by an endpoint that requires it;
- the Redis of ``WORKOS_REDIS_URL`` answers ``PING`` (with its credentials).

Why a separate module: the CLI prints, tests assert on findings, and neither needs
a subprocess. Secrets are shown masked to their last 4 characters at most; the
credentials of a Redis URL not at all (``redis://***@host:6379/0``).
"""

from __future__ import annotations

import importlib
import ipaddress
import itertools
import json
import math
import re
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

__all__ = [
    "Finding",
    "Level",
    "estimate_entropy_bits",
    "exit_status",
    "format_finding",
    "read_env_file",
    "run_checks",
]

Level = Literal["ok", "warning", "error"]

_SYMBOLS: Mapping[str, str] = {"ok": "✓", "warning": "!", "error": "✗"}
#: Below this many estimated bits a cookie password is reported as weak.
WEAK_PASSWORD_BITS = 128
#: Fewer distinct characters than this is "low variety" whatever the length.
MIN_DISTINCT_CHARACTERS = 10
#: Fragments that mark a password as a placeholder or a human choice (lower case).
_WEAK_WORDS = (
    "password",
    "passw0rd",
    "changeme",
    "change_me",
    "change-me",
    "secret",
    "example",
    "default",
    "qwerty",
    "letmein",
    "123456",
    "abcdef",
    "your",
    "complex",
    "workos",
    "cookie",
    "xxxxxx",
    "replace",
    "todo",
)
_GENERATE = "generate one with `authkit-middleware password`"
_GENERATE_FERNET = "generate one with `authkit-middleware password --fernet`"


@dataclass(frozen=True, slots=True)
class Finding:
    """One result of the doctor: what was checked, what was found, how to fix it."""

    level: Level
    #: What was checked: an option name (``cookie_password``) or ``workos``/``jwks``...
    check: str
    message: str
    fix: str | None = None

    @property
    def symbol(self) -> str:
        """``✓`` (ok), ``!`` (warning) or ``✗`` (error)."""
        return _SYMBOLS[self.level]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def format_finding(finding: Finding) -> str:
    """One line: ``✗ message → fix`` (the fix only when there is one)."""
    line = f"{finding.symbol} {finding.message}"
    if finding.fix:
        line += f" → {finding.fix}"
    return line


def exit_status(findings: Iterable[Finding]) -> int:
    """1 when any finding is an error, else 0 (warnings do not fail)."""
    return 1 if any(f.level == "error" for f in findings) else 0


# ---------------------------------------------------------------------- env files


def read_env_file(path: str | Path) -> dict[str, str]:
    """Parse a ``.env`` file: ``KEY=value`` lines, ``export`` prefixes, ``#`` comments,
    single or double quotes (no interpolation). Malformed lines are skipped."""
    values: dict[str, str] = {}
    for raw in Path(path).read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            quote, value = value[0], value[1:-1]
            if quote == '"':
                value = value.replace("\\n", "\n").replace('\\"', '"')
        else:
            value = re.split(r"\s+#", value, maxsplit=1)[0].strip()
        values[key] = value
    return values


# ---------------------------------------------------------------------- passwords


def estimate_entropy_bits(password: str) -> float:
    """A deliberately pessimistic estimate: length * log2(alphabet), where the
    alphabet is the smaller of the character classes used and the distinct
    characters seen, and a password made of one repeated chunk counts once."""
    if not password:
        return 0.0
    unit = _repeating_unit(password)
    classes = 0
    if re.search(r"[a-z]", password):
        classes += 26
    if re.search(r"[A-Z]", password):
        classes += 26
    if re.search(r"[0-9]", password):
        classes += 10
    if re.search(r"[^A-Za-z0-9]", password):
        classes += 33
    alphabet = min(classes, len(set(password)))
    if alphabet <= 1:
        return 0.0
    return len(unit) * math.log2(alphabet)


def _repeating_unit(text: str) -> str:
    """The shortest chunk whose repetition is ``text`` (``"abab"`` -> ``"ab"``)."""
    for size in range(1, len(text) // 2 + 1):
        if len(text) % size == 0 and text[:size] * (len(text) // size) == text:
            return text[:size]
    return text


def _is_sequence(text: str) -> bool:
    """Mostly consecutive characters (``abcdef...``, ``0123...``)."""
    steps = [ord(b) - ord(a) for a, b in itertools.pairwise(text)]
    return bool(steps) and sum(1 for s in steps if s in (1, -1)) >= len(steps) * 0.6


def _password_findings(passwords: tuple[str, ...], seal_format: str) -> list[Finding]:
    from authkit_middleware.core.config import MIN_PASSWORD_LENGTH

    findings: list[Finding] = []
    for position, password in enumerate(passwords):
        label = "WORKOS_COOKIE_PASSWORD" if position == 0 else f"fallback password #{position}"
        if len(password) < MIN_PASSWORD_LENGTH:
            continue  # reported by the config check, with the fix
        if seal_format == "fernet" and position == 0:
            findings.append(
                Finding("ok", "cookie_password", f"{label}: a valid Fernet key (256-bit)")
            )
            continue
        problems: list[str] = []
        bits = estimate_entropy_bits(password)
        lowered = password.lower()
        weak = [w for w in _WEAK_WORDS if w in lowered]
        if weak:
            problems.append("contains a common word or placeholder")
        if len(set(password)) < MIN_DISTINCT_CHARACTERS:
            problems.append(f"uses fewer than {MIN_DISTINCT_CHARACTERS} distinct characters")
        if _is_sequence(password):
            problems.append("is mostly a run of consecutive characters")
        if bits < WEAK_PASSWORD_BITS:
            problems.append(f"has an estimated {bits:.0f} bits of entropy")
        if problems:
            findings.append(
                Finding(
                    "warning",
                    "cookie_password",
                    f"{label} looks weak ({len(password)} characters; " + ", ".join(problems) + ")",
                    f"replace it with a random one; {_GENERATE} (keep the old one as a "
                    "fallback in WORKOS_COOKIE_PASSWORD_FALLBACKS so sessions survive)",
                )
            )
        else:
            findings.append(
                Finding(
                    "ok",
                    "cookie_password",
                    f"{label}: {len(password)} characters, about {bits:.0f} bits of entropy",
                )
            )
    return findings


# ---------------------------------------------------------------------- config


def _problem_findings(problems: Iterable[str]) -> list[Finding]:
    """One error per ``ConfigError`` problem; its own text already names the fix."""
    findings = []
    for problem in problems:
        check = problem.split(" ", 1)[0].rstrip(":")
        message, sep, fix = problem.partition("; ")
        findings.append(Finding("error", check, message, fix if sep else None))
    return findings


def _redirect_findings(env: Mapping[str, str]) -> list[Finding]:
    """What ``AuthKitConfig`` accepts but WorkOS production or browsers may not."""
    raw = env.get("WORKOS_REDIRECT_URI", "").strip()
    if not raw:
        return []
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return []  # the config check reports it
    findings: list[Finding] = []
    if parts.query:
        findings.append(
            Finding(
                "warning",
                "redirect_uri",
                "WORKOS_REDIRECT_URI has a query string; WorkOS does not allow query "
                "parameters in production redirect URIs",
                "remove the query string (the middleware keeps the return path in the "
                "sealed sign-in state)",
            )
        )
    host = parts.hostname or ""
    shown = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"
    if parts.scheme == "https":
        findings.append(Finding("ok", "redirect_uri", f"redirect URI {shown} (https)"))
    elif parts.scheme == "http" and host:
        findings.append(
            Finding(
                "ok",
                "redirect_uri",
                f"redirect URI {shown} (http on a loopback host: development only; "
                "cookies are not Secure)",
            )
        )
    return findings


def _cookie_findings(config: Any) -> list[Finding]:
    findings: list[Finding] = []
    if config.cookie_samesite == "none":
        findings.append(
            Finding(
                "warning",
                "cookie_samesite",
                "WORKOS_COOKIE_SAMESITE=none sends the session cookie on cross-site "
                "requests (CSRF exposure)",
                "use 'lax' unless the app is embedded cross-site (iframes)",
            )
        )
    if config.cookie_secure is False and config.is_https:
        findings.append(
            Finding(
                "warning",
                "cookie_secure",
                "WORKOS_COOKIE_SECURE=false with an https redirect URI: the session "
                "cookie would also be sent over plain http",
                "unset WORKOS_COOKIE_SECURE (auto: Secure for https)",
            )
        )
    if config.cookie_name == "wos_session" and config.seal_format == "iron":
        findings.append(
            Finding(
                "warning",
                "cookie_name",
                "WORKOS_COOKIE_NAME=wos_session is the hand-written quick-start name, but "
                "the seal format is iron (cookies sealed by workos-python are Fernet)",
                "set WORKOS_SEAL_FORMAT=fernet to keep quick-start sessions, or use the "
                "default name 'wos-session'",
            )
        )
    attrs = [f"name {config.cookie_name!r}", f"SameSite={config.cookie_samesite.capitalize()}"]
    attrs.append("Secure" if config.cookie_secure_effective else "not Secure")
    if config.cookie_domain:
        attrs.append(f"Domain={config.cookie_domain} (shared with its subdomains)")
    findings.append(Finding("ok", "cookie", "session cookie: " + ", ".join(attrs)))
    return findings


# ---------------------------------------------------------------------- redis

_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
_REDIS_FORMS = (
    "write it as redis://[[user]:password@]host[:port][/db], rediss://... (TLS) or "
    "unix:///path/to/redis.sock"
)
_REDIS_DEFAULT_PORT = 6379


@dataclass(frozen=True, slots=True)
class _RedisTarget:
    """A ``WORKOS_REDIS_URL`` that passed the offline checks."""

    #: The URL as given: it may hold credentials, so it is never printed.
    url: str
    #: The URL without credentials or query string (``redis://***@cache:6379/0``).
    shown: str
    #: ``host:port`` or the socket path.
    address: str
    has_password: bool


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _redis_url_findings(env: Mapping[str, str]) -> tuple[list[Finding], _RedisTarget | None]:
    """Offline checks of ``WORKOS_REDIS_URL``; nothing when it is unset (in-process
    coordination). The target is None when there is nothing to connect to."""
    from authkit_middleware.coordination import REDIS_URL_ENV

    raw = (env.get(REDIS_URL_ENV) or "").strip()  # stripped, as resolve_coordinator does
    if not raw:
        return [], None
    findings: list[Finding] = []
    if not raw.startswith(_REDIS_SCHEMES):
        scheme, sep, _ = raw.partition("://")
        # Name the scheme only when it is one (never a piece of "user:password@host").
        if sep and re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]{0,15}", scheme):
            found = f"has the scheme {scheme!r}"
        else:
            found = "has no valid scheme"
        findings.append(
            Finding(
                "error",
                "redis_url",
                f"{REDIS_URL_ENV} {found}; the Redis client takes only redis://, rediss:// "
                "(TLS) or unix:// (lower case)",
                _REDIS_FORMS,
            )
        )
    try:
        redis_connection = importlib.import_module("redis.connection")
    except ImportError:
        redis_connection = None
        findings.append(
            Finding(
                "error",
                "redis_url",
                f"{REDIS_URL_ENV} is set but the 'redis' package is not installed (the "
                "middleware fails at start-up)",
                "pip install 'authkit-middleware[redis]'",
            )
        )
    if findings:
        return findings, None

    parts = urlsplit(raw)
    try:
        port = parts.port or _REDIS_DEFAULT_PORT
    except ValueError:
        return [
            Finding(
                "error",
                "redis_url",
                f"{REDIS_URL_ENV} has an invalid port (a number from 1 to 65535)",
                _REDIS_FORMS,
            )
        ], None
    if redis_connection is not None:
        try:
            redis_connection.parse_url(raw)
        except ValueError:
            # Its text may one day quote the value: only the type is shown.
            return [
                Finding(
                    "error",
                    "redis_url",
                    f"{REDIS_URL_ENV} has a query-string option the redis client rejects "
                    "(ValueError)",
                    "check the ?name=value options (e.g. socket_timeout=0.5) or drop them",
                )
            ], None
    credentials = "***@" if "@" in parts.netloc else ""
    has_password = bool(parts.password) or "password" in parse_qs(parts.query)
    if parts.scheme == "unix":
        if not parts.path:
            return [
                Finding(
                    "error",
                    "redis_url",
                    f"{REDIS_URL_ENV} is a unix:// URL without a socket path",
                    "write it as unix:///path/to/redis.sock (three slashes: the path is absolute)",
                )
            ], None
        target = _RedisTarget(raw, f"unix://{credentials}{parts.path}", parts.path, has_password)
        return [
            Finding(
                "ok",
                "redis_url",
                f"refresh coordination across workers through Redis at {target.shown}",
            )
        ], target

    host = parts.hostname or "localhost"  # what redis-py connects to without one
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    target = _RedisTarget(
        raw, f"{parts.scheme}://{credentials}{address}{parts.path}", address, has_password
    )
    if parts.scheme == "redis" and not _is_loopback(host):
        exposed = "the Redis password, " if has_password else ""
        findings.append(
            Finding(
                "warning",
                "redis_url",
                f"{REDIS_URL_ENV} is plain redis:// to a host that is not loopback "
                f"({address}): {exposed}key names, lock tokens and refresh timing cross the "
                "network unencrypted (the stored values are sealed: no token is exposed)",
                "prefer rediss:// (TLS) for a Redis off this host; keep plain redis:// for "
                "loopback or a private network you trust",
            )
        )
    tls = " (TLS)" if parts.scheme == "rediss" else ""
    findings.append(
        Finding(
            "ok",
            "redis_url",
            f"refresh coordination across workers through Redis at {target.shown}{tls}",
        )
    )
    return findings, target


def _redis_ping_finding(target: _RedisTarget, timeout: float) -> Finding:
    """``PING`` with the sync client, ``timeout`` to connect and to answer, no retry.

    Only exception *types* are shown: redis-py's messages may quote the address or
    the server's answer, and never need to reach a log.
    """
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    where = target.address
    client: Any = None
    try:
        client = redis.Redis.from_url(
            target.url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
        )
        client.ping()
    except redis.exceptions.AuthenticationError as exc:
        if target.has_password:
            return Finding(
                "error",
                "redis",
                f"Redis at {where} refused the credentials of WORKOS_REDIS_URL "
                f"({type(exc).__name__})",
                "check the user name and password in WORKOS_REDIS_URL "
                "(redis://user:password@host:port/db; none for a Redis without one)",
            )
        return Finding(
            "error",
            "redis",
            f"Redis at {where} requires a password ({type(exc).__name__})",
            "add it to WORKOS_REDIS_URL: redis://:password@host:port/db "
            "(redis://user:password@... for an ACL user)",
        )
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError) as exc:
        cause = exc.__cause__ or exc.__context__
        reason = cause if isinstance(cause, OSError) else exc
        return Finding(
            "error",
            "redis",
            f"Redis not reachable at {where} ({type(reason).__name__})",
            "start Redis or fix the host and port in WORKOS_REDIS_URL; check firewalls, "
            "and that rediss:// points at a TLS port (until then each worker refreshes "
            "on its own)",
        )
    except (redis.exceptions.RedisError, ValueError) as exc:
        return Finding(
            "error",
            "redis",
            f"Redis at {where} answered PING with an error ({type(exc).__name__})",
            "check that WORKOS_REDIS_URL points at a Redis server, that the database "
            "number exists and that the user may run PING, GET, SET and EVALSHA",
        )
    finally:
        if client is not None:
            client.close()
    return Finding("ok", "redis", f"Redis reachable at {where} (PING answered)")


# ---------------------------------------------------------------------- network


def _mask(key: str) -> str:
    from authkit_middleware.core.config import _mask_api_key

    return _mask_api_key(key).strip("'")


def _base_url_finding(base_url: str, timeout: float) -> Finding:
    url = base_url.rstrip("/") + "/health"
    request = urllib.request.Request(  # noqa: S310 - http(s) only, checked by the caller
        url, headers={"User-Agent": "authkit-middleware-doctor"}
    )
    detail = ""
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            body = response.read(2048)
        try:
            data = json.loads(body)
            if isinstance(data, dict) and data.get("emulator") == "authkit-middleware":
                detail = " (the authkit-middleware emulator)"
        except ValueError:
            pass
    except urllib.error.HTTPError:
        pass  # any HTTP answer means the host is reachable
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        return Finding(
            "error",
            "base_url",
            f"WorkOS is not reachable at {base_url} ({type(reason).__name__})",
            "check WORKOS_BASE_URL (unset means https://api.workos.com), the network, "
            "proxies and firewalls",
        )
    return Finding("ok", "base_url", f"WorkOS reachable at {base_url}{detail}")


def _workos_client(env: _Env, timeout: float) -> Any:
    from workos import WorkOSClient

    return WorkOSClient(
        api_key=env.api_key or "sk_missing",
        client_id=env.client_id or "client_missing",
        base_url=env.base_url,
        request_timeout=max(1, math.ceil(timeout)),
        max_retries=0,
    )


def _jwks_findings(client: Any, env: _Env, timeout: float) -> list[Finding]:
    from workos._errors import APIError, NotFoundError, WorkOSError

    from authkit_middleware.core.jwks import KeySet

    where = f"{env.base_url.rstrip('/')}/sso/jwks/{env.client_id}"
    try:
        data = client.request_raw(
            "GET",
            ("sso", "jwks", env.client_id),
            request_options={"timeout": timeout, "max_retries": 0},
        )
    except NotFoundError:
        return [
            Finding(
                "error",
                "client_id",
                f"WORKOS_CLIENT_ID {env.client_id!r} is not known to WorkOS (its JWKS is a 404)",
                "copy the client ID (client_...) of this environment from the WorkOS "
                "dashboard; staging and production have different ones",
            )
        ]
    except APIError as exc:
        return [
            Finding(
                "error",
                "jwks",
                f"the JWKS could not be fetched from {where} (HTTP {exc.status_code})",
                "retry; if it persists, check https://status.workos.com",
            )
        ]
    except WorkOSError as exc:
        return [
            Finding(
                "error",
                "jwks",
                f"the JWKS could not be fetched from {where} ({type(exc).__name__})",
                "check WORKOS_BASE_URL and the network",
            )
        ]
    try:
        keys = KeySet.from_jwks(data)
    except ValueError as exc:
        return [
            Finding(
                "error",
                "jwks",
                f"the JWKS at {where} is unusable: {exc}",
                "WORKOS_BASE_URL must point at WorkOS (or the emulator), not another service",
            )
        ]
    return [
        Finding("ok", "client_id", f"client id {env.client_id!r} is known to WorkOS"),
        Finding("ok", "jwks", f"JWKS fetched: {len(keys)} usable RS256 key(s)"),
    ]


def _api_key_finding(client: Any, env: _Env, timeout: float) -> Finding:
    """List organisations (limit 1), an endpoint that requires the API key: 401 means
    the key is rejected, 403 that it is valid but restricted."""
    from workos._errors import APIError, AuthenticationError, AuthorizationError, WorkOSError

    options = {"timeout": timeout, "max_retries": 0}
    rejected = Finding(
        "error",
        "api_key",
        f"WORKOS_API_KEY {_mask(env.api_key)} is not accepted by WorkOS (HTTP 401)",
        "copy the API key (sk_...) of this environment from the WorkOS dashboard; "
        "keys of another environment or revoked keys are refused",
    )
    try:
        client.organizations.list_organizations(limit=1, request_options=options)
    except AuthenticationError:
        return rejected
    except AuthorizationError:
        return Finding(
            "warning",
            "api_key",
            f"WORKOS_API_KEY {_mask(env.api_key)} is valid but may not list organizations "
            "(HTTP 403)",
            "the middleware itself only needs user management; give the key wider "
            "permissions if the app calls other APIs",
        )
    except APIError as exc:
        if exc.status_code == 401:
            return rejected
        return Finding(
            "error",
            "api_key",
            f"WorkOS answered HTTP {exc.status_code} when checking the API key",
            "retry; if it persists, check https://status.workos.com",
        )
    except WorkOSError as exc:
        return Finding(
            "error",
            "api_key",
            f"the API key could not be checked ({type(exc).__name__})",
            "check WORKOS_BASE_URL and the network",
        )
    return Finding("ok", "api_key", f"API key {_mask(env.api_key)} accepted")


# ---------------------------------------------------------------------- driver


@dataclass(frozen=True, slots=True)
class _Env:
    base_url: str
    api_key: str
    client_id: str


def run_checks(
    environ: Mapping[str, str] | None = None,
    *,
    network: bool = True,
    timeout: float = 3.0,
) -> list[Finding]:
    """Every check, in order; ``environ`` defaults to ``os.environ``.

    ``network=False`` skips the WorkOS calls and the Redis ``PING``. Each network
    call gets ``timeout`` seconds and no retry; an unreachable base URL skips the
    WorkOS calls after it (not the Redis one).
    """
    import os

    from authkit_middleware.core.config import AuthKitConfig
    from authkit_middleware.core.errors import ConfigError

    env: Mapping[str, str] = os.environ if environ is None else environ
    findings: list[Finding] = []
    config: AuthKitConfig | None = None
    try:
        config = AuthKitConfig.from_env(env)
    except ConfigError as error:
        findings.extend(_problem_findings(error.problems))
    else:
        findings.append(Finding("ok", "config", "configuration is valid"))

    passwords: tuple[str, ...] = ()
    raw_password = env.get("WORKOS_COOKIE_PASSWORD", "")
    if raw_password.strip():
        fallbacks = env.get("WORKOS_COOKIE_PASSWORD_FALLBACKS", "")
        passwords = (raw_password, *fallbacks.split())
    seal_format = (env.get("WORKOS_SEAL_FORMAT") or "iron").strip().lower()
    findings.extend(_password_findings(passwords, seal_format))
    findings.extend(_redirect_findings(env))
    if config is not None:
        findings.extend(_cookie_findings(config))
    redis_findings, redis_target = _redis_url_findings(env)
    findings.extend(redis_findings)

    if not network:
        return findings
    findings.extend(_workos_findings(env, timeout))
    if redis_target is not None:
        findings.append(_redis_ping_finding(redis_target, timeout))
    return findings


def _workos_findings(env: Mapping[str, str], timeout: float) -> list[Finding]:
    """The WorkOS calls: base URL, then (when it answers) JWKS and API key."""
    from authkit_middleware.core.config import DEFAULT_BASE_URL

    findings: list[Finding] = []
    base_url = (env.get("WORKOS_BASE_URL") or "").strip() or DEFAULT_BASE_URL
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return findings  # the config check reports the URL; nothing to call
    workos_env = _Env(
        base_url=base_url,
        api_key=(env.get("WORKOS_API_KEY") or "").strip(),
        client_id=(env.get("WORKOS_CLIENT_ID") or "").strip(),
    )
    reachable = _base_url_finding(base_url, timeout)
    findings.append(reachable)
    if reachable.level == "error":
        return findings
    client = _workos_client(workos_env, timeout)
    try:
        if workos_env.client_id and not any(c in workos_env.client_id for c in "/?# "):
            findings.extend(_jwks_findings(client, workos_env, timeout))
        if workos_env.api_key:
            findings.append(_api_key_finding(client, workos_env, timeout))
    finally:
        client.close()
    return findings
