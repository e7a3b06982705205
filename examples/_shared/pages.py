"""The look every example shares, so that each example's own file is its framework's
routes and the one line wrapping the app, nothing more.

- :class:`Pages`: the page frame (stylesheet, nav with *Sign in* / *Sign out*) and the
  bodies of ``/`` (home), ``/dashboard`` and ``/widgets/new``, as HTML strings.
- :func:`profile`: what ``/api/me`` answers (JSON-ready).
- :func:`lazy_app`: a module ``__getattr__`` building ``app`` on first access, so that
  importing an example reads no environment and starts nothing.

f-strings and :func:`html.escape`, no template engine, so that any framework can send
the result (the Django example keeps its templates and includes ``style.css``).
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from pathlib import Path
from typing import Any

from authkit_middleware import Auth

__all__ = ["STYLE", "Pages", "lazy_app", "profile"]

#: The stylesheet (``style.css`` beside this module; Django's ``base.html`` includes it).
STYLE = Path(__file__).with_name("style.css").read_text(encoding="utf-8")


class Pages:
    """The examples' HTML for one framework: ``Pages("Flask")`` brands it "AuthKit + Flask"."""

    def __init__(self, framework: str) -> None:
        self.brand = f"AuthKit + {framework}"

    def page(self, title: str, body: str, auth: Auth) -> str:
        """A whole document: ``body`` (trusted HTML) in the shared frame and nav."""
        account = (
            '<form method="post" action="/logout"><button type="submit">Sign out</button></form>'
            if auth.is_authenticated
            else '<a class="button" href="/login">Sign in</a>'
        )
        return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)} · {escape(self.brand)}</title><style>{STYLE}</style></head>
<body><header><nav><span class="brand">{escape(self.brand)}</span>
<a href="/">Home</a><a href="/dashboard">Dashboard</a><a href="/api/me">/api/me</a>
<a href="/widgets/new">Widgets</a>{account}</nav></header>
<main><section>{body}</section></main></body></html>"""

    def home(self, auth: Auth) -> str:
        """``/``: public; offers sign-in and sign-up, or the dashboard once signed in."""
        if auth.user is not None:
            body = (
                f"<h1>Welcome</h1><p>Signed in as <strong>{escape(auth.user.display_name)}"
                '</strong>.</p><p><a class="button" href="/dashboard">Open the dashboard</a></p>'
            )
        else:
            body = (
                "<h1>Welcome</h1><p>This page is public. The dashboard needs you to sign in.</p>"
                '<p><a class="button" href="/login">Sign in</a> '
                '<a class="button secondary" href="/signup">Create an account</a></p>'
            )
        return self.page("Home", body, auth)

    def dashboard(self, auth: Auth) -> str:
        """``/dashboard``: who is signed in, in which organization, with which rights.

        The session carries the organization's id, not its name (that would take a
        WorkOS API call per page), so the id is shown, labelled as such.
        """
        user = auth.user
        assert user is not None  # only signed-in requests reach the dashboard
        tags = "".join(f'<span class="tag">{escape(p)}</span>' for p in auth.permissions)
        body = f"""<h1>Dashboard</h1><dl>
<dt>Name</dt><dd>{escape(user.display_name)}</dd>
<dt>Email</dt><dd>{escape(user.email or "")}</dd>
<dt>Organization ID</dt><dd>{escape(auth.organization_id or "none")}</dd>
<dt>Role</dt><dd>{escape(auth.role or "none")}</dd>
<dt>Permissions</dt><dd>{tags or "none"}</dd></dl>"""
        return self.page("Dashboard", body, auth)

    def new_widget(self, auth: Auth) -> str:
        """``/widgets/new``: reached only with the ``widgets:write`` permission."""
        body = (
            "<h1>New widget</h1><p>You hold <code>widgets:write</code>, "
            "so you may create widgets here.</p>"
        )
        return self.page("New widget", body, auth)


def profile(auth: Auth) -> dict[str, Any]:
    """``/api/me``: the signed-in user, organization id, role and permissions."""
    assert auth.user is not None  # only signed-in requests reach /api/me
    return {
        "id": auth.user.id,
        "email": auth.user.email,
        "name": auth.user.display_name,
        "organization_id": auth.organization_id,
        "role": auth.role,
        "permissions": list(auth.permissions),
    }


def lazy_app(
    namespace: dict[str, Any], build: Callable[[], object], name: str = "app"
) -> Callable[[str], Any]:
    """A module ``__getattr__`` (PEP 562) that builds ``name`` with ``build()`` on first
    access and keeps it in the module's ``_<name>`` (``None`` until then)::

        __getattr__ = lazy_app(globals(), create_app)   # module.app, built once

    ``uvicorn app:app`` and friends then read the ``WORKOS_*`` environment only when
    they ask for the app, and tests can reset ``_app`` to build it again.
    """
    cache = f"_{name}"
    namespace.setdefault(cache, None)

    def __getattr__(attribute: str) -> Any:
        if attribute != name:
            raise AttributeError(attribute)
        if namespace[cache] is None:
            namespace[cache] = build()
        return namespace[cache]

    return __getattr__
