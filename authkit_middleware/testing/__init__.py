"""Helpers for testing apps that use authkit-middleware (and for our own suite).

Sign a test client in as any user, organisation, role and permissions in one line,
without the browser flow::

    from authkit_middleware.testing import sign_in

    def test_admin_page(authkit_emulator):
        app = create_app(base_url=authkit_emulator.base_url, ...)
        client = TestClient(app)
        sign_in(client, app, authkit_emulator, "alice@example.com",
                organization="Acme Inc", role="admin", permissions=["widgets:write"])
        assert client.get("/admin").status_code == 200

With the pytest plugin's fixtures it is shorter still: ``authkit_configured`` points
``WORKOS_*`` at a fresh emulator and ``authkit_sign_in(client, app, user=...)`` signs
in (see ``docs/testing.md``). For an emulator running in another process (the
``authkit-middleware emulator`` CLI, a docker-compose service), pass
``RemoteEmulator(url, api_key)`` wherever an emulator is taken. Names are imported
lazily (PEP 562): the pytest plugin imports this package on every test run.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from authkit_middleware.testing.helpers import (
        RemoteEmulator,
        RemoteEmulatorError,
        ShiftedClock,
        SignedInSession,
        SignIn,
        advance_clock,
        clear_session_cookie,
        expire_session,
        find_middleware,
        mint_session,
        resolve_config,
        revoke_session,
        session_cookie,
        set_session_cookie,
        sign_in,
    )
    from authkit_middleware.testing.pytest_plugin import configure_environment

_EXPORTS = {
    "RemoteEmulator": "helpers",
    "RemoteEmulatorError": "helpers",
    "ShiftedClock": "helpers",
    "SignIn": "helpers",
    "SignedInSession": "helpers",
    "advance_clock": "helpers",
    "clear_session_cookie": "helpers",
    "expire_session": "helpers",
    "find_middleware": "helpers",
    "mint_session": "helpers",
    "resolve_config": "helpers",
    "revoke_session": "helpers",
    "session_cookie": "helpers",
    "set_session_cookie": "helpers",
    "sign_in": "helpers",
    "configure_environment": "pytest_plugin",
}

__all__ = [
    "RemoteEmulator",
    "RemoteEmulatorError",
    "ShiftedClock",
    "SignIn",
    "SignedInSession",
    "advance_clock",
    "clear_session_cookie",
    "configure_environment",
    "expire_session",
    "find_middleware",
    "mint_session",
    "resolve_config",
    "revoke_session",
    "session_cookie",
    "set_session_cookie",
    "sign_in",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
