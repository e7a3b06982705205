"""Return-path sanitizing: only same-origin relative paths survive.

After sign-in the browser is sent back to where it was (``returnPathname``). That
value comes from the request, so it is attacker-controlled: an open redirect here
turns our login page into a phishing relay (RFC 9700 §4.11, checklist C1-C3).

The rules are an **allowlist** (C3), not ``urllib.parse``: Python's parser and
browsers disagree about ``\\``, ``@``, stripped TAB/LF and leading blanks
(CVE-2022-0391, CVE-2023-24329). A value survives only if it is a path rooted at
exactly one ``/``, holds no backslash, control character or whitespace, and keeps
those properties after percent-decoding (repeatedly, so ``/%2f%2fevil`` and
``/%252f%252fevil`` fail too). The result is the input minus its fragment - nothing
else is normalised - and :func:`resolve_return_to` glues it to the configured
origin, so the ``Location`` header never echoes a host from the request (C2).
"""

from __future__ import annotations

import re
from urllib.parse import unquote

__all__ = ["MAX_RETURN_PATH_LENGTH", "resolve_return_to", "safe_return_path"]

#: Longer values fall back to the default (React Router's cap; URLs this long are abuse).
MAX_RETURN_PATH_LENGTH = 2048
# Percent-decoding rounds checked; a value still changing after that is refused.
_DECODE_ROUNDS = 3

# Backslash (browsers read it as '/'), C0, space, DEL, C1 and any Unicode whitespace.
_FORBIDDEN = re.compile(r"[\\\x00-\x20\x7f-\x9f\s]")
# In a decoded query only control characters matter ("q=a%20b" is a legit search).
_FORBIDDEN_IN_QUERY = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _rooted(value: str) -> bool:
    """Exactly one leading '/': '//host' and '/\\host' are network-path references."""
    return value[:1] == "/" and value[1:2] not in ("/", "\\")


def _decodes_cleanly(part: str, forbidden: re.Pattern[str], *, rooted: bool) -> bool:
    """Percent-decode ``part`` until it stops changing; every stage must stay clean."""
    current = part
    for _ in range(_DECODE_ROUNDS):
        try:
            decoded = unquote(current, errors="strict")
        except UnicodeDecodeError:  # %ff...: not UTF-8
            return False
        if decoded == current:
            return True
        if (rooted and not _rooted(decoded)) or forbidden.search(decoded):
            return False
        current = decoded
    return False  # still decoding after several rounds: layered encoding is a smell


def safe_return_path(value: str | None, default: str = "/") -> str:
    """Return ``value`` (minus its fragment) if it is a safe same-origin path, else ``default``.

    Kept: ``/dashboard?tab=1&x=%2F``, ``/a/b/``, ``/café``. Refused: ``//evil.com``,
    ``/\\evil.com``, ``https://evil.com``, ``javascript:alert(1)``, ``/%2F%2Fevil.com``,
    ``/%5cevil``, ``/%09/evil``, ``\\t//evil``, anything with CR/LF, longer than
    :data:`MAX_RETURN_PATH_LENGTH`, or not valid UTF-8.
    """
    if not isinstance(value, str) or not value or len(value) > MAX_RETURN_PATH_LENGTH:
        return default
    if not _rooted(value) or _FORBIDDEN.search(value):
        return default
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates
        return default
    target = value.partition("#")[0]
    path, _, query = target.partition("?")
    if not _decodes_cleanly(path, _FORBIDDEN, rooted=True):
        return default
    if query and not _decodes_cleanly(query, _FORBIDDEN_IN_QUERY, rooted=False):
        return default
    return target


def resolve_return_to(origin: str, path: str | None, default: str = "/") -> str:
    """Absolute URL: the configured ``origin`` plus the validated path (C2).

    ``origin`` is trusted configuration (``scheme://host[:port]``, e.g.
    ``AuthKitConfig.origin``); ``path`` is revalidated here, so callers cannot
    forget to and the request's ``Host`` never reaches the ``Location`` header (A1).
    """
    return origin.rstrip("/") + safe_return_path(path, default)
