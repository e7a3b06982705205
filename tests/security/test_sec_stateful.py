"""The whole session lifecycle as a hypothesis state machine against the emulator.

Rules: login, callback, request, advance_clock, refresh_fails(kind), burst(n), logout,
tamper_cookie. Invariants: never authenticated after logout (until the next sign-in),
at most one WorkOS refresh per rotation, no 5xx other than an injected-outage 502/503,
every response that sets a cookie is no-store.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import ExitStack

import httpx
import pytest
import sechelpers
from authkit_test_support.clock import Clock
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from sechelpers import Browser, Harness, make_harness, record

from authkit_middleware.core.session import decode_session
from authkit_middleware.emulator import Emulator, EmulatorServer

AUTH = "/user_management/authenticate"


@pytest.fixture(scope="module")
def shared() -> Iterator[tuple[EmulatorServer, Clock]]:
    clock = Clock()
    with Emulator(auto_login=True, clock=clock).serve() as running:
        yield running, clock


class Lifecycle(RuleBasedStateMachine):
    kind = "wsgi"
    server: EmulatorServer
    clock: Clock

    def __init__(self) -> None:
        super().__init__()
        self.stack = ExitStack()
        self.clock.offset = 0.0
        self.server.emulator.reset()
        self.h: Harness = self.stack.enter_context(make_harness(self.kind, self.server))
        self.h.kit.clock = self.clock
        self.b: Browser = self.h.browser()
        self.pending: str | None = None
        self.signed_out = True
        self.outage = False
        self.rotations = 0
        self.refresh_base = 0

    def teardown(self) -> None:
        self.server.emulator.clear_failures()
        self.stack.close()

    # -- helpers

    def check(self, r: httpx.Response) -> None:
        sechelpers.CURRENT["category"] = "stateful"
        record(r.status_code)
        assert r.status_code < 500 or (self.outage and r.status_code in (502, 503)), r.text
        if r.headers.get_list("set-cookie"):
            assert "no-store" in r.headers.get("cache-control", "")
        if (
            any(
                h.startswith("wos-session") and "Max-Age=0" not in h
                for h in r.headers.get_list("set-cookie")
            )
            and r.request.url.path != "/callback"
        ):
            self.rotations += 1

    # -- rules

    @rule()
    def login(self) -> None:
        _, url = self.b.start_login("returnTo=/dash")
        self.pending = self.b.authorize(url)

    @precondition(lambda self: self.pending is not None)
    @rule()
    def callback(self) -> None:
        assert self.pending is not None
        r = self.b.get(self.pending)
        self.pending = None
        self.check(r)
        if r.status_code == 302:
            self.signed_out = False

    @rule(path=st.sampled_from(["/", "/dash", "/auth/me", "/api/x"]))
    def request(self, path: str) -> None:
        r = self.b.get(path)
        self.check(r)
        if self.signed_out:
            assert (
                r.status_code != 200
                or path == "/"
                or (path == "/auth/me" and r.json()["user"] is None)
            ), (path, r.status_code)

    @rule(seconds=st.sampled_from([1, 29, 200, 290, 400, 3600]))
    def advance_clock(self, seconds: int) -> None:
        self.clock.advance(seconds)

    @rule(kind=st.sampled_from(["500", "503", "429", "invalid_grant", "recover"]))
    def refresh_fails(self, kind: str) -> None:
        em = self.server.emulator
        em.clear_failures()
        self.outage = kind != "recover"
        if kind == "invalid_grant":
            em.inject_failure(
                AUTH,
                method="POST",
                status=400,
                count=None,
                grant_type="refresh_token",
                body={"error": "invalid_grant", "error_description": "already exchanged"},
            )
        elif kind != "recover":
            em.inject_failure(
                AUTH, method="POST", status=int(kind), count=None, grant_type="refresh_token"
            )

    @rule(n=st.integers(min_value=2, max_value=8))
    def burst(self, n: int) -> None:
        header = self.b.cookie_header()
        results: list[httpx.Response] = []
        lock = threading.Lock()

        def one() -> None:
            r = self.b.request("GET", "/dash", cookie=header, absorb=False)
            with lock:
                results.append(r)

        threads = [threading.Thread(target=one) for _ in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=10)
        assert len(results) == n
        sets = set()
        for r in results:
            self.check(r)
            sets.update(session_values(r))
        # Every waiter adopts the same rotation: the same tokens (a late request that
        # adopts it from the grace cache seals them anew: another IV, another string).
        sealer = self.h.kit.sealer
        rotations = {
            decode_session(sealer.unseal(v.split("=", 1)[1], purpose="session")).refresh_token
            for v in sets
        }
        assert len(rotations) <= 1, "every waiter adopts the same rotation"
        for r in results:
            self.b.absorb(r)

    @rule()
    def logout(self) -> None:
        r = self.b.request("POST", "/logout")
        self.check(r)
        self.signed_out = True

    @precondition(lambda self: self.b.session_cookie() is not None)
    @rule(at=st.integers(min_value=0, max_value=10_000))
    def tamper_cookie(self, at: int) -> None:
        name = next(n for n in self.b.jar if n.startswith("wos-session"))
        value = self.b.jar[name]
        i = at % len(value)
        self.b.jar[name] = value[:i] + ("A" if value[i] != "A" else "B") + value[i + 1 :]
        r = self.b.get("/auth/me")
        self.check(r)
        assert r.json().get("user") is None or r.status_code != 200 or self.outage is False
        self.signed_out = self.signed_out or r.json().get("user") is None

    # -- invariants

    @invariant()
    def refreshes_bounded(self) -> None:
        em = self.server.emulator
        ok = em.count("refresh_token", status=200)
        # One WorkOS refresh per rotation the browser saw (bursts collapse to one).
        assert ok <= self.rotations, (ok, self.rotations)


def session_values(r: httpx.Response) -> list[str]:
    return [
        h.split(";", 1)[0]
        for h in r.headers.get_list("set-cookie")
        if h.startswith("wos-session") and "Max-Age=0" not in h
    ]


@pytest.mark.category("stateful")
@pytest.mark.parametrize("kind", ["wsgi", "asgi"])
def test_session_lifecycle(shared: tuple[EmulatorServer, Clock], kind: str) -> None:
    server, clock = shared
    machine = type(
        f"Lifecycle_{kind}", (Lifecycle,), {"kind": kind, "server": server, "clock": clock}
    )
    machine.TestCase.settings = settings(
        max_examples=12,
        stateful_step_count=12,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    machine.TestCase().runTest()
