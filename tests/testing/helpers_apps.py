"""Tiny apps (one per framework) for the test-helper tests. Not a test module."""

from __future__ import annotations

import secrets
from typing import Any

from authkit_middleware import AuthKitConfig
from authkit_middleware.emulator import EmulatorServer

RULES: dict[str, Any] = {
    "protected_paths": ("/private*", "/admin*"),
    "permission_rules": {"/admin*": ("widgets:write",)},
}


def config_for(server: EmulatorServer, **changes: Any) -> AuthKitConfig:
    options: dict[str, Any] = {
        "api_key": server.api_key,
        "client_id": server.client_id,
        "base_url": server.base_url,
        "redirect_uri": "http://localhost/callback",
        "cookie_password": secrets.token_urlsafe(32),
        **RULES,
        **changes,
    }
    return AuthKitConfig(**options)


def auth_json(auth: Any) -> dict[str, Any]:
    return {
        "email": auth.user.email if auth.user else None,
        "org": auth.organization_id,
        "role": auth.role,
        "permissions": list(auth.permissions),
        "impersonator": auth.impersonator.email if auth.impersonator else None,
    }


def starlette_app() -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def whoami(request: Request) -> JSONResponse:
        return JSONResponse(auth_json(request.scope["authkit"]))

    return Starlette(
        routes=[Route(p, whoami) for p in ("/", "/private", "/admin")],
    )


def wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    import json

    body = json.dumps(auth_json(environ["authkit"])).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


def flask_app() -> Any:
    from flask import Flask, jsonify, request

    app = Flask(__name__)

    @app.get("/")
    @app.get("/private")
    @app.get("/admin")
    def whoami() -> Any:
        return jsonify(auth_json(request.environ["authkit"]))

    return app
