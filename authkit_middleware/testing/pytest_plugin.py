"""pytest plugin registered through the ``pytest11`` entry point.

Kept import-light: it is loaded by every pytest run in an environment where the
package is installed, so heavy imports happen inside the fixtures.

Fixtures:

- ``authkit_emulator``: a fresh emulator on its own loopback port.
- ``authkit_configured``: ``WORKOS_*`` environment pointing at that emulator (for
  apps that build their middleware from the environment); yields the ``AuthKitConfig``.
- ``authkit_sign_in``: ``authkit_sign_in(client, app, user=..., organization=...,
  role=..., permissions=[...])`` signs a test client in; ``.expire(app)``,
  ``.revoke(session)``, ``.cookie(app, ...)``.

To use an emulator running in another process instead, override ``authkit_emulator``
in a ``conftest.py`` to yield a ``RemoteEmulator`` (reset between tests): the other
two fixtures then use it.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator, MutableMapping
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from authkit_middleware.core.config import AuthKitConfig
    from authkit_middleware.emulator.server import EmulatorServer
    from authkit_middleware.testing.helpers import RemoteEmulator, SignIn

#: The redirect URI ``authkit_configured`` sets (http is allowed on localhost).
TEST_REDIRECT_URI = "http://localhost/callback"


@pytest.fixture
def authkit_emulator() -> Iterator[EmulatorServer]:
    """A fresh emulator (demo seed) on its own loopback port, stopped after the test.

    Yields the server: ``.emulator`` (control API), ``.base_url``, ``.client_id``,
    ``.api_key``, ``.env()``, ``.workos_client(**kw)`` and
    ``.async_workos_client(**kw)`` (real SDK clients, ``max_retries=0``). A new port
    per test also means a new JWKS URL, so the SDK's per-URL JWKS cache never
    carries keys from one test into the next.

    Override it (same name, in a ``conftest.py``) to yield a ``RemoteEmulator`` for
    an emulator running in another process; ``authkit_configured`` and
    ``authkit_sign_in`` then use that one.
    """
    from authkit_middleware.emulator.emulator import Emulator

    server = Emulator().serve()
    try:
        yield server
    finally:
        server.stop()


def configure_environment(
    server: EmulatorServer | RemoteEmulator,
    environ: MutableMapping[str, str] | None = None,
    *,
    redirect_uri: str = TEST_REDIRECT_URI,
) -> dict[str, str]:
    """Point ``WORKOS_*`` in ``environ`` (``os.environ``) at ``server``.

    Removes every other ``WORKOS_*`` variable first (a developer's own
    ``WORKOS_COOKIE_NAME`` or ``WORKOS_REDIS_URL`` must not leak into tests) and sets
    a random cookie password. Returns the variables set. Outside pytest, restore
    the environment yourself; the ``authkit_configured`` fixture does.
    """
    env = os.environ if environ is None else environ
    for key in [k for k in env if k.startswith("WORKOS_")]:
        del env[key]
    values = {
        **server.env(),
        "WORKOS_REDIRECT_URI": redirect_uri,
        "WORKOS_COOKIE_PASSWORD": secrets.token_urlsafe(32),
    }
    env.update(values)
    return values


@pytest.fixture
def authkit_configured(
    monkeypatch: pytest.MonkeyPatch, authkit_emulator: EmulatorServer | RemoteEmulator
) -> AuthKitConfig:
    """``WORKOS_*`` set for ``authkit_emulator`` (restored after the test).

    Apps that build ``AuthKitMiddleware(app)`` from the environment then talk to the
    emulator. Returns the resulting ``AuthKitConfig``; the redirect URI is
    ``http://localhost/callback``.
    """
    from authkit_middleware.core.config import AuthKitConfig

    for key in [k for k in os.environ if k.startswith("WORKOS_")]:
        monkeypatch.delenv(key)
    scratch: dict[str, str] = {}
    for key, value in configure_environment(authkit_emulator, scratch).items():
        monkeypatch.setenv(key, value)
    return AuthKitConfig.from_env()


@pytest.fixture
def authkit_sign_in(authkit_emulator: EmulatorServer | RemoteEmulator) -> SignIn:
    """Sign test clients in against ``authkit_emulator`` in one line.

    ``authkit_sign_in(client, app, user="alice@example.com", organization="Acme Inc",
    role="admin", permissions=["widgets:write"])`` returns the ``SignedInSession``.
    """
    from authkit_middleware.testing.helpers import SignIn

    return SignIn(authkit_emulator)
