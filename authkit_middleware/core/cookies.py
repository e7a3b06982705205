"""Cookie header parsing (bounded, linear), ``Set-Cookie`` building and chunking.

Pure string work, no framework types: the adapters hand us the raw ``Cookie``
header and send the ``Set-Cookie`` values we return.

Security rationale (checklist ids from ``security-checklist.md``):

- **D10** - the parser is linear and bounded: the header is cut at
  :data:`MAX_COOKIE_HEADER_BYTES`, values above :data:`MAX_COOKIE_VALUE_BYTES` are
  skipped *before* anything looks inside them, and there is no unescaping at all
  (CVE-2024-7592 was a quadratic octal ``_unquote`` in ``http.cookies``).
- **D7** - browsers silently drop a cookie whose name+value exceeds 4096 bytes, so
  :func:`set_cookie` refuses with :class:`CookieTooLargeError` instead of emitting it.
- **D8** - :func:`chunk_cookie` splits an oversized value Auth.js-style into
  ``name.0``, ``name.1``... (each whole ``Set-Cookie`` value <= 4096 bytes), caps the
  count and deletes stale parts; :func:`join_cookie` reassembles in numeric order
  and fails closed on gaps.
- **D12/G1** - a deletion carries the same Name/Path/Domain/Secure/SameSite as the
  set, or the browser treats it as a different cookie and keeps the old one.
- **D1/A6** - :func:`session_cookie_options` and :func:`verifier_cookie_options`
  encode the authkit-nextjs defaults (``Path=/; HttpOnly; SameSite=Lax``; the
  verifier cookie downgrades Strict to Lax so it survives the cross-site callback).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import TYPE_CHECKING

from .errors import CookieTooLargeError

if TYPE_CHECKING:
    from .config import AuthKitConfig

__all__ = [
    "DELETE_EXPIRES",
    "MAX_COOKIE_BYTES",
    "MAX_COOKIE_HEADER_BYTES",
    "MAX_COOKIE_VALUE_BYTES",
    "MAX_DELETIONS",
    "VERIFIER_COOKIE_PREFIX",
    "VERIFIER_MAX_AGE",
    "CookieOptions",
    "chunk_cookie",
    "chunk_names",
    "delete_cookie",
    "delete_cookie_and_chunks",
    "get_cookie",
    "is_valid_cookie_name",
    "join_cookie",
    "parse_cookie_header",
    "session_cookie_options",
    "set_cookie",
    "verifier_cookie_options",
]

#: Browsers ignore a cookie whose name+value is longer (RFC 6265bis, httpwg PR #1581).
MAX_COOKIE_BYTES = 4096
#: Cookie header bytes we look at. 4 session chunks of 4 KiB plus the app's own
#: cookies must fit, so this is above the usual 16 KiB; beyond it is ignored (D10).
MAX_COOKIE_HEADER_BYTES = 32 * 1024
#: A single value longer than this is skipped unread (no cookie we accept is larger).
MAX_COOKIE_VALUE_BYTES = 8 * 1024
#: Lifetime of the sign-in verifier cookie: WorkOS codes live 10 minutes (A5).
VERIFIER_MAX_AGE = 600
#: Prefix of the per-flow sign-in verifier cookies (``wos-auth-verifier-<fnv1a32>``).
VERIFIER_COOKIE_PREFIX = "wos-auth-verifier"
#: Most stale cookies deleted in one response: a Cookie header stuffed with hundreds of
#: lookalike names must not turn into a response header proxies refuse (amplification).
MAX_DELETIONS = 16
#: The ``Expires`` of a deletion, for clients that ignore ``Max-Age=0``.
DELETE_EXPIRES = "Thu, 01 Jan 1970 00:00:00 GMT"

# RFC 6265 cookie-name = token (RFC 9110 tchar).
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# RFC 6265 cookie-octet: no CTLs, whitespace, DQUOTE, comma, semicolon or backslash.
_COOKIE_OCTETS = re.compile(r"[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*")
# Path and Domain attribute values: printable ASCII without ';'.
_ATTR_VALUE = re.compile(r"[\x21-\x3a\x3c-\x7e]+")
_DOMAIN = re.compile(r"\.?[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")
_SAMESITE = {"lax": "Lax", "strict": "Strict", "none": "None"}
_OWS = " \t"
#: A value starting or ending with one of these needs ``_clean_value``.
_UNCLEAN_ENDS = ' \t"'


@lru_cache(maxsize=256)
def _is_token(name: str) -> bool:
    return _TOKEN.fullmatch(name) is not None


def is_valid_cookie_name(name: object) -> bool:
    """True for a non-empty RFC 6265 token (what a cookie name may be)."""
    return isinstance(name, str) and _is_token(name)


# -- parsing -----------------------------------------------------------------------


def _bounded(header: str) -> str:
    """Cut an oversized header at the last ``;`` within the cap (never mid-cookie)."""
    if len(header) <= MAX_COOKIE_HEADER_BYTES:
        return header
    cut = header.rfind(";", 0, MAX_COOKIE_HEADER_BYTES + 1)
    return header[:cut] if cut >= 0 else ""


def _clean_value(raw: str) -> str | None:
    """Strip OWS and one pair of DQUOTEs (RFC 6265 ``cookie-value``); None if too big."""
    value = raw.strip(_OWS)
    if len(value) > MAX_COOKIE_VALUE_BYTES:
        return None
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        return value[1:-1]
    return value


def parse_cookie_header(header: str | None) -> dict[str, str]:
    """Parse a ``Cookie`` header into ``{name: value}``; never raises (D10, D11).

    Linear in the header length: one ``split`` and constant work per pair, no
    unescaping. The first occurrence of a name wins (RFC 6265 orders more specific
    paths first). Pairs without ``=`` or with an empty name are ignored, values are
    returned raw (no percent- or backslash-decoding: seals never need it). Sizes are
    counted in characters, which are bytes for a latin-1 decoded header (WSGI, ASGI).
    """
    if not header or not isinstance(header, str):
        return {}
    out: dict[str, str] = {}
    for part in _bounded(header).split(";"):
        name, sep, raw = part.partition("=")
        if not sep:
            continue
        name = name.strip(_OWS)
        if not name or name in out:
            continue
        value = _clean_value(raw)
        if value is not None:
            out[name] = value
    return out


def get_cookie(header: str | None, name: str) -> str | None:
    """Return one cookie's value without building a dict (the per-request hot path).

    Same answer as ``parse_cookie_header(header).get(name)`` (a hypothesis property
    checks it), but a few ``str.find`` calls instead of a split of the whole header.
    Every step moves forward, so it stays linear however hostile the header is.
    """
    if not header or not isinstance(header, str) or not isinstance(name, str):
        return None
    size = len(header)
    if size > MAX_COOKIE_HEADER_BYTES or not _is_token(name):
        return parse_cookie_header(header).get(name)
    width = len(name)
    at = header.find(name)
    if at < 0:
        return None
    # The common shape first: ``name=value`` at the start or after ``;``/``; ``,
    # a value needing no cleaning (no OWS or DQUOTE at its ends, not oversized).
    # Anything else (and any doubt) goes through the general loop below, which
    # starts over and gives the same answer.
    after = at + width
    if (
        (at == 0 or header[at - 1] == ";" or (at >= 2 and header[at - 2 : at] == "; "))
        and after < size
        and header[after] == "="
    ):
        end = header.find(";", after + 1)
        found = header[after + 1 :] if end < 0 else header[after + 1 : end]
        if (
            found
            and len(found) <= MAX_COOKIE_VALUE_BYTES
            and found[0] not in _UNCLEAN_ENDS
            and found[-1] not in _UNCLEAN_ENDS
        ):
            return found
    start = 0
    while True:
        at = header.find(name, start)
        if at < 0:
            return None
        before = at
        while before > 0 and header[before - 1] in _OWS:
            before -= 1
        after = at + width
        if before > 0 and header[before - 1] != ";":
            start = at + 1  # inside another pair's name or value
            continue
        while after < size and header[after] in _OWS:
            after += 1
        if after >= size or header[after] != "=":
            start = at + 1  # a longer name ("wos-session2") or a bare word
            continue
        end = header.find(";", after + 1)
        if end < 0:
            end = size
        value = _clean_value(header[after + 1 : end])
        if value is not None:
            return value
        start = end  # oversized: skipped, exactly as the parser does


# -- Set-Cookie --------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class CookieOptions:
    """The attributes of one cookie. The ``Set-Cookie`` suffixes are built once.

    ``samesite`` is accepted in any case and stored capitalised (``"Lax"``,
    ``"Strict"``, ``"None"``). ``secure`` defaults to True: fail closed (D1).
    """

    name: str
    path: str = "/"
    domain: str | None = None
    secure: bool = True
    httponly: bool = True
    samesite: str = "Lax"
    max_age: int | None = None
    #: ``"; Path=/; ...; SameSite=Lax"``: appended to ``name=value``.
    suffix: str = field(init=False, repr=False, compare=False)
    #: The same attributes with ``Max-Age=0`` and an epoch ``Expires``.
    delete_suffix: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _is_token(self.name):
            raise ValueError("cookie name must be a non-empty RFC 6265 token")
        if (
            not isinstance(self.path, str)
            or not self.path.startswith("/")
            or _ATTR_VALUE.fullmatch(self.path) is None
        ):
            raise ValueError("cookie path must start with '/' and hold no ';' or whitespace")
        if self.domain is not None and (
            not isinstance(self.domain, str) or _DOMAIN.fullmatch(self.domain) is None
        ):
            raise ValueError("cookie domain must be a host name such as 'example.com'")
        samesite = _SAMESITE.get(str(self.samesite).lower())
        if samesite is None:
            raise ValueError("samesite must be 'lax', 'strict' or 'none'")
        if samesite == "None" and not self.secure:
            raise ValueError("SameSite=None requires Secure (browsers drop it otherwise)")
        if self.max_age is not None and (
            not isinstance(self.max_age, int) or isinstance(self.max_age, bool) or self.max_age < 0
        ):
            raise ValueError("max_age must be an int >= 0 or None")
        object.__setattr__(self, "samesite", samesite)
        object.__setattr__(self, "suffix", self._suffix(self.max_age, expires=None))
        object.__setattr__(self, "delete_suffix", self._suffix(0, expires=DELETE_EXPIRES))

    def _suffix(self, max_age: int | None, *, expires: str | None) -> str:
        parts = [f"Path={self.path}"]
        if self.domain:
            parts.append(f"Domain={self.domain}")
        if max_age is not None:
            parts.append(f"Max-Age={max_age}")
        if expires is not None:
            parts.append(f"Expires={expires}")
        if self.secure:
            parts.append("Secure")
        if self.httponly:
            parts.append("HttpOnly")
        parts.append(f"SameSite={self.samesite}")
        return "; " + "; ".join(parts)

    def with_name(self, name: str) -> CookieOptions:
        """The same attributes under another name (per-flow verifier cookies)."""
        return self if name == self.name else replace(self, name=name)


def _check_value(value: str) -> None:
    if not isinstance(value, str) or _COOKIE_OCTETS.fullmatch(value) is None:
        # Header injection guard: a ';', CR/LF or space would forge attributes.
        raise ValueError("cookie value holds characters outside RFC 6265 cookie-octets")


def set_cookie(options: CookieOptions, value: str) -> str:
    """A full ``Set-Cookie`` value; :class:`CookieTooLargeError` above 4096 bytes (D7).

    Use :func:`chunk_cookie` for values that may not fit.
    """
    _check_value(value)
    if len(options.name) + len(value) > MAX_COOKIE_BYTES:
        raise CookieTooLargeError(
            f"cookie {options.name!r} would be {len(options.name) + len(value)} bytes "
            f"(name+value); browsers drop cookies above {MAX_COOKIE_BYTES} bytes. "
            "Shrink the value or allow chunking (max_cookie_chunks)."
        )
    return f"{options.name}={value}{options.suffix}"


def delete_cookie(options: CookieOptions) -> str:
    """A ``Set-Cookie`` that deletes the cookie set with the same ``options`` (D12, G1)."""
    return f"{options.name}={options.delete_suffix}"


# -- chunking ----------------------------------------------------------------------


def _chunk_index(prefix: str, name: str) -> int | None:
    """``3`` for ``prefix + "3"``; None for ``name.x``, ``name.01``, ``name.-1``..."""
    digits = name[len(prefix) :]
    if digits == "0":
        return 0
    if (
        0 < len(digits) <= 4
        and digits.isascii()
        and digits.isdigit()
        and digits[0] != "0"  # one spelling per index: "01" is a foreign cookie
    ):
        return int(digits)
    return None


def chunk_names(name: str, names: Collection[str]) -> list[str]:
    """The chunk cookies of ``name`` (``name.0``, ``name.1``...) among ``names``."""
    prefix = name + "."
    return [n for n in names if n.startswith(prefix) and _chunk_index(prefix, n) is not None]


def chunk_cookie(
    options: CookieOptions,
    value: str,
    *,
    max_chunks: int,
    existing: Collection[str] = (),
) -> list[str]:
    """``Set-Cookie`` values storing ``value`` in one cookie or in ``name.0..N`` (D8).

    Unchunked when the whole ``Set-Cookie`` value fits in 4096 bytes (so JS AuthKit
    libraries can read it); otherwise Auth.js-style chunks, each whole ``Set-Cookie``
    value <= 4096 bytes. ``existing`` holds the cookie names on the request: stale
    chunks (and the unchunked cookie when moving to chunks) get deletions, so a
    shrink never leaves parts behind for :func:`join_cookie` to trip over.
    Raises :class:`CookieTooLargeError` when more than ``max_chunks`` are needed.
    """
    _check_value(value)
    name = options.name
    suffix = options.suffix
    single = f"{name}={value}{suffix}"
    if len(single) <= MAX_COOKIE_BYTES:
        headers = [single]
        kept = 0
    else:
        headers = _chunks(options, value, max_chunks)
        kept = len(headers)
    prefix = name + "."
    deleted = 0
    for stale in existing:
        if deleted >= MAX_DELETIONS:
            break
        if stale == name:
            if kept:
                headers.append(f"{stale}={options.delete_suffix}")
                deleted += 1
            continue
        if stale.startswith(prefix):
            index = _chunk_index(prefix, stale)
            if index is not None and (not kept or index >= kept):
                headers.append(f"{stale}={options.delete_suffix}")
                deleted += 1
    return headers


def _chunks(options: CookieOptions, value: str, max_chunks: int) -> list[str]:
    name = options.name
    fixed = len(options.suffix) + len(name) + 2  # "name." + "=" + attributes
    out: list[str] = []
    position = 0
    index = 0
    while position < len(value):
        room = MAX_COOKIE_BYTES - fixed - len(str(index))
        if room <= 0:
            raise CookieTooLargeError(f"cookie name {name!r} is too long to chunk")
        if index < max_chunks:
            out.append(f"{name}.{index}={value[position : position + room]}{options.suffix}")
        position += room
        index += 1
    if index == 0:  # an empty value that still does not fit: the name is the problem
        raise CookieTooLargeError(f"cookie name {name!r} is too long for any value")
    if index > max_chunks:
        raise CookieTooLargeError(
            f"cookie {name!r} needs {index} chunks of <= {MAX_COOKIE_BYTES} bytes for a "
            f"{len(value)}-byte value but max_cookie_chunks is {max_chunks}; shrink the "
            "session payload (fewer claims or user fields) or raise max_cookie_chunks."
        )
    return out


def join_cookie(
    cookies: Mapping[str, str], name: str, *, max_chunks: int | None = None
) -> str | None:
    """Reassemble a cookie written by :func:`chunk_cookie` (D8).

    The unchunked ``name`` wins when present. Otherwise ``name.0..N`` must be
    contiguous from 0 in numeric order (a gap or more than ``max_chunks`` parts
    gives None: fail closed, the seal's MAC then never sees a spliced value).
    Foreign cookies sharing the prefix (``name.x``, ``name.01``) are ignored.
    """
    whole = cookies.get(name)
    if whole is not None:
        return whole
    prefix = name + "."
    parts: dict[int, str] = {}
    for key, value in cookies.items():
        if key.startswith(prefix):
            index = _chunk_index(prefix, key)
            if index is not None:
                parts[index] = value
    count = len(parts)
    if not count or (max_chunks is not None and count > max_chunks):
        return None
    try:
        return "".join([parts[i] for i in range(count)])
    except KeyError:  # distinct indices, not all below count: there is a gap
        return None


def delete_cookie_and_chunks(options: CookieOptions, existing: Collection[str]) -> list[str]:
    """Deletions for ``name`` (always) and every chunk of it in ``existing`` (G1)."""
    deletions = [delete_cookie(options)]
    chunks = chunk_names(options.name, existing)[:MAX_DELETIONS]
    deletions.extend(f"{n}={options.delete_suffix}" for n in chunks)
    return deletions


# -- the two cookies AuthKit writes -------------------------------------------------


def session_cookie_options(config: AuthKitConfig) -> CookieOptions:
    """Session cookie: ``Path=/; HttpOnly; SameSite=<config>``, Max-Age/Domain/Secure
    from the config (authkit-nextjs defaults, D1)."""
    return CookieOptions(
        name=config.cookie_name,
        path="/",
        domain=config.cookie_domain,
        secure=config.cookie_secure_effective,
        httponly=True,
        samesite=config.cookie_samesite,
        max_age=config.cookie_max_age,
    )


def verifier_cookie_options(config: AuthKitConfig, name: str) -> CookieOptions:
    """Sign-in verifier cookie ``name``: like the session cookie but ``Max-Age=600``
    (A5) and SameSite Strict downgraded to Lax (A6: Strict is not sent on the
    cross-site redirect back from WorkOS); None is kept."""
    samesite = "lax" if config.cookie_samesite == "strict" else config.cookie_samesite
    return CookieOptions(
        name=name,
        path="/",
        domain=config.cookie_domain,
        secure=config.cookie_secure_effective,
        httponly=True,
        samesite=samesite,
        max_age=VERIFIER_MAX_AGE,
    )
