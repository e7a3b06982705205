"""WSGI entry point: ``gunicorn --chdir examples/django wsgi:application``.

``application`` is built from the ``WORKOS_*`` environment on first access.
"""

from __future__ import annotations

import demo_project  # configures Django; puts examples/ on sys.path for _shared
from _shared.pages import lazy_app

#: ``application`` = ``AuthKitWSGIMiddleware(get_wsgi_application())``, built on first access.
__getattr__ = lazy_app(globals(), demo_project.create_wsgi_app, "application")
