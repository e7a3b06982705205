"""Serving an emulator on loopback in a background thread.

Werkzeug's threaded server (HTTP/1.1 keep-alive, one daemon thread per
connection), with three changes that tests need: the socket is bound by us so a
bind failure raises ``OSError`` instead of ``sys.exit``; logging is silent; and
``stop()`` also closes idle keep-alive connections, so no handler thread waits
for a client that will never send another request.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import TYPE_CHECKING, Any

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

if TYPE_CHECKING:
    from types import TracebackType

    import workos

    from authkit_middleware.emulator.emulator import Emulator


class _QuietHandler(WSGIRequestHandler):
    """No access log: a test run should not print a line per request."""

    protocol_version = "HTTP/1.1"

    def log(self, type: str, message: str, *args: Any) -> None:
        return None

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


class _Server(ThreadedWSGIServer):
    block_on_close = False
    daemon_threads = True
    request_queue_size = 256

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


def _bind(host: str, port: int) -> socket.socket:
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(256)
    except BaseException:
        sock.close()
        raise
    return sock


class EmulatorServer:
    """A running emulator. ``base_url`` is ``http://127.0.0.1:PORT``.

    Also the object the ``authkit_emulator`` fixture yields: ``.emulator``,
    ``.client_id``, ``.api_key``, ``.env()``, ``.workos_client()`` and
    ``.async_workos_client()``.
    """

    def __init__(self, emulator: Emulator, host: str = "127.0.0.1", port: int = 0) -> None:
        self.emulator = emulator
        listener = _bind(host, port)
        try:
            self._server = _Server(
                host, port, emulator.wsgi_app, handler=_QuietHandler, fd=listener.fileno()
            )
        finally:
            listener.close()  # werkzeug holds its own duplicate of the descriptor
        self.host = host
        self.port: int = self._server.socket.getsockname()[1]
        shown = f"[{host}]" if ":" in host else host
        self.base_url = f"http://{shown}:{self.port}"
        emulator.base_url = self.base_url
        emulator.stopping.clear()
        self._sync_clients: list[workos.WorkOSClient] = []
        self._stopped = False
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"authkit-emulator-{self.port}",
            daemon=True,
        )
        self._thread.start()

    @property
    def client_id(self) -> str:
        return self.emulator.client_id

    @property
    def api_key(self) -> str:
        return self.emulator.api_key

    def env(self) -> dict[str, str]:
        """The environment an app needs to use this emulator."""
        return {
            "WORKOS_BASE_URL": self.base_url,
            "WORKOS_API_KEY": self.api_key,
            "WORKOS_CLIENT_ID": self.client_id,
        }

    def workos_client(self, **kwargs: Any) -> workos.WorkOSClient:
        """A real sync SDK client pointed here (``max_retries=0`` unless given).

        Closed when the server stops.
        """
        from workos import WorkOSClient

        options: dict[str, Any] = {
            "api_key": self.api_key,
            "client_id": self.client_id,
            "base_url": self.base_url,
            "max_retries": 0,
            "request_timeout": 10,
            **kwargs,
        }
        client = WorkOSClient(**options)
        self._sync_clients.append(client)
        return client

    def async_workos_client(self, **kwargs: Any) -> workos.AsyncWorkOSClient:
        """A real async SDK client pointed here (``max_retries=0`` unless given)."""
        from workos import AsyncWorkOSClient

        options: dict[str, Any] = {
            "api_key": self.api_key,
            "client_id": self.client_id,
            "base_url": self.base_url,
            "max_retries": 0,
            "request_timeout": 10,
            **kwargs,
        }
        return AsyncWorkOSClient(**options)

    def stop(self) -> None:
        """Stop serving, close connections and the SDK clients it made. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        self.emulator.stopping.set()  # wakes handlers sleeping on injected latency
        self._server.shutdown()
        self._server.server_close()
        self._server.close_connections()
        self._thread.join(timeout=5)
        for client in self._sync_clients:
            client.close()
        self._sync_clients.clear()

    def __enter__(self) -> EmulatorServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"EmulatorServer(base_url={self.base_url!r}, client_id={self.client_id!r})"
