"""Fixtures for the example-app suite: one emulator per module, a fresh app per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest
from authkit_test_support.clock import Clock
from authkit_test_support.environment import (
    WORKOS_CLIENT_VARIABLES,
    clear_workos_env,
    loopback_without_proxy,
)
from examples_support import Example, Harness, django_project

from authkit_middleware.emulator import Emulator, EmulatorServer


@pytest.fixture(autouse=True)
def _loopback_without_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """httpx honours proxy variables; loopback must never go through one. The apps
    get their settings from the tests, never from a developer's WORKOS_* variables."""
    loopback_without_proxy(monkeypatch)
    clear_workos_env(monkeypatch, WORKOS_CLIENT_VARIABLES)


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="module")
def emulator_server(clock: Clock) -> Iterator[EmulatorServer]:
    """One auto-login emulator per module (its clock is the tests' clock)."""
    with Emulator(auto_login=True, clock=clock).serve() as server:
        yield server


@pytest.fixture
def emulator(emulator_server: EmulatorServer, clock: Clock) -> Emulator:
    """The module's emulator, back to its seed, with the clock back to real time."""
    clock.offset = 0.0
    emulator_server.emulator.reset()
    return emulator_server.emulator


@pytest.fixture(scope="module")
def emulator_http(emulator_server: EmulatorServer) -> Iterator[httpx.Client]:
    """The browser's side trips to the hosted pages (redirects are asserted, not followed)."""
    with httpx.Client(timeout=10, trust_env=False) as client:
        yield client


@pytest.fixture
def harness_factory(
    emulator: Emulator, emulator_server: EmulatorServer, clock: Clock
) -> Iterator[Callable[[Example], Harness]]:
    made: list[Harness] = []

    def make(example: Example) -> Harness:
        harness = Harness(example, emulator_server, clock)
        made.append(harness)
        return harness

    yield make
    for harness in made:
        harness.close()


@pytest.fixture(autouse=True)
def _django_example_settings() -> Iterator[None]:
    """Django allows one configuration per process. When another test module
    configured it first (the docs samples, the testing helpers' tests), apply the
    example project's settings over it for the test, as Django's own tests do."""
    from django.conf import settings
    from django.test import override_settings

    demo = django_project()
    if getattr(settings, "ROOT_URLCONF", None) == demo.__name__:
        yield
        return
    with override_settings(**{k: v for k, v in demo.SETTINGS.items() if k != "INSTALLED_APPS"}):
        yield
