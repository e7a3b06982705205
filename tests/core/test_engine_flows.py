"""Every flow of the core, through both drivers, against the emulator over real HTTP.

The real ``workos`` SDK (sync ``WorkOSClient`` / async ``AsyncWorkOSClient``) talks to
the emulator; the engine and the emulator share one controllable clock, so token
expiry, grace windows and login-state lifetimes are tested without sleeping.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from authkit_test_support.clock import Clock
from authkit_test_support.cookies import store_set_cookie
from authkit_test_support.middleware import emulator_settings

from authkit_middleware.core.config import AuthKitConfig
from authkit_middleware.core.engine import AuthKit, Continue, Decision, Respond
from authkit_middleware.core.http import RequestInfo
from authkit_middleware.core.seal import Sealer
from authkit_middleware.drivers.aio import AsyncDriver
from authkit_middleware.drivers.sync import SyncDriver
from authkit_middleware.emulator import Emulator
from authkit_middleware.emulator.server import EmulatorServer

PASSWORD = "correct-horse-battery-staple-0123456789"
ORIGIN = "http://localhost:3000"
HTML = "text/html,application/xhtml+xml"


class Flow:
    """A browser-like client of one configured core, driven by the sync or async driver."""

    def __init__(self, mode: str, server: EmulatorServer, clock: Clock, **options: Any) -> None:
        self.mode = mode
        self.server = server
        self.emulator = server.emulator
        settings = {"cookie_password": PASSWORD, "request_timeout": 2.0, **options}
        config = AuthKitConfig(**emulator_settings(server, **settings))
        self.kit = AuthKit(config, clock=clock)
        self.jar: dict[str, str] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        self.sync: SyncDriver | None = None
        self.aio: AsyncDriver | None = None
        if mode == "sync":
            self.sync = SyncDriver(self.kit)
        else:
            self.loop = asyncio.new_event_loop()
            self.aio = AsyncDriver(self.kit)

    def close(self) -> None:
        if self.sync is not None:
            self.sync.client.close()
        if self.aio is not None and self.loop is not None:
            self.loop.run_until_complete(self.aio.client.close())
            self.loop.close()

    # -- requests

    def request(
        self,
        method: str,
        target: str,
        *,
        accept: str = HTML,
        cookies: dict[str, str] | None = None,
        **headers: str,
    ) -> Decision:
        parts = urlsplit(target)
        jar = self.jar if cookies is None else cookies
        info = RequestInfo(
            method=method,
            path=parts.path,
            query_string=parts.query,
            cookie="; ".join(f"{k}={v}" for k, v in jar.items()) or None,
            accept=accept,
            **headers,
        )
        if self.sync is not None:
            decision = self.sync.decide(info)
        else:
            assert self.aio is not None and self.loop is not None
            decision = self.loop.run_until_complete(self.aio.decide(info))
        if cookies is None:
            for header in set_cookies(decision):
                self._store(header)
        return decision

    def _store(self, header: str) -> None:
        store_set_cookie(self.jar, header)

    def sign_in(self, target: str = "/login", **emulator_params: str) -> Respond:
        """Start at ``target``, let the emulator auto-login, return the callback's answer."""
        login = self.request("GET", target)
        assert isinstance(login, Respond) and login.response.status == 302
        authorize = header(login, "location")
        with httpx.Client() as http:
            answer = http.get(authorize, params=emulator_params or None)
        assert answer.status_code == 302, answer.text
        callback = answer.headers["location"]
        assert callback.startswith(f"{ORIGIN}/callback?")
        decision = self.request("GET", callback.removeprefix(ORIGIN))
        assert isinstance(decision, Respond)
        return decision

    def me(self) -> Decision:
        return self.request("GET", "/dashboard")


def header(decision: Decision, name: str) -> str:
    assert isinstance(decision, Respond)
    values = [v for k, v in decision.response.headers if k == name]
    assert values, f"no {name} header"
    return values[0]


