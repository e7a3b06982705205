"""Ports and subprocesses: a free loopback port, stopping a process group, and a
private ``redis-server``.

Imports no sibling module: ``tests/concurrency/storm.py`` is also imported outside
pytest (``benchmarks/refresh_storm.py``), where this module is reached as
``tests.support.authkit_test_support.processes``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import TypeVar

import pytest

#: How long a stopped process group gets after SIGTERM, then after SIGKILL (s).
STOP_TIMEOUT = 5.0
#: How long ``redis-server`` gets to answer its first PING (s).
REDIS_START_TIMEOUT = 10.0

_Redis = TypeVar("_Redis", bound="RedisProcess")


def free_port() -> int:
    """A loopback port nothing listened on a moment ago (nor listens on now, unless
    someone took it since: a caller that binds it retries)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop_process_group(proc: subprocess.Popen[bytes], timeout: float = STOP_TIMEOUT) -> None:
    """End a running process started with ``start_new_session=True``, and its whole
    group: SIGTERM, then SIGKILL after ``timeout`` seconds. A process that already
    exited is left alone."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout)


class RedisProcess:
    """``redis-server`` on 127.0.0.1:``port``, no persistence, in its own process group.

    ``password`` sets ``--requirepass`` (then a PING is answered ``-NOAUTH``, which is
    what :meth:`start` waits for); ``unix_socket`` also listens on that path (and
    :meth:`start` waits until it exists). The caller finds the binary, since what a
    missing one means (a failure, or a skip outside CI) differs between suites.
    """

    def __init__(
        self,
        binary: str,
        port: int | None = None,
        *,
        password: str | None = None,
        unix_socket: Path | None = None,
    ) -> None:
        self.binary = binary
        self.port = free_port() if port is None else port
        self.password = password
        self.unix_socket = unix_socket
        self.proc: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        """The ``redis-server`` command line."""
        cmd = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1"]
        if self.unix_socket is not None:
            cmd += ["--unixsocket", str(self.unix_socket)]
        if self.password is not None:
            cmd += ["--requirepass", self.password]
        return [
            *cmd,
            *("--save", ""),
            *("--appendonly", "no"),
            *("--daemonize", "no"),
            *("--loglevel", "warning"),
        ]

    def start(self) -> None:
        """Start it and wait (bounded) until it answers; fail the test if it exits or
        does not answer in time (it is stopped first)."""
        self.proc = subprocess.Popen(
            self.command(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + REDIS_START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"redis-server exited with {self.proc.returncode}", pytrace=False)
            if self._answers():
                return
            time.sleep(0.05)
        self.stop()
        pytest.fail(
            f"redis-server did not answer PING within {REDIS_START_TIMEOUT:g} s", pytrace=False
        )

    def _answers(self) -> bool:
        """Up: PING answered (``+PONG``, or ``-NOAUTH`` with a password), socket made."""
        expected = b"+PONG" if self.password is None else b"-NOAUTH"
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                conn.sendall(b"PING\r\n")
                if not conn.recv(64).startswith(expected):
                    return False
        except OSError:
            return False
        return self.unix_socket is None or self.unix_socket.exists()

    def stop(self) -> None:
        """Stop its process group. Idempotent."""
        if self.proc is not None:
            stop_process_group(self.proc)
            self.proc = None

    def __enter__(self: _Redis) -> _Redis:
        """``with RedisProcess(...) as redis:`` starts it, and stops it at the end."""
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def flush(self) -> None:
        """``FLUSHALL`` (without a password only)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as conn:
            conn.sendall(b"FLUSHALL\r\n")
            conn.recv(16)
