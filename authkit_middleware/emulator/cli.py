"""``authkit-middleware emulator``: run the local AuthKit from a shell.

It prints the environment an app needs first (``KEY=value`` lines, flushed, so a
script can read them from a pipe before the server blocks), then a blank line and
how to sign in, then serves until Ctrl-C (exit status 0) or SIGTERM.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Any, TextIO

#: Default port of the CLI (tests and libraries use port 0 instead).
DEFAULT_PORT = 8484


def register(subparsers: Any) -> None:
    """Add the ``emulator`` subcommand (module-level imports stay light)."""
    parser = subparsers.add_parser(
        "emulator",
        help="run a local WorkOS AuthKit emulator",
        description="Run a local WorkOS AuthKit emulator the workos SDK can talk to.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port, 0 = any (default {DEFAULT_PORT})"
    )
    parser.add_argument("--seed", metavar="FILE", help="seed file (.json or .toml)")
    parser.add_argument(
        "--auto-login",
        action="store_true",
        help="sign in the login_hint (or first) user without showing the page",
    )
    parser.add_argument(
        "--access-token-ttl",
        type=int,
        default=None,
        metavar="SECONDS",
        help="access-token lifetime (default 300)",
    )
    parser.add_argument(
        "--signing-key",
        metavar="PEM",
        default=None,
        help="RSA private key (unencrypted PEM) to sign tokens with, so the JWKS and "
        "issued tokens survive restarts (default: a new key at every start)",
    )
    parser.add_argument("--client-id", default=None, help="client id to accept")
    parser.add_argument("--api-key", default=None, help="API key to accept")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Start the emulator and block until interrupted (Ctrl-C or SIGTERM: exit 0)."""
    out = out or sys.stdout
    stop = threading.Event()
    previous: Any = None
    if threading.current_thread() is threading.main_thread():
        # Installed before anything is printed: a supervisor may signal as soon as
        # it has read the environment block. Restored on return (main() may be
        # called in-process, e.g. from tests).
        previous = signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    try:
        return _serve(args, out, stop)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _serve(args: argparse.Namespace, out: TextIO, stop: threading.Event) -> int:
    from authkit_middleware.emulator.config import DEFAULT_ACCESS_TOKEN_TTL
    from authkit_middleware.emulator.emulator import Emulator
    from authkit_middleware.emulator.seed import SeedError

    options: dict[str, Any] = {
        "auto_login": args.auto_login,
        "access_token_ttl": args.access_token_ttl or DEFAULT_ACCESS_TOKEN_TTL,
    }
    if args.client_id:
        options["client_id"] = args.client_id
    if args.api_key:
        options["api_key"] = args.api_key
    if args.signing_key:
        from authkit_middleware.emulator.tokens import SigningKey

        try:
            with open(args.signing_key, "rb") as pem:
                options["signing_key"] = SigningKey.from_pem(pem.read())
        except (OSError, ValueError, TypeError) as exc:
            # ValueError: not PEM, encrypted, not RSA... (the message never holds the key).
            reason = exc.strerror if isinstance(exc, OSError) else str(exc)
            print(
                f"authkit-middleware emulator: cannot use signing key {args.signing_key}: {reason}",
                file=sys.stderr,
            )
            return 2
    try:
        emulator = Emulator(args.seed, **options)
        server = emulator.serve(host=args.host, port=args.port)
    except SeedError as exc:
        print(f"authkit-middleware emulator: {exc}", file=sys.stderr)
        return 2
    except (OSError, ValueError) as exc:
        print(f"authkit-middleware emulator: cannot start: {exc}", file=sys.stderr)
        return 1

    try:
        for key, value in server.env().items():
            out.write(f"{key}={value}\n")
        out.write("\n")
        out.flush()
        out.write(_instructions(emulator, server.base_url, args.host))
        out.flush()
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    out.write("Emulator stopped.\n")
    out.flush()
    return 0


def _instructions(emulator: Any, base_url: str, host: str) -> str:
    described = emulator.describe()
    lines = [
        f"AuthKit emulator running at {base_url}  (Ctrl-C to stop)",
        "Point the workos SDK (or authkit-middleware) at it with the variables above.",
        "",
        "Sign in by picking a user on the hosted page, or with email + password:",
    ]
    for user in described["users"]:
        memberships = [
            f"{emulator.store.organizations[m.organization_id].name} ({m.role})"
            for m in emulator.store.memberships_of(user["id"])
        ]
        record = emulator.store.users[user["id"]]
        password = f"password: {record.password}" if record.password else "no password"
        orgs = ", ".join(memberships) or "no organization"
        lines.append(f"  {user['email']:<28} {password:<22} {orgs}")
    lines.append("")
    mode = "on (no page; login_hint picks the user)" if emulator.config.auto_login else "off"
    lines.append(f"Auto-login: {mode}.  Access tokens live {emulator.config.access_token_ttl}s.")
    lines.append(f"Control API: {base_url}/_emulator  (Authorization: Bearer <WORKOS_API_KEY>)")
    if host not in ("127.0.0.1", "localhost", "::1"):
        lines.append("WARNING: listening beyond loopback; anyone who can reach it can sign in.")
    return "\n".join(lines) + "\n"
