"""``authkit-middleware doctor``: each finding, against the emulator (loopback only)."""

from __future__ import annotations

import io
import json
import socket
from collections.abc import Iterator

import pytest

from authkit_middleware import cli, doctor
from authkit_middleware.doctor import Finding, run_checks
from authkit_middleware.emulator import Emulator, EmulatorServer

PASSWORD = "Kq3vX9_pL2mZ8rT5wY1nB7cD4fH6jS0a-uE"  # random-looking, 35 characters


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with Emulator().serve() as running:
        yield running


def healthy_env(server: EmulatorServer, **changes: str | None) -> dict[str, str]:
    env = {
        **server.env(),
        "WORKOS_REDIRECT_URI": "http://localhost:3000/callback",
        "WORKOS_COOKIE_PASSWORD": PASSWORD,
    }
    for key, value in changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def by_level(findings: list[Finding], level: str) -> list[Finding]:
    return [f for f in findings if f.level == level]


def run_cli(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> tuple[int, str]:
    import os

    for key in list(os.environ):
        if key.startswith("WORKOS_"):
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    out = io.StringIO()
    args = cli.build_parser().parse_args(argv)
    status = args.func(args, out=out)
    return status, out.getvalue()


def test_healthy_config_against_the_emulator_is_all_ok(server: EmulatorServer) -> None:
    findings = run_checks(healthy_env(server))
    assert by_level(findings, "error") == [], findings
    assert by_level(findings, "warning") == [], findings
    checks = {f.check for f in findings}
    assert {"config", "cookie_password", "redirect_uri", "cookie", "base_url"} <= checks
    assert {"client_id", "jwks", "api_key"} <= checks
    assert any("emulator" in f.message for f in findings if f.check == "base_url")
    assert doctor.exit_status(findings) == 0


def test_cli_healthy_exit_0_and_symbols(
    server: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    status, text = run_cli(["doctor"], monkeypatch, healthy_env(server))
    assert status == 0
    assert "✓ configuration is valid" in text
    assert "✗" not in text
    assert "0 error(s), 0 warning(s)." in text
    assert PASSWORD not in text


def test_wrong_api_key(server: EmulatorServer) -> None:
    findings = run_checks(healthy_env(server, WORKOS_API_KEY="sk_test_wrong_key_0000WXYZ"))
    errors = by_level(findings, "error")
    assert [f.check for f in errors] == ["api_key"]
    line = doctor.format_finding(errors[0])
    assert line.startswith("✗ WORKOS_API_KEY sk_…WXYZ is not accepted")
    assert "dashboard" in line and "\n" not in line
    assert "sk_test_wrong_key_0000WXYZ" not in line
    assert doctor.exit_status(findings) == 1


def test_unknown_client_id(server: EmulatorServer) -> None:
    findings = run_checks(healthy_env(server, WORKOS_CLIENT_ID="client_01UNKNOWN"))
    errors = by_level(findings, "error")
    assert [f.check for f in errors] == ["client_id"]
    assert "'client_01UNKNOWN' is not known to WorkOS" in errors[0].message
    assert "404" in errors[0].message
    assert errors[0].fix and "client ID" in errors[0].fix


def test_unreachable_base_url_skips_the_calls_after_it(server: EmulatorServer) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    findings = run_checks(healthy_env(server, WORKOS_BASE_URL=url), timeout=1)
    errors = by_level(findings, "error")
    assert [f.check for f in errors] == ["base_url"]
    assert f"WorkOS is not reachable at {url}" in errors[0].message
    assert errors[0].fix and "WORKOS_BASE_URL" in errors[0].fix
    assert not {"jwks", "api_key", "client_id"} & {f.check for f in findings}


def test_short_password_is_named_with_the_fix(server: EmulatorServer) -> None:
    findings = run_checks(healthy_env(server, WORKOS_COOKIE_PASSWORD="short-password-123"))
    errors = by_level(findings, "error")
    assert [f.check for f in errors] == ["cookie_password"]
    line = doctor.format_finding(errors[0])
    assert "at least 32 characters (currently 18 characters)" in line
    assert "authkit-middleware password" in line
    assert "short-password-123" not in line


def test_http_redirect_uri_off_localhost(server: EmulatorServer) -> None:
    findings = run_checks(
        healthy_env(server, WORKOS_REDIRECT_URI="http://app.example.com/callback")
    )
    errors = by_level(findings, "error")
    assert [f.check for f in errors] == ["redirect_uri"]
    assert "plain http is only allowed for localhost" in errors[0].message
    assert errors[0].fix == "use https"


def test_samesite_none_without_secure(server: EmulatorServer) -> None:
    findings = run_checks(healthy_env(server, WORKOS_COOKIE_SAMESITE="none"))
    errors = by_level(findings, "error")
    assert [f.check for f in errors] == ["cookie_samesite"]
    assert "SameSite=None requires Secure" in errors[0].message
    assert errors[0].fix and "'lax'" in errors[0].fix


def test_samesite_none_with_https_is_a_warning_only(server: EmulatorServer) -> None:
    env = healthy_env(
        server,
        WORKOS_REDIRECT_URI="https://app.example.com/callback",
        WORKOS_COOKIE_SAMESITE="none",
    )
    findings = run_checks(env, network=False)
    assert by_level(findings, "error") == []
    assert [f.check for f in by_level(findings, "warning")] == ["cookie_samesite"]


def test_every_config_problem_is_its_own_error() -> None:
    findings = run_checks({"WORKOS_COOKIE_MAX_AGE": "soon"}, network=False)
    checks = [f.check for f in by_level(findings, "error")]
    for name in ("api_key", "client_id", "redirect_uri", "cookie_password", "cookie_max_age"):
        assert name in checks
    assert doctor.exit_status(findings) == 1


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("password" * 4, "common word"),
        ("a1" * 20, "distinct characters"),
        ("abcdefghijklmnopqrstuvwxyz0123456789", "consecutive"),
        ("zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", "entropy"),
    ],
)
def test_weak_passwords_warn_and_are_never_printed(
    password: str, why: str, monkeypatch: pytest.MonkeyPatch, server: EmulatorServer
) -> None:
    env = healthy_env(server, WORKOS_COOKIE_PASSWORD=password)
    findings = run_checks(env, network=False)
    warnings = [f for f in findings if f.check == "cookie_password"]
    assert [f.level for f in warnings] == ["warning"]
    assert why in warnings[0].message
    status, text = run_cli(["doctor", "--offline"], monkeypatch, env)
    assert status == 0  # warnings do not fail
    assert password not in text and password[:16] not in text


