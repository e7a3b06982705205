"""The iron ``Fe26.2`` seal, byte-compatible with iron-webcrypto 1.x and iron-session 8.

A Next.js app using ``@workos-inc/authkit-nextjs`` (iron-session ``sealData``) or a
TanStack/SvelteKit/Astro app using ``@workos/authkit-session`` (iron-webcrypto ``seal``
plus the same suffix) writes the ``wos-session`` cookie in this format. Speaking it
lets a Python service and a JS app on one domain share that cookie.

Wire format (verified against ``iron-webcrypto@1.2.1`` ``dist/index.js`` and
``iron-session@8.0.4`` ``dist/index.js``)::

    Fe26.2*{pwId}*{encSalt}*{ivB64u}*{ctB64u}*{expMs}*{macSalt}*{macB64u}~2

- iron-webcrypto's ``seal`` returns the eight ``*``-separated fields; iron-session (and
  authkit-session, copying it) then appends ``~2``, the iron-session "token major
  version". The MAC covers only the first six fields: not the MAC salt, not ``~2``.
- ``pwId``: iron-session turns a string password into ``{1: password}`` and seals
  with the highest numeric id, so a single-password app always emits ``1``.
  iron-webcrypto looks the password up by id on unseal (an empty id means
  ``default``); ids must match ``^\\w+$``.
- Salts: 256 random bits as 64 lowercase hex characters; the *hex string's* UTF-8
  bytes are the PBKDF2 salt. Keys: PBKDF2-HMAC-SHA1, 1 iteration, 32 bytes, one for
  AES-256-CBC (PKCS#7, random 16-byte IV) and one for HMAC-SHA256. iron-session
  draws new salts for every seal; :func:`seal` here reuses one random pair for a
  bounded period (a fresh IV every time) so that derived keys can be cached; see
  its docstring for why that is sound. Openers cannot tell the difference.
- Plaintext: ``JSON.stringify(payload)`` (compact, non-ASCII characters unescaped).
- ``expMs``: ``Date.now() + ttlMs`` when ``ttl`` is non-zero, else empty. Unseal
  rejects ``exp <= now - timestampSkewSec * 1000`` with ``timestampSkewSec = 60``:
  a seal stays valid for up to 60 s past its expiry, to absorb clock skew.

This module is stricter than the JS code in ways that never reject a seal the JS
code produces: the whole seal must be ASCII, the suffix must be exactly ``~2``
(iron-session would read any other suffix, or none, as its legacy v1 shape, which
AuthKit never wrote), and every failure is a :class:`SealError` whose message never
echoes the input. The MAC is checked before the expiry, so "expired" is only ever
reported for an authentic seal.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import json
import math
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

import pybase64
from cryptography.hazmat.primitives.ciphers import Cipher, CipherContext, algorithms, modes

from . import strict_json
from .errors import SealError

if TYPE_CHECKING:
    from _hashlib import HASH

__all__ = [
    "MAC_PREFIX",
    "MIN_PASSWORD_LENGTH",
    "SALT_REUSE_SEALS",
    "SALT_REUSE_SECONDS",
    "TIMESTAMP_SKEW_SEC",
    "VERSION_SUFFIX",
    "IronParts",
    "check_password",
    "clear_key_cache",
    "dumps_json",
    "loads_json",
    "open_parts",
    "parse",
    "rotate_salts",
    "seal",
    "unseal",
]

MAC_PREFIX = "Fe26.2"
#: iron-session's ``~{currentMajorVersion}``; appended after the MAC, not covered by it.
VERSION_SUFFIX = "~2"
#: iron-webcrypto ``minPasswordlength`` (characters, not bytes).
MIN_PASSWORD_LENGTH = 32
#: iron-webcrypto ``timestampSkewSec`` default, also hard-coded by iron-session.
TIMESTAMP_SKEW_SEC = 60
#: Our seals share one pair of salts for at most this many seconds...
SALT_REUSE_SECONDS = 600.0
#: ...and at most this many seals, whichever comes first (see :func:`seal`).
SALT_REUSE_SEALS = 2**16

_SALT_BYTES = 32  # saltBits 256
_KEY_BYTES = 32  # aes-256-cbc keyBits / sha256 keyBits
_IV_BYTES = 16
_PASSWORD_ID = re.compile(r"\w+", re.ASCII)
_DIGITS = re.compile(r"[0-9]+", re.ASCII)
_INVALID = "The sealed value is malformed or was not sealed with a configured password."


class IronParts(NamedTuple):
    """A structurally valid seal, split but not yet authenticated.

    A named tuple (immutable, built by :func:`parse` without per-field ``__setattr__``
    calls, ~1 µs cheaper per cookie than a frozen dataclass).
    """

    password_id: str
    encryption_salt: str
    iv: str
    ciphertext: str
    expiration: int | None
    hmac_salt: str
    mac: str
    #: The first six fields joined by ``*``: exactly what the MAC covers.
    mac_base: bytes


_new_parts = tuple.__new__


def _b64u_encode(data: bytes) -> str:
    # Exactly ``base64.urlsafe_b64encode(data).rstrip(b"=").decode()``, in SIMD C.
    return pybase64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


_PADDING = ("", "===", "==", "=")


def _b64u_decode(text: str) -> bytes:
    # Only called on MAC-verified fields. ``pybase64`` decodes the base64url alphabet
    # directly (SIMD): ~0.6 µs for a session cookie's ciphertext, where mapping it to
    # the standard alphabet and ``binascii.a2b_base64`` took ~3 µs. ``validate``
    # refuses any other character, as a MAC-verified field never holds one (and
    # ``+``/``/``, which it would read as their base64url twins, are refused first).
    if "+" in text or "/" in text:
        raise SealError(_INVALID)
    try:
        return pybase64.b64decode(text + _PADDING[len(text) % 4], altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise SealError(_INVALID) from None


def _derive(secret: bytes, salt: str) -> bytes:
    return hashlib.pbkdf2_hmac("sha1", secret, salt.encode("ascii"), 1, _KEY_BYTES)


# -- derived keys, cached per (password, encryption salt, MAC salt) ------------------------

_IPAD = bytes(byte ^ 0x36 for byte in range(256))
_OPAD = bytes(byte ^ 0x5C for byte in range(256))
_SHA256_BLOCK = 64
_ZERO_IV = bytes(_IV_BYTES)
#: Most key sets kept (one per password and salt pair seen in an authentic seal).
_KEY_CACHE_SIZE = 256
#: Idle CBC decryptors kept per key set (about one per thread unsealing at once).
_DECRYPTOR_POOL_SIZE = 8


def _hmac_pads(mac_key: bytes) -> tuple[HASH, HASH]:
    """HMAC-SHA256's inner and outer hash states after the key block (RFC 2104).

    ``hmac.digest`` redoes this, and OpenSSL's digest lookup, on every call; copying
    the two states is ~1 µs cheaper per seal. The key (32 bytes) is shorter than the
    block, so it is zero-padded, never pre-hashed.
    """
    block = mac_key.ljust(_SHA256_BLOCK, b"\0")
    return hashlib.sha256(block.translate(_IPAD)), hashlib.sha256(block.translate(_OPAD))


def _hmac(pads: tuple[HASH, HASH], data: bytes) -> bytes:
    inner = pads[0].copy()
    inner.update(data)
    outer = pads[1].copy()
    outer.update(inner.digest())
    return outer.digest()


class _KeySet:
    """The keys of one (password, encryption salt, MAC salt): MAC states, AES key."""

    __slots__ = ("_decryptors", "aes", "mac_pads")

    def __init__(self, mac_pads: tuple[HASH, HASH], enc_key: bytes) -> None:
        self.mac_pads = mac_pads
        self.aes = algorithms.AES(enc_key)
        self._decryptors: list[CipherContext] = []

    def decrypt(self, iv: bytes, ciphertext: bytes) -> bytes:
        """AES-256-CBC-decrypt whole blocks under ``iv`` (no unpadding).

        A CBC decryptor outputs ``D(C[i]) xor C[i-1]`` for each block it is fed, the
        previous block carrying over from its previous ``update``. Fed the IV as one
        extra block in front, everything from its second output block on is exactly
        the decryption of ``ciphertext`` under ``iv``, whatever the context saw
        before; the first block is dropped. So a context is reused across seals, which
        saves building one (~2.5 µs). Each context serves one thread at a time: it is
        popped from the pool (a concurrent ``update`` on one context raises "Already
        borrowed"; ``list.pop``/``append`` are atomic) and put back afterwards.
        """
        pool = self._decryptors
        try:
            decryptor = pool.pop()
        except IndexError:
            decryptor = Cipher(self.aes, modes.CBC(_ZERO_IV)).decryptor()
        plaintext = decryptor.update(iv + ciphertext)
        if len(plaintext) != _IV_BYTES + len(ciphertext):  # pragma: no cover - never
            # cryptography disables padding, so whole blocks come straight back; if a
            # backend ever held one back, decrypt the plain way and drop this context.
            decryptor = Cipher(self.aes, modes.CBC(iv)).decryptor()
            return decryptor.update(ciphertext) + decryptor.finalize()
        if len(pool) < _DECRYPTOR_POOL_SIZE:
            pool.append(decryptor)
        return plaintext[_IV_BYTES:]


_KEY_CACHE: dict[tuple[bytes, str, str], _KeySet] = {}
# Guards writes (reads are single dict lookups); re-created in a forked child.
_KEY_CACHE_LOCK = threading.Lock()


def _remember(cache_key: tuple[bytes, str, str], keys: _KeySet) -> None:
    with _KEY_CACHE_LOCK:
        if cache_key not in _KEY_CACHE:
            while len(_KEY_CACHE) >= _KEY_CACHE_SIZE:  # evict the oldest (FIFO)
                del _KEY_CACHE[next(iter(_KEY_CACHE))]
            _KEY_CACHE[cache_key] = keys


def _keys(secret: bytes, enc_salt: str, mac_salt: str) -> _KeySet:
    """The key set for a seal we write (its salts are ours, so it is cached)."""
    cache_key = (secret, enc_salt, mac_salt)
    keys = _KEY_CACHE.get(cache_key)
    if keys is None:
        keys = _KeySet(_hmac_pads(_derive(secret, mac_salt)), _derive(secret, enc_salt))
        _remember(cache_key, keys)
    return keys


class _SaltSchedule:
    """The (encryption salt, MAC salt) pair our seals use, renewed by age and count.

    Thread-safe. ``clock`` is monotonic seconds (wall-clock jumps do not matter).
    """

    __slots__ = ("_deadline", "_left", "_lock", "_salts", "clock", "max_age", "max_uses")

    def __init__(
        self, max_age: float, max_uses: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_age = max_age
        self.max_uses = max_uses
        self.clock = clock
        self._lock = threading.Lock()
        self._salts = ("", "")
        self._deadline = 0.0
        self._left = 0  # none left: the first call draws a pair

    def next(self) -> tuple[str, str]:
        """The salts for one more seal (a fresh pair once the current one is used up)."""
        with self._lock:
            now = self.clock()
            if self._left <= 0 or now >= self._deadline:
                self._salts = (os.urandom(_SALT_BYTES).hex(), os.urandom(_SALT_BYTES).hex())
                self._deadline = now + self.max_age
                self._left = self.max_uses
            self._left -= 1
            return self._salts

    def rotate(self) -> None:
        """Make the next seal draw a fresh pair."""
        with self._lock:
            self._left = 0

    def after_fork(self) -> None:
        self._lock = threading.Lock()
        self._left = 0  # a forked worker never shares its parent's salts


_SALTS = _SaltSchedule(SALT_REUSE_SECONDS, SALT_REUSE_SEALS)


def rotate_salts() -> None:
    """Make the next :func:`seal` in this process use freshly drawn salts.

    Seals otherwise share a salt pair for up to :data:`SALT_REUSE_SECONDS` seconds or
    :data:`SALT_REUSE_SEALS` seals. Tests use this to get seals with distinct salts.
    """
    _SALTS.rotate()


def clear_key_cache() -> None:
    """Forget every cached derived key (e.g. after retiring a password).

    Keys are derived again, and cached again, the next time a seal needs them.
    """
    with _KEY_CACHE_LOCK:
        _KEY_CACHE.clear()


def _now_ms(now: float | None) -> int:
    return math.floor((time.time() if now is None else now) * 1000)


def dumps_json(data: Any) -> bytes:
    """Serialise like ``JSON.stringify``: compact, non-ASCII characters unescaped.

    A string holding a lone surrogate cannot be UTF-8 encoded; JS escapes those as
    ``\\udXXX``, and so does the ASCII fallback here. Raises ``TypeError`` or
    ``ValueError`` for values JSON cannot hold (including NaN and infinities).
    """
    try:
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode(
            "utf-8"
        )
    except UnicodeEncodeError:
        return json.dumps(data, separators=(",", ":"), allow_nan=False).encode("ascii")


def loads_json(raw: bytes) -> Any:
    """Parse strict JSON (no NaN/Infinity); any failure is a :class:`SealError`."""
    try:
        return strict_json.loads(raw)
    except (ValueError, RecursionError):  # UnicodeDecodeError, JSONDecodeError are ValueErrors
        raise SealError(_INVALID) from None


def check_password(password: str) -> bytes:
    """Validate an iron password and return its UTF-8 bytes (the PBKDF2 input)."""
    if not isinstance(password, str):
        raise TypeError("an iron password must be a str")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(
            f"the seal password must be at least {MIN_PASSWORD_LENGTH} characters long "
            f"(this one has {len(password)}); generate one with `openssl rand -base64 32`"
        )
    return password.encode("utf-8")


def seal(
    data: Any,
    password: str | bytes,
    *,
    password_id: str = "1",
    ttl: float = 0,
    now: float | None = None,
) -> str:
    """Seal ``data`` exactly as iron-session's ``sealData`` does, ``~2`` suffix included.

    ``password`` is the password string (at least 32 characters) or its UTF-8 bytes
    as returned by :func:`check_password`. ``ttl`` is in seconds; 0 means no expiry
    inside the seal (the cookie's Max-Age governs). ``now`` is a Unix time in seconds.

    **Salts are reused, IVs are not.** iron-session draws two new 256-bit salts per
    seal. Here one process-wide pair of random salts (encryption, MAC) serves every
    seal for up to :data:`SALT_REUSE_SECONDS` seconds or :data:`SALT_REUSE_SEALS`
    seals, whichever comes first, and is redrawn in a forked child; the 16-byte IV is
    drawn fresh from ``os.urandom`` for every seal. The seal format and its meaning
    are unchanged (any iron implementation opens these seals, and we open theirs):
    a salt only feeds PBKDF2, and PBKDF2 with one iteration is a deterministic function
    of (password, salt). Reusing the salt therefore means many seals share one derived
    AES-256 key and one derived HMAC-SHA256 key, which is how Fernet and every other
    AES-CBC + HMAC (encrypt-then-MAC) scheme work: CBC with a fixed key and an
    unpredictable random IV per message is IND-CPA secure, far within its bounds at
    2**16 messages per key, and HMAC-SHA256 is a PRF under a fixed key, so forging a
    seal is no easier. The two salts stay independent, so the AES and HMAC keys stay
    distinct. The salts are public (written in every seal) either way, and a
    one-iteration PBKDF2 never slowed a password search whatever the salt (which is
    why iron insists on passwords of at least 32 characters), so sharing them gives
    nothing away. What it buys: the derived keys of our own seals are almost always
    in the key cache (see :func:`open_parts`), so opening one skips both PBKDF2 runs.
    :func:`rotate_salts` forces a fresh pair for the next seal.
    """
    # bytes(): a cache key must be hashable (a bytearray is not); no copy for bytes.
    secret = check_password(password) if isinstance(password, str) else bytes(password)
    if password_id and _PASSWORD_ID.fullmatch(password_id) is None:
        raise ValueError("a password id must match ^\\w+$ (ASCII letters, digits, underscore)")
    if ttl < 0 or not math.isfinite(ttl):
        raise ValueError("ttl must be a finite number of seconds >= 0")
    ttl_ms = round(ttl * 1000)
    plaintext = dumps_json(data)

    enc_salt, mac_salt = _SALTS.next()
    iv = os.urandom(_IV_BYTES)
    keys = _keys(secret, enc_salt, mac_salt)
    pad = 16 - len(plaintext) % 16
    encryptor = Cipher(keys.aes, modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(plaintext + bytes((pad,)) * pad) + encryptor.finalize()

    expiration = str(_now_ms(now) + ttl_ms) if ttl_ms else ""
    mac_base = (
        f"{MAC_PREFIX}*{password_id}*{enc_salt}*{_b64u_encode(iv)}*"
        f"{_b64u_encode(ciphertext)}*{expiration}"
    )
    mac = _hmac(keys.mac_pads, mac_base.encode("ascii"))
    return f"{mac_base}*{mac_salt}*{_b64u_encode(mac)}{VERSION_SUFFIX}"


def parse(sealed: str) -> IronParts:
    """Split and structurally validate a seal (no key needed, nothing decrypted)."""
    if not isinstance(sealed, str) or not sealed.isascii():  # isascii() is O(1)
        raise SealError(_INVALID)
    fields = sealed.split("*")
    if len(fields) != 8 or fields[0] != MAC_PREFIX:
        raise SealError(_INVALID)
    _, password_id, enc_salt, iv, ciphertext, expiration, mac_salt, mac = fields
    # The seal ends with "~2" (it holds no "*", so the last field does) and that is its
    # only "~": the first "~" is the suffix's.
    if (
        not mac.endswith(VERSION_SUFFIX)
        or sealed.find("~") != len(sealed) - len(VERSION_SUFFIX)
        or not enc_salt
        or not mac_salt
    ):
        raise SealError(_INVALID)
    mac = mac[: -len(VERSION_SUFFIX)]
    exp: int | None = None
    if expiration:
        if _DIGITS.fullmatch(expiration) is None or len(expiration) > 20:
            raise SealError(_INVALID)
        exp = int(expiration)
    # Everything before "*{mac_salt}*{mac}~2".
    mac_base_len = len(sealed) - len(VERSION_SUFFIX) - len(mac) - len(mac_salt) - 2
    return _new_parts(
        IronParts,
        (
            password_id,
            enc_salt,
            iv,
            ciphertext,
            exp,
            mac_salt,
            mac,
            sealed[:mac_base_len].encode("ascii"),
        ),
    )


def open_parts(parts: IronParts, secret: bytes, *, now: float | None = None) -> Any:
    """Authenticate, check expiry, decrypt and parse one seal with one password.

    ``secret`` is the password's UTF-8 bytes. Raises :class:`SealError` (code
    ``seal_expired`` for an authentic but expired seal, ``invalid_seal`` otherwise).

    The derived keys are cached per (password, encryption salt, MAC salt), but only
    once a seal naming that salt pair has passed its MAC check: seals that fail it
    (anything forged, whatever salts it names) never add an entry, so they can neither
    grow the cache nor push our keys out of it. The cache holds at most
    ``_KEY_CACHE_SIZE`` entries, the oldest evicted first. A cached entry is used the
    same way a fresh derivation is: the MAC is still computed and compared every time.
    """
    if type(secret) is not bytes:  # a cache key must be hashable (e.g. not bytearray)
        secret = bytes(secret)
    cache_key = (secret, parts.encryption_salt, parts.hmac_salt)
    keys = _KEY_CACHE.get(cache_key)
    if keys is None:
        mac_pads = _hmac_pads(_derive(secret, parts.hmac_salt))
        if not hmac.compare_digest(_b64u_encode(_hmac(mac_pads, parts.mac_base)), parts.mac):
            raise SealError(_INVALID)
        keys = _KeySet(mac_pads, _derive(secret, parts.encryption_salt))
        _remember(cache_key, keys)
    elif not hmac.compare_digest(_b64u_encode(_hmac(keys.mac_pads, parts.mac_base)), parts.mac):
        raise SealError(_INVALID)
    if (
        parts.expiration is not None
        and parts.expiration <= _now_ms(now) - TIMESTAMP_SKEW_SEC * 1000
    ):
        raise SealError("The sealed value has expired.", code="seal_expired")
    iv = _b64u_decode(parts.iv)
    ciphertext = _b64u_decode(parts.ciphertext)
    if len(iv) != _IV_BYTES or not ciphertext or len(ciphertext) % 16:
        raise SealError(_INVALID)
    padded = keys.decrypt(iv, ciphertext)
    pad = padded[-1]
    if not 1 <= pad <= 16 or padded[-pad:] != bytes((pad,)) * pad:
        raise SealError(_INVALID)
    return loads_json(padded[:-pad])


def _after_fork_in_child() -> None:
    # A lock held by another thread at fork time would stay held in the child forever.
    global _KEY_CACHE_LOCK
    _KEY_CACHE_LOCK = threading.Lock()
    _SALTS.after_fork()


if hasattr(os, "register_at_fork"):  # not on Windows
    os.register_at_fork(after_in_child=_after_fork_in_child)


def unseal(sealed: str, passwords: str | Mapping[str, str], *, now: float | None = None) -> Any:
    """Open a seal as iron-webcrypto's ``unseal`` does (after iron-session strips ``~2``).

    ``passwords`` is one password (used whatever id the seal names) or a map from
    password id to password (the seal's id selects one; an empty id means
    ``default``). For rotation with fallbacks and purposes, use ``seal.Sealer``.
    """
    parts = parse(sealed)
    if isinstance(passwords, str):
        password = passwords
    else:
        password = passwords.get(parts.password_id or "default", "")
    try:
        secret = check_password(password)
    except (TypeError, ValueError):
        raise SealError(_INVALID) from None
    return open_parts(parts, secret, now=now)
