"""Fixtures of the security battery, the log-leak guard and the summary table."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
import sechelpers
from authkit_test_support.environment import clear_workos_env, loopback_without_proxy
from sechelpers import SECRETS, STATS, Harness, make_harness

from authkit_middleware.emulator import Emulator, EmulatorServer


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "category(name): scoreboard row of a security test")


@pytest.fixture(autouse=True)
def _loopback_without_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    loopback_without_proxy(monkeypatch)
    clear_workos_env(monkeypatch)  # every WORKOS_* variable


@pytest.fixture(autouse=True)
def _category_and_log_guard(
    request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
) -> Iterator[None]:
    """Name the scoreboard row; afterwards, no secret seen in the test may be in a log."""
    marker = request.node.get_closest_marker("category")
    sechelpers.CURRENT["category"] = marker.args[0] if marker else request.module.__name__
    SECRETS.clear()
    caplog.set_level(logging.DEBUG, logger="authkit_middleware")
    yield
    lines = [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("authkit_middleware")
        and not r.name.startswith("authkit_middleware.emulator")
    ]
    text = "\n".join(lines)
    leaked = sorted(s[:12] + "..." for s in SECRETS if s in text)
    assert not leaked, f"secret values in authkit_middleware logs: {leaked}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" and not (report.when == "setup" and report.failed):
        return
    marker = item.get_closest_marker("category")
    if marker is None or "tests/security" not in str(item.path):
        return
    tally = STATS[marker.args[0]]
    if report.passed:
        tally.passed_tests += 1
    elif report.failed:
        tally.failed_tests += 1


def pytest_sessionfinish(session: pytest.Session) -> None:
    sechelpers.close_external()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not STATS:
        return
    write = terminalreporter.write_line
    terminalreporter.section("security battery")
    head = (
        f"{'category':<22}{'tests':>7}{'fail':>6}{'cases':>8}{'2xx':>6}{'3xx':>6}"
        f"{'4xx':>6}{'5xx':>6}{'ws-cls':>7}{'wrong-session':>15}{'off-origin':>12}"
    )
    write(head)
    write("-" * len(head))
    total = sechelpers.Tally()
    for name in sorted(STATS):
        t = STATS[name]
        write(
            f"{name:<22}{t.passed_tests + t.failed_tests:>7}{t.failed_tests:>6}{t.cases:>8}"
            f"{t.status_2xx:>6}{t.status_3xx:>6}{t.status_4xx:>6}{t.status_5xx:>6}"
            f"{t.ws_closed:>7}{t.wrong_sessions:>15}{t.off_origin:>12}"
        )
        for attr in vars(total):
            setattr(total, attr, getattr(total, attr) + getattr(t, attr))
    write("-" * len(head))
    t = total
    write(
        f"{'TOTAL':<22}{t.passed_tests + t.failed_tests:>7}{t.failed_tests:>6}{t.cases:>8}"
        f"{t.status_2xx:>6}{t.status_3xx:>6}{t.status_4xx:>6}{t.status_5xx:>6}"
        f"{t.ws_closed:>7}{t.wrong_sessions:>15}{t.off_origin:>12}"
    )
    write(
        "5xx column: only 502/503 from injected WorkOS faults are allowed; "
        "wrong-session and off-origin must be 0."
    )


# ----------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with Emulator(auto_login=True).serve() as running:
        yield running


@pytest.fixture
def emulator(server: EmulatorServer) -> Iterator[Emulator]:
    server.emulator.reset()
    yield server.emulator
    server.emulator.clear_failures()


@pytest.fixture(params=["asgi", "wsgi"])
def harness(
    request: pytest.FixtureRequest, emulator: Emulator, server: EmulatorServer
) -> Iterator[Harness]:
    with make_harness(request.param, server) as h:
        yield h
