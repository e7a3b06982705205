"""Unit tests of the coordination core: key hashing, sealed results, lock ownership."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from authkit_middleware.coordination import resolve_coordinator
from authkit_middleware.coordination.redis import (
    PUBLISH_SCRIPT,
    RELEASE_SCRIPT,
    RedisCoordinator,
)
from authkit_middleware.core.caches import refresh_key
from authkit_middleware.core.coordination import (
    CoordinatorKeys,
    FailureLog,
    StoredOutcome,
    new_lock_token,
    open_outcome,
    owns,
    seal_outcome,
    store_key_hash,
)
from authkit_middleware.core.errors import ProviderError
from authkit_middleware.core.seal import Sealer
from authkit_middleware.core.session import TokenResponse

SEALER = Sealer(["p" * 40])
tokens_st = st.text(min_size=16, max_size=200).filter(lambda t: t.strip() == t and t)


def _tokens(access: str = "at.x.y", refresh: str = "rt_secret_0123456789") -> TokenResponse:
    return TokenResponse(
        access_token=access,
        refresh_token=refresh,
        user={"id": "user_1", "email": "a@example.com", "object": "user"},
        organization_id="org_1",
        authentication_method="Password",
    )


@settings(max_examples=200, deadline=None)
@given(token=tokens_st, org=st.none() | st.text(max_size=30), prefix=st.text(max_size=10))
def test_store_keys_never_contain_the_token(token: str, org: str | None, prefix: str) -> None:
    keys = CoordinatorKeys.build(prefix, refresh_key(token, org))
    for name in (keys.lock, keys.result, keys.digest):
        assert token not in name[len(prefix) :]
    assert keys.lock != keys.result
    assert keys.lock.startswith(prefix) and keys.result.startswith(prefix)
    # One cluster slot for both keys: the same {hash tag}.
    assert keys.lock.split("{")[1].split("}")[0] == keys.result.split("{")[1].split("}")[0]


@given(a=tokens_st, b=tokens_st)
def test_distinct_tokens_distinct_keys(a: str, b: str) -> None:
    assert (store_key_hash(refresh_key(a)) == store_key_hash(refresh_key(b))) == (a == b)
    assert store_key_hash(refresh_key(a)) != refresh_key(a)  # not the engine's own hash


@settings(max_examples=50, deadline=None)
@given(access=tokens_st, refresh=tokens_st, token=tokens_st)
def test_sealed_result_round_trips_and_hides_tokens(access: str, refresh: str, token: str) -> None:
    digest = store_key_hash(refresh_key(token))
    tokens = _tokens(access, refresh)
    sealed = seal_outcome(SEALER, digest, StoredOutcome(tokens=tokens), ttl=30)
    assert access not in sealed and refresh not in sealed and token not in sealed
    opened = open_outcome(SEALER, digest, sealed.encode())
    assert opened is not None and opened.tokens is not None
    assert opened.tokens.access_token == access and opened.tokens.refresh_token == refresh
    assert opened.tokens.to_session() == tokens.to_session()
    # Bound to its key, its purpose and its password.
    assert open_outcome(SEALER, store_key_hash("other"), sealed) is None
    assert open_outcome(Sealer(["q" * 40]), digest, sealed) is None
    with pytest.raises(Exception):  # noqa: B017 - any SealError subclass
        SEALER.unseal(sealed, purpose="session")


def test_errors_round_trip_and_tampering_is_absent() -> None:
    digest = store_key_hash("k")
    error = ProviderError("x", transient=False, oauth_error="invalid_grant", http_status=400)
    sealed = seal_outcome(SEALER, digest, StoredOutcome(error=error), ttl=30)
    opened = open_outcome(SEALER, digest, sealed)
    assert opened is not None and opened.error is not None
    assert (opened.error.transient, opened.error.oauth_error) == (False, "invalid_grant")
    with pytest.raises(ProviderError):
        opened.unwrap()
    assert open_outcome(SEALER, digest, sealed[:-2] + "xx") is None
    assert open_outcome(SEALER, digest, "garbage") is None
    # Expired seals are absent too.
    old = seal_outcome(SEALER, digest, StoredOutcome(tokens=_tokens()), ttl=1, now=1000.0)
    assert open_outcome(SEALER, digest, old, now=1000.5) is not None
    assert open_outcome(SEALER, digest, old, now=1200.0) is None


@given(st.data())
def test_lock_tokens_are_unique_and_ownership_is_exact(data: st.DataObject) -> None:
    tokens = {new_lock_token() for _ in range(50)}
    assert len(tokens) == 50
    mine = new_lock_token()
    assert owns(mine, mine) and owns(mine.encode(), mine)
    other = data.draw(st.text(max_size=40).filter(lambda t: t != mine))
    assert not owns(other, mine) and not owns(None, mine)


def test_failure_log_is_rate_limited_and_backs_off(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    log = FailureLog(interval=60, backoff=5, clock=lambda: now[0])
    caplog.set_level(logging.WARNING, logger="authkit_middleware.coordination")
    assert log.available()
    for _ in range(10):
        log.failed("lock", ConnectionError())
    assert not log.available() and len(caplog.records) == 1
    now[0] = 5.0
    assert log.available()
    now[0] = 61.0
    log.failed("lock", ConnectionError())
    assert len(caplog.records) == 2 and log.failures == 11


# --------------------------------------------------------------------------- scripts


def test_release_only_by_the_owner_and_errors_never_hide_a_success(redis_url: str) -> None:
    import redis

    client: Any = redis.Redis.from_url(redis_url)
    try:
        client.set("L", "mine", px=5000)
        assert client.eval(RELEASE_SCRIPT, 1, "L", "theirs") == 0 and client.get("L")
        assert client.eval(RELEASE_SCRIPT, 1, "L", "mine") == 1 and client.get("L") is None
        client.set("L", "mine", px=5000)
        assert client.eval(PUBLISH_SCRIPT, 2, "R", "L", "ok", "5000", "mine", "0") == 1
        assert client.get("R") == b"ok" and client.get("L") is None
        # A late error (NX) never replaces a success; a success replaces an error.
        assert client.eval(PUBLISH_SCRIPT, 2, "R", "L", "err", "5000", "x", "1") == 0
        assert client.get("R") == b"ok"
        client.set("R2", "err")
        client.eval(PUBLISH_SCRIPT, 2, "R2", "L", "ok", "5000", "x", "0")
        assert client.get("R2") == b"ok" and 0 < client.pttl("R2") <= 5000
    finally:
        client.close()


def test_nothing_in_redis_is_in_clear(redis_url: str) -> None:
    import redis

    client: Any = redis.Redis.from_url(redis_url)
    coordinator = RedisCoordinator(redis_url)
    try:
        tokens = _tokens("access.secret.value", "rt_new_secret_value_123")
        old = "rt_old_secret_value_456"
        got = coordinator.refresh(refresh_key(old), SEALER, lambda: tokens)
        assert got is tokens
        dump = b"".join(k + (client.get(k) or b"") for k in client.keys("*"))
        assert dump and b"secret" not in dump
        again = coordinator.refresh(refresh_key(old), SEALER, lambda: pytest.fail("2nd call"))
        assert again.refresh_token == tokens.refresh_token
    finally:
        coordinator.close()
        client.close()


def test_configuration_and_resolution() -> None:
    assert resolve_coordinator(None, None, environ={}) is None
    given = object()
    assert resolve_coordinator(given, "redis://x", environ={}) is given
    c = resolve_coordinator(None, None, environ={"WORKOS_REDIS_URL": "redis://:pw@h:1/0"})
    assert isinstance(c, RedisCoordinator) and "pw" not in repr(c)
    assert c.supports_sync and c.supports_async
    with pytest.raises(TypeError):
        RedisCoordinator(42)
    with pytest.raises(ValueError):
        RedisCoordinator("redis://x", lock_timeout=0)
