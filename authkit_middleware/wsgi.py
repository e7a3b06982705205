"""``AuthKitWSGIMiddleware``: WorkOS AuthKit in front of any WSGI app, in one line.

Pure WSGI (PEP 3333): it forwards the app's response iterable untouched (so its
``close()`` is called by the server) and passes ``exc_info`` through
``start_response``. Every rule lives in ``authkit_middleware.core``. Usage::

    from authkit_middleware import AuthKitWSGIMiddleware

    app.wsgi_app = AuthKitWSGIMiddleware(app.wsgi_app)    # Flask
    application = AuthKitWSGIMiddleware(get_wsgi_application())   # Django

Each request gets ``environ["authkit"]``, an :class:`~authkit_middleware.Auth`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from http import HTTPStatus
from types import MethodType
from typing import TYPE_CHECKING, Any

from workos import WorkOSClient

from authkit_middleware.core.config import AuthKitConfig
from authkit_middleware.core.engine import Respond
from authkit_middleware.core.http import (
    COMMON_HEADER_NAMES,
    NO_STORE,
    RequestInfo,
    session_cache_headers,
)
from authkit_middleware.core.lane import LaneMiss
from authkit_middleware.drivers._common import middleware_setup
from authkit_middleware.drivers.sync import SyncDriver

if TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

ENVIRON_KEY = "authkit"

_ENVIRON_FIELDS: tuple[tuple[str, str], ...] = (
    ("HTTP_COOKIE", "cookie"),
    ("HTTP_ACCEPT", "accept"),
    ("HTTP_AUTHORIZATION", "authorization"),
    ("HTTP_ORIGIN", "origin"),
    ("CONTENT_TYPE", "content_type"),
    ("HTTP_SEC_FETCH_SITE", "sec_fetch_site"),
    ("HTTP_SEC_FETCH_DEST", "sec_fetch_dest"),
    ("HTTP_SEC_FETCH_MODE", "sec_fetch_mode"),
    ("HTTP_SEC_PURPOSE", "purpose"),
    ("HTTP_PURPOSE", "purpose"),
    ("HTTP_USER_AGENT", "user_agent"),
    ("REMOTE_ADDR", "client_ip"),
)


def _status_line(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Unknown"


def request_info(environ: WSGIEnvironment) -> RequestInfo:
    """The request facts the core needs; ``PATH_INFO`` is already mount-relative."""
    raw_path: str = environ.get("PATH_INFO", "") or "/"
    try:
        # PEP 3333 hands the path over as latin-1-decoded bytes; browsers send UTF-8.
        path = raw_path.encode("latin-1").decode("utf-8")
    except UnicodeError:
        path = raw_path
    info = RequestInfo(
        method=environ.get("REQUEST_METHOD", "GET"),
        path=path,
        query_string=environ.get("QUERY_STRING", ""),
        root_path=environ.get("SCRIPT_NAME", ""),
    )
    for key, attr in _ENVIRON_FIELDS:
        value = environ.get(key)
        if value is not None and getattr(info, attr) is None:
            setattr(info, attr, value)
    return info


def read_body(environ: WSGIEnvironment, limit: int) -> bytes:
    """At most ``limit + 1`` bytes of ``wsgi.input``, never past ``CONTENT_LENGTH``
    (PEP 3333); more than ``limit`` makes the core answer 413."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    stream = environ.get("wsgi.input")
    if length <= 0 or stream is None:
        return b""
    data: bytes = stream.read(min(length, limit + 1))
    return data


class AuthKitWSGIMiddleware:
    """WorkOS AuthKit sign-in, session and protection for a WSGI app.

    :param app: the WSGI app to protect.
    :param config: an :class:`AuthKitConfig`; without it, one is read from the
        environment, with ``options`` (any ``AuthKitConfig`` field) winning.
    :param client: a ``WorkOSClient`` to use instead of building one.
    :param coordinator: a refresh coordinator shared by every worker and host (E8),
        e.g. ``RedisCoordinator(url)``; ``redis_url=`` (or ``WORKOS_REDIS_URL`` when
        the config comes from the environment) builds one. None: in-process only.
    """

    def __init__(
        self,
        app: WSGIApplication,
        *,
        config: AuthKitConfig | None = None,
        client: WorkOSClient | None = None,
        coordinator: Any = None,
        redis_url: str | None = None,
        **options: Any,
    ) -> None:
        self.app = app
        self.config, self.kit, coordinator, built = middleware_setup(
            config, options, coordinator, redis_url
        )
        self.driver = SyncDriver(
            self.kit, client, refresh_coordinator=coordinator, owns_coordinator=built
        )

    def close(self) -> None:
        """Close the connections the middleware opened: its WorkOS client and the Redis
        coordinator it built (never a client or coordinator you passed in). WSGI has
        no shutdown event: call it from your server's exit hook (gunicorn
        ``worker_exit``) or ``atexit``. The middleware keeps working afterwards."""
        self.driver.close()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        # The fast lane (``kit.lane``, ``core.lane``) straight from the environ: a
        # Cookie header seen before with a verified session, a first cookie that
        # verifies plainly, or signed out on an open path. Every signed-in request
        # of a returning browser ends in these few lines: they are kept that short.
        if "HTTP_AUTHORIZATION" not in environ:
            lane = self.kit.lane
            found = lane(
                environ.get("PATH_INFO"), environ.get("SCRIPT_NAME"), environ.get("HTTP_COOKIE")
            )
            if found:  # an Auth (a LaneMiss or None is false)
                environ[ENVIRON_KEY] = found
                # ``app`` read as a plain attribute: ``self.app(...)`` would look it up
                # as a method, through the type's attribute cache, on every request.
                app = self.app
                if found.user is None:  # type: ignore[union-attr]  # (a LaneMiss is false)
                    return app(environ, start_response)
                return app(environ, MethodType(_session_start_response, start_response))
        else:
            found = None
            path: str = environ.get("PATH_INFO", "") or "/"
            if not self.kit._debug and path.isascii():  # else request_info re-decodes it
                bearer = self.kit.bearer_lane(
                    path,
                    environ.get("SCRIPT_NAME", ""),
                    environ["HTTP_AUTHORIZATION"],
                    environ.get("HTTP_COOKIE"),
                )
                if bearer is not None:
                    environ[ENVIRON_KEY] = bearer
                    return self.app(
                        environ, _cache_start_response(start_response, (), "Authorization")
                    )
        request = request_info(environ)
        if isinstance(found, LaneMiss):
            self.kit.seen_cookie(request, found)  # no second parse of the Cookie header
        limit = self.kit.body_limit(request)
        if limit is not None:
            request.body = read_body(environ, limit)
        decision = self.driver.decide(request)
        if isinstance(decision, Respond):
            response = decision.response
            start_response(_status_line(response.status), list(response.headers))
            return [response.body]
        auth = decision.auth
        environ[ENVIRON_KEY] = auth
        set_cookies = decision.set_cookies
        if not set_cookies and not auth.is_authenticated:
            return self.app(environ, start_response)

        # The app's iterable is returned as is: the server calls its close() (PEP 3333).
        vary_on = "Authorization" if auth.source == "bearer" else "Cookie"
        return self.app(environ, _cache_start_response(start_response, set_cookies, vary_on))


