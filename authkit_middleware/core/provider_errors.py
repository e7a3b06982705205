"""Turn what the workos SDK raises into one ``ProviderError`` the engine understands.

The distinction that matters is transient vs terminal (checklist E6): a timeout, a
connection error, 408, 429 or 5xx says nothing about the session, so it must never
sign anyone out; ``invalid_grant`` and other 4xx answers are WorkOS's verdict.
Both drivers call this, so the rule exists once.
"""

from __future__ import annotations

from workos._errors import (
    APIError,
    RateLimitExceededError,
    WorkOSConnectionError,
    WorkOSError,
    WorkOSTimeoutError,
)

from authkit_middleware.core.errors import ProviderError

TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


def classify(exc: BaseException, *, action: str) -> ProviderError:
    """Map an SDK exception raised while doing ``action`` to a ``ProviderError``.

    The message names the action and the status, never a token or a code.
    """
    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, WorkOSTimeoutError):
        return ProviderError(f"WorkOS timed out during {action}.", transient=True)
    if isinstance(exc, WorkOSConnectionError):
        return ProviderError(f"WorkOS could not be reached during {action}.", transient=True)
    if isinstance(exc, APIError):
        status = exc.status_code
        oauth_error = exc.error or exc.code
        retry_after: float | None = None
        if isinstance(exc, RateLimitExceededError) and exc.retry_after is not None:
            try:
                retry_after = float(exc.retry_after)
            except (TypeError, ValueError):
                retry_after = None
        transient = status in TRANSIENT_STATUSES
        detail = f" ({oauth_error})" if oauth_error else ""
        return ProviderError(
            f"WorkOS answered HTTP {status}{detail} during {action}.",
            transient=transient,
            oauth_error=oauth_error,
            http_status=status,
            retry_after=retry_after,
        )
    if isinstance(exc, WorkOSError):
        # Includes "Unexpected API response while parsing ...": WorkOS said something
        # we cannot use. Not a verdict on the session, so transient.
        return ProviderError(f"WorkOS gave an unusable answer during {action}.", transient=True)
    if isinstance(exc, (OSError, TimeoutError)):
        return ProviderError(f"WorkOS could not be reached during {action}.", transient=True)
    return ProviderError(f"Unexpected failure during {action}.", transient=True)
