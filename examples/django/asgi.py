"""ASGI entry point: ``uvicorn --app-dir examples/django asgi:application``.

``application`` is built from the ``WORKOS_*`` environment on first access.
"""

from __future__ import annotations

from typing import Any

from demo_project import create_asgi_app

from authkit_middleware import AuthKitMiddleware

_application: AuthKitMiddleware | None = None


def __getattr__(name: str) -> Any:
    global _application
    if name == "application":
        if _application is None:
            _application = create_asgi_app()  # AuthKitMiddleware(get_asgi_application())
        return _application
    raise AttributeError(name)