def set_cookies(decision: Decision) -> list[str]:
    if isinstance(decision, Respond):
        return [v for k, v in decision.response.headers if k == "set-cookie"]
    return list(decision.set_cookies)


def status(decision: Decision) -> int:
    return decision.response.status if isinstance(decision, Respond) else 200


def body_json(decision: Decision) -> Any:
    import json

    assert isinstance(decision, Respond)
    return json.loads(decision.response.body)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def server(clock: Clock) -> Iterator[EmulatorServer]:
    with Emulator(auto_login=True, clock=clock).serve() as srv:
        yield srv


@pytest.fixture(params=["sync", "async"])
def make_flow(
    request: pytest.FixtureRequest, server: EmulatorServer, clock: Clock
) -> Iterator[Any]:
    flows: list[Flow] = []

    def make(**options: Any) -> Flow:
        options.setdefault("protected_paths", ("/dashboard", "/api/*"))
        flow = Flow(request.param, server, clock, **options)
        flows.append(flow)
        return flow

    yield make
    for flow in flows:
        flow.close()


# ---------------------------------------------------------------------- sign-in


def test_login_redirects_to_authkit_with_pkce_and_a_per_flow_verifier_cookie(
    make_flow: Any,
) -> None:
    flow = make_flow()
    decision = flow.request(
        "GET", "/login?returnTo=/dashboard%3Ftab%3D2&login_hint=alice@example.com"
    )
    assert status(decision) == 302
    url = urlsplit(header(decision, "location"))
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert url.path == "/user_management/authorize"
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43
    assert query["provider"] == "authkit"
    assert query["redirect_uri"] == f"{ORIGIN}/callback"
    assert query["login_hint"] == "alice@example.com"
    assert query["state"].startswith("Fe26.2*")
    (cookie,) = set_cookies(decision)
    assert cookie.startswith("wos-auth-verifier-")
    assert query["state"] in cookie
    for attribute in ("HttpOnly", "Path=/", "Max-Age=600", "SameSite=Lax"):
        assert attribute in cookie
    assert "no-store" in header(decision, "cache-control")


def test_signup_sends_the_sign_up_screen_hint(make_flow: Any) -> None:
    decision = make_flow().request("GET", "/signup")
    assert "screen_hint=sign-up" in header(decision, "location")


def test_full_sign_in_lands_on_the_deep_link_with_a_session(make_flow: Any) -> None:
    flow = make_flow()
    first = flow.request("GET", "/dashboard?tab=2")
    assert status(first) == 307
    assert header(first, "location") == "/login?returnTo=/dashboard%3Ftab%3D2"
    callback = flow.sign_in(header(first, "location"))
    assert status(callback) == 302
    assert header(callback, "location") == f"{ORIGIN}/dashboard?tab=2"
    assert header(callback, "referrer-policy") == "no-referrer"
    cookies = set_cookies(callback)
    assert any(c.startswith("wos-session=Fe26.2*") for c in cookies)
    assert any(c.startswith("wos-auth-verifier-") and "Max-Age=0" in c for c in cookies)
    assert not [n for n in flow.jar if n.startswith("wos-auth-verifier")]
    decision = flow.me()
    assert isinstance(decision, Continue)
    auth = decision.auth
    assert auth.is_authenticated and auth.user is not None
    assert auth.user.email == "alice@example.com"
    assert auth.session_id and auth.access_token
    assert decision.set_cookies == []


def test_steady_state_is_served_from_the_session_cache(make_flow: Any) -> None:
    flow = make_flow()
    flow.sign_in()
    jwks_fetches = flow.emulator.count(path=f"/sso/jwks/{flow.server.client_id}")
    for _ in range(5):
        assert isinstance(flow.me(), Continue)
    assert flow.emulator.count(path=f"/sso/jwks/{flow.server.client_id}") == jwks_fetches
    assert (
        flow.kit.fast(
            RequestInfo("GET", "/dashboard", cookie=f"wos-session={flow.jar['wos-session']}"),
            flow.kit.clock(),
        )
        is not None
    )


