"""``AuthKitMiddleware``: WorkOS AuthKit in front of any ASGI app, in one line.

Pure ASGI (no ``BaseHTTPMiddleware``), per-request state in closures. It translates
between the server and the core and nothing more: every rule lives in
``authkit_middleware.core``. Usage::

    from authkit_middleware import AuthKitMiddleware

    app = AuthKitMiddleware(app)                      # everything from WORKOS_* env vars
    app.add_middleware(AuthKitMiddleware, protected_paths=["/*"])   # Starlette / FastAPI

Each request gets ``scope["authkit"]`` (an :class:`~authkit_middleware.Auth`), and
``scope["user"]``/``scope["auth"]`` in Starlette's conventions, so
``request.user.is_authenticated`` and ``starlette.authentication.requires`` work.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from types import MethodType
from typing import Any

from starlette.authentication import AuthCredentials, BaseUser
from workos import AsyncWorkOSClient

from authkit_middleware.core.auth import Auth
from authkit_middleware.core.config import AuthKitConfig
from authkit_middleware.core.engine import Continue, Respond
from authkit_middleware.core.http import (
    COMMON_HEADER_NAMES,
    NO_STORE,
    RequestInfo,
    Response,
    session_cache_headers,
)
from authkit_middleware.core.lane import LaneMiss
from authkit_middleware.drivers._common import middleware_setup
from authkit_middleware.drivers.aio import AsyncDriver

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_HEADER_FIELDS: dict[bytes, str] = {
    b"cookie": "cookie",
    b"accept": "accept",
    b"authorization": "authorization",
    b"origin": "origin",
    b"content-type": "content_type",
    b"sec-fetch-site": "sec_fetch_site",
    b"sec-fetch-dest": "sec_fetch_dest",
    b"sec-fetch-mode": "sec_fetch_mode",
    b"purpose": "purpose",
    b"sec-purpose": "purpose",
    b"user-agent": "user_agent",
}


class AuthKitUser(BaseUser):
    """``scope["user"]`` in Starlette's convention, backed by the request's ``Auth``."""

    __slots__ = ("auth",)

    def __init__(self, auth: Auth) -> None:
        self.auth = auth

    @property
    def is_authenticated(self) -> bool:
        return self.auth.is_authenticated

    @property
    def display_name(self) -> str:
        user = self.auth.user
        return user.display_name if user is not None else ""

    @property
    def identity(self) -> str:
        user = self.auth.user
        return user.id if user is not None else ""

    def __getattr__(self, name: str) -> Any:
        # request.user.email, .first_name ... read through to the WorkOS user.
        user = self.auth.user
        if user is None or name.startswith("_"):
            raise AttributeError(name)
        return getattr(user, name)


def request_info(scope: Scope) -> RequestInfo:
    """The request facts the core needs, read in one pass over the headers."""
    root_path: str = scope.get("root_path", "")
    path: str = scope["path"]
    if root_path and path.startswith(root_path):
        path = path[len(root_path) :] or "/"
    info = RequestInfo(
        method=scope.get("method", "GET"),
        path=path,
        query_string=scope.get("query_string", b"").decode("latin-1"),
        root_path=root_path,
    )
    fields = _HEADER_FIELDS
    for key, value in scope.get("headers", ()):
        attr = fields.get(key)
        if attr is not None:
            if getattr(info, attr) is None:
                setattr(info, attr, value.decode("latin-1"))
            elif attr == "cookie":
                # HTTP/2 may split the header into several (RFC 9113 §8.2.3).
                info.cookie = f"{info.cookie}; {value.decode('latin-1')}"
    client = scope.get("client")
    if client:
        info.client_ip = client[0]
    return info


async def read_body(receive: Receive, limit: int) -> bytes:
    """The request body, reading no more than ``limit + 1`` bytes (more: the core
    answers 413). Only the organisation-switch route reads a body; the app is not
    called for it, so consuming ``receive`` here is safe."""
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)[: limit + 1]


async def send_response(send: Send, response: Response) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": response.status,
            "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers],
        }
    )
    await send({"type": "http.response.body", "body": response.body})


class AuthKitMiddleware:
    """WorkOS AuthKit sign-in, session and protection for an ASGI app.

    :param app: the ASGI app to protect.
    :param config: an :class:`AuthKitConfig`; without it, one is read from the
        environment, with ``options`` (any ``AuthKitConfig`` field) winning.
    :param client: an ``AsyncWorkOSClient`` to use instead of building one.
    :param coordinator: a refresh coordinator shared by every worker and host (E8),
        e.g. ``RedisCoordinator(url)``; ``redis_url=`` (or ``WORKOS_REDIS_URL`` when
        the config comes from the environment) builds one. None: in-process only.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        config: AuthKitConfig | None = None,
        client: AsyncWorkOSClient | None = None,
        coordinator: Any = None,
        redis_url: str | None = None,
        **options: Any,
    ) -> None:
        self.app = app
        self.config, self.kit, coordinator, built = middleware_setup(
            config, options, coordinator, redis_url
        )
        self.driver = AsyncDriver(
            self.kit, client, refresh_coordinator=coordinator, owns_coordinator=built
        )

    async def aclose(self) -> None:
        """Close the connections the middleware opened: its WorkOS client and the Redis
        coordinator it built (never a client or coordinator you passed in). Called
        at lifespan shutdown; call it yourself when the server runs no lifespan.
        The middleware keeps working afterwards (it reconnects on demand)."""
        await self.driver.aclose()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found: Auth | LaneMiss | None = None
        if scope["type"] == "http":
            # The fast lane (``kit.lane``, ``kit.bearer_lane``): a verified cookie or
            # bearer token seen before, a first cookie that verifies plainly, or
            # signed out on an open path. Debug mode logs each hit: the full path.
            cookie: bytes | None = None
            authorization: bytes | None = None
            for key, value in scope.get("headers", ()):
                if key == b"cookie":
                    # HTTP/2 may split the header into several (RFC 9113 §8.2.3).
                    cookie = value if cookie is None else cookie + b"; " + value
                elif key == b"authorization" and authorization is None:
                    authorization = value
            root_path: str = scope.get("root_path", "")
            path: str = scope["path"]
            if root_path and path.startswith(root_path):
                path = path[len(root_path) :] or "/"
            if authorization is None:
                lane = self.kit.lane
                found = lane(path, root_path, cookie)
            elif not self.kit._debug:
                bearer = self.kit.bearer_lane(
                    path, root_path, authorization.decode("latin-1"), cookie
                )
                if bearer is not None:
                    scope["authkit"] = bearer
                    scope["user"] = AuthKitUser(bearer)
                    scope["auth"] = AuthCredentials(bearer.scopes)
                    await self.app(scope, receive, _cache_send(send, (), "Authorization"))
                    return
            if found:  # an Auth (a LaneMiss or None is false)
                # No RequestInfo, no driver, no Continue; same scope and headers as below.
                auth: Auth = found  # type: ignore[assignment]  # (no cast() call per request)
                scope["authkit"] = auth
                scope["user"] = AuthKitUser(auth)
                if auth.user is None:
                    scope["auth"] = AuthCredentials()
                    await self.app(scope, receive, send)
                else:
                    scope["auth"] = AuthCredentials(auth.scopes)  # copies into a list
                    await self.app(scope, receive, MethodType(_signed_in_send, send))
                return
        scope_type = scope["type"]
        if scope_type not in ("http", "websocket"):
            if scope_type == "lifespan":
                send = self._lifespan_send(send)  # close our connections at shutdown
            await self.app(scope, receive, send)  # lifespan and the unknown pass through
            return
        request = request_info(scope)
        if isinstance(found, LaneMiss):
            self.kit.seen_cookie(request, found)  # no second parse of the Cookie header
        if scope_type == "websocket":
            request.method = "GET"
        elif (limit := self.kit.body_limit(request)) is not None:
            request.body = await read_body(receive, limit)
        decision = await self.driver.decide(request)
        if isinstance(decision, Respond):
            if scope_type == "websocket":
                # Never redirect a websocket: close it (4401 signed out, 4403 forbidden).
                status = decision.response.status
                await send({"type": "websocket.close", "code": 4403 if status == 403 else 4401})
                return
            await send_response(send, decision.response)
            return
        self._attach(scope, decision)
        if scope_type == "websocket" or (
            not decision.set_cookies and not decision.auth.is_authenticated
        ):
            await self.app(scope, receive, send)
            return
        await self.app(scope, receive, _session_send(send, decision))

    def _lifespan_send(self, send: Send) -> Send:
        """The app's lifespan ``send``: once the app has shut down, so do we."""

        async def lifespan_send(message: Message) -> None:
            if message["type"] in ("lifespan.shutdown.complete", "lifespan.shutdown.failed"):
                await self.aclose()
            await send(message)

        return lifespan_send

    @staticmethod
    def _attach(scope: Scope, decision: Continue) -> None:
        auth = decision.auth
        scope["authkit"] = auth
        scope["user"] = AuthKitUser(auth)
        scope["auth"] = AuthCredentials(auth.scopes)  # copies into a list


