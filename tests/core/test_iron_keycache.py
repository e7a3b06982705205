"""The iron derived-key cache: bounded, equal to a fresh derivation, never trusted blindly."""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from authkit_test_support.iron_vectors import (
    KA_PASSWORD,
    KA_SESSION,
    KA_SESSION_DATA,
    NOW,
    OTHER,
    PASSWORD,
)
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given, settings
from hypothesis import strategies as st

from authkit_middleware.core import iron
from authkit_middleware.core.errors import SealError
from authkit_middleware.core.seal import Sealer

SECRET = PASSWORD.encode()


@pytest.fixture(autouse=True)
def _cold_cache() -> Iterator[None]:
    iron.clear_key_cache()
    iron.rotate_salts()
    yield
    iron.clear_key_cache()
    iron.rotate_salts()


def _cache_key(sealed: str, secret: bytes = SECRET) -> tuple[bytes, str, str]:
    parts = iron.parse(sealed)
    return (secret, parts.encryption_salt, parts.hmac_salt)


def _pbkdf2(secret: bytes, salt: str) -> bytes:
    return hashlib.pbkdf2_hmac("sha1", secret, salt.encode(), 1, 32)


# -- bounded -----------------------------------------------------------------------------


def test_cache_stays_bounded_whatever_number_of_salts_we_seal_with() -> None:
    bound = iron._KEY_CACHE_SIZE
    sealed = []
    for _ in range(bound * 3):
        iron.rotate_salts()
        sealed.append(iron.seal({"n": len(sealed)}, PASSWORD))
        assert len(iron._KEY_CACHE) <= bound
    assert len(iron._KEY_CACHE) == bound
    # The newest are kept, the oldest evicted first.
    assert _cache_key(sealed[-1]) in iron._KEY_CACHE
    assert _cache_key(sealed[0]) not in iron._KEY_CACHE


def test_cache_stays_bounded_when_opening_many_authentic_foreign_seals() -> None:
    bound = iron._KEY_CACHE_SIZE
    foreign = []
    for n in range(bound * 2):
        iron.rotate_salts()
        foreign.append(iron.seal({"n": n}, PASSWORD))
    iron.clear_key_cache()  # as if another process had sealed them
    for n, sealed in enumerate(foreign):
        assert iron.unseal(sealed, PASSWORD) == {"n": n}
        assert len(iron._KEY_CACHE) <= bound
    assert len(iron._KEY_CACHE) == bound


@settings(max_examples=300, deadline=None)
@given(
    enc_salt=st.text("0123456789abcdef", min_size=1),
    mac_salt=st.text("0123456789abcdef", min_size=1),
)
def test_forged_seals_never_enter_the_cache(enc_salt: str, mac_salt: str) -> None:
    template = iron.parse(iron.seal({"a": 1}, PASSWORD))
    before = dict(iron._KEY_CACHE)
    forged = f"Fe26.2*1*{enc_salt}*{template.iv}*{template.ciphertext}**{mac_salt}*{template.mac}~2"
    with pytest.raises(SealError):
        iron.unseal(forged, PASSWORD)
    assert before == iron._KEY_CACHE


def test_many_forged_salts_do_not_grow_or_flush_the_cache() -> None:
    ours = iron.seal({"a": 1}, PASSWORD)
    iron.unseal(ours, PASSWORD)
    assert len(iron._KEY_CACHE) == 1
    for _ in range(iron._KEY_CACHE_SIZE * 4):
        forged = ours.replace(iron.parse(ours).hmac_salt, os.urandom(32).hex())
        with pytest.raises(SealError):
            iron.unseal(forged, PASSWORD)
    assert list(iron._KEY_CACHE) == [_cache_key(ours)]


def test_a_wrong_password_leaves_no_entry() -> None:
    sealed = iron.seal({"a": 1}, PASSWORD)
    with pytest.raises(SealError):
        iron.unseal(sealed, OTHER)
    assert _cache_key(sealed, OTHER.encode()) not in iron._KEY_CACHE


