"""A middleware pointed at an emulator, its session cookies, and plain WSGI requests."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from authkit_middleware.core.engine import AuthKit
from authkit_middleware.core.session import TokenResponse, encode_session
from authkit_middleware.emulator.server import EmulatorServer

#: The app's origin in the tests (never served: the apps run in-process).
ORIGIN = "http://localhost:3000"
REDIRECT_URI = f"{ORIGIN}/callback"

WSGIApp = Callable[[dict[str, Any], Any], Iterable[bytes]]


def emulator_settings(
    server: EmulatorServer, *, cookie_password: Any, **options: Any
) -> dict[str, Any]:
    """Middleware settings (``AuthKitConfig`` keywords) for ``server``: its API key,
    client id and base URL, ``redirect_uri`` :data:`REDIRECT_URI`, ``cookie_password``,
    then ``options`` (which may replace any of these)."""
    return {
        "api_key": server.api_key,
        "client_id": server.client_id,
        "base_url": server.base_url,
        "redirect_uri": REDIRECT_URI,
        "cookie_password": cookie_password,
        **options,
    }


def seal_session(kit: AuthKit, tokens: Mapping[str, Any]) -> str:
    """A session cookie's value for ``tokens`` (an authenticate response, such as
    ``Emulator.issue_session`` returns), sealed by ``kit`` as its callback would but
    without a token attestation (as WorkOS's JavaScript libraries seal it), so its
    first sight runs the RS256 check; ``kit.seal_session`` makes an attested one."""
    session = TokenResponse.from_dict(dict(tokens)).to_session()
    return str(kit.sealer.seal(encode_session(session, camel=True), purpose="session"))


def in_or_out_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """A WSGI app behind the middleware: ``200 in`` when signed in, ``200 out`` if not."""
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"in" if environ["authkit"].is_authenticated else b"out"]


@dataclass(frozen=True)
class WSGIAnswer:
    """What a WSGI app answered: the status line, headers and the joined body."""

    status: str
    headers: list[tuple[str, str]]
    body: bytes

    @property
    def set_cookies(self) -> list[str]:
        """The ``Set-Cookie`` header values, in order."""
        return [value for name, value in self.headers if name.lower() == "set-cookie"]


def get_environ(path: str, *, cookie: str | None = None, **extra: str) -> dict[str, Any]:
    """A WSGI environ of a ``GET path`` that accepts JSON, with no query string and no
    ``SCRIPT_NAME``; ``cookie`` is the whole ``Cookie`` header, ``extra`` more keys
    (``HTTP_ORIGIN=...``)."""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "HTTP_ACCEPT": "application/json",
        **extra,
    }
    if cookie is not None:
        environ["HTTP_COOKIE"] = cookie
    return environ


def call_wsgi(app: WSGIApp, environ: dict[str, Any]) -> WSGIAnswer:
    """Call ``app`` once and join its body (its iterable is not closed); the status and
    headers are those of the first ``start_response`` call."""
    seen: list[tuple[str, list[tuple[str, str]]]] = []

    def start_response(status: str, headers: Any, exc_info: Any = None) -> None:
        seen.append((status, list(headers)))

    body = b"".join(app(environ, start_response))
    status, headers = seen[0]
    return WSGIAnswer(status, headers, body)
