"""The test helpers against an emulator running in another process (``RemoteEmulator``).

One ``authkit-middleware emulator`` subprocess (its own process group, killed at the
end) serves the module; each test resets it. The apps under test run here, with
their middleware pointed at the subprocess, so every refresh goes through it.
"""

from __future__ import annotations

import http.server
import os
import queue
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from helpers_apps import config_for, flask_app, starlette_app
from starlette.testclient import TestClient

from authkit_middleware import AuthKitConfig, AuthKitMiddleware, AuthKitWSGIMiddleware
from authkit_middleware.emulator import Emulator
from authkit_middleware.emulator.control import issue_expired_session
from authkit_middleware.testing import (
    RemoteEmulator,
    RemoteEmulatorError,
    SignIn,
    advance_clock,
    expire_session,
    mint_session,
    revoke_session,
    sign_in,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform == "win32", reason="POSIX process groups"),
]

JSON = {"accept": "application/json"}
API_KEY = "sk_test_remote_" + secrets.token_hex(8)


class _EmulatorProcess:
    """``authkit-middleware emulator --port 0`` in its own process group."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "authkit_middleware.cli",
                "emulator",
                "--port",
                "0",
                "--api-key",
                API_KEY,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        self.env = self._env_block()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in iter(self.proc.stdout.readline, ""):
            self.lines.put(line)
        self.lines.put("")

    def _env_block(self, timeout: float = 30) -> dict[str, str]:
        found: dict[str, str] = {}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                continue
            if line in ("", "\n"):
                break
            key, _, value = line.rstrip("\n").partition("=")
            found[key] = value
        if "WORKOS_BASE_URL" not in found:
            self.kill()
            raise RuntimeError(f"the emulator did not start: {found}")
        return found

    def kill(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
            except ProcessLookupError:
                pass
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@pytest.fixture(scope="module")
def emulator_process() -> Iterator[_EmulatorProcess]:
    process = _EmulatorProcess()
    try:
        yield process
    finally:
        process.kill()


@pytest.fixture
def remote(emulator_process: _EmulatorProcess) -> Iterator[RemoteEmulator]:
    env = emulator_process.env
    assert env["WORKOS_API_KEY"] == API_KEY
    with RemoteEmulator(env["WORKOS_BASE_URL"], api_key=env["WORKOS_API_KEY"]) as emulator:
        emulator.reset()  # seed data, no sessions, real time: tests do not see each other
        yield emulator


def _starlette(remote: RemoteEmulator) -> Any:
    return AuthKitMiddleware(starlette_app(), config=config_for(remote))


def _flask(remote: RemoteEmulator) -> Any:
    app = flask_app()
    app.wsgi_app = AuthKitWSGIMiddleware(app.wsgi_app, config=config_for(remote))
    return app


# ---------------------------------------------------------------------- the helpers


def test_sign_in_with_organization_role_and_permissions_on_starlette(
    remote: RemoteEmulator,
) -> None:
    app = _starlette(remote)
    client = TestClient(app)
    assert client.get("/private", headers=JSON).status_code == 401

    session = sign_in(
        client,
        app,
        remote,
        "dora@example.com",
        organization="Initech",
        role="billing",
        permissions=["widgets:write", "invoices:read"],
    )
    body = client.get("/admin").json()
    assert body == {
        "email": "dora@example.com",
        "org": session.organization_id,
        "role": "billing",
        "permissions": ["widgets:write", "invoices:read"],
        "impersonator": None,
    }
    # created on the fly, in the other process
    dora = remote.get_user("dora@example.com")
    initech = remote.get_organization("Initech")
    assert dora is not None and initech is not None
    assert initech["id"] == session.organization_id
    assert remote.describe()["counts"]["active_sessions"] == 1

    # an existing membership takes the role and permissions asked for
    sign_in(client, app, remote, "alice@example.com", organization="Acme Inc", permissions=[])
    assert client.get("/admin", headers=JSON).status_code == 403
    assert client.get("/private").json()["role"] == "admin"  # seeded role kept

    impersonated = sign_in(client, app, remote, "bob@example.com", impersonator="ops@corp.test")
    assert client.get("/private").json()["impersonator"] == "ops@corp.test"
    assert impersonated.auth.impersonator is not None


def test_expire_then_revoke_on_starlette(remote: RemoteEmulator) -> None:
    app = _starlette(remote)
    client = TestClient(app)
    session = sign_in(client, app, remote, "carol@example.com", organization="Acme Inc")
    cookie = client.cookies["wos-session"]
    refreshes = remote.count("refresh_token")

    expire_session(app, remote)
    assert remote.clock_offset() > remote.access_token_ttl  # moved in the other process
    assert client.get("/private").json()["email"] == "carol@example.com"
    assert remote.count("refresh_token") == refreshes + 1  # refreshed through it
    assert client.cookies["wos-session"] != cookie  # the refreshed session replaced ours
    assert client.get("/private").status_code == 200
    assert remote.count("refresh_token") == refreshes + 1  # once

    assert revoke_session(remote, session) is True
    assert client.get("/private").status_code == 200  # its access token still lives
    expire_session(app, remote)
    assert client.get("/private", headers=JSON).status_code == 401  # refresh refused
    assert revoke_session(remote, "session_01UNKNOWN") is False


def test_flask_sign_in_expire_revoke_and_expired_minting(remote: RemoteEmulator) -> None:
    app = _flask(remote)
    client = app.test_client()
    assert client.get("/private", headers=JSON).status_code == 401
    session = sign_in(
        client, None, remote, "erin@example.com", organization="Hooli", role="owner",
        permissions=["widgets:write"],
    )  # fmt: skip
    assert client.get("/admin").json["role"] == "owner"

    expire_session(app, remote)
    assert client.get("/admin").json["email"] == "erin@example.com"
    assert remote.count("refresh_token") == 1

    revoke_session(remote, session)
    expire_session(app, remote)
    assert client.get("/admin", headers=JSON).status_code == 401

    # A fresh app runs on real time: the emulator's clock must too (the helper
    # refuses to mint otherwise, see the next test).
    fresh = _flask(remote)
    fresh_client = fresh.test_client()
    with pytest.raises(ValueError, match="ahead of the app's"):
        sign_in(fresh_client, fresh, remote, "bob@example.com", expired=True)
    remote.reset()

    # minted already expired by the remote emulator: the first request refreshes
    sign_in(fresh_client, fresh, remote, "bob@example.com", expired=True)
    assert fresh_client.get("/private").json["email"] == "bob@example.com"
    assert remote.count("refresh_token") == 1  # (the reset cleared the journal)


def test_advance_clock_moves_both_and_reset_brings_real_time_back(remote: RemoteEmulator) -> None:
    app = _starlette(remote)
    advance_clock(app, 120, remote)
    assert remote.clock_offset() == pytest.approx(120)
    client = TestClient(app)
    sign_in(client, app, remote, "bob@example.com")  # both clocks agree
    assert client.get("/private").status_code == 200

    # A later test with a fresh app: the emulator's clock is still ahead. The helper
    # says so instead of handing out a cookie the app refuses ("not valid yet").
    later = _starlette(remote)
    # (iat is whole seconds: 119 or 120 s ahead, whatever the fraction.)
    with pytest.raises(ValueError, match=r"clock runs 1(19|20) s ahead.*remote\.reset\(\)"):
        sign_in(TestClient(later), later, remote, "bob@example.com")
    remote.reset()
    assert remote.clock_offset() == 0
    client = TestClient(later)
    sign_in(client, later, remote, "bob@example.com")
    assert client.get("/private").status_code == 200


class TestThePluginFixturesAgainstARemoteEmulator:
    """``authkit_emulator`` overridden (as a ``conftest.py`` would) to a RemoteEmulator."""

    @pytest.fixture
    def authkit_emulator(self, remote: RemoteEmulator) -> RemoteEmulator:
        return remote

    def test_authkit_configured_and_authkit_sign_in(
        self,
        authkit_configured: AuthKitConfig,
        authkit_sign_in: SignIn,
        remote: RemoteEmulator,
    ) -> None:
        assert os.environ["WORKOS_BASE_URL"] == remote.base_url
        assert authkit_configured.client_id == remote.client_id
        assert authkit_configured.api_key == API_KEY
        app = AuthKitMiddleware(starlette_app(), protected_paths=["/*"])  # from WORKOS_*
        client = TestClient(app)
        session = authkit_sign_in(
            client, user="carol@example.com", organization="Globex", role="auditor"
        )
        assert client.get("/").json()["role"] == "auditor"
        authkit_sign_in.expire(app)
        assert client.get("/").json()["role"] == "auditor"
        assert remote.count("refresh_token") == 1
        assert authkit_sign_in.revoke(session) is True
        authkit_sign_in.expire(app)
        assert client.get("/", headers=JSON).status_code == 401


# ---------------------------------------------------------------------- refusals and errors


def test_an_app_pointed_at_real_workos_is_refused(remote: RemoteEmulator) -> None:
    real = config_for(remote).replace(base_url="https://api.workos.com")
    with pytest.raises(ValueError, match="not to this emulator"):
        mint_session(real, remote, "alice@example.com")
    other = config_for(remote).replace(client_id="client_01REAL")
    with pytest.raises(ValueError, match="client id"):
        mint_session(other, remote, "alice@example.com")
    assert remote.describe()["counts"]["active_sessions"] == 0  # nothing was minted

    for url in ("https://api.workos.com", "https://API.WorkOS.com./", "https://workos.com"):
        with pytest.raises(ValueError, match="is WorkOS itself"):
            RemoteEmulator(url)
    for url in ("ftp://127.0.0.1:1", "127.0.0.1:8484", "http://u:p@127.0.0.1:1", "http://h/?x"):
        with pytest.raises(ValueError, match="emulator URL"):
            RemoteEmulator(url)


def test_a_url_string_is_not_an_emulator(remote: RemoteEmulator) -> None:
    app = _starlette(remote)
    with pytest.raises(TypeError, match=r"pass RemoteEmulator\('http"):
        sign_in(TestClient(app), app, remote.base_url, "bob@example.com")  # type: ignore[arg-type]


def test_a_wrong_api_key_is_named(remote: RemoteEmulator) -> None:
    wrong = RemoteEmulator(remote.base_url, api_key="sk_test_wrong")
    with pytest.raises(RemoteEmulatorError, match="refused the API key") as caught:
        mint_session(config_for(remote), wrong, "bob@example.com")
    assert caught.value.status == 401
    wrong.close()


class _NotAnEmulator(http.server.BaseHTTPRequestHandler):
    """Answers every GET with ``self.server.answer`` (status, content type, body)."""

    def do_GET(self) -> None:
        status, kind, body = self.server.answer  # type: ignore[attr-defined]
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return None


@pytest.fixture
def not_an_emulator() -> Iterator[http.server.HTTPServer]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NotAnEmulator)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.mark.parametrize(
    "answer",
    [
        (404, "text/html", b"<h1>Not Found</h1>"),
        (200, "application/json", b'{"not json'),  # a broken JSON body
        (200, "application/json", b'{"status": "ok"}'),  # JSON, but not the control API
        (302, "text/html", b""),
        (500, "text/plain", b"oops"),
    ],
    ids=["404-html", "bad-json", "other-json", "redirect", "500"],
)
def test_a_url_that_is_not_an_emulator(
    not_an_emulator: http.server.HTTPServer, answer: tuple[int, str, bytes]
) -> None:
    not_an_emulator.answer = answer  # type: ignore[attr-defined]
    port = not_an_emulator.server_address[1]
    url = f"http://127.0.0.1:{port}"
    other = RemoteEmulator(url)
    config = AuthKitConfig(
        api_key="sk_test_x",
        client_id="client_x",
        base_url=url,
        redirect_uri="http://localhost/callback",
        cookie_password=secrets.token_urlsafe(32),
    )
    with pytest.raises(RemoteEmulatorError) as caught:
        mint_session(config, other, "bob@example.com")
    message = str(caught.value)
    assert message == (
        f"no emulator control API at {url}/_emulator (HTTP {answer[0]}): "
        "is it an authkit-middleware emulator?"
    )
    assert caught.value.__cause__ is None and caught.value.__context__ is None  # no JSON trace
    other.close()


def test_an_emulator_that_is_down() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed when the block ends: nothing listens
    down = RemoteEmulator(f"http://127.0.0.1:{port}")
    config = AuthKitConfig(
        api_key="sk_test_x",
        client_id="client_x",
        base_url=down.base_url,
        redirect_uri="http://localhost/callback",
        cookie_password=secrets.token_urlsafe(32),
    )
    with pytest.raises(RemoteEmulatorError, match=r"cannot reach the emulator at .*running there"):
        mint_session(config, down, "bob@example.com")
    app = AuthKitMiddleware(starlette_app(), config=config)
    with pytest.raises(RemoteEmulatorError, match="cannot reach"):
        expire_session(app, down)
    with pytest.raises(RemoteEmulatorError, match="cannot reach"):
        advance_clock(app, 60, down)
    assert app.kit.clock() == pytest.approx(time.time(), abs=5)  # the app's clock did not move


def test_an_emulator_that_does_not_answer_times_out() -> None:
    with socket.socket() as silent:  # accepts connections (backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        slow = RemoteEmulator(url, timeout=0.3)
        started = time.monotonic()
        with pytest.raises(RemoteEmulatorError, match=r"did not answer GET /_emulator within"):
            slow.describe()
        assert time.monotonic() - started < 5
        slow.close()


def test_an_emulator_that_stopped_midway() -> None:
    """Stopped after the first call (probe cached): still a clear error, not a trace."""
    server = Emulator().serve()
    gone = RemoteEmulator(server.base_url)
    config = config_for(gone)
    assert mint_session(config, gone, "bob@example.com").user.email == "bob@example.com"
    server.stop()
    with pytest.raises(RemoteEmulatorError, match="cannot reach"):
        mint_session(config, gone, "bob@example.com")
    gone.close()


# ---------------------------------------------------------------------- the control API additions


def test_control_api_additions_validate_their_input(remote: RemoteEmulator) -> None:
    headers = {"Authorization": f"Bearer {API_KEY}"}
    base = remote.base_url + "/_emulator"
    with httpx.Client(headers=headers, timeout=5, trust_env=False) as http:
        for body in ({"advance": "60"}, {"offset": float("inf")}, {}, {"advance": 1, "offset": 1}):
            bad = http.post(base + "/clock", content=_json(body))
            assert bad.status_code == 422, body
        assert http.post(base + "/clock", json={"offset": 1e12}).status_code == 422
        bad = http.post(base + "/sessions", json={"user": "bob@example.com", "expired_for": -1})
        assert bad.status_code == 422
        assert http.put(base + "/memberships", json={"user": "bob@example.com"}).status_code == 422
        missing = http.put(
            base + "/memberships", json={"user": "nobody@example.com", "organization": "Acme Inc"}
        )
        assert missing.status_code == 404 and missing.json()["code"] == "not_found"
        assert http.get(base + "/users/nobody%40example.com").status_code == 404
        assert http.get(base + "/clock").json()["offset"] == 0
    # names with slashes and spaces, emails with "+"
    org = remote.add_organization("R&D / Labs")
    assert remote.get_organization("R&D / Labs") == org
    user = remote.add_user("x+tag@example.com")
    assert remote.get_user("x+tag@example.com") == user
    assert remote.get_user(user["id"]) == user
    membership = remote.ensure_membership(user["id"], "R&D / Labs", "lead", ["a:b"])
    assert membership["role"]["slug"] == "lead"
    again = remote.ensure_membership(user["id"], org["id"])  # role and permissions kept
    assert again["role"]["slug"] == "lead" and again["id"] == membership["id"]


def _json(body: dict[str, Any]) -> bytes:
    import json

    return json.dumps(body).encode()


def test_backdated_issuance_moves_the_clock_for_its_own_thread_only() -> None:
    emulator = Emulator()
    seen: dict[str, float] = {}
    issue = emulator.issue_session

    def spy(*args: Any, **kwargs: Any) -> dict[str, Any]:
        other = threading.Thread(target=lambda: seen.__setitem__("other", emulator.service.clock()))
        other.start()
        other.join()
        seen["mine"] = emulator.service.clock()
        return issue(*args, **kwargs)

    emulator.issue_session = spy  # type: ignore[method-assign]
    real = emulator.service.clock
    issue_expired_session(emulator, "bob@example.com", expired_for=100)
    assert seen["other"] - seen["mine"] == pytest.approx(
        emulator.config.access_token_ttl + 100, abs=2
    )
    assert emulator.service.clock is real
