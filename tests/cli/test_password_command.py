"""``authkit-middleware password``: length, alphabet, Fernet keys."""

from __future__ import annotations

import base64
import io
import re
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet

from authkit_middleware import cli
from authkit_middleware.core.config import AuthKitConfig

URLSAFE = re.compile(r"[A-Za-z0-9_-]+")


def run(argv: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    args = cli.build_parser().parse_args(argv)
    return args.func(args, out=out), out.getvalue()


def test_default_is_43_urlsafe_characters_and_unique() -> None:
    seen = set()
    for _ in range(20):
        status, text = run(["password"])
        assert status == 0 and text.endswith("\n")
        value = text.strip()
        assert len(value) == 43 and URLSAFE.fullmatch(value)
        seen.add(value)
    assert len(seen) == 20


@pytest.mark.parametrize("length", [32, 33, 64, 100])
def test_length(length: int) -> None:
    status, text = run(["password", "--length", str(length)])
    assert status == 0
    assert len(text.strip()) == length and URLSAFE.fullmatch(text.strip())


def test_too_short_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    status, text = run(["password", "--length", "31"])
    assert status == 2 and text == ""
    assert "at least 32 characters" in capsys.readouterr().err


def test_the_password_is_accepted_by_the_config() -> None:
    value = run(["password"])[1].strip()
    config = AuthKitConfig(
        api_key="sk_test_x",
        client_id="client_x",
        redirect_uri="http://localhost/callback",
        cookie_password=value,
    )
    assert config.cookie_passwords == (value,)


def test_fernet_key_is_valid_and_accepted_for_the_fernet_format() -> None:
    status, text = run(["password", "--fernet"])
    assert status == 0
    key = text.strip()
    assert len(key) == 44 and len(base64.urlsafe_b64decode(key)) == 32
    token = Fernet(key).encrypt(b"x")
    assert Fernet(key).decrypt(token) == b"x"
    AuthKitConfig(
        api_key="sk_test_x",
        client_id="client_x",
        redirect_uri="http://localhost/callback",
        cookie_password=key,
        seal_format="fernet",
    )


def test_length_and_fernet_are_exclusive() -> None:
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["password", "--fernet", "--length", "40"])


def test_console_entry_point_runs_in_a_subprocess() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "authkit_middleware.cli", "password"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert len(done.stdout.strip()) == 43


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for command in ("emulator", "doctor", "password"):
        assert command in out
    assert cli.main([]) == 2
