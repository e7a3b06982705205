"""A local WorkOS AuthKit emulator the unmodified ``workos`` SDK talks to over HTTP.

    from authkit_middleware.emulator import Emulator

    with Emulator(auto_login=True).serve() as server:
        client = server.workos_client()
        ...

See ``docs/architecture.md``; the wire contract it follows is in
``/work/shared/reference/workos-wire-contract.md`` (summarised in the docstrings).
"""

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
