"""Fixtures of the fast-path tests (the emulator the middleware tests verify against)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from authkit_middleware.emulator import Emulator
from authkit_middleware.emulator.server import EmulatorServer


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    """One emulator per module, issuing 300 s access tokens."""
    with Emulator(access_token_ttl=300).serve() as srv:
        yield srv
