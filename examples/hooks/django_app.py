"""Django (one file): the hooks are middleware options, so settings stay untouched.

python examples/hooks/django_app.py      # http://localhost:3000 (emulator if no WORKOS_*)
"""

from __future__ import annotations

from typing import Any

import django
from django.conf import settings

#: This app's settings (the test suite applies them with ``override_settings`` when
#: another Django app configured the process first).
SETTINGS: dict[str, Any] = dict(
    DEBUG=False,
    SECRET_KEY="example-only-not-secret",
    ALLOWED_HOSTS=["localhost", "127.0.0.1", "testserver"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=[],
)

if not settings.configured:
    settings.configure(**SETTINGS)
    django.setup()

from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.urls import path  # noqa: E402
from userstore import options  # noqa: E402

from authkit_middleware import AuthKitWSGIMiddleware  # noqa: E402


def page(request: HttpRequest) -> HttpResponse:
    user = request.environ["authkit"].user  # type: ignore[attr-defined]
    who = user.email if user else "nobody"
    return HttpResponse(f"<h1>{request.path}</h1><p>Signed in as {who}</p>")


urlpatterns = [path("", page), path("onboarding", page), path("dashboard", page)]


def create_app(**overrides: Any) -> AuthKitWSGIMiddleware:
    from django.core.wsgi import get_wsgi_application

    return AuthKitWSGIMiddleware(get_wsgi_application(), **options(**overrides))


if __name__ == "__main__":
    from wsgiref.simple_server import make_server

    from authkit_middleware.dev import ensure_workos_environment

    ensure_workos_environment(port=3000)
    make_server("localhost", 3000, create_app()).serve_forever()
