"""Refresh storms through real servers: uvicorn and gunicorn with 4 workers each.

The emulator runs in the test process; the app servers are subprocesses configured
by environment variables. Every storm: one real session whose access token has
expired, 50 concurrent requests carrying it, 200 ms of latency on each refresh call
at the emulator so the requests overlap.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from authkit_middleware.emulator import EmulatorServer

from .storm import (
    Answer,
    AppServer,
    RedisServer,
    expired_session_cookie,
    get,
    slow_refreshes,
    start_app_server,
    storm,
)

pytestmark = pytest.mark.slow

N = 50


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorServer]:
    from authkit_middleware.emulator import Emulator

    server = Emulator().serve()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def shared_redis(redis_server: RedisServer) -> str:
    redis_server.flush()
    return redis_server.url


def _server(
    kind: str, emulator: EmulatorServer, workers: int, redis: str | None
) -> Iterator[AppServer]:
    app = start_app_server(kind, emulator.env(), workers=workers, redis_url=redis)
    try:
        yield app
    finally:
        app.stop()


@pytest.fixture(scope="module")
def uvicorn4_redis(emulator: EmulatorServer, shared_redis: str) -> Iterator[AppServer]:
    yield from _server("uvicorn", emulator, 4, shared_redis)


@pytest.fixture(scope="module")
def gunicorn4_redis(emulator: EmulatorServer, shared_redis: str) -> Iterator[AppServer]:
    yield from _server("gunicorn", emulator, 4, shared_redis)


@pytest.fixture(scope="module")
def uvicorn4_alone(emulator: EmulatorServer) -> Iterator[AppServer]:
    yield from _server("uvicorn", emulator, 4, None)


@pytest.fixture(scope="module")
def two_alone(emulator: EmulatorServer) -> Iterator[tuple[AppServer, AppServer]]:
    a = start_app_server("uvicorn", emulator.env(), workers=1, redis_url=None)
    try:
        b = start_app_server("gunicorn", emulator.env(), workers=1, redis_url=None)
        try:
            yield a, b
        finally:
            b.stop()
    finally:
        a.stop()


@pytest.fixture
def fresh(emulator: EmulatorServer) -> Iterator[EmulatorServer]:
    emulator.emulator.clear_failures()
    slow_refreshes(emulator.emulator)
    emulator.emulator.clear_calls()
    yield emulator
    emulator.emulator.clear_failures()


def _all_signed_in(answers: list[Answer]) -> None:
    bad = [(a.status, a.body) for a in answers if a.status != 200]
    assert not bad, bad[:5]
    assert all(a.body["user"] == "alice@example.com" for a in answers)
    assert not any(a.deletes for a in answers)
    # Each response carries the rotated session (the browser keeps the last one: all work).
    assert all(a.new_cookie for a in answers)


@pytest.mark.parametrize("kind", ["uvicorn", "gunicorn"])
def test_one_refresh_for_a_storm_across_4_workers_with_redis(
    kind: str, fresh: EmulatorServer, request: pytest.FixtureRequest
) -> None:
    app: AppServer = request.getfixturevalue(f"{kind}4_redis")
    cookie = expired_session_cookie(fresh.emulator)
    answers = storm([f"{app.url}/api/me"] * N, cookie)
    _all_signed_in(answers)
    assert fresh.emulator.count("refresh_token") == 1
    pids = {a.body["pid"] for a in answers}
    print(f"{app.name}+redis: {N} requests over {len(pids)} workers, 1 refresh")


def test_one_refresh_across_two_servers_sharing_redis(
    fresh: EmulatorServer, uvicorn4_redis: AppServer, gunicorn4_redis: AppServer
) -> None:
    cookie = expired_session_cookie(fresh.emulator)
    urls = [f"{s.url}/api/me" for s in (uvicorn4_redis, gunicorn4_redis)] * (N // 2)
    answers = storm(urls, cookie)
    _all_signed_in(answers)
    assert fresh.emulator.count("refresh_token") == 1
    # A late request with the old cookie, within the grace window, on either server:
    # the new session (and its cookie), no second refresh.
    for server in (uvicorn4_redis, gunicorn4_redis):
        late = get(f"{server.url}/api/me", cookie)
        assert late.status == 200 and late.new_cookie and not late.deletes
    assert fresh.emulator.count("refresh_token") == 1


def test_without_redis_two_processes_refresh_twice_and_nobody_is_signed_out_for_good(
    fresh: EmulatorServer, two_alone: tuple[AppServer, AppServer]
) -> None:
    """The documented gap (E8): each process refreshes once; the loser's requests get
    401 for this one request, with no Set-Cookie at all (no deletion), so the browser
    keeps the winner's cookie."""
    cookie = expired_session_cookie(fresh.emulator)
    a, b = two_alone
    answers = storm([f"{s.url}/api/me" for s in (a, b)] * (N // 2), cookie)
    assert fresh.emulator.count("refresh_token") == 2  # one per process (single-flight)
    assert fresh.emulator.count("refresh_token", status=200) == 1
    by_server = {s.url: [x for x in answers if x.url.startswith(s.url)] for s in (a, b)}
    outcomes = sorted(
        (tuple(sorted({x.status for x in group})), url) for url, group in by_server.items()
    )
    assert [o[0] for o in outcomes] == [(200,), (401,)], outcomes
    winner = next(g for g in by_server.values() if g[0].status == 200)
    loser = next(g for g in by_server.values() if g[0].status == 401)
    assert all(x.new_cookie for x in winner)
    assert all(x.set_cookies == [] for x in loser)  # no deletion reaches the browser
    assert all(x.body["error"] == "unauthorized" for x in loser)
    # The browser now holds the winner's cookie: it works on both processes.
    new = winner[0].new_cookie
    assert new is not None
    for server in (a, b):
        assert get(f"{server.url}/api/me", new).status == 200
    assert fresh.emulator.count("refresh_token") == 2


def test_without_redis_4_workers_refresh_at_most_once_each_and_never_delete(
    fresh: EmulatorServer, uvicorn4_alone: AppServer
) -> None:
    cookie = expired_session_cookie(fresh.emulator)
    answers = storm([f"{uvicorn4_alone.url}/api/me"] * N, cookie)
    refreshes = fresh.emulator.count("refresh_token")
    assert 1 <= refreshes <= 4  # in-process single-flight: at most one per worker
    assert fresh.emulator.count("refresh_token", status=200) == 1
    assert not any(a.deletes for a in answers)
    assert {a.status for a in answers} <= {200, 401}
    ok = [a for a in answers if a.status == 200]
    lost = [a for a in answers if a.status == 401]
    assert ok and all(a.new_cookie for a in ok)
    assert all(a.set_cookies == [] for a in lost)
    # Only workers whose refresh lost answered 401: one refresh means nobody did.
    assert (refreshes == 1) == (not lost)
    print(f"uvicorn x4 without redis: {refreshes} refreshes, {len(lost)}/{N} answered 401")
