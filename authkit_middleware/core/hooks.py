"""Extension points: the app's own logic at sign-in, refresh, sign-out and on errors.

Why this shape:

- **Hooks are effects.** The engine never calls app code itself: where a hook is
  configured it yields :class:`~authkit_middleware.core.effects.CallHook` and the
  driver performs it. The async driver awaits an ``async def`` hook and runs a plain
  one in a worker thread (a blocking database call never stalls the event loop);
  the sync driver calls plain hooks and refuses ``async def`` ones when the
  middleware is built (:func:`check_sync_hooks`), not on the first sign-in.
- **A hook never half-writes a session.** ``on_sign_in`` runs after the tokens are
  verified and *before* the session cookie is sealed; if it raises, the browser gets
  the standard ``hook_failed`` error (503), no session cookie, and the flow's
  verifier cookie is still expired.
- **A failing hook is the app's failure, not the user's**: ``hook_failed`` is a 503
  ("the server could not do this now, try again"), never a 4xx (which blames the
  client) and never a bare 500 (reserved for crashes nobody handled). The most common
  cause, the app's database being unavailable, is exactly what 503 describes.
- **Observers cannot undo WorkOS.** ``on_refresh`` runs after WorkOS rotated the
  refresh token and ``on_sign_out`` after the user asked to leave; refusing either
  would strand or trap the user, so their failures are logged (``hook_failed``) and
  the request proceeds.
- **Events hold no secret in their repr**: tokens and the raw response are
  ``repr=False``, and the request view has no cookie or authorization header.
"""

from __future__ import annotations

import asyncio
import html
import inspect
import logging
import string
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal
from urllib.parse import quote, urlencode

from authkit_middleware.core.auth import Auth, Impersonator, User
from authkit_middleware.core.effects import CallHook, Steps
from authkit_middleware.core.errors import AuthKitError, ConfigError
from authkit_middleware.core.http import RequestInfo, Response, html_response, no_store_headers
from authkit_middleware.core.redirects import safe_return_path

__all__ = [
    "HOOK_NAMES",
    "ErrorEvent",
    "HookError",
    "HookFailed",
    "HookResponse",
    "RefreshEvent",
    "RequestView",
    "SignInEvent",
    "SignOutEvent",
    "call_hook",
    "call_hook_async",
    "check_hook_options",
    "check_sync_hooks",
    "is_async_callable",
    "render_error_template",
    "sign_in_url",
    "tail",
]

logger = logging.getLogger("authkit_middleware")

HookName = Literal["on_sign_in", "on_sign_out", "on_refresh", "on_error"]
HOOK_NAMES: tuple[HookName, ...] = ("on_sign_in", "on_sign_out", "on_refresh", "on_error")
_TEMPLATE_FIELDS = frozenset({"title", "message", "code", "action_url"})
_EMPTY: Mapping[str, Any] = MappingProxyType({})


def tail(secret: str | None, keep: int = 4) -> str:
    """``'…a1b2'``: the last few characters of a secret, for debug lines only.

    Short values (< 16 characters) show nothing: four characters of an eight
    character secret would be half of it.
    """
    if not secret:
        return "''"
    if len(secret) < 16:
        return "…"
    return "…" + secret[-keep:]


# ---------------------------------------------------------------------- errors


class HookError(AuthKitError):
    """An app hook raised (or returned something unusable). Answered with a 503:
    a server-side failure the user can retry, not the user's fault."""

    code = "hook_failed"
    status = 503

    def __init__(
        self,
        message: str = "The application could not complete this request. Please try again.",
        *,
        hook: str = "",
    ) -> None:
        super().__init__(message)
        self.hook = hook


@dataclass(frozen=True, slots=True)
class HookFailed:
    """What a driver hands back to the engine when a hook raised (never thrown: the
    drivers only throw ``ProviderError`` into engine steps)."""

    error: HookError


