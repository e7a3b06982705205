"""Typed errors with stable codes.

Every failure the library can report carries a ``code`` that never changes between
releases (tests, hooks and error pages branch on it) and a human ``message`` that
never contains a secret, a token or an authorization code.
"""

from __future__ import annotations

from collections.abc import Sequence


class AuthKitError(Exception):
    """Base class of every error raised by authkit-middleware."""

    code: str = "authkit_error"
    #: HTTP status an adapter answers with when this error ends a request.
    status: int = 400

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class ConfigError(AuthKitError):
    """The configuration cannot work. Lists every problem at once."""

    code = "invalid_config"
    status = 500

    def __init__(self, problems: Sequence[str]):
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"authkit-middleware configuration is invalid:\n{lines}")


class SealError(AuthKitError):
    """A sealed value could not be opened: tampered, truncated, expired, wrong key."""

    code = "invalid_seal"
    status = 400


class CookieTooLargeError(AuthKitError):
    """A cookie would exceed what browsers keep; refusing beats a silent drop."""

    code = "cookie_too_large"
    status = 400


class CallbackError(AuthKitError):
    """The sign-in callback was refused. ``code`` says why (see ``CallbackErrorCode``)."""

    code = "callback_error"
    status = 400


class TokenError(AuthKitError):
    """An access token failed verification (signature, algorithm, claims)."""

    code = "invalid_token"
    status = 401


class ProviderError(AuthKitError):
    """WorkOS answered with an error or could not be reached.

    ``transient`` is True for failures worth retrying later (timeouts, network,
    408/429/5xx): they never sign anyone out. ``oauth_error`` holds WorkOS's
    ``error``/``code`` field (``invalid_grant``...) when there is one.
    """

    code = "provider_error"
    status = 502

    def __init__(
        self,
        message: str,
        *,
        transient: bool,
        oauth_error: str | None = None,
        http_status: int | None = None,
        retry_after: float | None = None,
        code: str | None = None,
    ):
        super().__init__(
            message,
            code=code or ("provider_unavailable" if transient else "provider_rejected"),
            # Unreachable, timed out or overloaded: 503. WorkOS answered 5xx: 502.
            status=(503 if http_status in (None, 429, 503, 504) else 502) if transient else 400,
        )
        self.transient = transient
        self.oauth_error = oauth_error
        self.http_status = http_status
        self.retry_after = retry_after


class KeySetUnavailableError(ProviderError):
    """No verified JWKS is available (never fetched and WorkOS unreachable): fail closed."""

    def __init__(self, message: str = "The WorkOS signing keys could not be fetched."):
        super().__init__(message, transient=True, code="jwks_unavailable")
        self.status = 503
