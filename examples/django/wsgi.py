"""WSGI entry point: ``gunicorn --chdir examples/django wsgi:application``.

``application`` is built from the ``WORKOS_*`` environment on first access.
"""

from __future__ import annotations

from typing import Any

from demo_project import create_wsgi_app

from authkit_middleware import AuthKitWSGIMiddleware

_application: AuthKitWSGIMiddleware | None = None


def __getattr__(name: str) -> Any:
    global _application
    if name == "application":
        if _application is None:
            _application = create_wsgi_app()  # AuthKitWSGIMiddleware(get_wsgi_application())
        return _application
    raise AttributeError(name)
