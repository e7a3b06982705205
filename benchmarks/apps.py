"""The apps every benchmark compares, built the same way in-process and under servers.

Every app answers ``GET /``, ``/dash`` and ``/static/app.css`` with ``ok``:

- ``bare``     Starlette / Flask, nothing in front.
- ``session``  Starlette + ``starlette.middleware.sessions.SessionMiddleware``.
- ``naive``    a pure-ASGI middleware calling the SDK per request, as its docs show:
               ``client.user_management.load_sealed_session(...).authenticate()``
               (Fernet cookie ``wos_session``, JWKS from the emulator via PyJWKClient).
- ``seed``     the quick-start's Flask ``with_auth`` decorator on ``/dash`` (verbatim,
               but for the 10.8 keyword ``session_data=``: the seed's ``sealed_session=``
               is the pre-10 name and raises ``TypeError`` on the installed SDK).
- ``ours``     ``AuthKitMiddleware`` / ``AuthKitWSGIMiddleware`` with ``/*`` protected
               and ``/`` + ``/static/*`` public.

The servers benchmark imports this module in uvicorn/gunicorn workers, so the
settings travel in ``BENCH_*`` environment variables (see :func:`settings_env`).
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from functools import wraps
from typing import Any

IRON_PASSWORD = "benchmark-only-iron-password-0123456789abcdef"
# A fixed Fernet key (benchmarks only): the naive middleware and the seed need one.
FERNET_KEY = base64.urlsafe_b64encode(b"benchmark-only-fernet-key-32byte").decode()
SESSION_SECRET = "benchmark-only-starlette-session-secret"
EMAIL = "alice@example.com"
REDIRECT_URI = "http://localhost:3000/callback"
PROTECTED = ("/*",)
PUBLIC = ("/", "/static/*")


@dataclass(frozen=True)
class Settings:
    base_url: str
    api_key: str
    client_id: str

    def env(self) -> dict[str, str]:
        return {
            "BENCH_BASE_URL": self.base_url,
            "BENCH_API_KEY": self.api_key,
            "BENCH_CLIENT_ID": self.client_id,
        }

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            os.environ["BENCH_BASE_URL"],
            os.environ["BENCH_API_KEY"],
            os.environ["BENCH_CLIENT_ID"],
        )


def our_options(s: Settings) -> dict[str, Any]:
    return {
        "api_key": s.api_key,
        "client_id": s.client_id,
        "base_url": s.base_url,
        "redirect_uri": REDIRECT_URI,
        "cookie_password": IRON_PASSWORD,
        "protected_paths": PROTECTED,
        "public_paths": PUBLIC,
    }


# --------------------------------------------------------------------------- cookies


def our_cookie(kit: Any, tokens: dict[str, Any]) -> str:
    """A sealed session cookie value as our middleware writes it (iron, camelCase):
    attested (``core.attestation``) when ``kit`` holds the signing keys, as after a
    sign-in or a refresh."""
    from authkit_middleware.core.session import TokenResponse

    return str(kit.seal_session(TokenResponse.from_dict(tokens).to_session()))


def foreign_cookie(kit: Any, tokens: dict[str, Any]) -> str:
    """The same session sealed without an attestation, as WorkOS's JavaScript
    libraries seal it (or ours with ``token_attestation=False``): its first sight
    verifies the token's RS256 signature."""
    from authkit_middleware.core.session import TokenResponse, encode_session

    session = TokenResponse.from_dict(tokens).to_session()
    return str(kit.sealer.seal(encode_session(session, camel=True), purpose="session"))


def other_worker(s: Settings, jwks: dict[str, Any]) -> Any:
    """The engine of another worker of the same app (same options, its JWKS
    fetched): it issues the cookies a first request brings."""
    import time

    from authkit_middleware.core.config import AuthKitConfig
    from authkit_middleware.core.engine import AuthKit

    kit = AuthKit(AuthKitConfig(**our_options(s)))
    kit.jwks.store(jwks, time.time())
    return kit


def sdk_cookie(tokens: dict[str, Any]) -> str:
    """The cookie workos-python writes (Fernet over the snake_case session)."""
    from workos.session import seal_session_from_auth_response

    return seal_session_from_auth_response(
        access_token=tokens["access_token"],
        refresh_token=tokens["refresh_token"],
        user=tokens["user"],
        cookie_password=FERNET_KEY,
    )


def starlette_session_cookie(tokens: dict[str, Any]) -> str:
    """What SessionMiddleware would have set after storing the user in the session."""
    import itsdangerous

    data = base64.b64encode(json.dumps({"user": tokens["user"]}).encode())
    return itsdangerous.TimestampSigner(SESSION_SECRET).sign(data).decode()


# --------------------------------------------------------------------------- ASGI


def bare_starlette() -> Any:
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def ok(request: Any) -> Any:
        return PlainTextResponse("ok")

    return Starlette(
        routes=[Route("/", ok), Route("/dash", ok), Route("/static/app.css", ok)],
    )