def _session_send(send: Send, decision: Continue) -> Send:
    """Wrap ``send`` to append Set-Cookie and the cache headers on the response start."""
    bearer = decision.auth.source == "bearer"
    return _cache_send(send, decision.set_cookies, "Authorization" if bearer else "Cookie")


#: What the rewrite appends when the app set neither Cache-Control nor Vary (the
#: common case): ``session_cache_headers(None, None, ...)``, encoded once.
_DEFAULT_CACHE_HEADERS = {
    vary_on: ((b"cache-control", NO_STORE.encode("latin-1")), (b"vary", vary_on.encode("latin-1")))
    for vary_on in ("Cookie", "Authorization")
}


def _cache_headers(
    headers: Any, set_cookies: Sequence[str], vary_on: str = "Cookie"
) -> list[tuple[bytes, bytes]]:
    """The app's headers with Cache-Control/Vary rewritten and the Set-Cookies appended."""
    cache_control: str | None = None
    vary: str | None = None
    kept: list[tuple[bytes, bytes]] = []
    for key, value in headers:
        lowered = key.lower()
        if lowered == b"cache-control":
            cache_control = value.decode("latin-1")
        elif lowered == b"vary":
            vary = value.decode("latin-1") if vary is None else f"{vary}, {value.decode('latin-1')}"
        else:
            kept.append((key, value))
    if cache_control is None and vary is None:
        kept.extend(_DEFAULT_CACHE_HEADERS[vary_on])
    else:
        new_cc, new_vary = session_cache_headers(
            cache_control, vary, cookies_set=bool(set_cookies), vary_on=vary_on
        )
        kept.append((b"cache-control", new_cc.encode("latin-1")))
        kept.append((b"vary", new_vary.encode("latin-1")))
    if set_cookies:
        # Appended, never merged: every Set-Cookie stays its own header (pitfall e4).
        kept.extend((b"set-cookie", c.encode("latin-1")) for c in set_cookies)
    return kept


