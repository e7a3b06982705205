"""Fixtures of the real-server suite: one emulator per module, one server per combo."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from authkit_middleware.emulator import Emulator
from authkit_middleware.emulator.server import EmulatorServer

from .harness import RunningServer, serving
from .matrix import Combo


@pytest.fixture(scope="module")
def emulator_server() -> Iterator[EmulatorServer]:
    """One emulator (auto-login) for the module; every server started points at it."""
    with Emulator(auto_login=True).serve() as server:
        yield server


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
    with serving(
        combo.server, combo.target, emulator_server.env(), mounted=combo.mounted
    ) as server:
        yield server
