"""What every example in this folder shares: the app's users table and its error page.

``on_sign_in`` upserts the signed-in WorkOS user into SQLite (stdlib ``sqlite3``) and
sends first-time users to ``/onboarding``; returning users go where they were going.
``ERROR_TEMPLATE`` is the app's own error page (``error_template=``: placeholders are
HTML-escaped by the middleware; literal CSS braces are doubled).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable
from typing import Any

from authkit_middleware.core.hooks import SignInEvent

DATABASE = os.environ.get("APP_DATABASE", "app-users.sqlite3")

ERROR_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} · Acme</title>
<style>body {{ font: 16px system-ui; max-width: 32rem; margin: 4rem auto; }}</style></head>
<body><h1>{title}</h1><p>{message}</p>
<p><a href="{action_url}">Sign in again</a> · <small>code {code}</small></p></body></html>
"""


def connect(path: str) -> sqlite3.Connection:
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE IF NOT EXISTS users (id TEXT PRIMARY KEY, email TEXT, "
        "organization_id TEXT, sign_ins INTEGER NOT NULL DEFAULT 0)"
    )
    return db


def make_on_sign_in(path: str = DATABASE) -> Callable[[SignInEvent], str | None]:
    """The ``on_sign_in`` hook: upsert the user; new users go to ``/onboarding``."""

    def on_sign_in(event: SignInEvent) -> str | None:
        with contextlib.closing(connect(path)) as db, db:
            known = db.execute("SELECT 1 FROM users WHERE id = ?", (event.user.id,)).fetchone()
            db.execute(
                "INSERT INTO users (id, email, organization_id, sign_ins) VALUES (?, ?, ?, 1) "
                "ON CONFLICT (id) DO UPDATE SET email = excluded.email, "
                "organization_id = excluded.organization_id, sign_ins = sign_ins + 1",
                (event.user.id, event.user.email, event.organization_id),
            )
        return None if known else "/onboarding"

    return on_sign_in


def sign_ins(path: str, user_id: str) -> int:
    with contextlib.closing(connect(path)) as db:
        row = db.execute("SELECT sign_ins FROM users WHERE id = ?", (user_id,)).fetchone()
    return int(row[0]) if row else 0


def options(database: str = DATABASE, **overrides: Any) -> dict[str, Any]:
    """Middleware options of every example: the hook and the error page."""
    return {
        "on_sign_in": make_on_sign_in(database),
        "error_template": ERROR_TEMPLATE,
        "protected_paths": ("/onboarding", "/dashboard"),
        **overrides,
    }
