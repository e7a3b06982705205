"""A clock the tests move forward instead of sleeping."""

from __future__ import annotations

import time


class Clock:
    """Wall time plus an offset the test moves forward.

    Shared by the middleware (``kit.clock``) and the emulator (``Emulator(clock=...)``)
    so that token expiry, grace windows and login-state lifetimes are tested without
    sleeping. ``offset`` may also be set directly.
    """

    def __init__(self, offset: float = 0.0) -> None:
        self.offset = offset

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        """Move the clock ``seconds`` forward (negative: back)."""
        self.offset += seconds