def test_a_fresh_process_verifies_a_cookie_it_never_saw(make_flow: Any) -> None:
    flow = make_flow()
    flow.sign_in()
    other = make_flow()
    decision = other.request("GET", "/dashboard", cookies=dict(flow.jar))
    assert isinstance(decision, Continue) and decision.auth.is_authenticated


# ---------------------------------------------------------------------- callback refusals


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("", "missing_auth_params"),
        ("code=abc", "missing_auth_params"),
        ("state=abc", "missing_auth_params"),
        ("code=a&code=b&state=x", "duplicate_params"),
        ("code=a&state=x&state=y", "duplicate_params"),
        (
            "error=access_denied&error_description=%3Cscript%3Ealert(1)%3C/script%3E&state=x",
            "authorization_error",
        ),
    ],
)
def test_malformed_callbacks_are_refused_before_any_network_call(
    make_flow: Any, query: str, code: str
) -> None:
    flow = make_flow()
    decision = flow.request("GET", f"/callback?{query}", accept="application/json")
    assert status(decision) == 400
    assert body_json(decision)["error"] == code
    assert flow.emulator.count("authorization_code") == 0


def test_callback_error_description_is_escaped_in_the_html_page(make_flow: Any) -> None:
    flow = make_flow()
    decision = flow.request(
        "GET", "/callback?error=x&error_description=%3Cscript%3Ealert(1)%3C/script%3E&state=s"
    )
    assert isinstance(decision, Respond)
    page = decision.response.body.decode()
    assert "<script>alert" not in page and "&lt;script&gt;" in page


def _authorize(flow: Flow) -> str:
    """Start a sign-in and return the callback path (code + state), not yet followed."""
    login = flow.request("GET", "/login")
    with httpx.Client() as http:
        answer = http.get(header(login, "location"))
    return answer.headers["location"].removeprefix(ORIGIN)


def test_callback_without_the_verifier_cookie_is_refused(make_flow: Any) -> None:
    flow = make_flow()
    callback = _authorize(flow)
    flow.jar.clear()
    decision = flow.request("GET", callback, accept="application/json")
    assert body_json(decision)["error"] == "missing_pkce_cookie"
    assert flow.emulator.count("authorization_code") == 0


def test_callback_with_another_flows_cookie_is_a_state_mismatch(make_flow: Any) -> None:
    flow = make_flow()
    callback = _authorize(flow)
    mine = next(n for n in flow.jar if n.startswith("wos-auth-verifier-"))
    other = make_flow()
    other_callback = _authorize(other)
    other_state = parse_qs(urlsplit(other_callback).query)["state"][0]
    flow.jar[mine] = other_state
    decision = flow.request("GET", callback, accept="application/json")
    assert body_json(decision)["error"] == "oauth_state_mismatch"
    assert flow.emulator.count("authorization_code") == 0


def test_an_expired_sign_in_attempt_is_refused(make_flow: Any, clock: Clock) -> None:
    flow = make_flow()
    callback = _authorize(flow)
    clock.advance(601)
    decision = flow.request("GET", callback, accept="application/json")
    assert body_json(decision)["error"] == "invalid_login_state"
    assert flow.emulator.count("authorization_code") == 0


def test_a_replayed_callback_gets_no_session(make_flow: Any) -> None:
    flow = make_flow()
    callback = _authorize(flow)
    verifier = {k: v for k, v in flow.jar.items() if k.startswith("wos-auth-verifier-")}
    assert status(flow.request("GET", callback)) == 302
    # The browser's verifier cookie is gone: replaying the URL fails before WorkOS.
    replay = flow.request("GET", callback, accept="application/json", cookies={})
    assert body_json(replay)["error"] == "missing_pkce_cookie"
    # An attacker who kept the verifier cookie too: the code is single-use at WorkOS.
    replay = flow.request("GET", callback, accept="application/json", cookies=verifier)
    assert body_json(replay)["error"] == "code_exchange_failed"
    assert not set_cookies(replay) or all("wos-session=" not in c for c in set_cookies(replay))
    assert flow.emulator.count("authorization_code") == 2


