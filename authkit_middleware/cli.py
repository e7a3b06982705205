"""The ``authkit-middleware`` command line.

Each subcommand is one ``register(subparsers)`` function that adds its parser and
sets ``func`` (``Namespace -> int``); adding a subcommand is adding its register
function to ``COMMANDS``. Registration must stay import-light: heavy imports
happen when the command runs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from authkit_middleware.emulator import cli as emulator_cli

#: Shortest ``password --length`` accepted (iron's minimum password length).
MIN_PASSWORD_LENGTH = 32


# ---------------------------------------------------------------------- doctor


def register_doctor(subparsers: Any) -> None:
    """Add ``doctor``: check the WORKOS_* environment and WorkOS itself."""
    parser = subparsers.add_parser(
        "doctor",
        help="check the WORKOS_* configuration and that WorkOS accepts it",
        description=(
            "Check the environment an app using authkit-middleware will start with: "
            "every configuration problem, the cookie password's strength, the redirect "
            "URI and cookie settings, and that WorkOS is reachable, knows the client id "
            "and accepts the API key. Exit status 1 when anything is an error. "
            "Secrets are never printed."
        ),
    )
    parser.add_argument(
        "--env-file",
        metavar="FILE",
        help="read variables from this .env file too (its values win over the environment)",
    )
    parser.add_argument("--json", action="store_true", help="print the findings as JSON")
    parser.add_argument(
        "--offline",
        action="store_true",
        help="skip the calls to WorkOS and the Redis PING (configuration only)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=3.0,
        metavar="SECONDS",
        help="timeout of each call to WorkOS and of the Redis PING (default 3)",
    )
    parser.set_defaults(func=run_doctor)


def run_doctor(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Print the findings (text or JSON); 1 when any is an error, else 0."""
    import json
    import os

    from authkit_middleware import doctor

    out = out or sys.stdout
    env: dict[str, str] = dict(os.environ)
    if args.env_file:
        try:
            env.update(doctor.read_env_file(args.env_file))
        except (OSError, UnicodeDecodeError) as exc:
            print(f"authkit-middleware doctor: cannot read {args.env_file}: {exc}", file=sys.stderr)
            return 2
    findings = doctor.run_checks(env, network=not args.offline, timeout=args.timeout)
    status = doctor.exit_status(findings)
    if args.json:
        payload = {"ok": status == 0, "findings": [f.to_dict() for f in findings]}
        out.write(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    else:
        for finding in findings:
            out.write(doctor.format_finding(finding) + "\n")
        errors = sum(1 for f in findings if f.level == "error")
        warnings = sum(1 for f in findings if f.level == "warning")
        out.write(f"\n{errors} error(s), {warnings} warning(s).\n")
    out.flush()
    return status


# ---------------------------------------------------------------------- password


def register_password(subparsers: Any) -> None:
    """Add ``password``: print a strong cookie password (or a Fernet key)."""
    parser = subparsers.add_parser(
        "password",
        help="print a strong random cookie password",
        description=(
            "Print a random cookie password for WORKOS_COOKIE_PASSWORD "
            "(secrets.token_urlsafe), or with --fernet a Fernet key for "
            "WORKOS_SEAL_FORMAT=fernet (the workos-python format)."
        ),
    )
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--length",
        type=int,
        default=43,
        metavar="N",
        help=f"characters, at least {MIN_PASSWORD_LENGTH} (default 43: 256 random bits)",
    )
    group.add_argument(
        "--fernet", action="store_true", help="print a Fernet key (44 characters) instead"
    )
    parser.set_defaults(func=run_password)


def generate_password(length: int = 43) -> str:
    """A random password of exactly ``length`` URL-safe characters (6 bits each)."""
    import secrets

    if length < MIN_PASSWORD_LENGTH:
        raise ValueError(f"a cookie password needs at least {MIN_PASSWORD_LENGTH} characters")
    return secrets.token_urlsafe(length)[:length]


def run_password(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Print one password (or Fernet key) and a newline."""
    out = out or sys.stdout
    if args.fernet:
        from cryptography.fernet import Fernet

        value = Fernet.generate_key().decode("ascii")
    else:
        try:
            value = generate_password(args.length)
        except ValueError as exc:
            print(f"authkit-middleware password: {exc}", file=sys.stderr)
            return 2
    out.write(value + "\n")
    out.flush()
    return 0


#: Subcommand registrars, in ``--help`` order.
COMMANDS: tuple[Callable[[Any], None], ...] = (
    emulator_cli.register,
    register_doctor,
    register_password,
)


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="authkit-middleware",
        description="WorkOS AuthKit hosted sign-in in front of any ASGI or WSGI app.",
    )
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for register in COMMANDS:
        register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``authkit-middleware`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] | None = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        return int(func(args))
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
