"""Run an app under a real server, as a subprocess on a free loopback port.

``start_server()`` spawns uvicorn, hypercorn (ASGI), gunicorn or waitress (WSGI) in
its own process group with an environment pointing at an emulator, polls until the
server answers HTTP (bounded), and returns a ``RunningServer`` whose ``stop()``
always ends the whole group (SIGTERM, then SIGKILL). A server that dies or never
answers fails the test with the tail of its log, not a bare timeout.

Also home of the app registry (``TARGETS``: the harness's own apps and, as they
land, the examples in ``examples/<name>/app.py``) and of the httpx helpers both
suites use to sign in against the emulator.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import httpx
from authkit_test_support.processes import free_port, stop_process_group

REPO = Path(__file__).resolve().parents[2]
TESTS = REPO / "tests"
EXAMPLES = REPO / "examples"
ARTIFACTS = REPO / "test-artifacts"

ASGI_SERVERS = ("uvicorn", "hypercorn")
WSGI_SERVERS = ("gunicorn", "waitress")
Kind = Literal["asgi", "wsgi"]

#: 32+ characters, as the config demands (D4); a test value, never a real one.
COOKIE_PASSWORD = "test-only-cookie-password-0123456789abcdef"
#: With a short emulator token lifetime (``EXPIRY_TTL``), refresh happens after ~2 s.
REFRESH_BUFFER = 4
EXPIRY_TTL = 6
MOUNT_PREFIX = "/app"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 5.0


class ServerError(AssertionError):
    """The server under test did not start (or died): the message has its log tail."""


# --------------------------------------------------------------------------- apps


@dataclass(frozen=True)
class AppTarget:
    """An importable app: ``module:attr`` found on ``pythonpath``.

    ``admin_path`` is its permission-guarded route (alice may, bob may not);
    ``user_marker`` is what its protected page shows of the signed-in user.
    """

    name: str
    kind: Kind
    spec: str
    pythonpath: tuple[Path, ...] = ()
    admin_path: str = "/widgets/new"
    example: bool = False
    env: Mapping[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.name


HARNESS_ASGI = AppTarget("harness-asgi", "asgi", "servers.apps.asgi_app:app", (TESTS,))
HARNESS_WSGI = AppTarget("harness-wsgi", "wsgi", "servers.apps.wsgi_app:app", (TESTS,))


def example_targets() -> list[AppTarget]:
    """The examples present in ``examples/`` (an example is skipped until it lands)."""
    found: list[AppTarget] = []
    for name, kind, folder, spec in _EXAMPLES:
        module = spec.partition(":")[0]
        if (EXAMPLES / folder / f"{module}.py").is_file():
            found.append(AppTarget(name, kind, spec, (EXAMPLES / folder,), example=True))
    return found


#: (name, kind, folder in ``examples/``, ``module:attr`` inside that folder).
_EXAMPLES: tuple[tuple[str, Kind, str, str], ...] = (
    ("flask", "wsgi", "flask", "app:app"),
    ("fastapi", "asgi", "fastapi", "app:app"),
    ("starlette", "asgi", "starlette", "app:app"),
    ("django-asgi", "asgi", "django", "asgi:application"),
    ("django-wsgi", "wsgi", "django", "wsgi:application"),
    ("plain_asgi", "asgi", "plain_asgi", "app:app"),
    ("plain_wsgi", "wsgi", "plain_wsgi", "app:app"),
)


def all_targets() -> list[AppTarget]:
    """Examples when they exist; the harness's own apps stand in for a missing kind."""
    examples = example_targets()
    kinds = {t.kind for t in examples}
    own = [t for t in (HARNESS_ASGI, HARNESS_WSGI) if t.kind not in kinds]
    return [*examples, *own]


def representative(kind: Kind) -> AppTarget:
    """The app every server of ``kind`` runs (an example when one exists)."""
    preferred = {"asgi": ("fastapi", "starlette"), "wsgi": ("flask", "plain_wsgi")}[kind]
    by_name = {t.name: t for t in example_targets()}
    for name in preferred:
        if name in by_name:
            return by_name[name]
    return HARNESS_ASGI if kind == "asgi" else HARNESS_WSGI


# --------------------------------------------------------------------------- ports and certs


