"""Apps, clients and token forgery shared by the bearer and organisation tests.

Both adapters are exercised in-process through httpx transports (ASGI: a Starlette
app under ``AuthKitMiddleware``; WSGI: a Flask app under ``AuthKitWSGIMiddleware``),
while the middleware talks to the emulator over real loopback HTTP with the real
``workos`` SDK.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from authkit_middleware import AuthKitMiddleware, AuthKitWSGIMiddleware
from authkit_middleware.core.auth import Auth
from authkit_middleware.core.config import AuthKitConfig
from authkit_middleware.emulator import Emulator
from authkit_middleware.emulator.server import EmulatorServer

from .encoding import b64url
from .middleware import ORIGIN, emulator_settings, seal_session

PASSWORD = "correct-horse-battery-staple-0123456789"
JSON_ACCEPT = "application/json"


def config_for(server: EmulatorServer, **options: Any) -> AuthKitConfig:
    """The config of the bearer tests' apps: ``/api/*`` protected unless ``options``
    say otherwise, a 2 s request timeout."""
    options.setdefault("protected_paths", ("/api/*",))
    return AuthKitConfig(
        **emulator_settings(server, cookie_password=PASSWORD, request_timeout=2.0, **options)
    )


def describe(auth: Auth) -> dict[str, Any]:
    return {
        "authenticated": auth.is_authenticated,
        "source": auth.source,
        "user_id": auth.user.id if auth.user else None,
        "email": auth.user.email if auth.user else None,
        "organization_id": auth.organization_id,
        "role": auth.role,
        "permissions": list(auth.permissions),
        "entitlements": list(auth.entitlements),
        "feature_flags": list(auth.feature_flags),
        "scopes": list(auth.scopes),
    }


def starlette_app() -> Any:
    from starlette.applications import Starlette
    from starlette.authentication import requires
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def whoami(request: Request) -> JSONResponse:
        return JSONResponse(describe(request.scope["authkit"]))

    @requires(["authenticated", "entitlement:pro-plan"], status_code=403)
    async def pro(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    @requires(["authenticated", "role:admin", "feature:new-dashboard"], status_code=403)
    async def admin(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    return Starlette(
        routes=[
            Route("/api/me", whoami),
            Route("/public", whoami),
            Route("/admin/panel", whoami),
            Route("/scoped/pro", pro),
            Route("/scoped/admin", admin),
        ]
    )


def flask_app() -> Any:
    from flask import Flask, jsonify, request

    app = Flask(__name__)

    @app.route("/api/me")
    @app.route("/public")
    @app.route("/admin/panel")
    def whoami() -> Any:
        return jsonify(describe(request.environ["authkit"]))

    return app


class Client:
    """A synchronous client of one middleware-wrapped app (ASGI or WSGI)."""

    def __init__(self, kind: str, config: AuthKitConfig, app: Any = None) -> None:
        self.kind = kind
        self.loop: asyncio.AbstractEventLoop | None = None
        if kind == "asgi":
            app = starlette_app() if app is None else app
            self.middleware: Any = AuthKitMiddleware(app, config=config)
            self.loop = asyncio.new_event_loop()
            self.aclient = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=self.middleware), base_url=ORIGIN
            )
        else:
            app = flask_app() if app is None else app
            self.middleware = AuthKitWSGIMiddleware(app.wsgi_app, config=config)
            app.wsgi_app = self.middleware
            self.client = httpx.Client(
                transport=httpx.WSGITransport(app=self.middleware), base_url=ORIGIN
            )
        self.kit = self.middleware.kit

    def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        cookie: str | None = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        sent = {"accept": JSON_ACCEPT, **(headers or {})}
        if token is not None:
            sent["authorization"] = f"Bearer {token}"
        if cookie is not None:
            sent["cookie"] = f"wos-session={cookie}"
        if self.loop is not None:
            return self.loop.run_until_complete(
                self.aclient.request(method, path, headers=sent, **kwargs)
            )
        return self.client.request(method, path, headers=sent, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def seal(self, tokens: dict[str, Any]) -> str:
        """A session cookie value, as the callback would have written it."""
        return seal_session(self.kit, tokens)

    def close(self) -> None:
        if self.loop is not None:
            self.loop.run_until_complete(self.aclient.aclose())
            self.loop.run_until_complete(self.middleware.driver.client.close())
            self.loop.close()
        else:
            self.client.close()
            self.middleware.driver.client.close()


@contextmanager
def client_factory(kind: str, server: EmulatorServer) -> Iterator[Callable[..., Client]]:
    """``make(**options)``: a :class:`Client` of ``kind`` ("asgi" or "wsgi") configured by
    :func:`config_for` (``server``, ``options``); every client made is closed on exit."""
    clients: list[Client] = []

    def make(**options: Any) -> Client:
        client = Client(kind, config_for(server, **options))
        clients.append(client)
        return client

    try:
        yield make
    finally:
        for client in clients:
            client.close()


def organization_id(emulator: Emulator, name: str) -> str:
    """The id of the emulator's organisation called ``name`` (which must exist)."""
    found = emulator.get_organization(name)
    assert found is not None
    return str(found["id"])


# --------------------------------------------------------------------------- tokens


def user_claims(emulator: Emulator, **overrides: Any) -> dict[str, Any]:
    """Claims of a user access token like the emulator mints (alice, no org)."""
    now = int(time.time())
    user = emulator.get_user("alice@example.com")
    assert user is not None
    claims: dict[str, Any] = {
        "iss": emulator.issuer,
        "sub": user["id"],
        "sid": "session_01CUSTOM",
        "jti": "01JTI",
        "iat": now,
        "exp": now + 300,
        "auth_time": now,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def sign(emulator: Emulator, claims: dict[str, Any]) -> str:
    """A token with custom claims signed by the emulator's *real* current key."""
    return emulator.keys.signer.sign(claims)


def forge_alg_none(emulator: Emulator, claims: dict[str, Any]) -> str:
    header = {"alg": "none", "typ": "JWT", "kid": emulator.keys.signer.kid}
    return f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}."


def forge_hs256_with_public_key(emulator: Emulator, claims: dict[str, Any]) -> str:
    """CVE-2022-29217 shape: HMAC keyed with the published RSA public key (PEM)."""
    public_pem = emulator.keys.signer.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": "HS256", "typ": "JWT", "kid": emulator.keys.signer.kid}
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(mac)}"


def forge_other_key_same_kid(emulator: Emulator, claims: dict[str, Any]) -> str:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(claims, other, algorithm="RS256", headers={"kid": emulator.keys.signer.kid})
