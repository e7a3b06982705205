"""A local WorkOS AuthKit emulator the unmodified ``workos`` SDK talks to over HTTP.

    from authkit_middleware.emulator import Emulator

    with Emulator(auto_login=True).serve() as server:
        client = server.workos_client()
        ...

Names are imported lazily (PEP 562): the CLI and the pytest plugin import this
package on every run, and should not pay for cryptography and werkzeug until an
emulator is actually created.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from authkit_middleware.emulator.config import (
        DEFAULT_ACCESS_TOKEN_TTL,
        DEFAULT_API_KEY,
        DEFAULT_CLIENT_ID,
        EmulatorConfig,
    )
    from authkit_middleware.emulator.emulator import Emulator
    from authkit_middleware.emulator.faults import FailureRule
    from authkit_middleware.emulator.journal import RequestRecord
    from authkit_middleware.emulator.seed import (
        DEFAULT_PASSWORD,
        Seed,
        SeedError,
        SeedMembership,
        SeedOrganization,
        SeedUser,
        load_seed,
    )
    from authkit_middleware.emulator.server import EmulatorServer
    from authkit_middleware.emulator.service import pkce_challenge
    from authkit_middleware.emulator.tokens import SigningKey

_EXPORTS = {
    "DEFAULT_ACCESS_TOKEN_TTL": "config",
    "DEFAULT_API_KEY": "config",
    "DEFAULT_CLIENT_ID": "config",
    "EmulatorConfig": "config",
    "Emulator": "emulator",
    "FailureRule": "faults",
    "RequestRecord": "journal",
    "DEFAULT_PASSWORD": "seed",
    "Seed": "seed",
    "SeedError": "seed",
    "SeedMembership": "seed",
    "SeedOrganization": "seed",
    "SeedUser": "seed",
    "load_seed": "seed",
    "EmulatorServer": "server",
    "pkce_challenge": "service",
    "SigningKey": "tokens",
}

__all__ = [
    "DEFAULT_ACCESS_TOKEN_TTL",
    "DEFAULT_API_KEY",
    "DEFAULT_CLIENT_ID",
    "DEFAULT_PASSWORD",
    "Emulator",
    "EmulatorConfig",
    "EmulatorServer",
    "FailureRule",
    "RequestRecord",
    "Seed",
    "SeedError",
    "SeedMembership",
    "SeedOrganization",
    "SeedUser",
    "SigningKey",
    "load_seed",
    "pkce_challenge",
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
