"""Failure injection and the request journal, observed through the SDK's retry logic."""

from __future__ import annotations

import time

import httpx
import pytest
from workos import RateLimitExceededError, ServerError
from workos._errors import WorkOSTimeoutError

from authkit_middleware.emulator import EmulatorServer

JWKS = "/sso/jwks/{}"


def test_429_carries_retry_after_zero(server: EmulatorServer) -> None:
    server.emulator.inject_failure(JWKS.format(server.client_id), status=429)
    client = server.workos_client()
    with pytest.raises(RateLimitExceededError) as caught:
        client.user_management.get_jwks(client_id=server.client_id)
    assert caught.value.retry_after == 0
    assert caught.value.error == "too_many_requests"
    assert client.user_management.get_jwks(client_id=server.client_id).keys  # count=1 consumed


def test_retry_after_zero_makes_sdk_retries_instant(server: EmulatorServer) -> None:
    emulator = server.emulator
    emulator.inject_failure("/sso/jwks/*", method="GET", status=503, count=3)
    client = server.workos_client(max_retries=3)
    started = time.monotonic()
    assert client.user_management.get_jwks(client_id=server.client_id).keys
    assert time.monotonic() - started < 1.0  # without Retry-After: 0 it would be ~7 s
    calls = emulator.calls(path=JWKS.format(server.client_id))
    assert [c.status for c in calls] == [503, 503, 503, 200]
    assert [c.injected for c in calls] == [True, True, True, False]


def test_failures_can_target_one_grant_type(server: EmulatorServer) -> None:
    emulator = server.emulator
    emulator.inject_failure(
        "/user_management/authenticate",
        grant_type="refresh_token",
        status=500,
        body={"message": "boom"},
        count=None,
    )
    client = server.workos_client()
    session = emulator.issue_session("bob@example.com")
    with pytest.raises(ServerError) as caught:
        client.user_management.authenticate_with_refresh_token(
            refresh_token=session["refresh_token"]
        )
    assert caught.value.response_json == {"message": "boom"}
    assert client.user_management.authenticate_with_password(
        email="bob@example.com", password="password"
    )
    emulator.clear_failures()
    assert client.user_management.authenticate_with_refresh_token(
        refresh_token=session["refresh_token"]  # the failed call did not consume it
    )
    assert emulator.count("refresh_token") == 2 and emulator.count("password") == 1


def test_latency_turns_into_a_client_timeout(server: EmulatorServer) -> None:
    server.emulator.inject_failure("/health", status=None, latency=2.0)
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(f"{server.base_url}/health", timeout=0.2)
    client = server.workos_client()
    server.emulator.inject_failure(JWKS.format(server.client_id), status=None, latency=2.0)
    with pytest.raises(WorkOSTimeoutError):
        client.user_management.get_jwks(
            client_id=server.client_id, request_options={"timeout": 0.2}
        )
    assert time.monotonic() - started < 1.5
    # stop() wakes the sleeping handlers instead of waiting out the latency.


def test_control_api_over_http(server: EmulatorServer) -> None:
    auth = {"Authorization": f"Bearer {server.api_key}"}
    with httpx.Client(base_url=server.base_url, headers=auth) as http:
        rule = http.post(
            "/_emulator/failures", json={"path": "/health", "status": 502, "count": 2}
        ).json()
        assert rule["status"] == 502 and rule["count"] == 2
        assert http.get("/health").status_code == 502
        assert http.get("/health").headers["retry-after"] == "0"
        assert http.get("/health").status_code == 200
        log = http.get("/_emulator/requests", params={"path": "/health"}).json()
        assert log["count"] == 3 and [e["status"] for e in log["data"]] == [502, 502, 200]

        user = http.post(
            "/_emulator/users", json={"email": "zed@example.com", "first_name": "Zed"}
        ).json()
        http.post("/_emulator/organizations", json={"name": "Hooli", "entitlements": ["x"]})
        membership = http.post(
            "/_emulator/memberships",
            json={"user": "zed@example.com", "organization": "Hooli", "role": "owner"},
        ).json()
        assert membership["user"]["id"] == user["id"] and membership["role"] == {"slug": "owner"}
        session = http.post("/_emulator/sessions", json={"user": "zed@example.com"}).json()
        assert session["organization_id"] == membership["organization_id"]
        sid = server.emulator.sessions()[0]["id"]
        assert http.post(f"/_emulator/sessions/{sid}/revoke").status_code == 200
        assert http.patch("/_emulator/config", json={"access_token_ttl": 42}).json() == {
            "auto_login": False,
            "access_token_ttl": 42,
        }
        bad = http.post("/_emulator/failures", json={"path": "/x", "status": 999})
        assert bad.status_code == 422
        missing = http.post("/_emulator/sessions", json={"user": "nobody@example.com"})
        assert missing.status_code == 404
        state = http.get("/_emulator").json()
        assert state["counts"]["users"] == 4 and state["config"]["access_token_ttl"] == 42
        assert http.post("/_emulator/reset").json() == {"reset": True}
        assert http.get("/_emulator").json()["counts"] == {
            "users": 3,
            "organizations": 2,
            "memberships": 3,
            "active_sessions": 0,
        }
        assert http.get("/_emulator/requests").json()["count"] == 0


def test_reset_restores_seed_and_settings(server: EmulatorServer) -> None:
    emulator = server.emulator
    emulator.add_user("temp@example.com")
    emulator.set_auto_login(True)
    emulator.inject_failure("/health", status=500, count=None)
    emulator.reset()
    assert emulator.get_user("temp@example.com") is None
    assert emulator.config.auto_login is False
    assert httpx.get(f"{server.base_url}/health").status_code == 200
