"""``authkit-middleware emulator`` as a real subprocess, and ``main()`` in-process."""

from __future__ import annotations

import json
import queue
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import pytest
from authkit_test_support.processes import free_port

from authkit_middleware.cli import main


class _Child:
    """The CLI as a subprocess; stdout is pumped by a thread so nothing can hang us."""

    def __init__(self, *args: str) -> None:
        self.stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "authkit_middleware.cli", "emulator", *args],
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        self._pump = threading.Thread(target=self._read, daemon=True)
        self._pump.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in iter(self.proc.stdout.readline, ""):
            self.output.append(line)
            self.lines.put(line)
        self.lines.put("")

    def env_block(self, timeout: float = 20) -> dict[str, str]:
        """The KEY=value lines printed before the first blank line."""
        deadline = time.monotonic() + timeout
        found: dict[str, str] = {}
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                continue
            if line in ("", "\n"):
                break
            key, _, value = line.rstrip("\n").partition("=")
            found[key] = value
        return found

    def stop(self, sig: int) -> tuple[int, str, str]:
        """Send ``sig``; return (exit status, whole stdout, stderr)."""
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout=10)
        self._pump.join(timeout=5)
        self.stderr.seek(0)
        return code, "".join(self.output), self.stderr.read()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.stderr.close()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_cli_prints_env_serves_and_exits_zero_on_ctrl_c(tmp_path: Path) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"users": [{"email": "cli@example.com", "first_name": "Cli"}]}))
    port = free_port()
    child = _Child(
        "--port", str(port), "--seed", str(seed), "--auto-login", "--access-token-ttl", "60"
    )
    try:
        env = child.env_block()
        assert list(env) == ["WORKOS_BASE_URL", "WORKOS_API_KEY", "WORKOS_CLIENT_ID"], env
        assert env["WORKOS_BASE_URL"] == f"http://127.0.0.1:{port}"
        health = httpx.get(env["WORKOS_BASE_URL"] + "/health", timeout=5)
        assert health.json()["status"] == "ok"
        state = httpx.get(
            env["WORKOS_BASE_URL"] + "/_emulator",
            headers={"Authorization": f"Bearer {env['WORKOS_API_KEY']}"},
            timeout=5,
        ).json()
        assert state["config"] == {"auto_login": True, "access_token_ttl": 60}
        assert state["client_id"] == env["WORKOS_CLIENT_ID"]
        code, out, err = child.stop(signal.SIGINT)
        assert code == 0, err
        assert "cli@example.com" in out and "password: password" in out
    finally:
        child.close()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_cli_sigterm_also_exits_zero() -> None:
    child = _Child("--port", "0")
    try:
        env = child.env_block()
        assert env["WORKOS_BASE_URL"].startswith("http://127.0.0.1:")
        code, out, err = child.stop(signal.SIGTERM)
        assert code == 0, err
        assert "Emulator stopped." in out
    finally:
        child.close()


def test_main_without_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "emulator" in capsys.readouterr().out


def test_main_reports_a_bad_seed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "missing.json"
    assert main(["emulator", "--port", "0", "--seed", str(missing)]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_main_reports_a_busy_port(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        assert main(["emulator", "--port", str(port)]) == 1
    assert "cannot start" in capsys.readouterr().err


def _pem(tmp_path: Path) -> tuple[Path, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from authkit_middleware.emulator.tokens import SigningKey

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "signing.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path, SigningKey.from_private_key(key).kid


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_a_pinned_signing_key_keeps_tokens_valid_across_restarts(tmp_path: Path) -> None:
    """``--signing-key``: the same kid and key after a restart, so a token issued
    before it still verifies against the JWKS served after it."""
    import jwt

    pem, kid = _pem(tmp_path)
    token = ""
    for run in range(2):
        child = _Child("--port", "0", "--signing-key", str(pem))
        try:
            env = child.env_block()
            base, key = env["WORKOS_BASE_URL"], env["WORKOS_API_KEY"]
            jwks = httpx.get(f"{base}/sso/jwks/{env['WORKOS_CLIENT_ID']}", timeout=5).json()
            assert [k["kid"] for k in jwks["keys"]] == [kid]
            if run == 0:
                users = httpx.get(
                    f"{base}/_emulator", headers={"Authorization": f"Bearer {key}"}, timeout=5
                ).json()["users"]
                issued = httpx.post(
                    f"{base}/_emulator/sessions",
                    headers={"Authorization": f"Bearer {key}"},
                    json={"user": users[0]["email"]},
                    timeout=5,
                )
                assert issued.status_code == 200, issued.text
                token = issued.json()["access_token"]
            else:
                public = jwt.PyJWK(jwks["keys"][0]).key
                claims = jwt.decode(token, public, algorithms=["RS256"])
                assert claims["sub"]
            code, _, err = child.stop(signal.SIGTERM)
            assert code == 0, err
        finally:
            child.close()


def test_main_reports_an_unusable_signing_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.pem"
    assert main(["emulator", "--port", "0", "--signing-key", str(missing)]) == 2
    assert "cannot use signing key" in capsys.readouterr().err
    junk = tmp_path / "junk.pem"
    junk.write_text("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    assert main(["emulator", "--port", "0", "--signing-key", str(junk)]) == 2
    err = capsys.readouterr().err
    assert "cannot use signing key" in err and "not a key" not in err
