"""A one-file Django project (settings, URLs and views) behind AuthKit.

Entry points, each one line around Django's own:

- ``asgi.py``: ``application = AuthKitMiddleware(get_asgi_application())``
- ``wsgi.py``: ``application = AuthKitWSGIMiddleware(get_wsgi_application())``

Views use :mod:`authkit_middleware.integrations.django` (``login_required``,
``permission_required``, ``get_auth``); templates get ``auth`` from its context
processor. Importing this module configures Django's settings (once per process,
only if nothing configured them before) and nothing else.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path
from typing import Any

import django
from django.conf import settings

BASE_DIR = Path(__file__).resolve().parent
#: examples/: ``_shared`` (the look all the examples share) is imported from there.
EXAMPLES = BASE_DIR.parent
if str(EXAMPLES) not in sys.path:
    sys.path.append(str(EXAMPLES))

#: This project's settings (also applied by the test suite with ``override_settings``
#: when another Django app configured the process first).
SETTINGS: dict[str, Any] = dict(
    DEBUG=os.environ.get("DJANGO_DEBUG", "") == "1",
    SECRET_KEY=os.environ.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(50),
    ALLOWED_HOSTS=["localhost", "127.0.0.1", "[::1]", "testserver"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=[],
    MIDDLEWARE=["django.middleware.security.SecurityMiddleware"],
    TEMPLATES=[
        {
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "DIRS": [BASE_DIR / "templates", EXAMPLES / "_shared"],  # + style.css
            "OPTIONS": {
                "context_processors": ["authkit_middleware.integrations.django.authkit"],
            },
        }
    ],
    USE_TZ=True,
)

if not settings.configured:
    settings.configure(**SETTINGS)
    django.setup()

from _shared.pages import profile  # noqa: E402
from django.http import HttpRequest, HttpResponse, JsonResponse  # noqa: E402
from django.shortcuts import render  # noqa: E402
from django.urls import path  # noqa: E402

from authkit_middleware import AuthKitMiddleware, AuthKitWSGIMiddleware  # noqa: E402
from authkit_middleware.integrations.django import (  # noqa: E402
    get_auth,
    login_required,
    permission_required,
)


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html")


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "dashboard.html")


@login_required
def api_me(request: HttpRequest) -> HttpResponse:
    return JsonResponse(profile(get_auth(request)))


@permission_required("widgets:write")
def new_widget(request: HttpRequest) -> HttpResponse:
    return render(request, "widgets.html")


urlpatterns = [
    path("", home),
    path("dashboard", dashboard),
    path("api/me", api_me),
    path("widgets/new", new_widget),
]


def create_asgi_app(**options: Any) -> AuthKitMiddleware:
    """Django's ASGI app behind AuthKit; ``options`` go to the middleware."""
    from django.core.asgi import get_asgi_application

    return AuthKitMiddleware(get_asgi_application(), **options)


def create_wsgi_app(**options: Any) -> AuthKitWSGIMiddleware:
    """Django's WSGI app behind AuthKit; ``options`` go to the middleware."""
    from django.core.wsgi import get_wsgi_application

    return AuthKitWSGIMiddleware(get_wsgi_application(), **options)