def test_a_workos_outage_during_the_exchange_is_a_503_without_retry(make_flow: Any) -> None:
    flow = make_flow()
    callback = _authorize(flow)
    flow.emulator.inject_failure("/user_management/authenticate", status=503, count=5)
    decision = flow.request("GET", callback, accept="application/json")
    assert status(decision) == 503
    assert body_json(decision)["error"] == "provider_unavailable"
    assert flow.emulator.count(path="/user_management/authenticate") == 1  # B11: no blind retry
    assert "wos-session" not in flow.jar


# ---------------------------------------------------------------------- cookies


def test_a_tampered_cookie_is_signed_out_and_deleted(make_flow: Any) -> None:
    flow = make_flow()
    flow.sign_in()
    value = flow.jar["wos-session"]
    flow.jar["wos-session"] = value[:-5] + ("AAAAA" if not value.endswith("AAAAA") else "BBBBB")
    decision = flow.request("GET", "/dashboard", accept="application/json")
    assert status(decision) == 401
    assert any(c.startswith("wos-session=;") and "Max-Age=0" in c for c in set_cookies(decision))


def test_a_cookie_sealed_with_another_password_is_signed_out(make_flow: Any) -> None:
    flow = make_flow()
    flow.sign_in()
    stranger = make_flow(cookie_password="another-password-that-is-long-enough-123")
    decision = stranger.request(
        "GET", "/dashboard", accept="application/json", cookies=dict(flow.jar)
    )
    assert status(decision) == 401


def test_a_login_state_seal_is_never_a_session(make_flow: Any) -> None:
    flow = make_flow()
    state = parse_qs(urlsplit(_authorize(flow)).query)["state"][0]
    decision = flow.request(
        "GET", "/dashboard", accept="application/json", cookies={"wos-session": state}
    )
    assert status(decision) == 401


def test_password_rotation_accepts_old_cookies_and_reseals_them(make_flow: Any) -> None:
    old = make_flow()
    old.sign_in()
    rotated = make_flow(cookie_password=["a-brand-new-primary-password-0123456789", PASSWORD])
    decision = rotated.request("GET", "/dashboard", cookies=dict(old.jar))
    assert isinstance(decision, Continue) and decision.auth.is_authenticated
    (new_cookie,) = decision.set_cookies
    value = new_cookie.split(";", 1)[0].split("=", 1)[1]
    Sealer("a-brand-new-primary-password-0123456789").unseal(value)


# ---------------------------------------------------------------------- refresh


def test_an_expiring_token_is_refreshed_once_and_the_request_sees_it(
    make_flow: Any, clock: Clock
) -> None:
    flow = make_flow()
    flow.sign_in()
    before = flow.jar["wos-session"]
    first = flow.me()
    assert isinstance(first, Continue)
    clock.advance(290)  # inside the 30 s buffer of a 300 s token
    decision = flow.me()
    assert isinstance(decision, Continue) and decision.auth.is_authenticated
    assert len(decision.set_cookies) == 1
    assert flow.jar["wos-session"] != before
    assert decision.auth.access_token != first.auth.access_token
    assert decision.auth.organization_id == first.auth.organization_id
    assert flow.emulator.count("refresh_token") == 1
    assert isinstance(flow.me(), Continue)
    assert flow.emulator.count("refresh_token") == 1


def test_a_late_request_with_the_old_cookie_gets_the_new_session(
    make_flow: Any, clock: Clock
) -> None:
    flow = make_flow()
    flow.sign_in()
    old_jar = dict(flow.jar)
    clock.advance(400)
    assert isinstance(flow.me(), Continue)
    late = flow.request("GET", "/dashboard", cookies=dict(old_jar))
    assert isinstance(late, Continue) and late.auth.is_authenticated
    assert len(late.set_cookies) == 1
    assert flow.emulator.count("refresh_token") == 1


