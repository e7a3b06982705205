"""Fixtures of the real-server suite: one emulator per module, one server per combo."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from authkit_middleware.emulator import Emulator
from authkit_middleware.emulator.server import EmulatorServer

from .harness import RunningServer, start_server
from .matrix import Combo


@pytest.fixture(scope="module")
def emulator_server() -> Iterator[EmulatorServer]:
    """One emulator (auto-login) for the module; every server started points at it."""
    server = Emulator(auto_login=True).serve()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def emulator(emulator_server: EmulatorServer) -> Emulator:
    """The emulator, back to its seed (sessions, journal, token lifetime) for this test."""
    emulator_server.emulator.reset()
    return emulator_server.emulator


@pytest.fixture(scope="module")
def running(
    request: pytest.FixtureRequest, emulator_server: EmulatorServer
) -> Iterator[RunningServer]:
    """The app of this combo under its server, for every test of the combo."""
    combo: Combo = request.param
    server = start_server(combo.server, combo.target, emulator_server.env(), mounted=combo.mounted)
    try:
        yield server
    finally:
        server.stop()
