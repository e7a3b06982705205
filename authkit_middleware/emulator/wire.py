"""Wire-level vocabulary shared by the handlers: error bodies and timestamps.

WorkOS answers errors in three shapes (OAuth ``{error, error_description}``,
``{code, message}`` and bare ``{message}``), and the SDK reads them differently,
so each shape has its own constructor here and handlers never build bodies by hand.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any


class EmulatorHTTPError(Exception):
    """An error answer: raised anywhere in a handler, rendered as JSON by the app."""

    def __init__(
        self, status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.body = dict(body)
        self.headers = dict(headers or {})


def oauth_error(status: int, error: str, description: str, **extra: Any) -> EmulatorHTTPError:
    """The OAuth shape (``invalid_grant``, ``sso_required``...)."""
    return EmulatorHTTPError(status, {"error": error, "error_description": description, **extra})


def code_error(status: int, code: str, message: str, **extra: Any) -> EmulatorHTTPError:
    """The ``{code, message}`` shape (validation, 403 step-ups...)."""
    return EmulatorHTTPError(status, {"code": code, "message": message, **extra})


def message_error(status: int, message: str) -> EmulatorHTTPError:
    """The bare ``{message}`` shape (404, 401, logout 422)."""
    return EmulatorHTTPError(status, {"message": message})


def unauthorized() -> EmulatorHTTPError:
    """401 for a missing or wrong API key."""
    return message_error(401, "Unauthorized")


def iso(timestamp: float | None) -> str | None:
    """WorkOS timestamps: ISO-8601, UTC, milliseconds, ``Z``."""
    if timestamp is None:
        return None
    moment = dt.datetime.fromtimestamp(timestamp, tz=dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