def test_clear_key_cache_forgets_everything_and_seals_still_open() -> None:
    sealed = iron.seal({"a": 1}, PASSWORD)
    assert iron._KEY_CACHE
    iron.clear_key_cache()
    assert not iron._KEY_CACHE
    assert iron.unseal(sealed, PASSWORD) == {"a": 1}
    assert _cache_key(sealed) in iron._KEY_CACHE


# -- a hit is a fresh derivation ---------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    secret=st.binary(min_size=1, max_size=100),
    enc_salt=st.text("0123456789abcdefxyz", min_size=1, max_size=70),
    mac_salt=st.text("0123456789abcdefxyz", min_size=1, max_size=70),
    message=st.binary(max_size=300),
    blocks=st.lists(st.binary(min_size=16, max_size=16), min_size=1, max_size=20),
)
def test_cached_keys_equal_a_fresh_derivation(
    secret: bytes, enc_salt: str, mac_salt: str, message: bytes, blocks: list[bytes]
) -> None:
    keys = iron._keys(secret, enc_salt, mac_salt)
    assert iron._keys(secret, enc_salt, mac_salt) is keys  # cached
    enc_key, mac_key = _pbkdf2(secret, enc_salt), _pbkdf2(secret, mac_salt)
    assert keys.aes.key == enc_key
    assert iron._hmac(keys.mac_pads, message) == hmac.digest(mac_key, message, "sha256")
    ciphertext = b"".join(blocks)
    for iv in (os.urandom(16), bytes(16), os.urandom(16)):  # the pooled context, reused
        plain = Cipher(algorithms.AES(enc_key), modes.CBC(iv)).decryptor()
        assert keys.decrypt(iv, ciphertext) == plain.update(ciphertext) + plain.finalize()


json_objects = st.dictionaries(
    st.text(max_size=8),
    st.none() | st.booleans() | st.integers() | st.text() | st.lists(st.text(), max_size=3),
    max_size=6,
)


@settings(max_examples=150, deadline=None)
@given(data=json_objects, ttl=st.integers(min_value=0, max_value=10**6))
def test_opening_on_a_hit_equals_opening_on_a_miss(data: dict[str, Any], ttl: int) -> None:
    sealed = iron.seal(data, PASSWORD, ttl=ttl, now=NOW)
    assert _cache_key(sealed) in iron._KEY_CACHE
    hit = iron.unseal(sealed, PASSWORD, now=NOW)
    iron.clear_key_cache()
    miss = iron.unseal(sealed, PASSWORD, now=NOW)
    assert hit == miss == data
    assert iron.unseal(sealed, PASSWORD, now=NOW) == data  # and a hit again


def test_known_answer_opens_cold_and_warm() -> None:
    assert iron.unseal(KA_SESSION, KA_PASSWORD) == KA_SESSION_DATA
    assert _cache_key(KA_SESSION, KA_PASSWORD.encode()) in iron._KEY_CACHE
    assert iron.unseal(KA_SESSION, KA_PASSWORD) == KA_SESSION_DATA
    assert len(iron._KEY_CACHE) == 1


def test_expiry_still_checked_on_a_hit() -> None:
    sealed = iron.seal({"a": 1}, PASSWORD, ttl=10, now=NOW)
    for _ in range(2):  # seal cached it; both opens are hits
        with pytest.raises(SealError) as excinfo:
            iron.unseal(sealed, PASSWORD, now=NOW + 70)
        assert excinfo.value.code == "seal_expired"
    assert iron.unseal(sealed, PASSWORD, now=NOW + 69) == {"a": 1}


def test_bytearray_secret_is_still_accepted() -> None:
    sealed = iron.seal({"a": 1}, bytearray(SECRET))  # type: ignore[arg-type]
    parts = iron.parse(sealed)
    assert iron.open_parts(parts, bytearray(SECRET)) == {"a": 1}  # type: ignore[arg-type]
    assert iron.open_parts(parts, SECRET) == {"a": 1}


# -- tampering after a hit ---------------------------------------------------------------


def _flip(sealed: str, index: int, replacement: str) -> str:
    return sealed[:index] + replacement + sealed[index + 1 :]


