"""Token attestations: a sealed session saying "this exact token verified here".

Why: the middleware verifies an access token's RS256 signature before it seals it (at
sign-in, refresh, organization switch, re-seal). Another worker, or this one after a
restart, seeing that cookie for the first time would verify the same signature again:
~15 µs, a third of what a first request costs. Trusting the token because the seal is
authentic (verify-at-seal, security-checklist §6.1) would make the cookie password the
only secret between an attacker and any identity: whoever learns it could seal any
token. An attestation keeps a second, independent secret in the way.

An attestation is an HMAC-SHA256, truncated to 128 bits, of:

* the SHA-256 fingerprint of the RS256 key that verified the token (its DER
  SubjectPublicKeyInfo), so that a key WorkOS drops from its JWKS, or replaces under
  the same ``kid``, no longer vouches for anything;
* the exact token (header, claims and signature: not one byte of it can change);

keyed with HKDF-SHA256 of the WorkOS API key. It is sealed in the session next to the
token. Forging one needs the API key as well as the cookie password, and the API key
alone already lets its holder mint real tokens (it manages users), so an attestation
trusts nobody that the RS256 check would not. Everything else is still checked on
every first sight: the seal's MAC, the key still being in the JWKS, ``exp``/``nbf``/
``iat``, ``iss``, the subject being the sealed user, a user (not agent) token. A
cookie without a valid attestation (sealed by WorkOS's JavaScript libraries, by
workos-python, under another API key, or tampered) is verified with RS256 as before.

``token_attestation=False`` turns both sides off: no attestation is written, none is
trusted.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

if TYPE_CHECKING:
    from hashlib import _Hash as HASH

    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

__all__ = ["ATTESTATION_LENGTH", "TokenAttestor"]

#: Characters of an attestation: 16 bytes (a 128-bit MAC), unpadded base64url.
ATTESTATION_LENGTH = 22
_MAC_BYTES = 16
_INFO = b"authkit-middleware/v1 access token attestation"
_BLOCK = 64  # SHA-256 block size
_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))
#: Keys whose HMAC states are kept (a JWKS holds one or two signing keys).
_KEYS_KEPT = 16


class TokenAttestor:
    """Makes and checks attestations under one API key (see the module doc)."""

    __slots__ = ("_by_key", "_inner", "_outer")

    def __init__(self, api_key: str) -> None:
        secret = HKDF(algorithm=SHA256(), length=32, salt=None, info=_INFO).derive(
            api_key.encode("utf-8")
        )
        block = secret.ljust(_BLOCK, b"\0")
        # HMAC's inner and outer states after the key block (RFC 2104), made once.
        self._inner = hashlib.sha256(block.translate(_IPAD))
        self._outer = hashlib.sha256(block.translate(_OPAD))
        #: id(key) -> (key, inner state after the key's fingerprint). The key is kept
        #: in the value, so its id cannot be reused while the entry lives.
        self._by_key: dict[int, tuple[RSAPublicKey, HASH]] = {}

    def _state(self, key: RSAPublicKey) -> HASH:
        kept = self._by_key.get(id(key))
        if kept is not None and kept[0] is key:
            return kept[1]
        der = key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        state = self._inner.copy()
        state.update(hashlib.sha256(der).digest())
        if len(self._by_key) >= _KEYS_KEPT:
            self._by_key.clear()
        self._by_key[id(key)] = (key, state)
        return state

    def _mac(self, token: str, key: RSAPublicKey) -> bytes:
        inner = self._state(key).copy()
        inner.update(token.encode("ascii"))
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()[:_MAC_BYTES]

    def attest(self, token: str, key: RSAPublicKey) -> str:
        """The attestation of ``token``, which ``key`` has just verified.

        Call it only with a token whose RS256 signature ``key`` verified (or whose
        attestation under ``key`` checked): an attestation is a promise that it did.
        """
        return base64.urlsafe_b64encode(self._mac(token, key)).rstrip(b"=").decode("ascii")

    def check(self, token: str, key: RSAPublicKey, attestation: object) -> bool:
        """Whether ``attestation`` is this process's (same API key) for exactly this
        token and key. Constant-time in the MAC; anything malformed is False."""
        if (
            type(attestation) is not str
            or len(attestation) != ATTESTATION_LENGTH
            or not attestation.isascii()
            or not token.isascii()
        ):
            return False
        expected = self.attest(token, key)
        return hmac.compare_digest(expected, attestation)
