"""Process environment of the tests: loopback traffic never through a proxy, and no
developer ``WORKOS_*`` settings leaking into apps configured from the environment."""

from __future__ import annotations

import os
from collections.abc import Iterable

import pytest

#: What ``NO_PROXY``/``no_proxy`` are set to: every loopback name.
LOOPBACK = "127.0.0.1,localhost,::1"
#: The variables the ``workos`` SDK and the apps read their WorkOS endpoint and
#: credentials from.
WORKOS_CLIENT_VARIABLES = ("WORKOS_API_KEY", "WORKOS_CLIENT_ID", "WORKOS_BASE_URL", "WORKOS_ISSUER")


def loopback_without_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """httpx and urllib honour proxy variables; loopback must never go through one."""
    monkeypatch.setenv("NO_PROXY", LOOPBACK)
    monkeypatch.setenv("no_proxy", LOOPBACK)


def clear_workos_env(monkeypatch: pytest.MonkeyPatch, names: Iterable[str] | None = None) -> None:
    """Unset ``names`` for the test; ``None``: every variable starting with ``WORKOS_``."""
    if names is None:
        names = [name for name in os.environ if name.startswith("WORKOS_")]
    for name in names:
        monkeypatch.delenv(name, raising=False)