def test_after_the_grace_window_a_replayed_refresh_token_signs_out(
    make_flow: Any, clock: Clock
) -> None:
    flow = make_flow()
    flow.sign_in()
    old_jar = dict(flow.jar)
    clock.advance(400)
    assert isinstance(flow.me(), Continue)
    clock.advance(60)  # grace over: WorkOS says invalid_grant
    stale = flow.request("GET", "/dashboard", accept="application/json", cookies=dict(old_jar))
    assert status(stale) == 401
    # First refusal: no deletion (it may be a race lost to another process, E4).
    assert not set_cookies(stale)
    clock.advance(31)
    again = flow.request("GET", "/dashboard", accept="application/json", cookies=dict(old_jar))
    assert status(again) == 401
    assert any("Max-Age=0" in c for c in set_cookies(again))
    assert flow.emulator.count("refresh_token") == 2


def test_a_transient_failure_keeps_a_still_valid_session(make_flow: Any, clock: Clock) -> None:
    flow = make_flow()
    flow.sign_in()
    clock.advance(290)  # proactive refresh due, token still valid
    flow.emulator.inject_failure("/user_management/authenticate", status=503, count=1)
    decision = flow.me()
    assert isinstance(decision, Continue) and decision.auth.is_authenticated
    assert decision.set_cookies == []


def test_a_transient_failure_on_an_expired_token_is_a_503_and_keeps_the_cookie(
    make_flow: Any, clock: Clock
) -> None:
    flow = make_flow()
    flow.sign_in()
    jar = dict(flow.jar)
    clock.advance(400)
    flow.emulator.inject_failure("/user_management/authenticate", status=500, count=1)
    decision = flow.request("GET", "/dashboard", accept="application/json")
    assert status(decision) == 502  # WorkOS failed: bad gateway, not a sign-out
    assert not set_cookies(decision)
    assert flow.jar == jar
    # WorkOS is back: the same cookie refreshes.
    recovered = flow.me()
    assert isinstance(recovered, Continue) and recovered.auth.is_authenticated


def test_a_timeout_during_refresh_is_transient(make_flow: Any, clock: Clock) -> None:
    flow = make_flow(request_timeout=0.3)
    flow.sign_in()
    clock.advance(400)
    flow.emulator.inject_failure("/user_management/authenticate", status=None, latency=1.0, count=1)
    started = time.monotonic()
    decision = flow.request("GET", "/dashboard", accept="application/json")
    assert time.monotonic() - started < 1.0
    assert status(decision) == 503 and not set_cookies(decision)


def test_a_revoked_session_signs_out(make_flow: Any, clock: Clock) -> None:
    flow = make_flow()
    flow.sign_in()
    decision = flow.me()
    assert isinstance(decision, Continue)
    assert decision.auth.session_id is not None
    flow.emulator.revoke_session(decision.auth.session_id)
    clock.advance(400)
    refused = flow.request("GET", "/dashboard")
    assert status(refused) == 307  # back to sign-in


def test_an_org_scoped_session_keeps_its_organisation_through_refresh(
    make_flow: Any, clock: Clock
) -> None:
    flow = make_flow()
    alice = flow.emulator.get_user("alice@example.com")
    assert alice is not None
    flow.sign_in()
    first = flow.me()
    assert isinstance(first, Continue)
    org = first.auth.organization_id
    assert org and first.auth.role
    clock.advance(400)
    refreshed = flow.me()
    assert isinstance(refreshed, Continue)
    assert refreshed.auth.organization_id == org
    assert refreshed.auth.permissions == first.auth.permissions


# ---------------------------------------------------------------------- JWKS


def test_jwks_rotation_is_followed(make_flow: Any, clock: Clock) -> None:
    flow = make_flow()
    flow.sign_in()
    flow.emulator.rotate_signing_key()
    clock.advance(31)  # past the unknown-kid cooldown
    other = make_flow()  # a fresh browser signs in with a token signed by the new key
    jar_before = dict(flow.jar)
    other.sign_in()
    assert isinstance(other.me(), Continue)
    assert isinstance(flow.request("GET", "/dashboard", cookies=jar_before), Continue)


