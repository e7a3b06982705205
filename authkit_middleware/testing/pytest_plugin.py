"""pytest plugin registered through the ``pytest11`` entry point.

Kept import-light: it is loaded by every pytest run in an environment where the
package is installed, so heavy imports happen inside the fixtures.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from authkit_middleware.emulator.server import EmulatorServer


@pytest.fixture
def authkit_emulator() -> Iterator[EmulatorServer]:
    """A fresh emulator (demo seed) on its own loopback port, stopped after the test.

    Yields the server: ``.emulator`` (control API), ``.base_url``, ``.client_id``,
    ``.api_key``, ``.env()``, ``.workos_client(**kw)`` and
    ``.async_workos_client(**kw)`` (real SDK clients, ``max_retries=0``). A new port
    per test also means a new JWKS URL, so the SDK's per-URL JWKS cache never
    carries keys from one test into the next.
    """
    from authkit_middleware.emulator.emulator import Emulator

    server = Emulator().serve()
    try:
        yield server
    finally:
        server.stop()
