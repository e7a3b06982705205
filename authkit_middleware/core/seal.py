"""Sealer: encrypt-then-MAC the cookies this library writes, with rotation and purposes.

Two formats, recognised by prefix whichever one seals:

- ``"iron"`` (default): the ``Fe26.2`` seal of iron-session / iron-webcrypto (see
  :mod:`.iron`), so a Python service and a Next.js / authkit-session app on one
  domain share the ``wos-session`` cookie. Passwords: any string of >= 32 characters.
- ``"fernet"``: exactly what ``workos.session.seal_data`` writes (Fernet over JSON),
  so ``client.user_management.load_sealed_session(...)`` opens our cookies and we
  open its. Passwords: Fernet keys (url-safe base64 of 32 bytes, 44 characters).

**Rotation** (checklist D5): pass several passwords, newest first. The first seals,
any opens, and :meth:`Sealer.unseal_ex` reports ``stale_password`` so the caller can
re-seal with the primary. A mapping ``{"2": new, "1": old}`` works like an
iron-session password map: the highest numeric id seals and names itself in the
seal, so a JS app given the same map opens it with the right password. With a
plain list the primary seals with id ``"1"``, as iron-session does for a string.

**Purposes** (checklist A7, CVE-2023-48309): ``"session"`` uses the raw password
(interop with JS and workos-python). Every other purpose uses a password derived
as ``HMAC-SHA256(password, b"authkit-middleware/v1/" + purpose)`` (rendered as 64
hex characters for iron, as a Fernet key for Fernet), so a login-state seal never
opens as a session, nor the other way round, nor across any two purposes.

**TTL**: sessions are sealed with ``ttl=0`` (no expiry inside the seal; the
cookie's Max-Age and the access/refresh tokens govern, as in every AuthKit JS
library); sign-in (login-state) seals use ``ttl=600`` (authkit-nextjs, authkit-session).
Iron carries the expiry in the seal. A Fernet token only carries its issue time, so
a Fernet seal with ``ttl > 0`` prefixes its plaintext with ``ttl=<seconds>;`` and is
refused once ``issued + ttl <= now - 60 s`` (the iron skew rule). Such seals are not
meant for workos-python, which has no TTL; ``ttl=0`` Fernet seals are plain JSON.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import math
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from cryptography.fernet import Fernet, InvalidToken

from . import iron
from .errors import SealError

__all__ = [
    "LOGIN_STATE_TTL",
    "SESSION_TTL",
    "Purpose",
    "SealFormat",
    "Sealer",
    "Unsealed",
]

SealFormat = Literal["iron", "fernet"]
#: What a seal is for. Each purpose other than "session" gets its own derived key.
Purpose = Literal["session", "login_state", "coordinator"]

#: Sessions: no expiry inside the seal (cookie Max-Age governs), like the JS libraries.
SESSION_TTL = 0
#: Sign-in state / PKCE verifier: 10 minutes, like authkit-nextjs and authkit-session.
LOGIN_STATE_TTL = 600

_IRON_PREFIX = "Fe26."
# base64url(0x80 || 8-byte big-endian timestamp): the leading zero bytes of any
# timestamp before 2106 make every Fernet token start with this.
_FERNET_PREFIX = "gAAAAA"
_DERIVATION_LABEL = b"authkit-middleware/v1/"
_PURPOSE = re.compile(r"[a-z][a-z0-9_.-]{0,63}", re.ASCII)
_FERNET_TOKEN = re.compile(r"[A-Za-z0-9_-]+={0,2}", re.ASCII)
_TTL_HEADER = re.compile(rb"ttl=([0-9]{1,12});", re.ASCII)
_INVALID = "The sealed value is malformed or was not sealed with a configured password."
_UNKNOWN = "The sealed value is in no known format."


@dataclass(frozen=True, slots=True)
class Unsealed:
    """What :meth:`Sealer.unseal_ex` opened. ``data`` is left out of ``repr`` (tokens)."""

    data: dict[str, Any] = field(repr=False)
    format: SealFormat
    #: True when a password other than the primary opened it: re-seal with the primary.
    stale_password: bool


@dataclass(frozen=True, slots=True)
class _Keys:
    """Per-purpose key material, primary first. Never printed."""

    # iron: (password id, password UTF-8 bytes, is_primary)
    iron: tuple[tuple[str, bytes, bool], ...]
    # fernet: (Fernet, is_primary) for the passwords that are Fernet keys
    fernet: tuple[tuple[Fernet, bool], ...]
    primary_id: str
    primary_fernet: Fernet | None


def _fernet_or_none(key: str) -> Fernet | None:
    try:
        return Fernet(key)
    except (ValueError, TypeError, binascii.Error):
        return None


def _normalise(
    passwords: str | Sequence[str] | Mapping[str, str] | Mapping[int, str],
) -> list[tuple[str, str]]:
    """Return ``[(id, password), ...]``, primary first. Messages never hold a password."""
    entries: list[tuple[str, str]] = []
    if isinstance(passwords, str):
        entries = [("1", passwords)]
    elif isinstance(passwords, Mapping):
        for key, value in passwords.items():
            ident = str(key)
            if not ident.isascii() or not ident.isdigit():
                raise ValueError(
                    "password map ids must be decimal numbers, as in iron-session "
                    '({"2": newest, "1": older})'
                )
            entries.append((str(int(ident)), value))
        if len({ident for ident, _ in entries}) != len(entries):
            raise ValueError("password map ids must be distinct")
        entries.sort(key=lambda entry: int(entry[0]), reverse=True)
    elif isinstance(passwords, Sequence):
        entries = [("1", value) for value in passwords]
    else:
        raise TypeError("passwords must be a str, a sequence of str or a map of id to str")
    if not entries:
        raise ValueError("at least one seal password is required")
    for position, (_, value) in enumerate(entries):
        if not isinstance(value, str):
            raise TypeError(f"seal password #{position + 1} is not a str")
        if len(value) < iron.MIN_PASSWORD_LENGTH:
            raise ValueError(
                f"seal password #{position + 1} is too short: at least "
                f"{iron.MIN_PASSWORD_LENGTH} characters are required (it has {len(value)}); "
                "generate one with `openssl rand -base64 32`"
            )
    return entries


def _derive(password: str, purpose: str) -> bytes:
    return hmac.digest(
        password.encode("utf-8"), _DERIVATION_LABEL + purpose.encode("ascii"), "sha256"
    )


class Sealer:
    """Seal and unseal JSON objects; see the module docstring for the rules."""

    __slots__ = ("_entries", "_format", "_keys")

    def __init__(
        self,
        passwords: str | Sequence[str] | Mapping[str, str] | Mapping[int, str],
        *,
        format: SealFormat = "iron",
    ) -> None:
        if format not in ("iron", "fernet"):
            raise ValueError('format must be "iron" or "fernet"')
        entries = _normalise(passwords)
        if format == "fernet" and _fernet_or_none(entries[0][1]) is None:
            raise ValueError(
                'format="fernet" needs the primary password to be a Fernet key (url-safe '
                "base64 of 32 bytes, as workos-python requires); generate one with "
                '`python -c "from cryptography.fernet import Fernet; '
                'print(Fernet.generate_key().decode())"`'
            )
        self._format: SealFormat = format
        self._entries: tuple[tuple[str, str], ...] = tuple(entries)
        self._keys: dict[str, _Keys] = {}
        for purpose in ("session", "login_state", "coordinator"):
            self._keys[purpose] = self._build(purpose)

    def __repr__(self) -> str:
        return f"Sealer(format={self._format!r}, passwords={len(self._entries)})"

    @property
    def format(self) -> SealFormat:
        """The format :meth:`seal` writes."""
        return self._format

    def _build(self, purpose: str) -> _Keys:
        iron_keys: list[tuple[str, bytes, bool]] = []
        fernet_keys: list[tuple[Fernet, bool]] = []
        for position, (ident, password) in enumerate(self._entries):
            primary = position == 0
            if purpose == "session":
                iron_secret = password
                fernet = _fernet_or_none(password)
            else:
                derived = _derive(password, purpose)
                iron_secret = derived.hex()
                # Only passwords that are Fernet keys take part in Fernet, per purpose too.
                fernet = (
                    Fernet(base64.urlsafe_b64encode(derived))
                    if _fernet_or_none(password) is not None
                    else None
                )
            iron_keys.append((ident, iron_secret.encode("utf-8"), primary))
            if fernet is not None:
                fernet_keys.append((fernet, primary))
        primary_fernet = fernet_keys[0][0] if fernet_keys and fernet_keys[0][1] else None
        return _Keys(
            iron=tuple(iron_keys),
            fernet=tuple(fernet_keys),
            primary_id=self._entries[0][0],
            primary_fernet=primary_fernet,
        )

    def _keys_for(self, purpose: str) -> _Keys:
        keys = self._keys.get(purpose)
        if keys is None:
            if not isinstance(purpose, str) or _PURPOSE.fullmatch(purpose) is None:
                raise ValueError("a purpose is a short lowercase name such as 'login_state'")
            keys = self._keys[purpose] = self._build(purpose)
        return keys

    # -- sealing ---------------------------------------------------------------------

    def seal(
        self,
        data: Mapping[str, Any],
        *,
        purpose: Purpose = "session",
        ttl: int = 0,
        now: float | None = None,
    ) -> str:
        """Seal a JSON object with the primary password for ``purpose``.

        ``ttl`` is in seconds; 0 (sessions) means no expiry inside the seal.
        Raises ``TypeError``/``ValueError`` when ``data`` is not JSON-serialisable.
        """
        if not isinstance(data, Mapping):
            raise TypeError("only JSON objects (mappings) are sealed")
        if not isinstance(data, dict):
            data = dict(data)  # json serialises dicts only (e.g. not MappingProxyType)
        if not isinstance(ttl, int) or isinstance(ttl, bool) or ttl < 0:
            raise ValueError("ttl must be a whole number of seconds >= 0")
        keys = self._keys_for(purpose)
        if self._format == "iron":
            _, secret, _ = keys.iron[0]
            return iron.seal(data, secret, password_id=keys.primary_id, ttl=ttl, now=now)
        fernet = keys.primary_fernet
        if fernet is None:  # pragma: no cover - __init__ refuses this
            raise ValueError('format="fernet" needs a Fernet key as the primary password')
        plaintext = iron.dumps_json(data)
        if ttl:
            plaintext = b"ttl=%d;" % ttl + plaintext
        issued = math.floor(time.time() if now is None else now)
        return fernet.encrypt_at_time(plaintext, issued).decode("ascii")

    # -- unsealing -------------------------------------------------------------------

    def unseal(
        self, sealed: str, *, purpose: Purpose = "session", now: float | None = None
    ) -> dict[str, Any]:
        """Open a seal of either format; raise :class:`SealError` on any failure."""
        return self.unseal_ex(sealed, purpose=purpose, now=now).data

    def unseal_ex(
        self, sealed: str, *, purpose: Purpose = "session", now: float | None = None
    ) -> Unsealed:
        """Like :meth:`unseal`, also saying which format and whether a stale password."""
        keys = self._keys.get(purpose)  # the built-in purposes, without a method call
        if keys is None:
            keys = self._keys_for(purpose)
        if not isinstance(sealed, str) or not sealed.isascii():
            raise SealError(_UNKNOWN)
        if sealed.startswith(_IRON_PREFIX):
            data, stale = self._unseal_iron(sealed, keys, now)
            fmt: SealFormat = "iron"
        elif sealed.startswith(_FERNET_PREFIX):
            data, stale = self._unseal_fernet(sealed, keys, now)
            fmt = "fernet"
        else:
            raise SealError(_UNKNOWN)
        if not isinstance(data, dict):
            raise SealError(_INVALID)
        return Unsealed(data, fmt, stale)  # data is Any: no cast() call per cookie

    @staticmethod
    def _unseal_iron(sealed: str, keys: _Keys, now: float | None) -> tuple[Any, bool]:
        parts = iron.parse(sealed)
        ordered = keys.iron
        if len(ordered) > 1:
            wanted = parts.password_id or "default"
            # The id-matching passwords first (primary first among them), then the rest:
            # a JS app with a string password always names id "1" whatever we call it.
            ordered = tuple(k for k in keys.iron if k[0] == wanted) + tuple(
                k for k in keys.iron if k[0] != wanted
            )
        for _, secret, primary in ordered:
            try:
                return iron.open_parts(parts, secret, now=now), not primary
            except SealError as error:
                if error.code == "seal_expired":  # authentic: no other password will do
                    raise
        raise SealError(_INVALID)

    @staticmethod
    def _unseal_fernet(sealed: str, keys: _Keys, now: float | None) -> tuple[Any, bool]:
        # Fernet decodes leniently (skips stray characters, ignores the unused low bits
        # of the last character): insist on the canonical encoding so that changing
        # any character of a token is always a rejection. With the alphabet and length
        # checked, only the last quantum can be non-canonical.
        if _FERNET_TOKEN.fullmatch(sealed) is None or len(sealed) % 4:
            raise SealError(_INVALID)
        token = sealed.encode("ascii")
        try:
            tail = base64.urlsafe_b64decode(token[-4:])
        except (binascii.Error, ValueError):
            raise SealError(_INVALID) from None
        if base64.urlsafe_b64encode(tail) != token[-4:]:
            raise SealError(_INVALID)
        for fernet, primary in keys.fernet:  # MultiFernet semantics, but we learn which
            try:
                plaintext = fernet.decrypt(token)
            except (InvalidToken, ValueError, TypeError):
                continue
            header = _TTL_HEADER.match(plaintext)
            if header is not None:
                ttl = int(header.group(1))
                # 12 characters = 9 bytes: version byte + 64-bit timestamp.
                issued = int.from_bytes(base64.urlsafe_b64decode(token[:12])[1:9], "big")
                current = time.time() if now is None else now
                if issued + ttl <= current - iron.TIMESTAMP_SKEW_SEC:
                    raise SealError("The sealed value has expired.", code="seal_expired")
                plaintext = plaintext[header.end() :]
            return iron.loads_json(plaintext), not primary
        raise SealError(_INVALID)
