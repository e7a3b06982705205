"""Browser, emulator and server fixtures of the end-to-end suite (``-m e2e``).

One Chromium (Debian's ``/usr/bin/chromium``, driven by Playwright for Python; no
browser download) for the whole session, a fresh context per test, one emulator
(interactive sign-in pages) per module and one server per example. Every wait is
bounded: Playwright's default timeouts are set on each context.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from servers.harness import ARTIFACTS, RunningServer, serving

from authkit_middleware.emulator import Emulator
from authkit_middleware.emulator.server import EmulatorServer

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext

CHROMIUM = os.environ.get("AUTHKIT_E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: Playwright's bounds: any action or wait (ms), any navigation (ms).
ACTION_TIMEOUT_MS = 10_000
NAVIGATION_TIMEOUT_MS = 15_000
SCREENSHOTS = ARTIFACTS / "screenshots"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "e2e: real browser (headless Chromium) against real servers; -m e2e"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium per test module (as root: ``--no-sandbox``).

    Not per session: while it lives, Playwright's sync API holds a running event loop
    in this thread, and every later test calling ``asyncio.run`` would fail.
    """
    # Under CI (CI=true, as .ci/run runs) a missing browser is a failure, not a skip:
    # .ci/run installs Debian's chromium and the dev extra installs playwright.
    missing = pytest.fail if os.environ.get("CI") else pytest.skip
    try:
        from playwright import sync_api
    except ImportError:
        missing("playwright (Python) is not installed: pip install -e '.[dev]'")
    if not (os.path.isfile(CHROMIUM) or shutil.which(CHROMIUM)):
        missing(f"{CHROMIUM} is missing: apt-get install -y chromium")
    playwright = sync_api.sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, timeout=30_000
        )
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()


def new_context(browser: Browser, **options: Any) -> BrowserContext:
    context = browser.new_context(viewport={"width": 1100, "height": 760}, **options)
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
    return context


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh browser profile (cookies, storage, history) for one test."""
    ctx = new_context(browser)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def make_context(browser: Browser) -> Iterator[Callable[..., BrowserContext]]:
    """``make_context(**options)``: a fresh context with options; closed after the test."""
    made: list[BrowserContext] = []

    def make(**options: Any) -> BrowserContext:
        made.append(new_context(browser, **options))
        return made[-1]

    try:
        yield make
    finally:
        for ctx in made:
            ctx.close()


@pytest.fixture(scope="module")
def emulator_server() -> Iterator[EmulatorServer]:
    """The emulator with its hosted pages (user picker, password and sign-up forms)."""
    with Emulator(auto_login=False).serve() as server:
        yield server


@pytest.fixture
def emulator(emulator_server: EmulatorServer) -> Emulator:
    """Back to the seed for this test (users, sessions, journal, token lifetime)."""
    emulator_server.emulator.reset()
    return emulator_server.emulator


@pytest.fixture(scope="module")
def app_server(
    request: pytest.FixtureRequest, emulator_server: EmulatorServer
) -> Iterator[RunningServer]:
    """``request.param`` is ``(server name, AppTarget)``."""
    server_name, target = request.param
    with serving(server_name, target, emulator_server.env()) as running:
        yield running


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