def session_starlette() -> Any:
    from starlette.middleware.sessions import SessionMiddleware

    return SessionMiddleware(bare_starlette(), secret_key=SESSION_SECRET)


class NaiveSDKMiddleware:
    """The obvious pure-ASGI middleware: ask the SDK about the cookie on every request."""

    def __init__(self, app: Any, client: Any, cookie_password: str) -> None:
        self.app = app
        self.client = client
        self.cookie_password = cookie_password

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        from starlette.requests import HTTPConnection
        from starlette.responses import PlainTextResponse

        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sealed = HTTPConnection(scope).cookies.get("wos_session")
        if sealed:
            session = self.client.user_management.load_sealed_session(
                session_data=sealed, cookie_password=self.cookie_password
            )
            result = session.authenticate()
            if result.authenticated:
                scope["workos_auth"] = result
                await self.app(scope, receive, send)
                return
        if scope["path"] in ("/", "/static/app.css"):
            await self.app(scope, receive, send)
            return
        await PlainTextResponse("unauthorized", status_code=401)(scope, receive, send)


def naive_starlette(s: Settings) -> Any:
    from workos import AsyncWorkOSClient

    client = AsyncWorkOSClient(api_key=s.api_key, client_id=s.client_id, base_url=s.base_url)
    return NaiveSDKMiddleware(bare_starlette(), client, FERNET_KEY)


def ours_starlette(s: Settings, app: Any = None) -> Any:
    """Ours in front of ``app`` (default: a new bare Starlette app)."""
    from authkit_middleware import AuthKitMiddleware

    return AuthKitMiddleware(app or bare_starlette(), **our_options(s))


def asgi_app() -> Any:
    """uvicorn factory: ``BENCH_APP`` = bare | session | naive | ours."""
    which = os.environ.get("BENCH_APP", "bare")
    if which == "bare":
        return bare_starlette()
    if which == "session":
        return session_starlette()
    s = Settings.from_env()
    if which == "naive":
        return naive_starlette(s)
    if which == "ours":
        return ours_starlette(s)
    raise SystemExit(f"unknown BENCH_APP {which!r}")


# --------------------------------------------------------------------------- WSGI


def bare_flask() -> Any:
    from flask import Flask

    app = Flask("bench", static_folder=None)

    @app.route("/")
    def home() -> str:
        return "ok"

    @app.route("/dash")
    def dash() -> str:
        return "ok"

    @app.route("/static/app.css")
    def css() -> str:
        return "ok"

    return app


def seed_flask(s: Settings) -> Any:
    """The quick-start's ``with_auth`` decorator (authkit-python-quickstart.txt)."""
    from flask import Flask, make_response, redirect, request
    from workos import WorkOSClient

    app = Flask("seed", static_folder=None)
    workos = WorkOSClient(api_key=s.api_key, client_id=s.client_id, base_url=s.base_url)
    cookie_password = FERNET_KEY

    def with_auth(f: Any) -> Any:
        @wraps(f)
        def decorated_function(*args: Any, **kwargs: Any) -> Any:
            session = workos.user_management.load_sealed_session(
                session_data=request.cookies.get("wos_session"),  # seed: sealed_session=
                cookie_password=cookie_password,
            )
            auth_response = session.authenticate()
            if auth_response.authenticated:
                return f(*args, **kwargs)
            if (
                auth_response.authenticated is False
                and auth_response.reason == "no_session_cookie_provided"
            ):
                return make_response(redirect("/login"))
            # If no session, attempt a refresh
            try:
                print("Refreshing session")
                result = session.refresh()
                if result.authenticated is False:
                    return make_response(redirect("/login"))
                response = make_response(redirect(request.url))
                response.set_cookie(
                    "wos_session",
                    result.sealed_session,
                    secure=True,
                    httponly=True,
                    samesite="lax",
                )
                return response
            except Exception as e:
                print("Error refreshing session", e)
                response = make_response(redirect("/login"))
                response.delete_cookie("wos_session")
                return response

        return decorated_function

    @app.route("/")
    def home() -> str:
        return "ok"

    @app.route("/dash")
    @with_auth
    def dash() -> str:
        return "ok"

    @app.route("/static/app.css")
    def css() -> str:
        return "ok"

    return app


def ours_flask(s: Settings, app: Any = None) -> Any:
    """Ours in front of ``app`` (default: a new bare Flask app)."""
    from authkit_middleware import AuthKitWSGIMiddleware

    return AuthKitWSGIMiddleware(app or bare_flask(), **our_options(s))


def wsgi_app() -> Any:
    """gunicorn factory: ``BENCH_APP`` = bare | seed | ours."""
    which = os.environ.get("BENCH_APP", "bare")
    if which == "bare":
        return bare_flask()
    s = Settings.from_env()
    if which == "seed":
        return seed_flask(s)
    if which == "ours":
        return ours_flask(s)
    raise SystemExit(f"unknown BENCH_APP {which!r}")