#: ``session_cache_headers(None, None, ...)``: what an app that set neither gets.
_DEFAULT_CACHE_HEADERS = [("Cache-Control", NO_STORE), ("Vary", "Cookie")]
_BEARER_CACHE_HEADERS = [("Cache-Control", NO_STORE), ("Vary", "Authorization")]
_CACHE_HEADER_NAMES = frozenset(("cache-control", "vary"))
#: Their lengths, as a dict: its lookup code is the one the app keeps hot (a set's
#: runs cold between two requests).
_CACHE_HEADER_LENGTHS = dict.fromkeys(len(name) for name in _CACHE_HEADER_NAMES)
#: Names passed over at once (``COMMON_HEADER_NAMES``, as sent and lowercased).
_OTHER_HEADER_NAMES = dict.fromkeys(
    spelling for name in COMMON_HEADER_NAMES for spelling in (name, name.lower())
)


def _cache_start_response(
    start_response: StartResponse, set_cookies: Sequence[str], vary_on: str = "Cookie"
) -> Any:
    """``start_response`` that rewrites Cache-Control/Vary and appends the Set-Cookies.

    ``vary_on``: the request header the answer depended on (``Authorization`` for a
    bearer token)."""
    if not set_cookies and vary_on == "Cookie":
        # Every signed-in request comes here: a module function that handles the
        # common case first, bound to the server's ``start_response``.
        return MethodType(_session_start_response, start_response)

    def session_start_response(
        status: str, headers: list[tuple[str, str]], exc_info: OptExcInfo | None = None
    ) -> Any:
        return start_response(status, _rewrite_headers(headers, set_cookies, vary_on), exc_info)

    return session_start_response


def _session_start_response(
    start_response: StartResponse,
    status: str,
    headers: list[tuple[str, str]],
    exc_info: OptExcInfo | None = None,
) -> Any:
    """``start_response`` for a signed-in answer that sets no cookie: the app set
    neither Cache-Control nor Vary (the common case), so the defaults go on a copy."""
    for key, _ in headers:
        # A common name (Content-Type...) is passed over in one lookup; of the others
        # only a 4- or 13-character one can be Vary or Cache-Control.
        if (
            key not in _OTHER_HEADER_NAMES
            and len(key) in _CACHE_HEADER_LENGTHS
            and key.lower() in _CACHE_HEADER_NAMES
        ):
            return start_response(status, _rewrite_headers(headers, ()), exc_info)
    return start_response(status, headers + _DEFAULT_CACHE_HEADERS, exc_info)


def _rewrite_headers(
    headers: list[tuple[str, str]], set_cookies: Sequence[str], vary_on: str = "Cookie"
) -> list[tuple[str, str]]:
    """The app's headers with Cache-Control/Vary rewritten and the Set-Cookies appended."""
    cache_control: str | None = None
    vary: str | None = None
    kept: list[tuple[str, str]] = []
    for key, value in headers:
        lowered = key.lower()
        if lowered == "cache-control":
            cache_control = value
        elif lowered == "vary":
            vary = value if vary is None else f"{vary}, {value}"
        else:
            kept.append((key, value))
    if cache_control is None and vary is None:
        kept.extend(_DEFAULT_CACHE_HEADERS if vary_on == "Cookie" else _BEARER_CACHE_HEADERS)
    else:
        new_cc, new_vary = session_cache_headers(
            cache_control, vary, cookies_set=bool(set_cookies), vary_on=vary_on
        )
        kept.append(("Cache-Control", new_cc))
        kept.append(("Vary", new_vary))
    if set_cookies:
        # Appended, never merged: every Set-Cookie stays its own header (pitfall e4).
        kept.extend(("Set-Cookie", c) for c in set_cookies)
    return kept
