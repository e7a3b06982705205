"""Zero-configuration local runs: start the embedded AuthKit emulator when needed.

The examples call :func:`ensure_workos_environment` before building their app::

    if __name__ == "__main__":
        ensure_workos_environment(port=3000)
        create_app().run(port=3000)

Without ``WORKOS_API_KEY`` in the environment it starts the emulator (the
interactive hosted sign-in page, so a person sees it) on a free loopback port,
points ``WORKOS_*`` at it and prints how to sign in. With real credentials it does
nothing, so the same script runs against WorkOS unchanged.
"""

from __future__ import annotations

import atexit
import os
import secrets
import sys
from typing import TYPE_CHECKING, TextIO

from authkit_middleware.emulator.config import LOOPBACK_HOSTS

if TYPE_CHECKING:
    from authkit_middleware.emulator.server import EmulatorServer

__all__ = ["ensure_workos_environment"]


def ensure_workos_environment(
    *,
    port: int = 3000,
    host: str = "localhost",
    out: TextIO | None = None,
) -> EmulatorServer | None:
    """Start the embedded emulator unless ``WORKOS_API_KEY`` is set; None when it is.

    Sets ``WORKOS_BASE_URL``, ``WORKOS_API_KEY``, ``WORKOS_CLIENT_ID`` and
    ``WORKOS_REDIRECT_URI`` (``http://<host>:<port>/callback``) in ``os.environ``,
    and ``WORKOS_COOKIE_PASSWORD`` (random) only when it is not set. The emulator
    accepts the app's origin for the callback and for the return after sign-out, so
    signing out lands back on the app. It stops when the process exits.

    :param port: the port the *app* will listen on.
    :param host: the host name the browser uses to reach the app.
    :param out: where to print the instructions (``sys.stdout`` by default).
    """
    if os.environ.get("WORKOS_API_KEY", "").strip():
        return None

    from authkit_middleware.emulator.emulator import Emulator

    shown = f"[{host}]" if ":" in host else host
    origin = f"http://{shown}:{port}"
    extra: tuple[str, ...] = () if host in LOOPBACK_HOSTS else (f"{origin}/*",)
    emulator = Emulator(auto_login=False, redirect_uris=extra, logout_redirects=extra)
    server = emulator.serve(host="127.0.0.1", port=0)
    atexit.register(server.stop)

    os.environ.update(server.env())
    os.environ["WORKOS_REDIRECT_URI"] = f"{origin}/callback"
    if not os.environ.get("WORKOS_COOKIE_PASSWORD", "").strip():
        os.environ["WORKOS_COOKIE_PASSWORD"] = secrets.token_urlsafe(32)

    stream = out or sys.stdout
    stream.write(_instructions(server, origin))
    stream.flush()
    return server


def _instructions(server: EmulatorServer, origin: str) -> str:
    emulator = server.emulator
    store = emulator.store
    lines = [
        "",
        "No WORKOS_API_KEY set: using the embedded AuthKit emulator "
        f"at {server.base_url} (set WORKOS_* to use WorkOS).",
        "",
        f"  Open {origin}/ and sign in as one of these users:",
    ]
    with store.lock:
        for user in store.users.values():
            orgs = (
                ", ".join(
                    f"{store.organizations[m.organization_id].name} ({m.role})"
                    for m in store.memberships_of(user.id)
                )
                or "no organization"
            )
            password = f"password: {user.password}" if user.password else "no password"
            lines.append(f"    {user.email:<22} {password:<20} {orgs}")
    lines += ["", "  Press Ctrl-C to stop.", "", ""]
    return "\n".join(lines)
