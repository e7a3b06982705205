"""ASGI entry point: ``uvicorn --app-dir examples/django asgi:application``.

``application`` is built from the ``WORKOS_*`` environment on first access.
"""

from __future__ import annotations

import demo_project  # configures Django; puts examples/ on sys.path for _shared
from _shared.pages import lazy_app

#: ``application`` = ``AuthKitMiddleware(get_asgi_application())``, built on first access.
__getattr__ = lazy_app(globals(), demo_project.create_asgi_app, "application")
