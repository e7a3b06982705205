"""Mount an app under ``/app``: ``AUTHKIT_TEST_TARGET=module:attr`` names it.

``asgi``: a Starlette ``Mount`` (sets ``root_path``); ``wsgi``: werkzeug's
``DispatcherMiddleware`` (sets ``SCRIPT_NAME``). Everything outside ``/app`` is a 404
from the outer app, so a redirect that loses the prefix shows up as a 404.
"""

from __future__ import annotations

import functools
import importlib
import os
from typing import Any

PREFIX = "/app"


def _target() -> Any:
    module, _, attr = os.environ["AUTHKIT_TEST_TARGET"].partition(":")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


@functools.cache
def _build_asgi() -> Any:
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Mount, Route

    async def outside(request: Any) -> PlainTextResponse:
        return PlainTextResponse("outside the mount", status_code=404)

    return Starlette(routes=[Mount(PREFIX, app=_target()), Route("/{rest:path}", outside)])


@functools.cache
def _build_wsgi() -> Any:
    from werkzeug.exceptions import NotFound
    from werkzeug.middleware.dispatcher import DispatcherMiddleware

    return DispatcherMiddleware(NotFound(), {PREFIX: _target()})


def __getattr__(name: str) -> Any:
    # Built on first access, so importing one flavour never needs the other's target.
    if name == "asgi":
        return _build_asgi()
    if name == "wsgi":
        return _build_wsgi()
    raise AttributeError(name)
