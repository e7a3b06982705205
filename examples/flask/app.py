"""Flask + AuthKit: the WorkOS quick-start app, with the sign-in code replaced by one line.

Run it (no configuration: the embedded AuthKit emulator starts when WORKOS_API_KEY
is unset)::

    python examples/flask/app.py            # http://localhost:3000  (PORT to change)

Routes: ``/`` (public), ``/dashboard`` (signed in), ``/api/me`` (JSON, 401 when
signed out), ``/widgets/new`` (needs the ``widgets:write`` permission). The
middleware adds ``/login``, ``/signup``, ``/callback``, ``/logout`` and ``/auth/me``.

``app`` (``examples/flask/app.py:app``) is built from the ``WORKOS_*`` environment on
first access; tests call :func:`create_app` with their own options instead.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from flask import Flask, jsonify
from flask.typing import ResponseReturnValue

from authkit_middleware import AuthKitWSGIMiddleware
from authkit_middleware.integrations.flask import (
    current_auth,
    login_required,
    permission_required,
)

if (EXAMPLES := str(Path(__file__).resolve().parents[1])) not in sys.path:
    sys.path.append(EXAMPLES)  # for examples/_shared: the look all the examples share
from _shared.pages import Pages, lazy_app, profile

pages = Pages("Flask")


def create_app(**options: Any) -> Flask:
    """The app; ``options`` go to the middleware (any ``AuthKitConfig`` field, ``config``)."""
    app = Flask(__name__)
    app.wsgi_app = AuthKitWSGIMiddleware(app.wsgi_app, **options)  # type: ignore[method-assign]

    @app.get("/")
    def home() -> ResponseReturnValue:
        return pages.home(current_auth)

    @app.get("/dashboard")
    @login_required
    def dashboard() -> ResponseReturnValue:
        return pages.dashboard(current_auth)

    @app.get("/api/me")
    @login_required
    def api_me() -> ResponseReturnValue:
        return jsonify(profile(current_auth))

    @app.get("/widgets/new")
    @permission_required("widgets:write")
    def new_widget() -> ResponseReturnValue:
        return pages.new_widget(current_auth)

    return app


#: ``app``: built from the ``WORKOS_*`` environment on first access (importing starts nothing).
__getattr__ = lazy_app(globals(), create_app)


if __name__ == "__main__":
    from authkit_middleware.dev import ensure_workos_environment

    port = int(os.environ.get("PORT", "3000"))
    ensure_workos_environment(port=port)
    create_app().run(host="localhost", port=port)
