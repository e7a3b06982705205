"""The standard error answer: an HTML page for browsers, JSON for API clients.

Every refusal the middleware makes (a failed callback, a missing sign-in, a WorkOS
outage, a failing hook...) is built here, so status, page title, ``retry-after`` and
the ``on_error``/custom-page event are decided in one place. Messages are the error's
own (never a token or a secret); WorkOS outages get a reassuring one.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from authkit_middleware.core import hooks as _hooks
from authkit_middleware.core.errors import AuthKitError, ProviderError
from authkit_middleware.core.http import (
    RequestInfo,
    Response,
    error_page,
    html_response,
    json_response,
)

if TYPE_CHECKING:
    from authkit_middleware.core.engine import AuthKit

__all__ = ["error_response"]

logger = logging.getLogger("authkit_middleware")

#: HTML page titles by status; any other status is "Sign-in failed".
_TITLES = {
    401: "Sign-in required",
    403: "Access denied",
    502: "Sign-in service unavailable",
    503: "Sign-in service unavailable",
}


def error_response(
    kit: AuthKit,
    request: RequestInfo,
    error: AuthKitError,
    *,
    return_to: str | None = None,
    set_cookies: list[str] | None = None,
) -> Response:
    """The standard error answer: an HTML page for browsers, JSON for API clients."""
    status = error.status if 400 <= error.status < 600 else 400
    if status >= 500 and not isinstance(error, (ProviderError, _hooks.HookError)):
        status = 400
    action_url = kit.login_url(request, return_to)
    event = None
    if kit.config.on_error or kit.config.error_page or kit.config.error_template:
        event = _hooks.ErrorEvent(error, status, _hooks.RequestView.of(request), action_url)
    if kit._debug:
        logger.debug("answering %d %s for %s %s", status, error.code, request.method, request.path)
    if request.wants_html:
        title = _TITLES.get(status, "Sign-in failed")
        message = error.message
        if isinstance(error, ProviderError):
            message = "WorkOS could not be reached. Your session is safe; please try again."
        elif isinstance(error, _hooks.HookError):
            title = "Something went wrong"
        custom = None
        if event is not None:
            custom = _hooks.custom_error_html(kit.config, event, title=title, message=message)
        response = custom or html_response(
            error_page(
                title=title,
                message=message,
                code=error.code,
                action_url=action_url,
                action_label="Sign in again" if status < 500 else "Try again",
            ),
            status=status,
        )
    else:
        body: dict[str, Any] = {"error": error.code, "error_description": error.message}
        response = json_response(body, status=status)
    if isinstance(error, ProviderError) and status == 503:
        retry = int(error.retry_after) if error.retry_after else 1
        response.headers.append(("retry-after", str(max(retry, 1))))
    if set_cookies:
        response.add_cookies(set_cookies)
    response.error_event = event
    return response
