"""``authkit-middleware doctor``: each finding, against the emulator and our own
redis-server (loopback only)."""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from authkit_test_support.processes import RedisProcess, free_port

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
    url = f"http://127.0.0.1:{free_port()}"
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


# ---------------------------------------------------------------------- WORKOS_REDIS_URL

#: Credentials of the test redis-server: distinctive, so any leak into output shows.
REDIS_USER = "default"
REDIS_PASSWORD = "rds-Pw-7Qx2Lm9Vb4Kt"
WRONG_REDIS_PASSWORD = "rds-Wrong-3Hj8Nc5Zd1"


def redis_server_binary() -> str:
    """``redis-server``'s path; missing is a failure under CI (CI=true, as .ci/run
    runs, and .ci/run installs it), a skip elsewhere."""
    binary = shutil.which("redis-server")
    if binary is None:
        missing = pytest.fail if os.environ.get("CI") else pytest.skip
        missing("redis-server is not installed: apt-get install -y redis-server")
    assert binary is not None
    return binary


@dataclass(frozen=True)
class RedisServer:
    port: int
    socket: Path

    def url(self, credentials: str = f"{REDIS_USER}:{REDIS_PASSWORD}@") -> str:
        return f"redis://{credentials}127.0.0.1:{self.port}/0"


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """Our own ``redis-server`` on a free loopback port (and a unix socket), with a
    password, no persistence; stopped (its process group) at the end of the module."""
    sock = tmp_path_factory.mktemp("redis") / "redis.sock"
    process = RedisProcess(redis_server_binary(), password=REDIS_PASSWORD, unix_socket=sock)
    with process:
        yield RedisServer(port=process.port, socket=sock)


def redis_findings(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.check in ("redis_url", "redis")]


def test_redis_url_unset_adds_nothing(server: EmulatorServer) -> None:
    findings = run_checks(healthy_env(server), timeout=2)
    assert redis_findings(findings) == []


def test_redis_reachable_is_ok_and_credentials_are_masked(
    server: EmulatorServer, redis_server: RedisServer
) -> None:
    findings = run_checks(healthy_env(server, WORKOS_REDIS_URL=redis_server.url()), timeout=2)
    assert by_level(findings, "error") == [], findings
    assert by_level(findings, "warning") == [], findings
    address = f"127.0.0.1:{redis_server.port}"
    assert [(f.level, f.check, f.message) for f in redis_findings(findings)] == [
        (
            "ok",
            "redis_url",
            f"refresh coordination across workers through Redis at redis://***@{address}/0",
        ),
        ("ok", "redis", f"Redis reachable at {address} (PING answered)"),
    ]
    assert findings[-1].check == "redis"  # after the WorkOS calls
    assert doctor.exit_status(findings) == 0


def test_redis_over_a_unix_socket(server: EmulatorServer, redis_server: RedisServer) -> None:
    url = f"unix://:{REDIS_PASSWORD}@{redis_server.socket}?db=0"
    findings = redis_findings(run_checks(healthy_env(server, WORKOS_REDIS_URL=url), timeout=2))
    assert [(f.level, f.message) for f in findings] == [
        (
            "ok",
            f"refresh coordination across workers through Redis at unix://***@{redis_server.socket}",
        ),
        ("ok", f"Redis reachable at {redis_server.socket} (PING answered)"),
    ]