def test_every_single_character_change_rejected_after_a_hit() -> None:
    first = iron.seal({"accessToken": "a" * 40, "n": 1}, PASSWORD, ttl=600, now=NOW)
    sealed = iron.seal({"accessToken": "b" * 40, "n": 2}, PASSWORD, ttl=600, now=NOW)
    assert _cache_key(first) == _cache_key(sealed)  # salts reused: one cache entry
    assert iron.unseal(first, PASSWORD, now=NOW)["n"] == 1
    assert iron.unseal(sealed, PASSWORD, now=NOW)["n"] == 2
    for index, original in enumerate(sealed):
        for replacement in "0aA_-*~.2":
            if replacement == original:
                continue
            with pytest.raises(SealError):
                iron.unseal(_flip(sealed, index, replacement), PASSWORD, now=NOW)
        # The entry was there all along, so the changes that kept the salts were hits.
        assert _cache_key(sealed) in iron._KEY_CACHE
    assert iron.unseal(sealed, PASSWORD, now=NOW)["n"] == 2


def test_splicing_two_seals_that_share_salts_is_rejected() -> None:
    a = iron.seal({"who": "alice"}, PASSWORD, ttl=60, now=NOW)
    b = iron.seal({"who": "mallory"}, PASSWORD, ttl=6000, now=NOW)
    pa, pb = a[:-2].split("*"), b[:-2].split("*")
    assert pa[2] == pb[2] and pa[6] == pb[6]
    for field in (3, 4, 5, 7):  # iv, ciphertext, expiry, mac: one from each seal
        spliced = list(pa)
        spliced[field] = pb[field]
        with pytest.raises(SealError):
            iron.unseal("*".join(spliced) + "~2", PASSWORD, now=NOW)


def test_cached_salts_with_another_password_rejected() -> None:
    sealed = iron.seal({"a": 1}, PASSWORD)
    other = iron.seal({"a": 2}, OTHER)  # same salts, other password
    assert iron.parse(other).hmac_salt == iron.parse(sealed).hmac_salt
    with pytest.raises(SealError):
        iron.unseal(other, PASSWORD)
    with pytest.raises(SealError):
        iron.unseal(sealed, OTHER)


# -- threads -----------------------------------------------------------------------------


def test_shared_key_set_under_threads() -> None:
    """Many threads opening seals that share one key set (and its decryptor pool)."""
    s = Sealer(PASSWORD)
    payloads = [{"n": n, "blob": "x" * (n * 97 % 4000)} for n in range(64)]
    seals = [s.seal(p) for p in payloads]
    assert len({_cache_key(v) for v in seals}) == 1
    failures: list[Any] = []

    def work(offset: int) -> None:
        for round_ in range(40):
            index = (offset + round_) % len(seals)
            try:
                if s.unseal(seals[index]) != payloads[index]:
                    failures.append(index)
            except Exception as error:  # collected and reported
                failures.append(error)

    threads = [threading.Thread(target=work, args=(n * 7,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    pool = iron._KEY_CACHE[_cache_key(seals[0])]._decryptors
    assert 1 <= len(pool) <= iron._DECRYPTOR_POOL_SIZE


def test_decrypt_is_correct_when_threads_contend_for_one_key_set() -> None:
    keys = iron._keys(SECRET, "e" * 64, "m" * 64)
    key = _pbkdf2(SECRET, "e" * 64)
    failures: list[Any] = []

    cases = []
    for n in range(300):
        iv, ciphertext = os.urandom(16), os.urandom(16 * (1 + n * 37 % 2048))
        want = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor().update(ciphertext)
        cases.append((iv, ciphertext, want))

    def work(seed: int) -> None:
        for n in range(len(cases)):
            iv, ciphertext, want = cases[(seed * 53 + n) % len(cases)]
            try:
                if keys.decrypt(iv, ciphertext) != want:
                    failures.append((seed, n))
            except Exception as error:  # collected and reported
                failures.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert len(keys._decryptors) <= iron._DECRYPTOR_POOL_SIZE
