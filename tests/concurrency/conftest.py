"""Fixtures of the concurrency suite: one real redis-server per session, emulators."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from authkit_middleware.emulator import Emulator, EmulatorServer

from .storm import RedisServer


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """``redis-server --port <free> --save '' --appendonly no`` on 127.0.0.1."""
    with RedisServer() as server:
        yield server


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    redis_server.flush()
    return redis_server.url


@pytest.fixture
def emulator_server() -> Iterator[EmulatorServer]:
    server = Emulator().serve()
    try:
        yield server
    finally:
        server.stop()
