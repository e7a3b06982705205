"""A long-lived ``node js/iron.mjs`` process driven over JSON lines (used by conftest)."""

from __future__ import annotations

import json
import os
import selectors
import subprocess
from pathlib import Path
from typing import Any

JS_DIR = Path(__file__).parent / "js"
REPLY_TIMEOUT = 30


class NodeIron:
    """One long-lived ``node iron.mjs``: a JSON command per line, a JSON reply per line."""

    def __init__(self, node: str) -> None:
        self._proc = subprocess.Popen(
            [node, str(JS_DIR / "iron.mjs")],
            cwd=JS_DIR,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            bufsize=1,
            env={**os.environ, "NODE_NO_WARNINGS": "1"},
        )
        self._selector = selectors.DefaultSelector()
        assert self._proc.stdout is not None
        self._selector.register(self._proc.stdout, selectors.EVENT_READ)

    def call(self, **command: Any) -> Any:
        """Run one command; return its result or raise ``NodeError`` with JS's message."""
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(json.dumps(command) + "\n")
        self._proc.stdin.flush()
        if not self._selector.select(timeout=REPLY_TIMEOUT):
            raise RuntimeError(f"node did not answer within {REPLY_TIMEOUT} s")
        line = self._proc.stdout.readline()
        if not line:
            stderr = self._proc.stderr.read() if self._proc.stderr else ""
            raise RuntimeError(f"node exited unexpectedly:\n{stderr[-2000:]}")
        reply = json.loads(line)
        if not reply["ok"]:
            raise NodeError(reply["error"])
        return reply["result"]

    def close(self) -> None:
        self._selector.close()
        if self._proc.stdin:
            self._proc.stdin.close()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        for stream in (self._proc.stdout, self._proc.stderr):
            if stream:
                stream.close()


class NodeError(Exception):
    """The JS side threw (its message, e.g. "Bad hmac value", "Expired seal")."""
