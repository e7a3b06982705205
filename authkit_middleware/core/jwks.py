"""WorkOS signing keys: a parsed JWKS (``KeySet``) and a sans-I/O cache (``JWKSCache``).

Nothing here touches the network. The drivers fetch ``/sso/jwks/<client_id>`` through
the workos SDK and hand the JSON to :meth:`JWKSCache.store` (or report a failure with
:meth:`JWKSCache.record_failure`); the engine asks :meth:`JWKSCache.should_fetch`
whether to yield a fetch and :meth:`JWKSCache.key_for` for the key of a token.

Keys only ever come from that configured JWKS URL: ``jku``/``x5u``/``jwk``/``x5c``
in a token header are never looked at (security checklist F2, RFC 8725 §3.10).

Times given to ``JWKSCache`` only need to be consistent with each other; a monotonic
clock is best. Access-token claim checks (``core.tokens``) use wall-clock time.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey, RSAPublicNumbers

__all__ = ["MAX_RSA_BITS", "MIN_RSA_BITS", "JWKSCache", "KeySet"]

#: Smallest RSA modulus accepted (RFC 7518 §3.3: 2048 bits or larger). Anything smaller
#: is skipped: a tiny key in a JWKS is a misconfiguration or an attack (F4).
MIN_RSA_BITS = 2048
#: Largest RSA modulus accepted. Verification cost grows with the modulus, so an
#: absurd key would make every request slow (F4: skip what we cannot sensibly use).
MAX_RSA_BITS = 8192
_MAX_E_BITS = 64
_MAX_KEYS = 64

_B64URL = re.compile(r"[A-Za-z0-9_-]+")


def _b64url_uint(value: Any, *, max_bits: int) -> int | None:
    """A JWK ``Base64urlUInt`` (RFC 7518 §2), or None when it is not one.

    Trailing ``=`` padding is tolerated (the JWKS comes from the configured, trusted
    URL and a padded value is unambiguous); anything outside the alphabet is not.
    """
    if not isinstance(value, str):
        return None
    text = value.rstrip("=")
    if not text or len(text) > (max_bits // 6) + 4 or not _B64URL.fullmatch(text):
        return None
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
    number = int.from_bytes(raw, "big")
    return number if number > 0 else None


def _parse_jwk(jwk: Any) -> tuple[str | None, RSAPublicKey] | None:
    """One JWK as ``(kid, key)``, or None when it is not a usable RS256 verification key.

    Skipped rather than failed (F4, RFC 7517 §5): other key types (EC, OKP, AKP...),
    ``alg`` other than RS256, ``use`` other than ``sig``, ``key_ops`` without
    ``verify``, a non-string ``kid``, missing/garbled ``n``/``e``, odd sizes.
    """
    if not isinstance(jwk, Mapping):
        return None
    if jwk.get("kty") != "RSA":
        return None
    if "alg" in jwk and jwk["alg"] != "RS256":
        return None
    if "use" in jwk and jwk["use"] != "sig":
        return None
    if "key_ops" in jwk:
        ops = jwk["key_ops"]
        if not isinstance(ops, list) or "verify" not in ops:
            return None
    kid = jwk.get("kid")
    if kid is not None and (not isinstance(kid, str) or not kid):
        return None
    n = _b64url_uint(jwk.get("n"), max_bits=MAX_RSA_BITS)
    e = _b64url_uint(jwk.get("e"), max_bits=_MAX_E_BITS)
    if n is None or e is None:
        return None
    if not MIN_RSA_BITS <= n.bit_length() <= MAX_RSA_BITS:
        return None
    if e < 3 or e % 2 == 0 or e >= n:
        return None
    try:
        key = RSAPublicNumbers(e, n).public_key()
    except (ValueError, TypeError):  # pragma: no cover - bounds above already filter
        return None
    return kid, key


@dataclass(frozen=True, slots=True)
class KeySet:
    """The usable RS256 verification keys of one JWKS, by ``kid``. Immutable.

    A key without ``kid`` is kept only when it is the only usable key, and is then
    stored under ``None``: with several keys a kid-less one could never be chosen
    safely (F3/F4).
    """

    keys: Mapping[str | None, RSAPublicKey]

    @classmethod
    def from_jwks(cls, data: Mapping[str, Any]) -> KeySet:
        """Parse a JWKS document (``{"keys": [...]}``), skipping keys we cannot use.

        Raises ``ValueError`` when the document is not a JWKS or holds no usable key,
        so a broken answer can never replace a working set (F9).
        """
        if not isinstance(data, Mapping):
            raise ValueError("JWKS is not a JSON object")
        raw_keys = data.get("keys")
        if not isinstance(raw_keys, list):
            raise ValueError("JWKS has no 'keys' list")
        parsed: list[tuple[str | None, RSAPublicKey]] = []
        for jwk in raw_keys[:_MAX_KEYS]:
            item = _parse_jwk(jwk)
            if item is not None:
                parsed.append(item)
        if len(parsed) > 1:
            parsed = [item for item in parsed if item[0] is not None]
        keys: dict[str | None, RSAPublicKey] = {}
        for kid, key in parsed:
            # A duplicated kid keeps its first key: the set is from the trusted URL,
            # so this only settles an ambiguity deterministically.
            keys.setdefault(kid, key)
        if not keys:
            raise ValueError("JWKS holds no usable RS256 signing key")
        return cls(MappingProxyType(keys))

    def get(self, kid: str | None) -> RSAPublicKey | None:
        """The key for a token's ``kid``.

        A token without ``kid`` gets a key only when the set has exactly one (F3,
        OIDF ``KidAbsentSingleJwks``). A lone kid-less key matches any ``kid``.
        """
        keys = self.keys
        if kid is not None:
            key = keys.get(kid)
            if key is not None:
                return key
        if len(keys) == 1:
            (only_kid,) = keys
            if kid is None or only_kid is None:
                return keys[only_kid]
        return None

    def __contains__(self, kid: object) -> bool:
        return kid in self.keys

    def __len__(self) -> int:
        return len(self.keys)


@dataclass(frozen=True, slots=True)
class _State:
    """Everything the cache knows, swapped as one reference (atomic under the GIL)."""

    keys: KeySet | None = None
    #: When ``keys`` was stored.
    fetched_at: float = 0.0
    #: When the last fetch ended (success or failure); None before the first.
    attempted_at: float | None = None
    #: Whether that last attempt failed.
    failed: bool = False


class JWKSCache:
    """Last-known-good JWKS with TTL refresh, unknown-kid cooldown and stale-on-error.

    Sans-I/O: it only answers "fetch now?" and "which key?", and records what the
    driver's fetch returned. It never stores a failure over good keys (F9,
    pyjwt#1162): after an outage the last-known-good set keeps verifying until
    ``max_stale`` has passed since it was fetched. With no set ever stored (or only
    an expired one), :meth:`key_for` returns None and callers fail closed (F10).

    Fetch policy (:meth:`should_fetch`), ``elapsed`` = time since the last attempt:

    * no usable set: fetch if never attempted, or ``elapsed >= cold_retry``. The cold
      retry is short (default 2 s) so an outage at start-up costs seconds, not a full
      ``refetch_cooldown``; single-flight in the driver keeps it to one fetch at a time.
    * set older than ``ttl``: fetch if ``elapsed >= refetch_cooldown`` (a failed
      refresh is not retried on every request), serving the old set meanwhile.
    * ``kid`` not in the set: fetch if ``elapsed >= refetch_cooldown``. A flood of
      random kids therefore causes at most one fetch per cooldown (F3).

    State changes are single attribute assignments of an immutable ``_State``, so
    concurrent readers on CPython see either the old or the new state, never a mix.
    A clock that went backwards counts as "enough time has passed".
    """

    __slots__ = ("_state", "cold_retry", "max_stale", "refetch_cooldown", "ttl")

    def __init__(
        self,
        *,
        ttl: float = 300.0,
        refetch_cooldown: float = 30.0,
        max_stale: float = 86400.0,
        cold_retry: float = 2.0,
    ) -> None:
        if min(ttl, refetch_cooldown, max_stale, cold_retry) < 0:
            raise ValueError("JWKSCache durations must not be negative")
        self.ttl = ttl
        self.refetch_cooldown = refetch_cooldown
        self.max_stale = max_stale
        self.cold_retry = cold_retry
        self._state = _State()

    @property
    def has_keys(self) -> bool:
        """Whether a verified key set was ever stored (it may since have gone stale)."""
        return self._state.keys is not None

    def available(self, now: float) -> bool:
        """Whether a key set is usable at ``now`` (stored and within ``max_stale``)."""
        state = self._state
        return state.keys is not None and now - state.fetched_at <= self.max_stale

    def key_for(self, kid: str | None, now: float) -> RSAPublicKey | None:
        """The key for ``kid`` from the last-known-good set, unless older than max_stale."""
        state = self._state
        keys = state.keys
        if keys is None or now - state.fetched_at > self.max_stale:
            return None
        return keys.get(kid)

    def should_fetch(self, kid: str | None, now: float) -> bool:
        """Whether the engine should ask the driver for the JWKS now (see class doc)."""
        state = self._state
        attempted = state.attempted_at
        elapsed = float("inf") if attempted is None or now < attempted else now - attempted
        keys = state.keys
        if keys is None or now - state.fetched_at > self.max_stale:
            return elapsed >= self.cold_retry
        if elapsed < self.refetch_cooldown:
            return False
        age = now - state.fetched_at
        return age >= self.ttl or age < 0 or keys.get(kid) is None

    def store(self, jwks: Mapping[str, Any], now: float) -> None:
        """Parse a fetched JWKS and swap it in.

        A document with no usable key counts as a failed fetch: the old set stays
        (F9) and the cooldown starts.
        """
        try:
            keys = KeySet.from_jwks(jwks)
        except ValueError:
            self.record_failure(now)
            return
        self._state = _State(keys=keys, fetched_at=now, attempted_at=now, failed=False)

    def record_failure(self, now: float) -> None:
        """Note a failed fetch: keeps any good keys (F9, pyjwt#1162), starts the cooldown."""
        state = self._state
        self._state = _State(
            keys=state.keys, fetched_at=state.fetched_at, attempted_at=now, failed=True
        )

    @property
    def last_attempt_failed(self) -> bool:
        """Whether the most recent fetch failed (for logs and health checks)."""
        return self._state.failed

    def __repr__(self) -> str:
        state = self._state
        count = len(state.keys) if state.keys is not None else 0
        return f"JWKSCache(keys={count}, failed={state.failed})"
