"""In-process cost per request: every app in one process, one run, one event loop.

ASGI apps are awaited directly with a prebuilt scope and trivial receive/send; WSGI
apps are called with a prebuilt environ and a no-op start_response (the body is
consumed and closed, as a server would). Each call is timed on its own with
``perf_counter_ns`` (the timer's own cost, calibrated at start, is subtracted);
scenarios run interleaved in rounds so that drift hits all of them alike, each
round in a new random order (seeded: the same seed, the same orders) so that no
scenario always follows the same one. Each scenario stops at its iteration budget or
its time bound, whichever comes first.

    .venv/bin/python benchmarks/inprocess.py [--iterations 20000] [--seconds 2]
        [--rounds 20] [--order-seed 1 | --fixed-order] [--only TEXT]

Exit status 0 when every target holds, 1 otherwise (2 on a setup failure).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import io
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import apps

from authkit_middleware.emulator import Emulator

HEADERS: list[tuple[bytes, bytes]] = [
    (b"host", b"localhost:3000"),
    (b"user-agent", b"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"),
    (b"accept", b"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
    (b"accept-encoding", b"gzip, deflate, br"),
    (b"accept-language", b"en-US,en;q=0.5"),
]
OTHER_COOKIES = "_ga=GA1.1.1234567890.1700000000; theme=dark"


@dataclass
class Scenario:
    name: str
    kind: str  # "asgi" | "wsgi"
    call: Callable[[], Any]  # returns an awaitable for asgi
    #: At most this many requests in all (first-request scenarios: one per cookie).
    limit: int | None = None
    #: The scenario its ratio is taken over (default: the bare app of its kind).
    reference: str | None = None
    samples: list[int] = field(default_factory=list)
    spent: float = 0.0

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def p99(self) -> float:
        s = sorted(self.samples)
        return float(s[min(len(s) - 1, int(len(s) * 0.99))])


# --------------------------------------------------------------------------- drivers


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _send(message: Any) -> None:
    return None


def asgi_call(app: Any, scopes: list[dict[str, Any]]) -> Callable[[], Any]:
    """One request per call, cycling through ``scopes`` (a fresh dict each time)."""
    state = {"i": 0}
    n = len(scopes)

    def call() -> Any:
        i = state["i"]
        state["i"] = i + 1
        return app(dict(scopes[i % n]), _receive, _send)

    return call


def _start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
    return None


def wsgi_call(app: Any, environs: list[dict[str, Any]]) -> Callable[[], Any]:
    state = {"i": 0}
    n = len(environs)

    def call() -> None:
        i = state["i"]
        state["i"] = i + 1
        environ = dict(environs[i % n])
        environ["wsgi.input"] = io.BytesIO(b"")
        body = app(environ, _start_response)
        try:
            for _ in body:
                pass
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()

    return call


def scope(path: str, cookie: str | None) -> dict[str, Any]:
    headers = list(HEADERS)
    if cookie is not None:
        headers.append((b"cookie", cookie.encode("latin-1")))
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 3000),
        "state": {},
    }


def environ(path: str, cookie: str | None) -> dict[str, Any]:
    env: dict[str, Any] = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "3000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for k, v in HEADERS:
        env["HTTP_" + k.decode().upper().replace("-", "_")] = v.decode("latin-1")
    if cookie is not None:
        env["HTTP_COOKIE"] = cookie
    return env


# --------------------------------------------------------------------------- timing


def calibrate() -> int:
    clock = time.perf_counter_ns
    samples = []
    for _ in range(20000):
        t0 = clock()
        t1 = clock()
        samples.append(t1 - t0)
    return int(statistics.median(samples))


async def run_rounds(
    scenarios: list[Scenario],
    iterations: int,
    seconds: float,
    rounds: int,
    order_seed: int | None = None,
) -> None:
    """Each round runs every scenario once, in a new random order (``order_seed``;
    None: the listed order every round). Whatever ran just before a scenario moves
    its median: another app on the same framework code leaves the interpreter's
    caches and call-site specializations in its own state, which take many requests
    to settle (measured: the first few hundred of a round run slower). A fixed order
    gives each scenario the same predecessor in every round, so that effect would be
    the same bias in every round; shuffled, it is spread over all scenarios alike."""
    clock = time.perf_counter_ns
    per_round = max(1, iterations // rounds)
    budget = seconds / rounds
    order = list(scenarios)
    shuffler = None if order_seed is None else random.Random(order_seed)
    for _ in range(rounds):
        if shuffler is not None:
            shuffler.shuffle(order)
        for sc in order:
            gc.collect()
            samples = sc.samples
            call = sc.call
            deadline = time.perf_counter() + budget
            start = time.perf_counter()
            count = per_round if sc.limit is None else max(1, sc.limit // rounds)
            if sc.kind == "asgi":
                for i in range(count):
                    t0 = clock()
                    await call()
                    samples.append(clock() - t0)
                    if i & 63 == 0 and time.perf_counter() > deadline:
                        break
            else:
                for i in range(count):
                    t0 = clock()
                    call()
                    samples.append(clock() - t0)
                    if i & 63 == 0 and time.perf_counter() > deadline:
                        break
            sc.spent += time.perf_counter() - start


# --------------------------------------------------------------------------- main


async def main(args: argparse.Namespace) -> int:
    emulator = Emulator(access_token_ttl=3600)
    with emulator.serve() as server:
        settings = apps.Settings(server.base_url, server.api_key, server.client_id)
        tokens = emulator.issue_session(apps.EMAIL)

        # Each bare app is the very app ours wraps: the ratio is the middleware alone,
        # not two instances of the app that happen to sit in different memory.
        bare = apps.bare_starlette()
        bare_w = apps.bare_flask()
        ours = apps.ours_starlette(settings, bare)
        ours_w = apps.ours_flask(settings, bare_w)
        # Cookies come from another worker of the same app (as after a restart or
        # behind a load balancer): sealed after verifying, so attested.
        worker = apps.other_worker(settings, emulator.keys.jwks())
        cookie = f"{OTHER_COOKIES}; wos-session={apps.our_cookie(worker, tokens)}"
        fresh_n = max(1, min(args.fresh, args.iterations))
        # One distinct session (token and seal) per first request: nothing verified
        # before can be reused, so this measures unseal + verify + Auth every time.
        fresh = [
            f"{OTHER_COOKIES}; wos-session={apps.our_cookie(worker, fresh_tokens)}"
            for fresh_tokens in (emulator.issue_session(apps.EMAIL) for _ in range(fresh_n))
        ]
        # The same, sealed without an attestation (WorkOS's JS libraries, or
        # token_attestation=False): the first sight checks the RS256 signature.
        foreign = [
            f"{OTHER_COOKIES}; wos-session={apps.foreign_cookie(worker, fresh_tokens)}"
            for fresh_tokens in (emulator.issue_session(apps.EMAIL) for _ in range(fresh_n))
        ]
        sdk = f"{OTHER_COOKIES}; wos_session={apps.sdk_cookie(tokens)}"
        sess = f"{OTHER_COOKIES}; session={apps.starlette_session_cookie(tokens)}"
        # API client: the same access token as a bearer token (no cookie at all).
        bearer = f"Bearer {tokens['access_token']}"
        bearer_scope = scope("/dash", None)
        bearer_scope["headers"] = [*bearer_scope["headers"], (b"authorization", bearer.encode())]
        bearer_environ = {**environ("/dash", None), "HTTP_AUTHORIZATION": bearer}

        def first_asgi(cookies: list[str]) -> list[dict[str, Any]]:
            return [scope("/dash", c) for c in cookies]

        def first_wsgi(cookies: list[str]) -> list[dict[str, Any]]:
            return [environ("/dash", c) for c in cookies]

        seed = apps.seed_flask(settings)
        scenarios = [
            Scenario("starlette bare", "asgi", asgi_call(bare, [scope("/dash", cookie)])),
            # The reference of "ours static path": bare Starlette on the same path.
            # Its route is matched third (after "/" and "/dash"), so it costs more
            # than bare "/dash"; comparing over it counts only the middleware.
            Scenario(
                "starlette bare static path",
                "asgi",
                asgi_call(bare, [scope("/static/app.css", None)]),
            ),
            Scenario(
                "starlette + SessionMiddleware",
                "asgi",
                asgi_call(apps.session_starlette(), [scope("/dash", sess)]),
            ),
            Scenario(
                "naive SDK middleware",
                "asgi",
                asgi_call(apps.naive_starlette(settings), [scope("/dash", sdk)]),
            ),
            Scenario("ours signed in (steady)", "asgi", asgi_call(ours, [scope("/dash", cookie)])),
            Scenario("ours signed in (first request)", "asgi", asgi_call(ours, first_asgi(fresh))),
            Scenario(
                "ours first request, RS256 (foreign)", "asgi", asgi_call(ours, first_asgi(foreign))
            ),
            Scenario("ours bearer (steady)", "asgi", asgi_call(ours, [bearer_scope])),
            Scenario("ours signed out", "asgi", asgi_call(ours, [scope("/", OTHER_COOKIES)])),
            Scenario(
                "ours static path",
                "asgi",
                asgi_call(ours, [scope("/static/app.css", None)]),
                reference="starlette bare static path",
            ),
            Scenario("flask bare", "wsgi", wsgi_call(bare_w, [environ("/dash", cookie)])),
            Scenario("flask seed with_auth", "wsgi", wsgi_call(seed, [environ("/dash", sdk)])),
            Scenario(
                "flask ours signed in (steady)",
                "wsgi",
                wsgi_call(ours_w, [environ("/dash", cookie)]),
            ),
            Scenario(
                "flask ours signed in (first request)",
                "wsgi",
                wsgi_call(ours_w, first_wsgi(fresh)),
            ),
            Scenario(
                "flask ours first request, RS256 (foreign)",
                "wsgi",
                wsgi_call(ours_w, first_wsgi(foreign)),
            ),
            Scenario("flask ours bearer (steady)", "wsgi", wsgi_call(ours_w, [bearer_environ])),
            Scenario(
                "flask ours signed out",
                "wsgi",
                wsgi_call(ours_w, [environ("/", OTHER_COOKIES)]),
            ),
        ]
        if args.only:
            # Only the scenarios named (and the references their ratios need).
            wanted = {sc.name for sc in scenarios if any(w in sc.name for w in args.only)}
            refs = {
                sc.reference or ("starlette bare" if sc.kind == "asgi" else "flask bare")
                for sc in scenarios
                if sc.name in wanted
            }
            scenarios = [sc for sc in scenarios if sc.name in wanted | refs]
        # Warm up (JWKS fetched, imports done, caches primed), then check the answers.
        for sc in scenarios:
            for _ in range(3):
                if sc.kind == "asgi":
                    await sc.call()
                else:
                    sc.call()
        if not await _sanity(ours, bare, cookie, sdk, settings):
            return 2
        # The first-request scenarios must never hit the cache: start them empty.
        ours.kit.sessions.clear()
        ours_w.kit.sessions.clear()
        for sc in scenarios:
            if "first request" in sc.name:
                sc.limit = fresh_n
                cookies = foreign if "foreign" in sc.name else fresh
                if sc.kind == "asgi":
                    sc.call = asgi_call(ours, first_asgi(cookies))
                else:
                    sc.call = wsgi_call(ours_w, first_wsgi(cookies))
        overhead = calibrate()
        # What setup made (apps, pre-minted cookies, their environs) is never garbage:
        # frozen, so the collection before each of the many scenario rounds only
        # walks what the requests left behind, not all of it again.
        gc.collect()
        gc.freeze()
        order_seed = None if args.fixed_order else args.order_seed
        await run_rounds(scenarios, args.iterations, args.seconds, args.rounds, order_seed)
        # Pre-minted cookies are used once each: a scenario that cycled past them
        # would measure the cache, so say so instead of printing a wrong number.
        for sc in scenarios:
            if "first request" in sc.name and len(sc.samples) > fresh_n:
                print(
                    f"note: {sc.name} used {len(sc.samples)} > {fresh_n} cookies", file=sys.stderr
                )
        for sc in scenarios:
            sc.samples = [max(0, s - overhead) for s in sc.samples]
        return report(scenarios, overhead, args)


async def _sanity(ours: Any, bare: Any, cookie: str, sdk: str, settings: Any) -> bool:
    """Every scenario must answer what it claims (200 "ok" signed in, etc.)."""
    import httpx

    ok = True
    checks = [
        (ours, "/dash", {"cookie": cookie}, 200),
        (ours, "/dash", {"accept": "application/json"}, 401),
        (ours, "/", {}, 200),
        (apps.naive_starlette(settings), "/dash", {"cookie": sdk}, 200),
        (apps.naive_starlette(settings), "/dash", {}, 401),
    ]
    for app, path, headers, status in checks:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost:3000") as c:
            r = await c.get(path, headers=headers)
        if r.status_code != status:
            print(f"sanity: {path} {headers} -> {r.status_code}, want {status}", file=sys.stderr)
            ok = False
    return ok


TARGETS = {
    "ours signed in (steady)": ("ratio", 1.5),
    "ours signed in (first request)": ("overhead_us", 45.0),
    "ours signed out": ("ratio", 1.2),
    "ours static path": ("ratio", 1.2),
    "flask ours signed in (steady)": ("ratio", 1.05),
    "flask ours signed in (first request)": ("overhead_us", 45.0),
    "flask ours signed out": ("ratio", 1.2),
}


def report(scenarios: list[Scenario], overhead: int, args: argparse.Namespace) -> int:
    base = {sc.kind: sc for sc in scenarios if sc.name in ("starlette bare", "flask bare")}
    by_name = {sc.name: sc for sc in scenarios}
    print(
        f"\nin-process, {args.rounds} interleaved rounds"
        + (" in listed order" if args.fixed_order else f" in random order (seed {args.order_seed})")
        + f", budget {args.iterations} requests"
        f" / {args.seconds:.1f} s per scenario; timer cost {overhead} ns subtracted\n"
    )
    head = (
        f"{'scenario':38} {'n':>6} {'median µs':>10} {'p99 µs':>9} {'ratio':>7} {'+µs':>8}  target"
    )
    print(head)
    print("-" * len(head))
    all_ok = True
    for sc in scenarios:
        b = by_name[sc.reference] if sc.reference else base[sc.kind]
        ratio = sc.median / b.median
        extra = (sc.median - b.median) / 1000
        target = ""
        rule = TARGETS.get(sc.name)
        if rule is not None:
            what, limit = rule
            good = ratio <= limit if what == "ratio" else extra <= limit
            all_ok &= good
            mark = "✓" if good else "✗"
            target = f"{mark} ≤ {limit}x" if what == "ratio" else f"{mark} ≤ +{limit:.0f} µs"
        print(
            f"{sc.name:38} {len(sc.samples):>6} {sc.median / 1000:>10.2f} {sc.p99 / 1000:>9.2f}"
            f" {ratio:>6.2f}x {extra:>+8.2f}  {target}"
            + (f"  (over {sc.reference})" if sc.reference else "")
        )
    print("\nall targets met" if all_ok else "\nsome targets NOT met")
    return 0 if all_ok else 1


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--iterations", type=int, default=20000, help="requests per scenario (budget)")
    p.add_argument("--seconds", type=float, default=2.0, help="time bound per scenario")
    p.add_argument("--rounds", type=int, default=20, help="interleaved rounds")
    p.add_argument(
        "--order-seed",
        type=int,
        default=1,
        help="seed of each round's random scenario order (the same seed, the same orders)",
    )
    p.add_argument(
        "--fixed-order",
        action="store_true",
        help="run the scenarios in the listed order every round (the order before 2026-11-27)",
    )
    p.add_argument("--fresh", type=int, default=4000, help="pre-minted sessions (first request)")
    p.add_argument(
        "--only",
        action="append",
        metavar="TEXT",
        help="run only the scenarios whose name contains TEXT (repeatable), and their references",
    )
    return p.parse_args()


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse())))