# ---------------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class RequestView:
    """A read-only view of the request a hook runs for.

    ``headers`` holds what the core read (``accept``, ``user-agent``, ``origin``...),
    never the ``cookie`` or ``authorization`` header: those carry secrets.
    """

    method: str
    path: str
    query_string: str = ""
    root_path: str = ""
    client_ip: str | None = None
    headers: Mapping[str, str] = field(default_factory=lambda: _EMPTY)

    @classmethod
    def of(cls, request: RequestInfo) -> RequestView:
        headers = {
            name: value
            for name, value in (
                ("accept", request.accept),
                ("user-agent", request.user_agent),
                ("origin", request.origin),
                ("content-type", request.content_type),
                ("sec-fetch-site", request.sec_fetch_site),
                ("sec-fetch-dest", request.sec_fetch_dest),
                ("sec-fetch-mode", request.sec_fetch_mode),
                ("sec-purpose", request.purpose),
            )
            if value is not None
        }
        return cls(
            method=request.method,
            path=request.path,
            query_string=request.query_string,
            root_path=request.root_path,
            client_ip=request.client_ip,
            headers=MappingProxyType(headers),
        )

    @property
    def wants_html(self) -> bool:
        return "text/html" in self.headers.get("accept", "")


@dataclass(frozen=True, slots=True)
class SignInEvent:
    """A verified sign-in, before its session cookie is written.

    Return ``None`` (go to ``return_to``), a same-origin path to go there instead
    (unsafe ones are ignored), or a :class:`HookResponse` to answer with it.
    """

    user: User
    auth: Auth
    organization_id: str | None
    authentication_method: str | None
    impersonator: Impersonator | None
    #: The application value passed as ``/login?state=...`` (sealed through the flow).
    custom_state: str | None
    #: Where the user goes by default: a safe same-origin path.
    return_to: str
    request: RequestView
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    #: The whole WorkOS authentication response (tokens included: never log it).
    raw: Mapping[str, Any] = field(default_factory=lambda: _EMPTY, repr=False)


@dataclass(frozen=True, slots=True)
class SignOutEvent:
    """A sign-out of a readable session: its cookies are being cleared and the browser
    is on its way to WorkOS's logout. Not called when there was no session."""

    user: User
    session_id: str | None
    request: RequestView


@dataclass(frozen=True, slots=True)
class RefreshEvent:
    """A session was refreshed at WorkOS and its new cookie is being set."""

    user: User
    auth: Auth
    session_id: str | None
    organization_id: str | None
    #: ``exp`` of the access token replaced (None when it could not be read).
    old_expires_at: float | None
    new_expires_at: float | None
    request: RequestView


@dataclass(frozen=True, slots=True)
class ErrorEvent:
    """The middleware is about to answer with an error.

    ``error.code`` is stable (``oauth_state_mismatch``, ``forbidden``,
    ``provider_unavailable``, ``hook_failed``...). Return ``None`` for the standard
    page/JSON, or a :class:`HookResponse` (or a ``str`` of HTML) to send instead.
    """

    error: AuthKitError
    status: int
    request: RequestView
    #: Where the standard page's "Sign in again" button points.
    action_url: str | None = None

    @property
    def code(self) -> str:
        return self.error.code

    @property
    def message(self) -> str:
        return self.error.message


@dataclass(frozen=True, slots=True)
class HookResponse:
    """A response a hook (or ``error_page``) answers with.

    ``body`` is HTML when a ``str`` (``content-type`` defaults to
    ``text/html; charset=utf-8``). From ``on_sign_in``, ``set_session=False`` signs
    the user *out* of this attempt: no session cookie is written (use it to refuse
    a user your app does not admit); the default keeps the session.
    """

    status: int = 200
    body: str | bytes = b""
    headers: Mapping[str, str] | tuple[tuple[str, str], ...] = ()
    set_session: bool = True

    def to_response(self) -> Response:
        if not isinstance(self.status, int) or not 200 <= self.status < 600:
            raise HookError(hook="response")
        body = self.body.encode() if isinstance(self.body, str) else bytes(self.body)
        items = list(self.headers.items() if isinstance(self.headers, Mapping) else self.headers)
        lowered = {k.lower() for k, _ in items}
        headers: list[tuple[str, str]] = []
        if "content-type" not in lowered:
            kind = "text/html; charset=utf-8" if isinstance(self.body, str) else "text/plain"
            headers.append(("content-type", kind))
        headers.append(("content-length", str(len(body))))
        if "cache-control" not in lowered:
            headers.extend(no_store_headers())
        headers.extend((str(k), str(v)) for k, v in items if k.lower() != "content-length")
        return Response(self.status, headers, body)


def as_response(value: object, *, status: int) -> Response | None:
    """A hook's answer as a core ``Response``: ``str`` is HTML at ``status``."""
    if value is None:
        return None
    if isinstance(value, Response):
        return value
    if isinstance(value, HookResponse):
        return value.to_response()
    if isinstance(value, str):
        return html_response(value, status=status)
    raise HookError(hook="response")


# ---------------------------------------------------------------------- calling


