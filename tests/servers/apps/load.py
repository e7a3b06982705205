"""Serve the app named by ``AUTHKIT_TEST_TARGET`` (``module:attr``), maybe mounted.

Two jobs for the harness:

- **hypercorn** finds an app with ``eval(attr, vars(module))``, which misses a
  module ``__getattr__`` (PEP 562): the examples build ``app`` lazily that way, so
  under hypercorn they are served through this module's plain ``app`` attribute.
- **mounting** (``AUTHKIT_TEST_MOUNT=/app``): ASGI apps go under a Starlette
  ``Mount`` (sets ``root_path``), WSGI apps under werkzeug's
  ``DispatcherMiddleware`` (sets ``SCRIPT_NAME``); everything outside the prefix
  is a 404, so a redirect that loses the prefix shows up as one.
"""

from __future__ import annotations

import importlib
import os
from typing import Any


def _target() -> Any:
    module, _, attr = os.environ["AUTHKIT_TEST_TARGET"].partition(":")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)  # getattr does consult a module __getattr__
    return obj


def _mount_asgi(prefix: str, inner: Any) -> Any:
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Mount, Route

    async def outside(request: Any) -> PlainTextResponse:
        return PlainTextResponse("outside the mount", status_code=404)

    return Starlette(routes=[Mount(prefix, app=inner), Route("/{rest:path}", outside)])


def _mount_wsgi(prefix: str, inner: Any) -> Any:
    from werkzeug.exceptions import NotFound
    from werkzeug.middleware.dispatcher import DispatcherMiddleware

    return DispatcherMiddleware(NotFound(), {prefix: inner})


def _build() -> Any:
    inner = _target()
    prefix = os.environ.get("AUTHKIT_TEST_MOUNT", "")
    if not prefix:
        return inner
    if os.environ.get("AUTHKIT_TEST_KIND") == "wsgi":
        return _mount_wsgi(prefix, inner)
    return _mount_asgi(prefix, inner)


app = _build()
