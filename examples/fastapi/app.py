"""FastAPI + AuthKit: ``AuthKitMiddleware(api)`` and ``Depends(require_auth)``.

Run it (no configuration: the embedded AuthKit emulator starts when WORKOS_API_KEY
is unset)::

    python examples/fastapi/app.py          # http://localhost:3000  (PORT to change)

Routes: ``/`` (public), ``/dashboard`` (signed in), ``/api/me`` (JSON, 401 when
signed out), ``/widgets/new`` (needs ``widgets:write``). The middleware adds
``/login``, ``/signup``, ``/callback``, ``/logout`` and ``/auth/me``.

``app`` (``examples/fastapi/app.py:app``, e.g. ``uvicorn app:app`` from this folder)
is built from the ``WORKOS_*`` environment on first access; tests call
:func:`create_app` with their own options.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI
from fastapi.responses import HTMLResponse

from authkit_middleware import Auth, AuthKitMiddleware
from authkit_middleware.integrations.fastapi import (
    OptionalAuth,
    RequiredAuth,
    require_auth,
    require_permission,
)

if (EXAMPLES := str(Path(__file__).resolve().parents[1])) not in sys.path:
    sys.path.append(EXAMPLES)  # for examples/_shared: the look all the examples share
from _shared.pages import Pages, lazy_app, profile

#: Dependencies as annotations: signed in (401 JSON / sign-in redirect otherwise) ...
SignedIn = Annotated[Auth, Depends(require_auth)]
#: ... and signed in holding the ``widgets:write`` permission (403 otherwise).
WidgetWriter = Annotated[Auth, Depends(require_permission("widgets:write"))]

pages = Pages("FastAPI")


def create_app(**options: Any) -> AuthKitMiddleware:
    """The app; ``options`` go to the middleware (any ``AuthKitConfig`` field, ``config``)."""
    api = FastAPI(title="AuthKit + FastAPI", docs_url=None, redoc_url=None)

    @api.get("/", response_class=HTMLResponse)
    def home(auth: OptionalAuth) -> HTMLResponse:
        return HTMLResponse(pages.home(auth))

    @api.get("/dashboard", response_class=HTMLResponse)
    def dashboard(auth: RequiredAuth) -> HTMLResponse:
        return HTMLResponse(pages.dashboard(auth))

    @api.get("/api/me")
    def api_me(auth: SignedIn) -> dict[str, Any]:
        return profile(auth)

    @api.get("/widgets/new", response_class=HTMLResponse)
    def new_widget(auth: WidgetWriter) -> HTMLResponse:
        return HTMLResponse(pages.new_widget(auth))

    return AuthKitMiddleware(api, **options)  # the one line


#: ``app``: built from the ``WORKOS_*`` environment on first access (importing starts nothing).
__getattr__ = lazy_app(globals(), create_app)


if __name__ == "__main__":
    import uvicorn

    from authkit_middleware.dev import ensure_workos_environment

    port = int(os.environ.get("PORT", "3000"))
    ensure_workos_environment(port=port)
    uvicorn.run(create_app(), host="localhost", port=port)
