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
from typing import Any

from flask import Flask, jsonify, render_template_string
from flask.typing import ResponseReturnValue

from authkit_middleware import AuthKitWSGIMiddleware
from authkit_middleware.integrations.flask import (
    current_auth,
    login_required,
    permission_required,
)

LAYOUT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }} · AuthKit + Flask</title>
<style>
body { margin:0; font:16px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
  background:#f5f6f8; color:#1f2328; }
header { background:#fff; border-bottom:1px solid #e5e7eb; }
nav, main { max-width:46rem; margin:0 auto; padding:.9rem 1.25rem; }
nav { display:flex; gap:1rem; align-items:center; }
nav .brand { font-weight:700; margin-right:auto; }
nav a { color:#4338ca; text-decoration:none; }
main section { background:#fff; border-radius:12px; padding:1.5rem 1.75rem; margin-top:1.5rem;
  box-shadow:0 1px 3px rgba(0,0,0,.06); }
h1 { font-size:1.5rem; margin:0 0 .75rem; }
dl { display:grid; grid-template-columns:max-content 1fr; gap:.4rem 1.25rem; margin:0; }
dt { color:#6b7280; } dd { margin:0; }
code, .tag { background:#eef0f4; padding:.1rem .4rem; border-radius:6px; font-size:.88rem; }
.tag { display:inline-block; margin:0 .3rem .3rem 0; }
.button, button { display:inline-block; padding:.55rem 1rem; border-radius:8px; border:0;
  background:#4f46e5; color:#fff; font:inherit; font-weight:600; text-decoration:none;
  cursor:pointer; }
.button.secondary { background:#eef0f4; color:#1f2328; }
form { display:inline; margin:0; }
</style></head>
<body><header><nav>
<span class="brand">AuthKit + Flask</span>
<a href="/">Home</a><a href="/dashboard">Dashboard</a><a href="/api/me">/api/me</a>
<a href="/widgets/new">Widgets</a>
{% if auth.is_authenticated %}
<form method="post" action="/logout"><button type="submit">Sign out</button></form>
{% else %}<a class="button" href="/login">Sign in</a>{% endif %}
</nav></header>
<main><section>{{ body | safe }}</section></main></body></html>
"""

HOME = """<h1>Welcome</h1>
{% if auth.is_authenticated %}
<p>Signed in as <strong>{{ auth.user.display_name }}</strong>.</p>
<p><a class="button" href="/dashboard">Open the dashboard</a></p>
{% else %}
<p>This page is public. The dashboard needs you to sign in.</p>
<p><a class="button" href="/login">Sign in</a>
<a class="button secondary" href="/signup">Create an account</a></p>
{% endif %}"""

DASHBOARD = """<h1>Dashboard</h1>
<dl>
<dt>Name</dt><dd>{{ auth.user.display_name }}</dd>
<dt>Email</dt><dd>{{ auth.user.email }}</dd>
<dt>Organization</dt><dd>{{ auth.organization_id or "none" }}</dd>
<dt>Role</dt><dd>{{ auth.role or "none" }}</dd>
<dt>Permissions</dt><dd>{% for p in auth.permissions %}<span class="tag">{{ p }}</span>
{% else %}none{% endfor %}</dd>
</dl>"""

WIDGETS = """<h1>New widget</h1>
<p>You hold <code>widgets:write</code>, so you may create widgets here.</p>"""


def page(title: str, body: str) -> str:
    inner = render_template_string(body, auth=current_auth)
    return render_template_string(LAYOUT, title=title, body=inner, auth=current_auth)


def create_app(**options: Any) -> Flask:
    """The app; ``options`` go to the middleware (any ``AuthKitConfig`` field, ``config``)."""
    app = Flask(__name__)
    app.wsgi_app = AuthKitWSGIMiddleware(app.wsgi_app, **options)  # type: ignore[method-assign]

    @app.get("/")
    def home() -> ResponseReturnValue:
        return page("Home", HOME)

    @app.get("/dashboard")
    @login_required
    def dashboard() -> ResponseReturnValue:
        return page("Dashboard", DASHBOARD)

    @app.get("/api/me")
    @login_required
    def api_me() -> ResponseReturnValue:
        auth = current_auth
        assert auth.user is not None
        return jsonify(
            id=auth.user.id,
            email=auth.user.email,
            name=auth.user.display_name,
            organization_id=auth.organization_id,
            role=auth.role,
            permissions=list(auth.permissions),
        )

    @app.get("/widgets/new")
    @permission_required("widgets:write")
    def new_widget() -> ResponseReturnValue:
        return page("New widget", WIDGETS)

    return app


_app: Flask | None = None


def __getattr__(name: str) -> Any:
    """``app`` is built from the environment on first access (importing is side-effect free)."""
    global _app
    if name == "app":
        if _app is None:
            _app = create_app()
        return _app
    raise AttributeError(name)


if __name__ == "__main__":
    from authkit_middleware.dev import ensure_workos_environment

    port = int(os.environ.get("PORT", "3000"))
    ensure_workos_environment(port=port)
    create_app().run(host="localhost", port=port)