def test_a_jwks_outage_after_a_warm_start_keeps_verifying(make_flow: Any, clock: Clock) -> None:
    flow = make_flow()
    flow.sign_in()
    flow.kit.sessions.clear()
    flow.emulator.inject_failure(f"/sso/jwks/{flow.server.client_id}", status=500, count=None)
    clock.advance(301)  # the key set is past its TTL: a refetch is attempted and fails
    decision = flow.me()
    assert isinstance(decision, Continue) and decision.auth.is_authenticated


def test_a_cold_start_with_jwks_down_fails_closed(make_flow: Any) -> None:
    flow = make_flow()
    flow.sign_in()
    cold = make_flow()
    flow.emulator.inject_failure(f"/sso/jwks/{flow.server.client_id}", status=500, count=None)
    decision = cold.request("GET", "/dashboard", accept="application/json", cookies=dict(flow.jar))
    assert status(decision) == 503
    assert not set_cookies(decision)
    open_page = cold.request("GET", "/", cookies=dict(flow.jar))
    assert isinstance(open_page, Continue) and not open_page.auth.is_authenticated


# ---------------------------------------------------------------------- logout


def test_logout_ends_the_session_at_workos_and_clears_every_cookie(
    make_flow: Any, clock: Clock
) -> None:
    flow = make_flow(after_sign_out_url="/goodbye")
    flow.sign_in()
    flow.request("GET", "/login")  # a pending flow cookie too
    session = flow.me()
    assert isinstance(session, Continue)
    decision = flow.request("POST", "/logout")
    assert status(decision) == 303
    location = urlsplit(header(decision, "location"))
    assert location.path == "/user_management/sessions/logout"
    params = parse_qs(location.query)
    assert params["session_id"] == [session.auth.session_id]
    assert params["return_to"] == [f"{ORIGIN}/goodbye"]
    cleared = set_cookies(decision)
    assert any(c.startswith("wos-session=;") for c in cleared)
    assert any(c.startswith("wos-auth-verifier-") for c in cleared)
    assert all("Max-Age=0" in c for c in cleared)
    assert flow.jar == {}
    with httpx.Client() as http:
        assert http.get(header(decision, "location")).status_code in (200, 302)
    assert not [s for s in flow.emulator.sessions() if s["id"] == session.auth.session_id]


def test_logout_without_a_session_goes_home(make_flow: Any) -> None:
    decision = make_flow().request("GET", "/logout")
    assert status(decision) == 302
    assert header(decision, "location") == f"{ORIGIN}/"


def test_a_cross_site_logout_is_refused(make_flow: Any) -> None:
    flow = make_flow()
    flow.sign_in()
    decision = flow.request("GET", "/logout", sec_fetch_site="cross-site")
    assert status(decision) == 403
    assert "wos-session" in flow.jar


def test_an_old_cookie_replayed_after_logout_is_dead(make_flow: Any) -> None:
    flow = make_flow()
    flow.sign_in()
    jar = dict(flow.jar)
    flow.request("POST", "/logout")
    decision = flow.request("GET", "/dashboard", accept="application/json", cookies=jar)
    assert status(decision) == 401


# ---------------------------------------------------------------------- API clients


def test_signed_out_api_clients_get_401_json_and_browsers_a_redirect(make_flow: Any) -> None:
    flow = make_flow()
    api = flow.request("GET", "/api/things", accept="application/json")
    assert status(api) == 401 and body_json(api)["error"] == "unauthorized"
    page = flow.request("POST", "/dashboard")
    assert status(page) == 303


def test_the_session_endpoint_never_returns_tokens(make_flow: Any) -> None:
    flow = make_flow()
    assert body_json(flow.request("GET", "/auth/me")) == {"authenticated": False, "user": None}
    flow.sign_in()
    data = body_json(flow.request("GET", "/auth/me"))
    assert data["authenticated"] is True
    assert data["user"]["email"] == "alice@example.com"
    text = str(data)
    assert flow.jar["wos-session"] not in text
    assert "access_token" not in text and "refresh_token" not in text
