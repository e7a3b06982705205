"""The ``authkit-middleware`` command line.

Each subcommand is one ``register(subparsers)`` function that adds its parser and
sets ``func`` (``Namespace -> int``); adding a subcommand is adding its register
function to ``COMMANDS``. Registration must stay import-light: heavy imports
happen when the command runs.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any

from authkit_middleware.emulator import cli as emulator_cli

#: Subcommand registrars, in ``--help`` order.
COMMANDS: tuple[Callable[[Any], None], ...] = (emulator_cli.register,)


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
