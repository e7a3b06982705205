"""Identifiers shaped like WorkOS ones (``user_01H...``), random or derived.

Derived ids exist so a seed without pinned ids gives the same ids on every start:
a test, a bookmarked URL or a database row written against yesterday's emulator
still points at the same user. Random ids are for things that must not be guessed
(sessions, codes, refresh tokens).
"""

from __future__ import annotations

import hashlib
import secrets

# Crockford base32, the alphabet of ULIDs (what WorkOS ids use after the prefix).
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _base32(data: bytes, length: int) -> str:
    number = int.from_bytes(data, "big")
    chars = []
    for _ in range(length):
        number, rest = divmod(number, 32)
        chars.append(_CROCKFORD[rest])
    return "".join(chars)


def stable_id(prefix: str, key: str) -> str:
    """A deterministic ULID-looking id: same ``prefix`` and ``key``, same id, forever.

    The ``01`` lead keeps it looking like a ULID from this decade, which some
    validators (and humans) expect.
    """
    digest = hashlib.sha256(f"authkit-emulator:{prefix}:{key}".encode()).digest()
    return f"{prefix}_01{_base32(digest, 24)}"


def ulid_like() -> str:
    """A random 26-character ULID-looking string (the ``jti`` of a token)."""
    return f"01{_base32(secrets.token_bytes(16), 24)}"


def random_id(prefix: str) -> str:
    """A random ULID-looking id (sessions, memberships created at run time)."""
    return f"{prefix}_{ulid_like()}"


def opaque_token(nbytes: int = 24) -> str:
    """An unguessable URL-safe string (codes, refresh tokens, form ids)."""
    return secrets.token_urlsafe(nbytes)
