"""Fixtures of the hook tests (helpers: ``hookharness``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from authkit_test_support.clock import Clock
from hookharness import Browser

from authkit_middleware.emulator import Emulator
from authkit_middleware.emulator.server import EmulatorServer


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def server(clock: Clock) -> Iterator[EmulatorServer]:
    with Emulator(auto_login=True, clock=clock).serve() as srv:
        yield srv


@pytest.fixture(params=["asgi", "wsgi"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_browser(server: EmulatorServer, clock: Clock) -> Iterator[Any]:
    browsers: list[Browser] = []

    def make(kind: str, **options: Any) -> Browser:
        browser = Browser(kind, server, clock, **options)
        browsers.append(browser)
        return browser

    yield make
    for browser in browsers:
        browser.close()
