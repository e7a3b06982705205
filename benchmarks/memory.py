"""Memory bound of the verified-session cache over a million distinct cookies.

What it measures, honestly: ``AuthKit.sessions`` (the ``SessionCache`` the fast path
reads) fed one million *distinct* cookie values (~1.1 KB each), each with its own
``Auth`` (user, claims, token), through ``put`` and ``fast_auth`` lookups, exactly as
verified first requests fill it, then a second lookup each (a browser's next
request), which fills the memo by whole Cookie header too. It does not run
the unseal + RSA verify for each (a million of those take ~1 minute and are not
what grows memory); ``inprocess.py`` measures that path's time.

Prints the entry count and the process RSS at checkpoints, and the traced Python
memory (tracemalloc, on only while the cache fills: it would slow the million down
tenfold): the cache is full at ``session_cache_size`` entries (default 10 000), after
which memory stays flat however many cookies come.

    .venv/bin/python benchmarks/memory.py [--cookies 1000000] [--maxsize 10000]
"""

from __future__ import annotations

import argparse
import gc
import resource
import sys
import time
import tracemalloc
from types import MappingProxyType

from authkit_middleware.core.auth import Auth, User
from authkit_middleware.core.config import AuthKitConfig
from authkit_middleware.core.engine import AuthKit


def _rss_mib() -> float:
    """Current resident set size (Linux ``/proc``), else the peak from getrusage."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * resource.getpagesize() / 2**20
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--cookies", type=int, default=1_000_000)
    p.add_argument("--maxsize", type=int, default=10_000, help="session_cache_size")
    p.add_argument("--seconds", type=float, default=120.0, help="time bound")
    args = p.parse_args()

    config = AuthKitConfig(
        api_key="sk_test_memory",
        client_id="client_memory",
        redirect_uri="http://localhost:3000/callback",
        cookie_password="memory-benchmark-password-0123456789abcdef",
        session_cache_size=args.maxsize,
    )
    kit = AuthKit(config)
    token = "eyJ" + "x" * 900  # access-token sized
    pad = "A" * 1050  # sealed-cookie sized
    now = time.time()
    checkpoints = sorted({args.maxsize, args.cookies // 10, args.cookies // 2, args.cookies})
    tracemalloc.start()
    gc.collect()
    base, _ = tracemalloc.get_traced_memory()
    print(f"session cache maxsize {args.maxsize}; {args.cookies} distinct cookies of ~1.1 KB")
    print(f"{'cookies':>10} {'entries':>8} {'RSS MiB':>9}  traced (while filling)")
    rows: list[tuple[int, int, float]] = []
    deadline = time.monotonic() + args.seconds
    done = 0
    traced_full = 0.0
    for i in range(args.cookies):
        value = f"Fe26.2**{i:012d}*{pad}"
        auth = Auth(
            user=User(id=f"user_{i}", email=f"u{i}@example.com"),
            session_id=f"session_{i}",
            permissions=("read", "write"),
            access_token=token + str(i),
            claims=MappingProxyType({"sub": f"user_{i}", "exp": now + 300}),
            expires_at=int(now + 300),
            source="cookie",
        )
        header = f"theme=dark; wos-session={value}"
        if kit.fast_auth("/", "", header, now) is not None:
            print("a never-seen cookie was answered from memory", file=sys.stderr)
            return 2
        kit.sessions.put(value, auth, now + 240)
        # The browser's next request: found by value, its header remembered (memo).
        if kit.fast_auth("/", "", header, now) is not auth:
            print("a verified cookie was not answered from memory", file=sys.stderr)
            return 2
        done = i + 1
        if done in checkpoints:
            gc.collect()
            note = ""
            if tracemalloc.is_tracing():
                current, _ = tracemalloc.get_traced_memory()
                traced_full = (current - base) / 2**20
                tracemalloc.stop()
                note = (
                    f"{traced_full:.1f} MiB in {len(kit.sessions)} entries"
                    f" + {kit.sessions.header_count()} remembered headers"
                )
            rss = _rss_mib()
            rows.append((done, len(kit.sessions), rss))
            print(f"{done:>10} {len(kit.sessions):>8} {rss:>9.1f}  {note}")
        if i & 1023 == 0 and time.monotonic() > deadline:
            print(f"time bound reached after {done} cookies", file=sys.stderr)
            break
    full = rows[0]
    last = rows[-1]
    per_entry = traced_full * 2**20 / max(full[1], 1)
    growth = last[2] - full[2]
    ok = last[1] <= args.maxsize and growth < max(8.0, 0.25 * traced_full)
    print(
        f"\nbound: {last[1]} entries ≤ {args.maxsize}; ≈ {per_entry / 1024:.1f} KiB per entry,"
        f" ≈ {traced_full:.1f} MiB when full; RSS from full to {last[0]} cookies:"
        f" {growth:+.1f} MiB -> {'bounded ✓' if ok else 'NOT bounded ✗'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