def test_redis_nothing_listening_is_an_error_and_exit_1(
    server: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    url = f"redis://{REDIS_USER}:{REDIS_PASSWORD}@127.0.0.1:{port}/0"
    findings = run_checks(healthy_env(server, WORKOS_REDIS_URL=url), timeout=1)
    errors = by_level(findings, "error")
    assert [f.check for f in errors] == ["redis"]
    assert errors[0].message == f"Redis not reachable at 127.0.0.1:{port} (ConnectionRefusedError)"
    assert errors[0].fix and "WORKOS_REDIS_URL" in errors[0].fix
    assert doctor.exit_status(findings) == 1
    status, text = run_cli(
        ["doctor", "--timeout", "1"], monkeypatch, healthy_env(server, WORKOS_REDIS_URL=url)
    )
    assert status == 1
    assert f"✗ Redis not reachable at 127.0.0.1:{port} (ConnectionRefusedError) → " in text
    assert "1 error(s), 0 warning(s)." in text
    assert REDIS_PASSWORD not in text


def test_redis_missing_or_wrong_password(server: EmulatorServer, redis_server: RedisServer) -> None:
    address = f"127.0.0.1:{redis_server.port}"
    for credentials, expected in [
        ("", f"Redis at {address} requires a password (AuthenticationError)"),
        (
            f":{WRONG_REDIS_PASSWORD}@",
            f"Redis at {address} refused the credentials of WORKOS_REDIS_URL (AuthenticationError)",
        ),
    ]:
        env = healthy_env(server, WORKOS_REDIS_URL=redis_server.url(credentials))
        errors = by_level(run_checks(env, timeout=2), "error")
        assert [(f.check, f.message) for f in errors] == [("redis", expected)]
        assert WRONG_REDIS_PASSWORD not in doctor.format_finding(errors[0])


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:6379/0",
        "REDIS://127.0.0.1:6379/0",
        "127.0.0.1:6379",
        f"{REDIS_USER}:{REDIS_PASSWORD}@127.0.0.1:6379",  # no scheme, but credentials
        f"https://:{REDIS_PASSWORD}@cache.internal:6379",
    ],
)
def test_redis_bad_scheme_is_an_error(server: EmulatorServer, url: str) -> None:
    findings = run_checks(healthy_env(server, WORKOS_REDIS_URL=url), network=False)
    errors = by_level(findings, "error")
    assert [f.check for f in errors] == ["redis_url"]
    assert "redis://, rediss:// (TLS) or unix://" in errors[0].message
    assert errors[0].fix and "unix:///path/to/redis.sock" in errors[0].fix
    assert REDIS_PASSWORD not in doctor.format_finding(errors[0])
    assert not [f for f in findings if f.check == "redis_url" and f.level == "ok"]


def test_redis_bad_scheme_skips_the_ping(server: EmulatorServer) -> None:
    findings = run_checks(healthy_env(server, WORKOS_REDIS_URL="http://127.0.0.1:1"), timeout=1)
    assert [f.check for f in redis_findings(findings)] == ["redis_url"]


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("unix://redis.sock", "without a socket path"),
        ("redis://127.0.0.1:99999/0", "invalid port"),
        ("redis://127.0.0.1:6379/0?socket_timeout=soon", "query-string option"),
    ],
)
def test_redis_url_shape_errors(server: EmulatorServer, url: str, why: str) -> None:
    errors = by_level(run_checks(healthy_env(server, WORKOS_REDIS_URL=url), network=False), "error")
    assert [f.check for f in errors] == ["redis_url"]
    assert why in errors[0].message