def test_fallback_passwords_are_checked_too(server: EmulatorServer) -> None:
    env = healthy_env(server, WORKOS_COOKIE_PASSWORD_FALLBACKS="changeme" * 4)
    findings = run_checks(env, network=False)
    warnings = by_level(findings, "warning")
    assert [f.message.split(" ", 3)[:3] for f in warnings] == [["fallback", "password", "#1"]]


def test_entropy_estimate() -> None:
    assert doctor.estimate_entropy_bits("") == 0
    assert doctor.estimate_entropy_bits("a" * 64) == 0
    assert doctor.estimate_entropy_bits("ab" * 32) == pytest.approx(2.0)
    assert doctor.estimate_entropy_bits(cli.generate_password()) > 128


def test_fernet_format_needs_a_fernet_key(server: EmulatorServer) -> None:
    env = healthy_env(server, WORKOS_SEAL_FORMAT="fernet")
    errors = by_level(run_checks(env, network=False), "error")
    assert [f.check for f in errors] == ["cookie_password"]
    assert "Fernet key" in errors[0].message
    from cryptography.fernet import Fernet

    env["WORKOS_COOKIE_PASSWORD"] = Fernet.generate_key().decode()
    findings = run_checks(env, network=False)
    assert by_level(findings, "error") == []
    assert any("Fernet key" in f.message for f in findings if f.level == "ok")


def test_redirect_uri_query_and_missing_callback_path(server: EmulatorServer) -> None:
    env = healthy_env(server, WORKOS_REDIRECT_URI="https://app.example.com/callback?x=1")
    warnings = by_level(run_checks(env, network=False), "warning")
    assert [f.check for f in warnings] == ["redirect_uri"]
    assert "query string" in warnings[0].message
    env = healthy_env(server, WORKOS_REDIRECT_URI="https://app.example.com")
    errors = by_level(run_checks(env, network=False), "error")
    assert [f.check for f in errors] == ["redirect_uri"]
    assert "needs a callback path" in errors[0].message


def test_host_cookie_and_domain_rules(server: EmulatorServer) -> None:
    env = healthy_env(
        server,
        WORKOS_COOKIE_NAME="__Host-session",
        WORKOS_COOKIE_DOMAIN="example.com",
    )
    errors = by_level(run_checks(env, network=False), "error")
    checks = [f.check for f in errors]
    assert "cookie_name" in checks  # __Host- needs Secure and no Domain
    assert "cookie_domain" in checks  # example.com does not cover localhost


def test_quickstart_cookie_name_with_iron_warns(server: EmulatorServer) -> None:
    env = healthy_env(server, WORKOS_COOKIE_NAME="wos_session")
    warnings = by_level(run_checks(env, network=False), "warning")
    assert [f.check for f in warnings] == ["cookie_name"]
    assert "WORKOS_SEAL_FORMAT=fernet" in (warnings[0].fix or "")


def test_json_output_and_env_file(
    server: EmulatorServer, monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    env_file = tmp_path / ".env"
    env = healthy_env(server, WORKOS_API_KEY="sk_test_not_the_right_one_9876")
    lines = ["# generated", *(f"export {k}='{v}'" for k, v in env.items())]
    env_file.write_text("\n".join(lines) + "\n")
    status, text = run_cli(["doctor", "--json", "--env-file", str(env_file)], monkeypatch, {})
    assert status == 1
    payload = json.loads(text)
    assert payload["ok"] is False
    errors = [f for f in payload["findings"] if f["level"] == "error"]
    assert [f["check"] for f in errors] == ["api_key"]
    assert "sk_test_not_the_right_one_9876" not in text
    assert PASSWORD not in text


def test_env_file_values_win_and_a_missing_file_is_exit_2(
    server: EmulatorServer, monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    env_file = tmp_path / "prod.env"
    env_file.write_text('WORKOS_COOKIE_SAMESITE="none"  \nnot a line\n')
    status, text = run_cli(
        ["doctor", "--offline", "--env-file", str(env_file)], monkeypatch, healthy_env(server)
    )
    assert status == 1
    assert "✗ cookie_samesite (WORKOS_COOKIE_SAMESITE" in text
    status, _ = run_cli(
        ["doctor", "--env-file", str(tmp_path / "missing.env")], monkeypatch, healthy_env(server)
    )
    assert status == 2


def test_read_env_file_forms(tmp_path: object) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    path = tmp_path / ".env"
    path.write_text(
        "A=1\nexport B = two # comment\nC='x # y'\nD=\"line\\nbreak\"\n# E=5\n=bad\nF\n"
    )
    assert doctor.read_env_file(path) == {"A": "1", "B": "two", "C": "x # y", "D": "line\nbreak"}
