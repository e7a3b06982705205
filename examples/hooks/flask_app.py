"""Flask: ``on_sign_in`` upserts into SQLite, new users land on /onboarding.

python examples/hooks/flask_app.py      # http://localhost:3000 (emulator if no WORKOS_*)
"""

from __future__ import annotations

from typing import Any

from flask import Flask, request
from userstore import options

from authkit_middleware import AuthKitWSGIMiddleware


def create_app(**overrides: Any) -> Flask:
    app = Flask(__name__)

    @app.route("/")
    @app.route("/onboarding")
    @app.route("/dashboard")
    def page() -> str:
        auth = request.environ["authkit"]
        who = auth.user.email if auth.user else "nobody"
        return f"<h1>{request.path}</h1><p>Signed in as {who}</p>"

    app.wsgi_app = AuthKitWSGIMiddleware(app.wsgi_app, **options(**overrides))  # type: ignore[method-assign]
    return app


if __name__ == "__main__":
    from authkit_middleware.dev import ensure_workos_environment

    ensure_workos_environment(port=3000)
    create_app().run(port=3000)