#: A dict used as a set: its lookup code is the one the app keeps hot.
_CACHE_HEADER_NAMES = dict.fromkeys((b"cache-control", b"vary"))
#: Names passed over without ``lower()`` (a new bytes object each): ASGI servers and
#: frameworks send them lowercase (``COMMON_HEADER_NAMES``).
_OTHER_HEADER_NAMES = dict.fromkeys(name.lower().encode("latin-1") for name in COMMON_HEADER_NAMES)
_COOKIE_CACHE_HEADERS = list(_DEFAULT_CACHE_HEADERS["Cookie"])


async def _signed_in_send(send: Send, message: Message) -> None:
    """``send`` for a signed-in answer that sets no cookie (every fast-lane hit): the
    app set neither Cache-Control nor Vary (the common case), so the defaults go on
    a copy of its headers. Bound to the server's ``send`` (``MethodType``: cheaper to
    make than a closure, and the app's call is a plain bound-method call)."""
    if message["type"] == "http.response.start":
        headers = message.get("headers", ())
        for key, _ in headers:
            if key not in _OTHER_HEADER_NAMES and key.lower() in _CACHE_HEADER_NAMES:
                message = {**message, "headers": _cache_headers(headers, ())}
                break
        else:
            message = {**message, "headers": [*headers, *_COOKIE_CACHE_HEADERS]}
    await send(message)


def _cache_send(send: Send, set_cookies: Sequence[str], vary_on: str = "Cookie") -> Send:
    if not set_cookies and vary_on == "Cookie":
        return MethodType(_signed_in_send, send)

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {
                **message,
                "headers": _cache_headers(message.get("headers", ()), set_cookies, vary_on),
            }
        await send(message)

    return wrapped
