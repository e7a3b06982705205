"""Bearer access tokens through both adapters, against the emulator over real HTTP."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from authkit_test_support.bearer import (
    Client,
    client_factory,
    config_for,
    forge_alg_none,
    forge_hs256_with_public_key,
    forge_other_key_same_kid,
    organization_id,
    sign,
    user_claims,
)
from authkit_test_support.environment import loopback_without_proxy

import authkit_middleware.core.engine as engine_module
from authkit_middleware.emulator import Emulator
from authkit_middleware.emulator.server import EmulatorServer

MakeClient = Callable[..., Client]


@pytest.fixture(autouse=True)
def _no_proxy_no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    loopback_without_proxy(monkeypatch)


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    with Emulator(auto_login=True).serve() as srv:
        yield srv


@pytest.fixture
def emulator(server: EmulatorServer) -> Emulator:
    return server.emulator


@pytest.fixture(params=["asgi", "wsgi"])
def make_client(request: pytest.FixtureRequest, server: EmulatorServer) -> Iterator[MakeClient]:
    with client_factory(request.param, server) as make:
        yield make


def assert_invalid_token(response: Any, code: str | None = None) -> None:
    assert response.status_code == 401, response.text
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer error="invalid_token", error_description="')
    body = response.json()
    assert body["error"] == "invalid_token"
    if code is not None:
        assert body["code"] == code
    assert "set-cookie" not in response.headers
    assert "location" not in response.headers


# --------------------------------------------------------------------------- accepted


def test_emulator_access_token_is_accepted_with_the_claims_as_auth(
    make_client: MakeClient, emulator: Emulator
) -> None:
    client = make_client()
    acme = organization_id(emulator, "Acme Inc")
    tokens = emulator.issue_session("alice@example.com", organization_id=acme)
    response = client.get("/api/me", token=tokens["access_token"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["authenticated"] is True
    assert body["source"] == "bearer"
    assert body["user_id"] == tokens["user"]["id"]
    assert body["email"] is None  # the emulator's tokens carry no email claim
    assert body["organization_id"] == acme
    assert body["role"] == "admin"
    assert body["permissions"] == ["widgets:read", "widgets:write", "members:manage"]
    assert body["entitlements"] == ["pro-plan"]
    assert "role:admin" in body["scopes"] and "entitlement:pro-plan" in body["scopes"]
    assert "set-cookie" not in response.headers


def test_bearer_answers_vary_on_authorization_not_cookie(
    make_client: MakeClient, emulator: Emulator
) -> None:
    """A shared cache must key a bearer-authenticated answer on the token (RFC 9110
    §12.5.5), and never store it."""
    client = make_client()
    token = emulator.issue_session("alice@example.com")["access_token"]
    response = client.get("/api/me", token=token)
    assert response.status_code == 200
    vary = [v.strip().lower() for v in response.headers["vary"].split(",")]
    assert "authorization" in vary and "cookie" not in vary
    assert "no-store" in response.headers["cache-control"]


def test_email_claim_fills_user_email(make_client: MakeClient, emulator: Emulator) -> None:
    client = make_client()
    token = sign(emulator, user_claims(emulator, email="alice@example.com"))
    response = client.get("/api/me", token=token)
    assert response.status_code == 200
    assert response.json()["email"] == "alice@example.com"


def test_bearer_works_on_public_paths_and_the_session_endpoint(
    make_client: MakeClient, emulator: Emulator
) -> None:
    client = make_client()
    token = emulator.issue_session("bob@example.com")["access_token"]
    assert client.get("/public", token=token).json()["source"] == "bearer"
    me = client.get("/auth/me", token=token)
    assert me.status_code == 200
    assert me.json()["authenticated"] is True
    assert "access_token" not in me.text


def test_scheme_is_case_insensitive(make_client: MakeClient, emulator: Emulator) -> None:
    client = make_client()
    token = emulator.issue_session("bob@example.com")["access_token"]
    response = client.get("/api/me", headers={"authorization": f"bEaReR {token}"})
    assert response.status_code == 200
    assert response.json()["source"] == "bearer"


# --------------------------------------------------------------------------- refused


FORGERIES: dict[str, Callable[[Emulator], str]] = {
    "expired": lambda e: sign(
        e, user_claims(e, iat=int(time.time()) - 7200, exp=int(time.time()) - 3600)
    ),
    "alg_none": lambda e: forge_alg_none(e, user_claims(e)),
    "hs256_public_key": lambda e: forge_hs256_with_public_key(e, user_claims(e)),
    "other_key_same_kid": lambda e: forge_other_key_same_kid(e, user_claims(e)),
    "agent_sub_type": lambda e: sign(e, user_claims(e, sub_type="agent", sid=None, auth_time=None)),
    "agent_sub_type_with_session": lambda e: sign(e, user_claims(e, sub_type="agent")),
    "widget_sub_profile": lambda e: sign(e, user_claims(e, sub_profile="widget")),
    "no_session_claims": lambda e: sign(e, user_claims(e, sid=None, auth_time=None)),
    "garbage": lambda e: "not-a-jwt",
    "empty": lambda e: "",
}
EXPECTED_CODES = {
    "expired": "token_expired",
    "alg_none": "alg_not_allowed",
    "hs256_public_key": "alg_not_allowed",
    "other_key_same_kid": "bad_signature",
    "agent_sub_type": "not_a_user_token",
    "agent_sub_type_with_session": "not_a_user_token",
    "widget_sub_profile": "not_a_user_token",
    "no_session_claims": "not_a_user_token",
    "garbage": "malformed_token",
    "empty": "malformed_token",
}


@pytest.mark.parametrize("kind", sorted(FORGERIES))
@pytest.mark.parametrize("path", ["/api/me", "/public", "/auth/me"])
def test_bad_tokens_are_401_with_the_rfc6750_challenge_on_every_path(
    make_client: MakeClient, emulator: Emulator, kind: str, path: str
) -> None:
    client = make_client()
    response = client.get(path, token=FORGERIES[kind](emulator))
    assert_invalid_token(response, EXPECTED_CODES[kind])


def test_browser_with_a_bad_token_gets_401_not_a_redirect(
    make_client: MakeClient, emulator: Emulator
) -> None:
    client = make_client()
    response = client.get(
        "/api/me",
        token=forge_alg_none(emulator, user_claims(emulator)),
        headers={"accept": "text/html"},
    )
    assert_invalid_token(response)


def test_wrong_issuer_is_refused_when_an_issuer_is_configured(
    make_client: MakeClient, emulator: Emulator
) -> None:
    client = make_client(issuer=emulator.issuer)
    good = sign(emulator, user_claims(emulator))
    assert client.get("/api/me", token=good).status_code == 200
    evil = sign(emulator, user_claims(emulator, iss="https://evil.example/user_management/x"))
    assert_invalid_token(client.get("/api/me", token=evil), "wrong_issuer")


def test_leeway_applies_to_expiry(make_client: MakeClient, emulator: Emulator) -> None:
    now = int(time.time())
    client = make_client(jwt_leeway=60)
    recent = sign(emulator, user_claims(emulator, iat=now - 400, exp=now - 10))
    assert client.get("/api/me", token=recent).status_code == 200
    strict = make_client(jwt_leeway=0)
    assert_invalid_token(strict.get("/api/me", token=recent), "token_expired")


def test_missing_bearer_on_a_protected_path_is_a_bare_challenge(make_client: MakeClient) -> None:
    client = make_client()
    response = client.get("/api/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["error"] == "unauthorized"
    # Browsers are still sent to sign in.
    browser = client.get("/api/me", headers={"accept": "text/html"})
    assert browser.status_code == 307
    assert browser.headers["location"].startswith("/login?returnTo=")


def test_other_authorization_schemes_are_not_ours(make_client: MakeClient) -> None:
    client = make_client()
    public = client.get("/public", headers={"authorization": "Basic dXNlcjpwYXNz"})
    assert public.status_code == 200
    assert public.json()["authenticated"] is False
    protected = client.get("/api/me", headers={"authorization": "Basic dXNlcjpwYXNz"})
    assert protected.status_code == 401


def test_bearer_can_be_turned_off(make_client: MakeClient, emulator: Emulator) -> None:
    client = make_client(accept_bearer_tokens=False)
    token = emulator.issue_session("alice@example.com")["access_token"]
    response = client.get("/api/me", token=token)
    assert response.status_code == 401
    assert "www-authenticate" not in response.headers
    # A forged token is ignored too, not reported: the header is simply not read.
    public = client.get("/public", token=forge_alg_none(emulator, user_claims(emulator)))
    assert public.status_code == 200
    assert public.json()["authenticated"] is False


def test_ended_session_token_is_refused(make_client: MakeClient, emulator: Emulator) -> None:
    client = make_client()
    tokens = emulator.issue_session("alice@example.com")
    cookie = client.seal(tokens)
    other = emulator.issue_session("alice@example.com")  # a second session, still open
    assert client.get("/api/me", token=other["access_token"]).status_code == 200
    # Sign out of the first session through this process: its token is dead here.
    client.request("POST", "/logout", cookie=cookie)
    assert_invalid_token(client.get("/api/me", token=tokens["access_token"]), "session_ended")
    assert client.get("/api/me", token=other["access_token"]).status_code == 200


def test_a_token_cached_before_sign_out_is_refused_after_it(
    make_client: MakeClient, emulator: Emulator
) -> None:
    """The verified-token cache must not outlive a sign-out through this process."""
    client = make_client()
    tokens = emulator.issue_session("alice@example.com")
    cookie = client.seal(tokens)
    for _ in range(2):  # verified, then answered from the cache
        assert client.get("/api/me", token=tokens["access_token"]).status_code == 200
    client.request("POST", "/logout", cookie=cookie)
    assert_invalid_token(client.get("/api/me", token=tokens["access_token"]), "session_ended")


# --------------------------------------------------------------------------- precedence


def test_cookie_wins_by_default_and_the_bearer_is_ignored(
    make_client: MakeClient, emulator: Emulator
) -> None:
    client = make_client()
    bob_cookie = client.seal(emulator.issue_session("bob@example.com"))
    alice = emulator.issue_session("alice@example.com")
    response = client.get("/api/me", cookie=bob_cookie, token=alice["access_token"])
    assert response.status_code == 200
    body = response.json()
    assert body["source"] == "cookie"
    assert body["user_id"] == emulator.get_user("bob@example.com")["id"]  # type: ignore[index]
    # Even a forged bearer is ignored when the cookie is the credential in use.
    forged = forge_alg_none(emulator, user_claims(emulator))
    assert client.get("/api/me", cookie=bob_cookie, token=forged).json()["source"] == "cookie"


def test_bearer_wins_when_configured_and_no_cookie_is_written(
    make_client: MakeClient, emulator: Emulator
) -> None:
    client = make_client(credential_precedence="bearer")
    bob_cookie = client.seal(emulator.issue_session("bob@example.com"))
    alice = emulator.issue_session("alice@example.com")
    response = client.get("/api/me", cookie=bob_cookie, token=alice["access_token"])
    assert response.status_code == 200
    body = response.json()
    assert body["source"] == "bearer"
    assert body["user_id"] == alice["user"]["id"]
    assert "set-cookie" not in response.headers
    # ...and a bad bearer fails even though a good cookie is present.
    forged = forge_alg_none(emulator, user_claims(emulator))
    assert_invalid_token(client.get("/api/me", cookie=bob_cookie, token=forged))


def test_bearer_requests_never_get_set_cookie_even_near_expiry(
    make_client: MakeClient, emulator: Emulator
) -> None:
    client = make_client()
    now = int(time.time())
    # Inside the refresh buffer: a cookie would be refreshed; a bearer token is not.
    token = sign(emulator, user_claims(emulator, iat=now - 280, exp=now + 20))
    for _ in range(2):
        response = client.get("/api/me", token=token)
        assert response.status_code == 200
        assert "set-cookie" not in response.headers
    assert emulator.count("refresh_token") == 0


# --------------------------------------------------------------------------- cache


def test_a_repeated_token_is_verified_once(
    make_client: MakeClient, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    real = engine_module.verify_access_token

    def counting(token: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(token)
        return real(token, *args, **kwargs)

    monkeypatch.setattr(engine_module, "verify_access_token", counting)
    client = make_client()
    token = emulator.issue_session("alice@example.com")["access_token"]
    for _ in range(5):
        assert client.get("/api/me", token=token).status_code == 200
    assert calls == [token]
    assert client.kit.sessions.get("Bearer " + token, time.time()) is not None
    # The fast path serves it: no generator, same Auth object.
    from authkit_middleware.core.http import RequestInfo

    info = RequestInfo(method="GET", path="/api/me", authorization=f"Bearer {token}")
    fast = client.kit.fast(info, time.time())
    assert fast is not None and fast.auth.source == "bearer"
    # A second token is a second verification; failures are never cached.
    forged = forge_other_key_same_kid(emulator, user_claims(emulator))
    for _ in range(2):
        assert client.get("/api/me", token=forged).status_code == 401
    assert len(calls) == 3
    assert client.kit.sessions.get("Bearer " + forged, time.time()) is None


def test_cached_token_stops_at_expiry(emulator: Emulator, server: EmulatorServer) -> None:
    from authkit_middleware.core.engine import AuthKit
    from authkit_middleware.core.http import RequestInfo
    from authkit_middleware.drivers.sync import SyncDriver

    now = [time.time()]
    kit = AuthKit(config_for(server, jwt_leeway=0), clock=lambda: now[0])
    driver = SyncDriver(kit)
    try:
        token = sign(emulator, user_claims(emulator, exp=int(now[0]) + 30))
        info = RequestInfo(method="GET", path="/api/me", authorization=f"Bearer {token}")
        assert driver.decide(info).auth.source == "bearer"  # type: ignore[union-attr]
        assert kit.fast(info, now[0]) is not None
        now[0] += 31
        assert kit.fast(info, now[0]) is None
        decision = driver.decide(info)
        assert decision.response.status == 401  # type: ignore[union-attr]
    finally:
        driver.client.close()


# --------------------------------------------------------------------------- rules


def test_path_rules_apply_to_bearer_requests_with_insufficient_scope(
    make_client: MakeClient, emulator: Emulator
) -> None:
    client = make_client(
        permission_rules={"/admin/*": ("members:manage",)},
        entitlement_rules={"/api/*": ("pro-plan",)},
    )
    acme, globex = organization_id(emulator, "Acme Inc"), organization_id(emulator, "Globex")
    admin = emulator.issue_session("alice@example.com", organization_id=acme)["access_token"]
    member = emulator.issue_session("alice@example.com", organization_id=globex)["access_token"]
    assert client.get("/admin/panel", token=admin).status_code == 200
    assert client.get("/api/me", token=admin).status_code == 200
    for path in ("/admin/panel", "/api/me"):
        refused = client.get(path, token=member)
        assert refused.status_code == 403
        assert refused.headers["www-authenticate"] == 'Bearer error="insufficient_scope"'
        assert refused.json()["error"] == "forbidden"


def test_feature_flag_rules(make_client: MakeClient, emulator: Emulator) -> None:
    client = make_client(feature_flag_rules={"/api/*": ("new-dashboard",)})
    acme, globex = organization_id(emulator, "Acme Inc"), organization_id(emulator, "Globex")
    on = emulator.issue_session("alice@example.com", organization_id=acme)
    off = emulator.issue_session("alice@example.com", organization_id=globex)
    assert client.get("/api/me", token=on["access_token"]).status_code == 200
    assert client.get("/api/me", token=off["access_token"]).status_code == 403
    # Cookies follow the same rule.
    assert client.get("/api/me", cookie=client.seal(on)).status_code == 200
    assert client.get("/api/me", cookie=client.seal(off)).status_code == 403
