"""Fixtures for the interop tests: the real JS iron implementations, run by Node.

Nothing here skips: a missing ``node`` or an ``npm ci`` failure fails the tests with
a message saying what to do, because unproven interop is the thing these tests exist
to catch.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator

import pytest
from iron_node_driver import JS_DIR, NodeIron

NPM_CI_TIMEOUT = 300


def _deps_installed() -> bool:
    modules = JS_DIR / "node_modules"
    return all(
        (modules / name / "package.json").is_file() for name in ("iron-session", "iron-webcrypto")
    )


def _ensure_node_deps() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail("The interop tests need Node.js (v20+) on PATH: `node` was not found.")
    if _deps_installed():
        return node
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail(f"{JS_DIR}/node_modules is missing and `npm` is not on PATH to install it.")
    try:
        done = subprocess.run(
            [npm, "ci", "--prefix", str(JS_DIR), "--no-audit", "--no-fund", "--loglevel=error"],
            capture_output=True,
            text=True,
            timeout=NPM_CI_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"`npm ci --prefix {JS_DIR}` did not finish within {NPM_CI_TIMEOUT} s.")
    if done.returncode != 0 or not _deps_installed():
        tail = (done.stderr or done.stdout)[-2000:]
        pytest.fail(
            f"`npm ci --prefix {JS_DIR}` failed (exit {done.returncode}); the interop tests "
            f"cannot run without iron-session and iron-webcrypto.\n{tail}"
        )
    return node


@pytest.fixture(scope="session")
def node_iron() -> Iterator[NodeIron]:
    driver = NodeIron(_ensure_node_deps())
    try:
        versions = driver.call(op="versions")
        assert versions["iron-session"] == "8.0.4", versions
        assert versions["iron-webcrypto"] == "1.2.1", versions
        yield driver
    finally:
        driver.close()