def self_signed_cert(directory: Path) -> tuple[Path, Path]:
    """A throwaway cert for ``localhost`` and 127.0.0.1: (certfile, keyfile)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    certfile, keyfile = directory / "cert.pem", directory / "key.pem"
    certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return certfile, keyfile


# --------------------------------------------------------------------------- servers


@dataclass(frozen=True)
class TLS:
    certfile: Path
    keyfile: Path


def server_command(
    server: str, spec: str, port: int, *, root_path: str | None = None, tls: TLS | None = None
) -> list[str]:
    """The command line that serves ``spec`` on 127.0.0.1:``port``."""
    py = sys.executable
    if server == "uvicorn":
        cmd = [py, "-m", "uvicorn", spec, "--host", "127.0.0.1", "--port", str(port)]
        cmd += ["--no-access-log", "--log-level", "warning", "--timeout-graceful-shutdown", "1"]
        if root_path:
            cmd += ["--root-path", root_path]
        if tls:
            cmd += ["--ssl-certfile", str(tls.certfile), "--ssl-keyfile", str(tls.keyfile)]
        return cmd
    if tls:
        raise ValueError("only the uvicorn runs serve https here")
    if server == "hypercorn":
        cmd = [py, "-m", "hypercorn", spec, "--bind", f"127.0.0.1:{port}"]
        cmd += ["--log-level", "warning", "--graceful-timeout", "1"]
        return cmd + (["--root-path", root_path] if root_path else [])
    if root_path:
        raise ValueError("mount WSGI apps with DispatcherMiddleware (servers.apps.load)")
    if server == "gunicorn":
        cmd = [py, "-m", "gunicorn", spec, "--bind", f"127.0.0.1:{port}", "--workers", "1"]
        return [*cmd, "--log-level", "warning", "--graceful-timeout", "1", "--timeout", "30"]
    if server == "waitress":
        return [py, "-m", "waitress", f"--listen=127.0.0.1:{port}", "--threads=4", spec]
    raise ValueError(f"unknown server {server!r}")


def app_environment(
    emulator_env: Mapping[str, str],
    redirect_uri: str,
    *,
    pythonpath: tuple[Path, ...] = (),
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The subprocess environment: ours minus any ``WORKOS_*``, plus the emulator's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKOS_")}
    for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        env.pop(proxy, None)
    env.update(
        {
            "NO_PROXY": "127.0.0.1,localhost,::1",
            "no_proxy": "127.0.0.1,localhost,::1",
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            # The app's folder, ours (servers.apps), this checkout, then what we were given.
            "PYTHONPATH": os.pathsep.join(
                [*(str(p) for p in (*pythonpath, TESTS, REPO)), *_inherited_pythonpath()]
            ),
            **emulator_env,
            "WORKOS_REDIRECT_URI": redirect_uri,
            "WORKOS_COOKIE_PASSWORD": COOKIE_PASSWORD,
            "WORKOS_REFRESH_BUFFER_SECONDS": str(REFRESH_BUFFER),
        }
    )
    env.update(extra or {})
    return env


def _inherited_pythonpath() -> list[str]:
    return [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]


@dataclass
class RunningServer:
    """A server subprocess: ``url(path)`` includes the mount prefix."""

    name: str
    target: AppTarget
    process: subprocess.Popen[bytes]
    port: int
    origin: str
    prefix: str
    log_path: Path
    _log: object = None

    def url(self, path: str = "/") -> str:
        return f"{self.origin}{self.prefix}{path}"

    @property
    def redirect_uri(self) -> str:
        return self.url("/callback")

    def log_tail(self, limit: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-limit:]
        except OSError:
            return ""

    def assert_alive(self) -> None:
        if self.process.poll() is not None:
            raise ServerError(f"{self.name} exited ({self.process.returncode}):\n{self.log_tail()}")

    def stop(self) -> None:
        """End the server's whole process group (gunicorn's worker too). Idempotent."""
        proc = self.process
        if proc.poll() is None:
            stop_process_group(proc, STOP_TIMEOUT)
        else:
            # The leader is gone; a straggler of its group (a worker) must not outlive it.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
        log = self._log
        if log is not None:
            log.close()  # type: ignore[attr-defined]
            self._log = None


def start_server(
    server: str,
    target: AppTarget,
    emulator_env: Mapping[str, str],
    *,
    mounted: bool = False,
    tls: TLS | None = None,
    host: str = "127.0.0.1",
    log_dir: Path | None = None,
    extra_env: Mapping[str, str] | None = None,
    attempts: int = 3,
    direct: bool = False,
) -> RunningServer:
    """Start ``target`` under ``server`` and wait until it answers (see module doc).

    ``host`` is the name clients use (``localhost`` for the https run: the cert's
    name); the server always binds 127.0.0.1. ``mounted`` serves the app under
    ``/app`` (Starlette ``Mount`` / werkzeug ``DispatcherMiddleware``). ``direct``
    hands hypercorn the target's own ``module:attr`` (see ``servers.apps.load``).
    """
    spec = target.spec
    extra = dict(target.env)
    prefix = MOUNT_PREFIX if mounted else ""
    if mounted or (server == "hypercorn" and not direct):
        # Through servers.apps.load: it mounts, and gives hypercorn a plain attribute.
        spec = "servers.apps.load:app"
        extra.update(AUTHKIT_TEST_TARGET=target.spec, AUTHKIT_TEST_KIND=target.kind)
        extra["AUTHKIT_TEST_MOUNT"] = prefix
    extra.update(extra_env or {})
    scheme = "https" if tls else "http"
    last: Exception | None = None
    for _ in range(attempts):
        port = free_port()
        origin = f"{scheme}://{host}:{port}"
        env = app_environment(
            emulator_env,
            f"{origin}{prefix}/callback",
            pythonpath=target.pythonpath,
            extra=extra,
        )
        log_fd, log_name = tempfile.mkstemp(
            prefix=f"{server}-{target.name}-", suffix=".log", dir=log_dir
        )
        log = os.fdopen(log_fd, "wb")
        process = subprocess.Popen(
            server_command(server, spec, port, tls=tls),
            cwd=str(target.pythonpath[0]) if target.pythonpath else str(REPO),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop() ends all of it
        )
        running = RunningServer(
            f"{server}[{target.name}]", target, process, port, origin, prefix, Path(log_name), log
        )
        try:
            _wait_ready(running)
            return running
        except ServerError as exc:
            running.stop()
            last = exc
            if "address already in use" not in running.log_tail().lower():
                raise
    raise ServerError(f"{server} could not bind a port: {last}")


def _wait_ready(running: RunningServer, timeout: float = START_TIMEOUT) -> None:
    """Poll until any HTTP answer (bounded in time and count)."""
    deadline = time.monotonic() + timeout
    with httpx.Client(verify=False, timeout=2.0, trust_env=False) as client:
        for _ in range(int(timeout / 0.05) + 1):
            running.assert_alive()
            try:
                client.get(running.origin + "/")
                return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
    running.stop()
    raise ServerError(f"{running.name} did not answer in {timeout:.0f}s:\n{running.log_tail()}")


@contextlib.contextmanager
def serving(
    server: str, target: AppTarget, emulator_env: Mapping[str, str], **kw: object
) -> Iterator[RunningServer]:
    running = start_server(server, target, emulator_env, **kw)  # type: ignore[arg-type]
    try:
        yield running
    finally:
        running.stop()


# --------------------------------------------------------------------------- httpx helpers

HTML = {"accept": "text/html,application/xhtml+xml"}
JSON = {"accept": "application/json"}


def client(**kw: object) -> httpx.Client:
    """A loopback httpx client that navigates like a browser (Accept: text/html)."""
    options: dict[str, object] = {
        "timeout": 10.0,
        "trust_env": False,
        "headers": HTML,
        "max_redirects": 10,
    }
    options.update(kw)
    return httpx.Client(**options)  # type: ignore[arg-type]


def sign_in(
    http: httpx.Client, running: RunningServer, path: str, user: str | None = None
) -> httpx.Response:
    """Sign in with the emulator in auto-login mode and land on ``path``.

    Without ``user``: ask for ``path`` signed out and follow everything (the
    emulator signs in its first user). With ``user``: start at ``/login`` with a
    ``login_hint`` so the emulator signs in that user.
    """
    if user is None:
        return http.get(running.url(path), follow_redirects=True, headers=HTML)
    params = {"returnTo": path, "login_hint": user}
    return http.get(running.url("/login"), params=params, follow_redirects=True, headers=HTML)


def session_cookies(http: httpx.Client, name: str = "wos-session") -> list[str]:
    return [c.name for c in http.cookies.jar if c.name == name or c.name.startswith(name + ".")]


def verifier_cookies(http: httpx.Client) -> list[str]:
    return [c.name for c in http.cookies.jar if c.name.startswith("wos-auth-verifier")]
