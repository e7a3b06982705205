"""Signing keys, the JWKS the SDK reads, and RS256 access-token minting.

Each key publishes the eight fields ``get_jwks()`` requires, including an ``x5c``
self-signed certificate and its ``x5t#S256`` thumbprint (the official emulator
omits them, which breaks the SDK's model). The ``kid`` is the RFC 7638 thumbprint
of the key, so a rotated key can never reuse an old kid and confuse a JWKS cache.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


def b64url(data: bytes) -> str:
    """Base64url without padding (JOSE encoding)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _uint(value: int) -> str:
    return b64url(value.to_bytes((value.bit_length() + 7) // 8 or 1, "big"))


@dataclass(frozen=True)
class SigningKey:
    """An RSA key with its published JWK (``kid`` = ``key_`` + RFC 7638 thumbprint)."""

    private_key: rsa.RSAPrivateKey = field(repr=False)
    kid: str
    jwk: Mapping[str, Any]

    @classmethod
    def generate(cls) -> SigningKey:
        """A fresh 2048-bit key (about 40 ms) with a self-signed certificate."""
        return cls.from_private_key(rsa.generate_private_key(public_exponent=65537, key_size=2048))

    @classmethod
    def from_private_key(cls, private_key: rsa.RSAPrivateKey) -> SigningKey:
        """Wrap an existing key (e.g. a pinned one so tokens survive restarts)."""
        numbers = private_key.public_key().public_numbers()
        n, e = _uint(numbers.n), _uint(numbers.e)
        thumbprint_input = json.dumps(
            {"e": e, "kty": "RSA", "n": n}, separators=(",", ":"), sort_keys=True
        )
        kid = "key_" + b64url(hashlib.sha256(thumbprint_input.encode()).digest())
        der = _self_signed_certificate(private_key)
        jwk = {
            "alg": "RS256",
            "kty": "RSA",
            "use": "sig",
            "x5c": [base64.b64encode(der).decode("ascii")],
            "n": n,
            "e": e,
            "kid": kid,
            "x5t#S256": b64url(hashlib.sha256(der).digest()),
        }
        return cls(private_key=private_key, kid=kid, jwk=jwk)

    @classmethod
    def from_pem(cls, pem: bytes | str) -> SigningKey:
        """Load an unencrypted PEM RSA private key."""
        data = pem.encode() if isinstance(pem, str) else pem
        key = serialization.load_pem_private_key(data, password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("the emulator signs with RSA keys only (RS256)")
        return cls.from_private_key(key)

    def sign(self, claims: Mapping[str, Any]) -> str:
        """An RS256 JWT with this key's ``kid`` in the header."""
        return jwt.encode(
            dict(claims), self.private_key, algorithm="RS256", headers={"kid": self.kid}
        )


def _self_signed_certificate(private_key: rsa.RSAPrivateKey) -> bytes:
    """DER of a self-signed certificate for the key (what ``x5c`` carries)."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "authkit-middleware emulator")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .sign(private_key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER)


class KeyRing:
    """The published keys; the first one signs. Rotation keeps old keys published.

    That mirrors a real rotation: tokens signed by the old key keep verifying
    until the old key is removed, which is what JWKS-cache tests need.
    """

    def __init__(self, initial: SigningKey | None = None) -> None:
        self._lock = threading.Lock()
        self._keys: list[SigningKey] = [initial or SigningKey.generate()]

    @property
    def signer(self) -> SigningKey:
        """The key that signs new tokens."""
        with self._lock:
            return self._keys[0]

    def kids(self) -> list[str]:
        """Published kids, signer first."""
        with self._lock:
            return [k.kid for k in self._keys]

    def rotate(self, new_key: SigningKey | None = None) -> str:
        """Make a new key the signer (old ones stay published); return its kid."""
        key = new_key or SigningKey.generate()
        with self._lock:
            self._keys.insert(0, key)
        return key.kid

    def remove(self, kid: str) -> bool:
        """Unpublish a key. The signer cannot be removed (rotate first)."""
        with self._lock:
            if self._keys[0].kid == kid:
                raise ValueError("cannot remove the current signing key; rotate first")
            before = len(self._keys)
            self._keys = [k for k in self._keys if k.kid != kid]
            return len(self._keys) != before

    def jwks(self) -> dict[str, Any]:
        """The ``{"keys": [...]}`` document served at ``/sso/jwks/{client_id}``."""
        with self._lock:
            return {"keys": [dict(k.jwk) for k in self._keys]}
