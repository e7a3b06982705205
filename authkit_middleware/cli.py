"""The ``authkit-middleware`` command line."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``authkit-middleware`` console script."""
    args = sys.argv[1:] if argv is None else argv
    print(f"authkit-middleware: nothing here yet ({args})", file=sys.stderr)
    return 2