def is_async_callable(fn: object) -> bool:
    """``async def`` functions, partials of them and objects with an async ``__call__``."""
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__call__", None)  # noqa: B004 - we want the method, not callable()
    )


def _hook(config: Any, name: str) -> Callable[[Any], Any] | None:
    fn: Callable[[Any], Any] | None = getattr(config, name, None)
    return fn


def _failed(name: str, exc: BaseException) -> HookFailed:
    # The type and traceback only: the app's exception is the app's to read, and no
    # token we hold is formatted into this line.
    logger.error("%s hook failed (%s); answering hook_failed", name, type(exc).__name__)
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug("%s hook traceback", name, exc_info=exc)
    return HookFailed(HookError(hook=name))


def call_hook(config: Any, effect: CallHook) -> Any:
    """Perform a ``CallHook`` in the sync driver (plain hooks only: see start-up check)."""
    fn = _hook(config, effect.name)
    if fn is None:
        return None
    try:
        result = fn(effect.event)
        if inspect.isawaitable(result):
            if inspect.iscoroutine(result):
                result.close()
            raise TypeError("a hook returned an awaitable under a WSGI (sync) middleware")
    except Exception as exc:
        return _failed(effect.name, exc)
    return result


async def call_hook_async(config: Any, effect: CallHook) -> Any:
    """Perform a ``CallHook`` in the async driver: await ``async def`` hooks, run plain
    ones in a worker thread so a blocking call never stalls the event loop."""
    fn = _hook(config, effect.name)
    if fn is None:
        return None
    try:
        if is_async_callable(fn):
            result = await fn(effect.event)
        else:
            result = await asyncio.to_thread(fn, effect.event)
            if inspect.isawaitable(result):
                result = await result
    except Exception as exc:
        return _failed(effect.name, exc)
    return result


def check_sync_hooks(config: Any) -> None:
    """Refuse ``async def`` hooks for the sync driver, when the middleware is built."""
    problems = [
        f"{name} (keyword only): is an async function, but a WSGI middleware calls hooks "
        "synchronously; make it a plain def (or use AuthKitMiddleware under ASGI)"
        for name in HOOK_NAMES
        if is_async_callable(getattr(config, name, None))
    ]
    if problems:
        raise ConfigError(problems)


def check_hook_options(config: Any, problems: list[str]) -> None:
    """``AuthKitConfig`` validation of the hook options (all problems together)."""
    for name in HOOK_NAMES:
        value = getattr(config, name, None)
        if value is not None and not callable(value):
            problems.append(f"{name} (keyword only): must be a function taking one event, or None")
    page = getattr(config, "error_page", None)
    if page is not None and (not callable(page) or is_async_callable(page)):
        problems.append(
            "error_page (keyword only): must be a plain function (ErrorEvent) -> str | "
            "HookResponse; for async code use on_error"
        )
    template = getattr(config, "error_template", None)
    if template is None:
        return
    if not isinstance(template, str):
        problems.append("error_template (keyword only): must be a str or None")
        return
    try:
        fields = {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}
    except ValueError:
        problems.append(
            "error_template (keyword only): is not a valid format string (write a literal "
            "'{' or '}' as '{{' or '}}')"
        )
        return
    unknown = sorted(fields - _TEMPLATE_FIELDS)
    if unknown:
        problems.append(
            f"error_template (keyword only): unknown placeholder(s) {unknown}; use "
            "{title}, {message}, {code} and {action_url}, and write a literal '{' or '}' "
            "(CSS!) as '{{' or '}}'"
        )


def render_error_template(
    template: str, *, title: str, message: str, code: str, action_url: str | None
) -> str:
    """Fill ``error_template``; every value is HTML-escaped (B4)."""
    return template.format(
        title=html.escape(title),
        message=html.escape(message),
        code=html.escape(code),
        action_url=html.escape(action_url or "", quote=True),
    )


def sign_in_url(
    login_path: str = "/login",
    *,
    return_to: str | None = None,
    state: str | None = None,
    root_path: str = "",
) -> str:
    """The URL of the login route carrying ``returnTo`` and an application ``state``.

    ``state`` comes back to ``on_sign_in`` as ``event.custom_state``; it is sealed
    with the sign-in flow (nobody can read or change it on the way) and limited to
    ``max_custom_state_bytes`` (default 2048 UTF-8 bytes; larger: 400 at ``/login``).
    """
    params: dict[str, str] = {}
    if return_to:
        params["returnTo"] = return_to
    if state is not None:
        params["state"] = state
    url = f"{root_path}{login_path}"
    return f"{url}?{urlencode(params, quote_via=quote, safe='/')}" if params else url


