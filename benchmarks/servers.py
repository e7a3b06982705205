"""Real servers on loopback, loaded by ``wrk``: requests/s of a signed-in request.

uvicorn (1 worker): bare Starlette, + SessionMiddleware, the naive SDK middleware,
ours. gunicorn (1 sync worker): bare Flask, the seed's ``with_auth``, ours. Every
run sends ``GET /dash`` with the app's own session cookie (see ``apps.py``), after a
warm-up that checks the answer is 200 "ok". Each server is its own process group,
killed at the end of its run; each ``wrk`` run is bounded (``-d``), and so is the
wait for a server to come up.

    .venv/bin/python benchmarks/servers.py [--duration 5] [--connections 16]

Needs ``wrk`` on PATH (Debian: ``apt-get install -y wrk``).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

import apps

from authkit_middleware.core.config import AuthKitConfig
from authkit_middleware.core.engine import AuthKit
from authkit_middleware.emulator import Emulator

HERE = Path(__file__).resolve().parent
PY = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def command(server: str, port: int) -> list[str]:
    if server == "uvicorn":
        return [
            PY, "-m", "uvicorn", "--factory", "apps:asgi_app", "--app-dir", str(HERE),
            "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
            "--log-level", "warning", "--no-access-log",
        ]  # fmt: skip
    return [
        PY, "-m", "gunicorn", "--chdir", str(HERE), "-w", "1", "-k", "sync",
        "-b", f"127.0.0.1:{port}", "--log-level", "warning", "apps:wsgi_app()",
    ]  # fmt: skip


def run_one(
    server: str, app: str, cookie: str, env: dict[str, str], args: argparse.Namespace
) -> float:
    port = free_port()
    proc = subprocess.Popen(
        command(server, port),
        env={**os.environ, **env, "BENCH_APP": app},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/dash"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                r = httpx.get(url, headers={"cookie": cookie}, timeout=2)
                break
            except httpx.HTTPError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    err = proc.stderr.read().decode() if proc.stderr else ""
                    raise SystemExit(f"{server}/{app} did not start: {err[-500:]}") from None
                time.sleep(0.1)
        if r.status_code != 200 or r.text != "ok":
            raise SystemExit(f"{server}/{app}: warm-up got {r.status_code} {r.text[:80]!r}")
        for _ in range(50):
            httpx.get(url, headers={"cookie": cookie}, timeout=2)
        wrk = [args.wrk, "-t1", f"-c{args.connections}", f"-d{args.duration}s", "--timeout", "5s"]
        out = subprocess.run(
            [*wrk, "-H", f"Cookie: {cookie}", url],
            capture_output=True,
            text=True,
            timeout=args.duration + 30,
            check=True,
        ).stdout
        match = re.search(r"Requests/sec:\s+([0-9.]+)", out)
        if match is None:
            raise SystemExit(f"could not read wrk's output:\n{out}")
        errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        if errors:
            print(f"  warning: {server}/{app}: {errors.group(1)} non-2xx responses")
        return float(match.group(1))
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--wrk", default=shutil.which("wrk") or "/usr/bin/wrk")
    args = p.parse_args()
    if not Path(args.wrk).exists():
        print("wrk not found: apt-get install -y wrk", file=sys.stderr)
        return 2

    with Emulator(access_token_ttl=3600).serve() as server:
        s = apps.Settings(server.base_url, server.api_key, server.client_id)
        tokens = server.emulator.issue_session(apps.EMAIL)
        kit = AuthKit(AuthKitConfig(**apps.our_options(s)))
        ours = f"wos-session={apps.our_cookie(kit, tokens)}"
        sdk = f"wos_session={apps.sdk_cookie(tokens)}"
        sess = f"session={apps.starlette_session_cookie(tokens)}"
        env = s.env()
        runs = [
            ("uvicorn", "bare", ours, "bare Starlette"),
            ("uvicorn", "session", sess, "Starlette + SessionMiddleware"),
            ("uvicorn", "naive", sdk, "naive SDK middleware"),
            ("uvicorn", "ours", ours, "ours (AuthKitMiddleware)"),
            ("gunicorn", "bare", ours, "bare Flask"),
            ("gunicorn", "seed", sdk, "seed with_auth"),
            ("gunicorn", "ours", ours, "ours (AuthKitWSGIMiddleware)"),
        ]
        print(
            f"wrk -t1 -c{args.connections} -d{args.duration}s, GET /dash signed in,"
            " 127.0.0.1, 1 worker"
        )
        results: dict[tuple[str, str], float] = {}
        for srv, app, cookie, _label in runs:
            results[(srv, app)] = run_one(srv, app, cookie, env, args)
    ok = True
    print(f"\n{'server':9} {'app':32} {'req/s':>9} {'ratio':>7}  target")
    for srv, app, _cookie, label in runs:
        rps = results[(srv, app)]
        ratio = rps / results[(srv, "bare")]
        target = ""
        if srv == "uvicorn" and app == "ours":
            good = ratio >= 0.9
            ok &= good
            target = f"{'✓' if good else '✗'} ≥ 0.9x"
        print(f"{srv:9} {label:32} {rps:>9.0f} {ratio:>6.2f}x  {target}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
