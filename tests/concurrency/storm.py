"""Helpers of the concurrency suite: a real redis-server, app servers, storms.

Every process started here is in its own process group and is stopped (SIGTERM, then
SIGKILL) by the fixture that started it; every wait is bounded.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

try:
    from authkit_test_support.processes import RedisProcess, free_port, stop_process_group
except ModuleNotFoundError:  # imported outside pytest, by benchmarks/refresh_storm.py
    from tests.support.authkit_test_support.processes import (
        RedisProcess,
        free_port,
        stop_process_group,
    )

from authkit_middleware.core.seal import Sealer
from authkit_middleware.core.session import TokenResponse, encode_session
from authkit_middleware.emulator import Emulator

REPO = Path(__file__).resolve().parents[2]
COOKIE_NAME = "wos-session"
#: A test value (32+ characters, as the config demands), never a real one.
COOKIE_PASSWORD = "concurrency-suite-cookie-password-0123456789"
REDIRECT_URI = "http://localhost:3000/callback"
#: Injected on every refresh call so the storm's requests truly overlap.
REFRESH_LATENCY = 0.2
START_TIMEOUT = 30.0
STOP_TIMEOUT = 5.0
STORM_TIMEOUT = 30.0


# --------------------------------------------------------------------------- redis


class RedisServer(RedisProcess):
    """``redis-server`` on a free loopback port, no persistence; a missing binary fails
    the test (the concurrency suite needs a real Redis)."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail(
                "redis-server is not installed: the concurrency suite needs a real Redis "
                "(apt-get install -y redis-server; .ci/run installs it)",
                pytrace=False,
            )
        super().__init__(binary)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


# --------------------------------------------------------------------------- app servers


@dataclass
class AppServer:
    """An app server subprocess (a whole process group) on a loopback port."""

    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Any
    workers: int
    ready_dir: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read().decode("utf-8", "replace")[-3000:]

    def stop(self) -> None:
        try:
            stop_process_group(self.proc, STOP_TIMEOUT)
        finally:
            self.log.close()
            shutil.rmtree(self.ready_dir, ignore_errors=True)


def start_app_server(
    server: str,
    emulator_env: Mapping[str, str],
    *,
    workers: int,
    redis_url: str | None,
) -> AppServer:
    """Start uvicorn (ASGI) or gunicorn gthread (WSGI) with ``workers`` workers."""
    port = free_port()
    ready_dir = tempfile.mkdtemp(prefix="storm-ready-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKOS_")}
    env.update(emulator_env)
    env.update(
        {
            "WORKOS_COOKIE_PASSWORD": COOKIE_PASSWORD,
            "WORKOS_REDIRECT_URI": REDIRECT_URI,
            "STORM_READY_DIR": ready_dir,
            "PYTHONPATH": str(REPO),
            "NO_PROXY": "127.0.0.1,localhost",
        }
    )
    if redis_url:
        env["WORKOS_REDIS_URL"] = redis_url
    py = sys.executable
    if server == "uvicorn":
        cmd = [
            py,
            "-m",
            "uvicorn",
            "tests.concurrency.apps.storm_app:asgi_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
            "--timeout-graceful-shutdown",
            "1",
        ]
        if workers > 1:
            cmd += ["--workers", str(workers)]
    elif server == "gunicorn":
        cmd = [
            py,
            "-m",
            "gunicorn",
            "tests.concurrency.apps.storm_app:wsgi_app",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--worker-class",
            "gthread",
            "--threads",
            "16",
            "--log-level",
            "warning",
            "--graceful-timeout",
            "1",
            "--timeout",
            "30",
        ]
    else:
        raise ValueError(server)
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed by AppServer.stop()
    proc = subprocess.Popen(
        cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    app = AppServer(f"{server}x{workers}", port, proc, log, workers, ready_dir)
    try:
        _wait_ready(app)
    except BaseException:
        app.stop()
        raise
    return app


def _wait_ready(app: AppServer) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    with httpx.Client(timeout=1.0, trust_env=False) as client:
        while time.monotonic() < deadline:
            if app.proc.poll() is not None:
                pytest.fail(f"{app.name} exited early:\n{app.log_tail()}", pytrace=False)
            if len(os.listdir(app.ready_dir)) >= app.workers:
                try:
                    if client.get(f"{app.url}/pid").status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
            time.sleep(0.1)
    pytest.fail(f"{app.name} not ready in {START_TIMEOUT} s:\n{app.log_tail()}", pytrace=False)


# --------------------------------------------------------------------------- sessions


def expired_session_cookie(emulator: Emulator, email: str = "alice@example.com") -> str:
    """A real session whose access token has expired (1 s lifetime, then waited out)."""
    emulator.set_access_token_ttl(1)
    try:
        data = emulator.issue_session(email)
    finally:
        emulator.set_access_token_ttl(3600)
    session = TokenResponse.from_dict(data).to_session()
    value = Sealer([COOKIE_PASSWORD]).seal(encode_session(session, camel=True))
    time.sleep(1.1)  # the access token is now expired (the app runs with no leeway)
    return value


def slow_refreshes(emulator: Emulator, latency: float = REFRESH_LATENCY) -> None:
    emulator.inject_failure(
        "/user_management/authenticate",
        grant_type="refresh_token",
        status=None,
        latency=latency,
        count=None,
    )


# --------------------------------------------------------------------------- storms


@dataclass
class Answer:
    url: str
    status: int
    body: Any
    set_cookies: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def new_cookie(self) -> str | None:
        for c in self.set_cookies:
            name, _, rest = c.partition("=")
            if name == COOKIE_NAME and "Max-Age=0" not in rest:
                return rest.split(";", 1)[0]
        return None

    @property
    def deletes(self) -> bool:
        return any(c.startswith(COOKIE_NAME) and "Max-Age=0" in c for c in self.set_cookies)


async def _storm(urls: Sequence[str], cookie: str) -> list[Answer]:
    limits = httpx.Limits(max_connections=len(urls) + 8, max_keepalive_connections=0)
    headers = {"cookie": f"{COOKIE_NAME}={cookie}", "accept": "application/json"}
    async with httpx.AsyncClient(timeout=STORM_TIMEOUT, limits=limits, trust_env=False) as client:
        gate = asyncio.Event()

        async def one(url: str) -> Answer:
            await gate.wait()
            started = time.perf_counter()
            r = await client.get(url, headers=headers)
            try:
                body = r.json()
            except ValueError:
                body = r.text
            return Answer(
                url,
                r.status_code,
                body,
                r.headers.get_list("set-cookie"),
                time.perf_counter() - started,
            )

        tasks = [asyncio.ensure_future(one(u)) for u in urls]
        await asyncio.sleep(0)
        gate.set()
        return await asyncio.wait_for(asyncio.gather(*tasks), STORM_TIMEOUT)


def storm(urls: Sequence[str], cookie: str) -> list[Answer]:
    """GET every URL at once with the same session cookie (bounded: STORM_TIMEOUT)."""
    return asyncio.run(_storm(urls, cookie))


def get(url: str, cookie: str) -> Answer:
    return storm([url], cookie)[0]