class OnceSet:
    """A bounded set with an atomic "first time?" check (refresh hooks: once per
    refresh even when concurrent requests share one single-flight result)."""

    __slots__ = ("_data", "_lock", "_maxsize")

    def __init__(self, maxsize: int = 4096) -> None:
        self._data: dict[str, None] = {}
        self._lock = threading.Lock()
        self._maxsize = maxsize

    def first(self, key: str) -> bool:
        with self._lock:
            if key in self._data:
                return False
            if len(self._data) >= self._maxsize:
                del self._data[next(iter(self._data))]
            self._data[key] = None
            return True


# ---------------------------------------------------------------------- engine glue


def _exp(claims: Mapping[str, Any] | None) -> float | None:
    value = (claims or {}).get("exp")
    return float(value) if isinstance(value, (int, float)) else None


def sign_in_outcome(result: object, default_path: str) -> tuple[str, Response | None, bool]:
    """``on_sign_in``'s answer as (path to go to, response to send, write the session?).

    Raises :class:`HookError` when the hook failed or returned something unusable.
    """
    if isinstance(result, HookFailed):
        raise result.error
    if result is None:
        return default_path, None, True
    if isinstance(result, str):
        path = safe_return_path(result, default="")
        if not path:
            logger.warning("on_sign_in returned an unsafe redirect; using the return path")
            return default_path, None, True
        return path, None, True
    if isinstance(result, HookResponse):
        return default_path, result.to_response(), result.set_session
    if isinstance(result, Response):
        return default_path, result, True
    logger.error("on_sign_in returned a %s; answering hook_failed", type(result).__name__)
    raise HookError(hook="on_sign_in")


def refresh_event(
    request: RequestInfo,
    auth: Auth,
    old_claims: Mapping[str, Any] | None,
    new_claims: Mapping[str, Any],
) -> RefreshEvent:
    sid = new_claims.get("sid")
    org = new_claims.get("org_id")
    assert auth.user is not None
    return RefreshEvent(
        user=auth.user,
        auth=auth,
        session_id=sid if isinstance(sid, str) else None,
        organization_id=org if isinstance(org, str) else None,
        old_expires_at=_exp(old_claims),
        new_expires_at=_exp(new_claims),
        request=RequestView.of(request),
    )


def error_hook_steps(standard: Response) -> Steps[Response]:
    """Let ``on_error`` replace a standard error answer.

    The cookies of the standard answer (verifier expiry, session clearing) are kept
    on the replacement: a custom page must never resurrect a refused flow. If the
    hook fails or returns something unusable, the standard answer goes out.
    """
    event: ErrorEvent = standard.error_event
    result = yield CallHook("on_error", event)
    if isinstance(result, HookFailed):
        return standard
    try:
        replacement = as_response(result, status=event.status)
    except HookError:
        logger.error("on_error returned a %s; sending the standard error", type(result).__name__)
        return standard
    if replacement is None:
        return standard
    replacement.add_cookies(v for k, v in standard.headers if k.lower() == "set-cookie")
    return replacement


def custom_error_html(
    config: Any, event: ErrorEvent, *, title: str, message: str
) -> Response | None:
    """The HTML of ``error_page=`` (a callable) or ``error_template=``, else None."""
    page = config.error_page
    if page is not None:
        try:
            return as_response(page(event), status=event.status)
        except Exception as exc:
            logger.error("error_page failed (%s); using the standard page", type(exc).__name__)
            return None
    template = config.error_template
    if template is not None:
        body = render_error_template(
            template, title=title, message=message, code=event.code, action_url=event.action_url
        )
        return html_response(body, status=event.status)
    return None


def sign_in_event(
    request: RequestInfo, tokens: Any, session: Any, auth: Auth, login_state: Any
) -> SignInEvent:
    """The ``SignInEvent`` of a verified callback (``TokenResponse``, ``SessionData``,
    ``LoginState``: typed loosely to keep this module below the engine)."""
    return SignInEvent(
        user=session.user,
        auth=auth,
        organization_id=tokens.organization_id,
        authentication_method=tokens.authentication_method,
        impersonator=session.impersonator,
        custom_state=login_state.custom_state,
        return_to=login_state.return_pathname,
        request=RequestView.of(request),
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        raw=MappingProxyType(dict(tokens.raw)),
    )
