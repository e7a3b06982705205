"""Refresh storms through real servers, with and without the Redis coordinator.

For each scenario (uvicorn x4 ASGI, gunicorn x4 gthread WSGI; each with and without
``WORKOS_REDIS_URL``) it starts the servers as subprocesses on loopback ports, then
runs ``--rounds`` storms: a fresh session whose access token has expired, ``--n``
concurrent requests carrying it, ``--latency`` seconds injected on every refresh call
at the emulator (in this process). It prints, per scenario, the refresh calls WorkOS
saw per storm, how many requests were answered 401 (signed out for that request,
never a cookie deletion), and p50/p99 request latency and the storm's wall time.

Usage::

    .venv/bin/python benchmarks/refresh_storm.py [--rounds 5] [--n 50] [--latency 0.2]

Needs ``redis-server`` on PATH. Bounded: at most 20 rounds of at most 200 requests,
and a global deadline (``--deadline`` seconds, default 180) after which it stops.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from authkit_middleware.emulator import Emulator
from tests.concurrency.storm import (
    RedisServer,
    expired_session_cookie,
    slow_refreshes,
    start_app_server,
    storm,
)


@dataclass
class Figures:
    name: str
    refreshes: list[int] = field(default_factory=list)
    unauthorized: list[int] = field(default_factory=list)
    deletions: int = 0
    latencies: list[float] = field(default_factory=list)
    walls: list[float] = field(default_factory=list)

    def row(self) -> str:
        lat = sorted(self.latencies)

        def pct(p: float) -> float:
            return lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else float("nan")

        return (
            f"{self.name:<22} refreshes/storm {self.refreshes!s:<18} "
            f"401s/storm {self.unauthorized!s:<22} deletions {self.deletions:<3} "
            f"p50 {pct(0.50):6.0f} ms  p99 {pct(0.99):6.0f} ms  "
            f"storm {statistics.median(self.walls) * 1000 if self.walls else 0:6.0f} ms"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--deadline", type=float, default=180.0)
    args = parser.parse_args()
    rounds = max(1, min(args.rounds, 20))
    n = max(1, min(args.n, 200))
    deadline = time.monotonic() + args.deadline

    redis = RedisServer()
    redis.start()
    emulator_server = Emulator().serve()
    results: list[Figures] = []
    try:
        emulator = emulator_server.emulator
        for kind in ("uvicorn", "gunicorn"):
            for coordinated in (True, False):
                if time.monotonic() > deadline:
                    break
                figures = Figures(f"{kind} x{args.workers} {'redis' if coordinated else 'alone'}")
                app = start_app_server(
                    kind,
                    emulator_server.env(),
                    workers=args.workers,
                    redis_url=redis.url if coordinated else None,
                )
                try:
                    for _ in range(rounds):
                        if time.monotonic() > deadline:
                            break
                        emulator.clear_failures()
                        cookie = expired_session_cookie(emulator)
                        slow_refreshes(emulator, args.latency)
                        emulator.clear_calls()
                        started = time.perf_counter()
                        answers = storm([f"{app.url}/api/me"] * n, cookie)
                        figures.walls.append(time.perf_counter() - started)
                        figures.refreshes.append(emulator.count("refresh_token"))
                        figures.unauthorized.append(sum(a.status == 401 for a in answers))
                        figures.deletions += sum(a.deletes for a in answers)
                        figures.latencies.extend(a.seconds for a in answers)
                finally:
                    app.stop()
                results.append(figures)
                print(figures.row(), flush=True)
    finally:
        emulator_server.stop()
        redis.stop()
    print(
        f"\n{n} concurrent requests per storm, {rounds} storms per scenario, "
        f"{args.latency * 1000:.0f} ms injected on each refresh call."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