def test_redis_package_missing(server: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m for m in sys.modules if m == "redis" or m.startswith("redis.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "redis", None)  # import redis -> ImportError
    env = healthy_env(server, WORKOS_REDIS_URL="redis://127.0.0.1:6379/0")
    errors = by_level(run_checks(env, network=False), "error")
    assert [(f.check, f.fix) for f in errors] == [
        ("redis_url", "pip install 'authkit-middleware[redis]'")
    ]
    assert "'redis' package is not installed" in errors[0].message


@pytest.mark.parametrize(
    ("url", "warns"),
    [
        (f"redis://:{REDIS_PASSWORD}@cache.internal:6379/0", True),
        ("redis://10.0.0.7/2", True),
        ("redis://[2001:db8::7]:6380", True),
        (f"rediss://:{REDIS_PASSWORD}@cache.internal:6380/0", False),
        ("redis://localhost:6379/0", False),
        ("redis://127.0.0.2:6379/0", False),
        ("redis://[::1]:6379/0", False),
        ("redis:///0", False),  # no host: redis-py connects to localhost
    ],
)
def test_plain_redis_off_loopback_warns(server: EmulatorServer, url: str, warns: bool) -> None:
    # Offline: nothing is sent to these hosts.
    findings = run_checks(healthy_env(server, WORKOS_REDIS_URL=url), network=False)
    assert by_level(findings, "error") == []
    warnings = [f for f in by_level(findings, "warning") if f.check == "redis_url"]
    assert len(warnings) == int(warns), findings
    oks = [f for f in findings if f.check == "redis_url" and f.level == "ok"]
    assert len(oks) == 1  # the URL is still usable
    if warns:
        assert "plain redis://" in warnings[0].message
        assert "unencrypted" in warnings[0].message and "sealed" in warnings[0].message
        assert warnings[0].fix and "rediss://" in warnings[0].fix
        assert ("the Redis password" in warnings[0].message) == (REDIS_PASSWORD in url)
    if url.startswith("rediss://"):
        assert oks[0].message.endswith("(TLS)")


@pytest.mark.parametrize("offline", [False, True])
def test_redis_credentials_never_appear_in_any_output(
    server: EmulatorServer,
    redis_server: RedisServer,
    monkeypatch: pytest.MonkeyPatch,
    offline: bool,
) -> None:
    loopback = f"127.0.0.1:{redis_server.port}"
    # (url, exit status online, offline); None: not run online (a non-loopback host).
    cases: list[tuple[str, int | None, int]] = [
        (redis_server.url(), 0, 0),  # user:password@, the right ones
        (f"redis://{loopback}/0?password={REDIS_PASSWORD}", 0, 0),
        (redis_server.url(f"{REDIS_USER}:{WRONG_REDIS_PASSWORD}@"), 1, 0),
        (f"unix://:{WRONG_REDIS_PASSWORD}@{redis_server.socket}", 1, 0),
        (f"redis://:{REDIS_PASSWORD}@127.0.0.1:{free_port()}/0", 1, 0),
        (f"redis://:{REDIS_PASSWORD}@cache.internal:6379/0", None, 0),  # the warning
        (f"http://{REDIS_USER}:{REDIS_PASSWORD}@cache.internal:6379/0", 1, 1),
        (f"{REDIS_USER}:{REDIS_PASSWORD}@cache.internal:6379", 1, 1),
    ]
    flags = ["--offline"] if offline else ["--timeout", "2"]
    for url, online_status, offline_status in cases:
        expected = offline_status if offline else online_status
        if expected is None:
            continue
        env = healthy_env(server, WORKOS_REDIS_URL=url)
        for output in ([], ["--json"]):
            status, text = run_cli(["doctor", *flags, *output], monkeypatch, env)
            assert status == expected, (url, text)
            for secret in (REDIS_PASSWORD, WRONG_REDIS_PASSWORD, f"{REDIS_USER}:"):
                assert secret not in text, (url, text)
            if output:
                checks = {f["check"] for f in json.loads(text)["findings"]}
                assert "redis_url" in checks
                pinged = not offline and url.startswith(("redis://", "unix://"))
                assert ("redis" in checks) == pinged, (url, text)


def test_missing_redis_server_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="redis-server is not installed"):
        redis_server_binary()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception):
        redis_server_binary()


def test_redis_that_never_answers_times_out_once(server: EmulatorServer) -> None:
    """A listener that accepts and stays silent: one PING, ``timeout`` long, no retry."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        url = f"redis://:{REDIS_PASSWORD}@127.0.0.1:{port}/0"
        env = healthy_env(server, WORKOS_REDIS_URL=url)
        # The two Redis steps alone, so that only the PING is timed.
        target = doctor._redis_url_findings(env)[1]
        assert target is not None
        started = time.monotonic()
        finding = doctor._redis_ping_finding(target, 0.5)
        elapsed = time.monotonic() - started
    assert (finding.level, finding.check) == ("error", "redis")
    assert finding.message == f"Redis not reachable at 127.0.0.1:{port} (TimeoutError)"
    assert 0.4 < elapsed < 1.5
