"""FastAPI: an ``async def`` on_sign_in around the shared SQLite upsert.

python examples/hooks/fastapi_app.py    # http://localhost:3000 (emulator if no WORKOS_*)
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from userstore import DATABASE, make_on_sign_in, options

from authkit_middleware import AuthKitMiddleware
from authkit_middleware.core.hooks import SignInEvent


def create_app(database: str = DATABASE, **overrides: Any) -> FastAPI:
    app = FastAPI()
    upsert = make_on_sign_in(database)

    async def on_sign_in(event: SignInEvent) -> str | None:
        # sqlite3 blocks: off the event loop (a plain def hook would be run there too).
        return await asyncio.to_thread(upsert, event)

    @app.get("/", response_class=HTMLResponse)
    @app.get("/onboarding", response_class=HTMLResponse)
    @app.get("/dashboard", response_class=HTMLResponse)
    async def page(request: Request) -> str:
        user = request.scope["authkit"].user
        return f"<h1>{request.url.path}</h1><p>Signed in as {user.email if user else 'nobody'}</p>"

    app.add_middleware(AuthKitMiddleware, **options(database, on_sign_in=on_sign_in, **overrides))
    return app


if __name__ == "__main__":
    import uvicorn

    from authkit_middleware.dev import ensure_workos_environment

    ensure_workos_environment(port=3000)
    uvicorn.run(create_app(), port=3000)
