"""The ``authkit_emulator`` pytest fixture, start-up time, concurrency, WSGI use."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.test import Client
from workos import BadRequestError
from workos.pkce import PKCE

from authkit_middleware.emulator import Emulator, EmulatorServer, pkce_challenge
from authkit_middleware.emulator.ids import stable_id


def test_fixture_yields_a_running_isolated_emulator(authkit_emulator: EmulatorServer) -> None:
    assert authkit_emulator.base_url.startswith("http://127.0.0.1:")
    assert authkit_emulator.emulator.count() == 0
    client = authkit_emulator.workos_client()
    assert client.user_management.get_jwks(client_id=authkit_emulator.client_id).keys
    assert authkit_emulator.env()["WORKOS_API_KEY"] == authkit_emulator.api_key

    async def read() -> int:
        async_client = authkit_emulator.async_workos_client()
        try:
            jwks = await async_client.user_management.get_jwks(client_id=authkit_emulator.client_id)
            return len(jwks.keys)
        finally:
            await async_client.close()

    assert asyncio.run(read()) == 1
    assert authkit_emulator.emulator.count("/sso/jwks/" + authkit_emulator.client_id) == 2


def test_fixture_is_fresh_per_test(authkit_emulator: EmulatorServer) -> None:
    authkit_emulator.emulator.add_user("leak@example.com")


def test_fixture_is_fresh_per_test_second(authkit_emulator: EmulatorServer) -> None:
    assert authkit_emulator.emulator.get_user("leak@example.com") is None


def test_serve_starts_quickly_and_stops_cleanly() -> None:
    started = time.perf_counter()
    emulator = Emulator()
    server = emulator.serve(port=0)
    elapsed = time.perf_counter() - started
    print(f"emulator construction + serve(): {elapsed * 1000:.1f} ms")
    assert elapsed < 1.0  # a sanity bound, not a benchmark
    with httpx.Client() as http:  # a keep-alive connection left open across stop()
        assert http.get(server.base_url + "/health").status_code == 200
        before = threading.active_count()
        server.stop()
        server.stop()  # idempotent
        with pytest.raises(httpx.TransportError):
            http.get(server.base_url + "/health", timeout=1)
    assert threading.active_count() <= before


def test_fifty_concurrent_refreshes_of_one_token_succeed_exactly_once(
    server: EmulatorServer,
) -> None:
    session = server.emulator.issue_session("alice@example.com")
    barrier = threading.Barrier(50, timeout=10)

    def refresh(_: int) -> str:
        client = server.workos_client()
        barrier.wait()
        try:
            client.user_management.authenticate_with_refresh_token(
                refresh_token=session["refresh_token"]
            )
            return "ok"
        except BadRequestError as exc:
            return str(exc.error)

    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(refresh, range(50)))
    assert results.count("ok") == 1 and results.count("invalid_grant") == 49
    assert server.emulator.count("refresh_token") == 50


def test_keep_alive_and_parallel_sessions(server: EmulatorServer) -> None:
    sessions = [server.emulator.issue_session("bob@example.com") for _ in range(20)]
    url = f"{server.base_url}/user_management/authenticate"

    def refresh(session: dict[str, str]) -> int:
        body = {
            "grant_type": "refresh_token",
            "client_id": server.client_id,
            "refresh_token": session["refresh_token"],
        }
        return http.post(url, json=body).status_code

    with httpx.Client(timeout=10) as http, ThreadPoolExecutor(max_workers=20) as pool:
        assert set(pool.map(refresh, sessions)) == {200}


def test_emulator_is_a_wsgi_app_without_a_server() -> None:
    emulator = Emulator()
    client = Client(emulator)
    response = client.get("/health")
    assert response.status_code == 200 and response.headers["X-Request-ID"]
    assert client.get("/sso/jwks/" + emulator.client_id).json["keys"]  # type: ignore[index]


@settings(max_examples=25, deadline=None)
@given(verifier=st.text(alphabet=st.sampled_from("abcXYZ0189-._~"), min_size=43, max_size=128))
def test_pkce_challenge_matches_the_sdk(verifier: str) -> None:
    assert pkce_challenge(verifier) == PKCE().generate_code_challenge(verifier)


_PKCE_EMULATOR = Emulator(auto_login=True)


@settings(max_examples=15, deadline=None)
@given(
    verifier=st.text(alphabet=st.sampled_from("abcXYZ0189-._~"), min_size=43, max_size=128),
    other=st.text(alphabet=st.sampled_from("abcXYZ0189-._~"), min_size=43, max_size=128),
)
def test_code_exchange_accepts_exactly_the_matching_verifier(verifier: str, other: str) -> None:
    emulator = _PKCE_EMULATOR
    client = Client(emulator)
    authorize = client.get(
        "/user_management/authorize",
        query_string={
            "client_id": emulator.client_id,
            "redirect_uri": "http://localhost/cb",
            "response_type": "code",
            "provider": "authkit",
            "code_challenge": pkce_challenge(verifier),
            "code_challenge_method": "S256",
        },
    )
    code = authorize.headers["Location"].split("code=")[1]
    body = {"grant_type": "authorization_code", "client_id": emulator.client_id, "code": code}
    attempt = client.post("/user_management/authenticate", json={**body, "code_verifier": other})
    if other == verifier:
        assert attempt.status_code == 200
    else:
        assert attempt.status_code == 400 and attempt.json["error"] == "invalid_grant"  # type: ignore[index]


def test_stable_ids_look_like_workos_ids() -> None:
    value = stable_id("user", "someone@example.com")
    assert value == stable_id("user", "someone@example.com")
    assert value.startswith("user_01") and len(value) == len("user_") + 26
