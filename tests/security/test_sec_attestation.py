"""Token attestations end to end (core.attestation), against the real emulator.

A cookie sealed by one worker after it verified the access token carries an
attestation; another worker's first sight of it then skips the RS256 check and
nothing else. These tests show what that may and may not change:

a. another worker accepts an attested cookie without an RS256 verification, with the
   very ``Auth`` RS256 gives;
b. an attacker who knows the cookie password (but not the API key) still cannot
   sign in as anyone with a forged token, whatever attestation they seal with it;
c. an attestation made under another API key is not trusted;
d. a key gone from the JWKS, or replaced under the same kid, vouches for nothing;
e. an attested token that expired is not accepted;
f. ``token_attestation=False`` writes none and trusts none;
g. the callback, a refresh and a re-seal after a password rotation write one.

RS256 verifications are counted by wrapping ``engine.verify_access_token``. Each
case runs in the fast lane (``kit.lane``) and, where cheap, on the full path (a
WSGI middleware with ``debug=True``, which skips the lane).
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest
from authkit_test_support.bearer import forge_alg_none, forge_other_key_same_kid, user_claims
from authkit_test_support.clock import Clock
from authkit_test_support.encoding import b64url
from authkit_test_support.middleware import WSGIAnswer, call_wsgi, emulator_settings, get_environ
from sechelpers import (
    OTHER_PASSWORD,
    PASSWORD,
    SESSION_COOKIE,
    Harness,
    make_harness,
    parse_set_cookie,
    seal_session,
    session_sets,
)

from authkit_middleware import AuthKitWSGIMiddleware
from authkit_middleware.core import engine
from authkit_middleware.core.attestation import ATTESTATION_LENGTH, TokenAttestor
from authkit_middleware.core.auth import Auth
from authkit_middleware.core.config import AuthKitConfig
from authkit_middleware.core.engine import AuthKit
from authkit_middleware.core.session import (
    SessionData,
    TokenResponse,
    decode_session,
    encode_session,
)
from authkit_middleware.core.tokens import unverified_claims
from authkit_middleware.emulator import Emulator, EmulatorServer, SigningKey
from authkit_middleware.testing import mint_session

pytestmark = pytest.mark.category("attestation")

VICTIM = "alice@example.com"
ATTACKER = "bob@example.com"
#: An open path: the app runs signed in or not, and records the ``Auth``.
PATH = "/anywhere"
REFRESH = "/user_management/authenticate"


# --------------------------------------------------------------------------- workers


def _settings(server: EmulatorServer, **options: Any) -> dict[str, Any]:
    options = {"cookie_password": PASSWORD, "request_timeout": 1.0, **options}
    return emulator_settings(server, **options)


def _worker(
    server: EmulatorServer, *, clock: Callable[[], float] = time.time, **options: Any
) -> AuthKit:
    """One worker's engine, with the emulator's JWKS already fetched (at its ``now``)."""
    kit = AuthKit(AuthKitConfig(**_settings(server, **options)), clock=clock)
    kit.jwks.store(server.emulator.keys.jwks(), kit.clock())
    return kit


def _session(tokens: dict[str, Any]) -> SessionData:
    return TokenResponse.from_dict(tokens).to_session()


def _sealed(kit: AuthKit, value: str) -> dict[str, Any]:
    """What a session cookie holds (camelCase, as sealed)."""
    return kit.sealer.unseal(value, purpose="session")


def _lane(kit: AuthKit, value: str) -> Auth | None:
    """The fast lane's answer for a first sight of this cookie: the ``Auth`` it
    signed in with, or None when it did not answer (the full path would decide)."""
    found = kit.lane(PATH, "", f"theme=dark; {SESSION_COOKIE}={value}")
    return found if isinstance(found, Auth) else None


class RS256:
    """Counts RS256 verifications of the engine (``engine.verify_access_token``)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        real = engine.verify_access_token

        def counting(*args: Any, **kwargs: Any) -> dict[str, Any]:
            self.calls += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(engine, "verify_access_token", counting)

    def reset(self) -> None:
        self.calls = 0


@pytest.fixture
def rs256(monkeypatch: pytest.MonkeyPatch) -> RS256:
    return RS256(monkeypatch)


class FullPath:
    """A WSGI middleware with ``debug=True`` (the fast lane is skipped) over an app
    that records the ``Auth`` each request got."""

    def __init__(self, server: EmulatorServer, **options: Any) -> None:
        self.seen: list[Auth] = []

        def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
            self.seen.append(environ["authkit"])
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok"]

        self.middleware = AuthKitWSGIMiddleware(app, **_settings(server, debug=True, **options))
        self.kit = self.middleware.kit
        self.kit.jwks.store(server.emulator.keys.jwks(), self.kit.clock())

    def get(self, value: str) -> tuple[Auth, WSGIAnswer]:
        """One ``GET`` with this session cookie: the app's ``Auth`` and the answer."""
        self.seen.clear()
        answer = call_wsgi(self.middleware, get_environ(PATH, cookie=f"{SESSION_COOKIE}={value}"))
        assert answer.status == "200 OK", answer
        assert len(self.seen) == 1
        return self.seen[0], answer


def _new_cookie(answer: WSGIAnswer) -> str | None:
    """The session cookie value an answer sets, if any (not a deletion)."""
    for header in answer.set_cookies:
        name, value, _ = parse_set_cookie(header)
        if name == SESSION_COOKIE and value:
            return value
    return None


@pytest.fixture
def full_path(server: EmulatorServer) -> Iterator[Callable[..., FullPath]]:
    made: list[FullPath] = []

    def make(**options: Any) -> FullPath:
        made.append(FullPath(server, **options))
        return made[-1]

    yield make
    for each in made:
        each.middleware.close()


def _attested_cookie(server: EmulatorServer, user: str = VICTIM) -> tuple[str, SessionData]:
    """A session cookie of ``user`` sealed by worker A (its JWKS loaded): attested."""
    session = _session(server.emulator.issue_session(user))
    value = _worker(server).seal_session(session)
    attestation = _sealed(_worker(server), value).get("attestation")
    assert isinstance(attestation, str) and len(attestation) == ATTESTATION_LENGTH
    return value, session


def _assert_attestation_is_genuine(server: EmulatorServer, value: str, rs256: RS256) -> None:
    """``value`` carries a 22-character attestation that another worker trusts: it
    signs in there without an RS256 verification."""
    kit = _worker(server)
    data = _sealed(kit, value)
    assert len(data.get("attestation") or "") == ATTESTATION_LENGTH, sorted(data)
    rs256.reset()
    auth = _lane(kit, value)
    assert auth is not None and auth.user is not None
    assert auth.user.id == data["user"]["id"]
    assert rs256.calls == 0


# --------------------------------------------------------------------------- a. accepted


def test_another_workers_attested_cookie_skips_rs256_in_the_lane(
    server: EmulatorServer, emulator: Emulator, rs256: RS256
) -> None:
    """Worker B signs in worker A's attested cookie on first sight with no RS256
    verification, and with exactly the ``Auth`` a worker without attestations
    (which verifies RS256, once) gives."""
    value, session = _attested_cookie(server)
    trusting, plain = _worker(server), _worker(server, token_attestation=False)
    rs256.reset()
    auth = _lane(trusting, value)
    assert rs256.calls == 0
    reference = _lane(plain, value)
    assert rs256.calls == 1
    assert auth is not None and reference is not None
    assert auth == reference
    assert auth.user == session.user and auth.access_token == session.access_token
    assert (auth.session_id, auth.organization_id, auth.role) == (
        unverified_claims(session.access_token)["sid"],
        session.organization_id,
        "admin",
    )
    assert auth.permissions and auth.permissions == reference.permissions


def test_another_workers_attested_cookie_skips_rs256_on_the_full_path(
    server: EmulatorServer,
    emulator: Emulator,
    rs256: RS256,
    full_path: Callable[..., FullPath],
) -> None:
    """The same through a whole middleware (no lane): no RS256 with attestations,
    one without, the same ``Auth``, and no cookie rewritten."""
    value, session = _attested_cookie(server)
    trusting, plain = full_path(), full_path(token_attestation=False)
    rs256.reset()
    auth, answer = trusting.get(value)
    assert rs256.calls == 0
    reference, _ = plain.get(value)
    assert rs256.calls == 1
    assert auth == reference and auth.user == session.user
    assert answer.set_cookies == []
    # Then from memory: nothing verified again.
    assert trusting.get(value)[0] == auth and rs256.calls == 1


# --------------------------------------------------------------------------- b. forgery


def _attacker_cookie(server: EmulatorServer) -> tuple[SessionData, str]:
    """The attacker's own genuine session and the attestation worker A sealed with
    it (the attacker knows the cookie password, so can open their cookie)."""
    value, session = _attested_cookie(server, ATTACKER)
    attestation = _sealed(_worker(server), value)["attestation"]
    return session, attestation


def _payload_swap(claims: dict[str, Any], genuine: str) -> str:
    """The attacker's real header and signature around the victim's payload."""
    header, _, signature = genuine.split(".")
    payload = b64url(json.dumps(claims, separators=(",", ":")).encode())
    return f"{header}.{payload}.{signature}"


FORGERIES = ["alg-none", "attackers-signature", "other-key-same-kid"]
ATTESTATIONS = ["random", "copied", "guessed-api-key"]


def _forged_cookie(server: EmulatorServer, forgery: str, attestation_kind: str) -> str:
    """A victim session sealed with the right password around a forged token."""
    emulator = server.emulator
    victim = _session(emulator.issue_session(VICTIM)).user
    claims = user_claims(emulator, role="admin", permissions=["widgets:write"])
    assert claims["sub"] == victim.id
    attacker, copied = _attacker_cookie(server)
    if forgery == "alg-none":
        token = forge_alg_none(emulator, claims)
    elif forgery == "attackers-signature":
        token = _payload_swap(claims, attacker.access_token)
    else:
        token = forge_other_key_same_kid(emulator, claims)
    if attestation_kind == "random":
        attestation = secrets.token_urlsafe(16)
    elif attestation_kind == "copied":
        attestation = copied
    else:  # the right construction over this very token and key, under a guessed key
        key = _worker(server).jwks.key_for(emulator.keys.signer.kid, time.time())
        assert key is not None
        attestation = TokenAttestor("sk_test_guessed_api_key").attest(token, key)
    assert len(attestation) == ATTESTATION_LENGTH
    session = SessionData(
        access_token=token,
        refresh_token="forged-refresh-token",  # WorkOS refuses it
        user=victim,
        attestation=attestation,
    )
    kit = _worker(server)
    return kit.sealer.seal(encode_session(session, camel=True), purpose="session")


@pytest.mark.parametrize("attestation_kind", ATTESTATIONS)
@pytest.mark.parametrize("forgery", FORGERIES)
def test_a_forged_token_with_any_attestation_is_refused_in_the_lane(
    server: EmulatorServer, emulator: Emulator, forgery: str, attestation_kind: str
) -> None:
    """With the cookie password leaked: an ``alg: none`` token, the victim's payload
    under the attacker's real signature, or a token signed by another key under the
    real kid, sealed with a random attestation, the attacker's own real one, or one
    made under a guessed API key: the lane signs nobody in."""
    value = _forged_cookie(server, forgery, attestation_kind)
    assert _lane(_worker(server), value) is None


@pytest.mark.parametrize("attestation_kind", ATTESTATIONS)
@pytest.mark.parametrize("forgery", FORGERIES)
def test_a_forged_token_with_any_attestation_is_refused_on_the_full_path(
    server: EmulatorServer,
    emulator: Emulator,
    full_path: Callable[..., FullPath],
    forgery: str,
    attestation_kind: str,
) -> None:
    """The same cookies through a whole middleware: signed out (the refresh token
    is refused too), never the victim."""
    value = _forged_cookie(server, forgery, attestation_kind)
    auth, answer = full_path().get(value)
    assert auth.user is None
    assert _new_cookie(answer) is None


def test_the_attackers_attested_token_in_the_victims_session_is_refused(
    server: EmulatorServer, emulator: Emulator, full_path: Callable[..., FullPath]
) -> None:
    """The attacker's genuine token with its genuine attestation, sealed as the
    victim's session: the token's subject is not the sealed user, so nobody is
    signed in (the attestation vouches for a token, not for a session)."""
    attacker, attestation = _attacker_cookie(server)
    victim = _session(emulator.issue_session(VICTIM)).user
    session = replace(attacker, user=victim, refresh_token="forged-refresh-token")
    assert session.attestation is None
    session = replace(session, attestation=attestation)
    kit = _worker(server)
    value = kit.sealer.seal(encode_session(session, camel=True), purpose="session")
    assert _lane(kit, value) is None
    auth, _ = full_path().get(value)
    assert auth.user is None


def _signed_in_through_rs256(
    kit: AuthKit,
    value: str,
    session: SessionData,
    rs256: RS256,
    full_path: Callable[..., FullPath],
) -> None:
    """``value`` signs ``session``'s user in, in ``kit``'s lane and on the full path,
    each after exactly one RS256 verification (its attestation was not trusted)."""
    rs256.reset()
    auth = _lane(kit, value)
    assert auth is not None and auth.user == session.user
    assert rs256.calls == 1
    rs256.reset()
    full_auth, _ = full_path().get(value)
    assert full_auth.user == session.user
    assert rs256.calls == 1


def test_a_genuine_token_with_a_garbage_attestation_is_verified_with_rs256(
    server: EmulatorServer,
    emulator: Emulator,
    rs256: RS256,
    full_path: Callable[..., FullPath],
) -> None:
    """A wrong attestation is not an error: the token is RS256-verified (once) and,
    being genuine, signs its user in, in the lane and on the full path."""
    session = _session(emulator.issue_session(VICTIM))
    for garbage in (secrets.token_urlsafe(16), "not an attestation", ""):
        kit = _worker(server)
        value = kit.sealer.seal(
            encode_session(replace(session, attestation=garbage), camel=True), purpose="session"
        )
        _signed_in_through_rs256(kit, value, session, rs256, full_path)


# --------------------------------------------------------------------------- c. API key


def test_an_attestation_under_another_api_key_is_not_trusted(
    server: EmulatorServer,
    emulator: Emulator,
    rs256: RS256,
    full_path: Callable[..., FullPath],
) -> None:
    """A worker configured with another API key attests a genuine token; this
    worker verifies it with RS256 (once) and signs its user in."""
    session = _session(emulator.issue_session(VICTIM))
    other = _worker(server, api_key="sk_test_another_environment_0123456789")
    value = other.seal_session(session)
    assert len(_sealed(other, value)["attestation"]) == ATTESTATION_LENGTH
    assert (
        _sealed(other, value)["attestation"]
        != _sealed(_worker(server), _worker(server).seal_session(session))["attestation"]
    )
    _signed_in_through_rs256(_worker(server), value, session, rs256, full_path)


# --------------------------------------------------------------------------- d. rotation


def test_an_attestation_for_a_key_gone_from_the_jwks_signs_nobody_in(
    server: EmulatorServer,
    emulator: Emulator,
    full_path: Callable[..., FullPath],
) -> None:
    """Attested under key K1; WorkOS rotates to K2 and drops K1. The token's kid is
    unknown: the lane answers nothing, and the full path does not accept the old
    token (it refreshes: a new token, signed by K2)."""
    value, session = _attested_cookie(server)
    old = emulator.keys.signer
    new = SigningKey.generate()
    emulator.rotate_signing_key(new)
    try:
        emulator.remove_signing_key(old.kid)
        assert _lane(_worker(server), value) is None
        auth, answer = full_path().get(value)
        assert auth.user == session.user
        assert auth.access_token != session.access_token
        assert emulator.count("refresh_token") == 1
        assert _new_cookie(answer) is not None
    finally:
        emulator.rotate_signing_key(old)
        emulator.remove_signing_key(new.kid)


def test_an_attestation_for_a_key_replaced_under_the_same_kid_signs_nobody_in(
    server: EmulatorServer,
    emulator: Emulator,
    rs256: RS256,
    full_path: Callable[..., FullPath],
) -> None:
    """The JWKS now holds another RSA key under the token's kid: the attestation
    was for the old key's fingerprint, so it is not trusted, RS256 runs and fails.
    Nobody is signed in with that token, in the lane or on the full path."""
    value, _ = _attested_cookie(server)
    kid = emulator.keys.signer.kid
    impostor = {"keys": [{**SigningKey.generate().jwk, "kid": kid}]}
    kit = _worker(server)
    kit.jwks.store(impostor, kit.clock())
    rs256.reset()
    assert _lane(kit, value) is None
    assert rs256.calls == 1
    middleware = full_path()
    middleware.kit.jwks.store(impostor, middleware.kit.clock())
    auth, _ = middleware.get(value)
    assert auth.user is None  # the refreshed token does not verify either


# --------------------------------------------------------------------------- e. expiry


def _later(server: EmulatorServer) -> Clock:
    """A clock past the emulator's token lifetime plus the default 60 s leeway."""
    return Clock(server.emulator.config.access_token_ttl + 60 + 5)


def test_an_attested_token_that_expired_is_not_accepted_in_the_lane(
    server: EmulatorServer, emulator: Emulator, rs256: RS256
) -> None:
    """The attestation still checks, but the token has expired: the lane does not
    sign it in (the full path will refresh it)."""
    value, _ = _attested_cookie(server)
    rs256.reset()
    assert _lane(_worker(server, clock=_later(server)), value) is None
    assert rs256.calls == 0  # attested: only the claim checks ran, and refused it


def test_an_attested_token_that_expired_is_refreshed(
    server: EmulatorServer, emulator: Emulator, full_path: Callable[..., FullPath]
) -> None:
    """On the full path the expired attested token goes to the refresh: the
    request is signed in with a new token, in a new attested cookie."""
    value, session = _attested_cookie(server)
    clock = _later(server)
    middleware = full_path()
    middleware.kit.clock = clock
    middleware.kit.jwks.store(emulator.keys.jwks(), clock())
    real, emulator.service.clock = emulator.service.clock, clock  # mints at the same "now"
    try:
        auth, answer = middleware.get(value)
    finally:
        emulator.service.clock = real
    assert emulator.count("refresh_token") == 1
    assert auth.user == session.user and auth.access_token != session.access_token
    cookie = _new_cookie(answer)
    assert cookie is not None
    assert len(_sealed(middleware.kit, cookie)["attestation"]) == ATTESTATION_LENGTH


def test_an_attested_token_that_expired_is_not_served_when_the_refresh_fails(
    server: EmulatorServer, emulator: Emulator, full_path: Callable[..., FullPath]
) -> None:
    """WorkOS cannot refresh (503, transient): a still-valid token would be served
    (E5), but an expired one, attested or not, leaves the request signed out."""
    value, _ = _attested_cookie(server)
    clock = _later(server)
    middleware = full_path()
    middleware.kit.clock = clock
    middleware.kit.jwks.store(emulator.keys.jwks(), clock())
    emulator.inject_failure(REFRESH, method="POST", status=503, count=None)
    auth, answer = middleware.get(value)
    assert emulator.count("refresh_token") >= 1
    assert auth.user is None
    assert _new_cookie(answer) is None


def test_an_attested_token_that_expired_is_not_served_when_the_refresh_is_refused(
    server: EmulatorServer, emulator: Emulator, full_path: Callable[..., FullPath]
) -> None:
    """The session was revoked at WorkOS (refresh refused): the expired attested
    token does not keep anyone signed in."""
    value, session = _attested_cookie(server)
    emulator.revoke_session(unverified_claims(session.access_token)["sid"])
    clock = _later(server)
    middleware = full_path()
    middleware.kit.clock = clock
    middleware.kit.jwks.store(emulator.keys.jwks(), clock())
    auth, answer = middleware.get(value)
    assert auth.user is None
    assert _new_cookie(answer) is None


# --------------------------------------------------------------------------- f. off


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
def test_with_attestations_off_the_callback_writes_none(
    server: EmulatorServer, emulator: Emulator, kind: str
) -> None:
    """``token_attestation=False``: the cookie a real sign-in writes has no
    ``attestation`` field."""
    with make_harness(kind, server, token_attestation=False) as harness:
        browser = harness.browser()
        browser.login()
        value = browser.session_cookie()
        assert value is not None
        data = _sealed(harness.kit, value)
    assert data["user"]["id"] and data["accessToken"]
    assert "attestation" not in data, sorted(data)


def test_with_attestations_off_no_sealed_cookie_carries_one(
    server: EmulatorServer,
    emulator: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    full_path: Callable[..., FullPath],
) -> None:
    """Off by keyword or by ``WORKOS_TOKEN_ATTESTATION=false``: ``seal_session``
    writes none, and a re-seal (old password) drops the one the cookie had."""
    session = _session(emulator.issue_session(VICTIM))
    monkeypatch.setenv("WORKOS_TOKEN_ATTESTATION", "false")
    from_env = AuthKit(AuthKitConfig.from_env(**_settings(server)))
    assert from_env.config.token_attestation is False
    from_env.jwks.store(emulator.keys.jwks(), time.time())
    for kit in (from_env, _worker(server, token_attestation=False)):
        assert "attestation" not in _sealed(kit, kit.seal_session(session))
    # An attested cookie under the old password, re-sealed by a worker with them off.
    old = _worker(server, cookie_password=OTHER_PASSWORD).seal_session(session)
    assert len(_sealed(_worker(server, cookie_password=OTHER_PASSWORD), old)["attestation"]) == 22
    rotated = _worker(server, cookie_password=(PASSWORD, OTHER_PASSWORD), token_attestation=False)
    found = rotated.lane(PATH, "", f"{SESSION_COOKIE}={old}")
    assert isinstance(found, tuple)  # a stale password: the full path re-seals
    middleware = full_path(cookie_password=(PASSWORD, OTHER_PASSWORD), token_attestation=False)
    auth, answer = middleware.get(old)
    assert auth.user == session.user
    resealed = _new_cookie(answer)
    assert resealed is not None
    assert "attestation" not in _sealed(middleware.kit, resealed)


def test_with_attestations_off_an_attested_cookie_is_verified_with_rs256(
    server: EmulatorServer,
    emulator: Emulator,
    rs256: RS256,
    full_path: Callable[..., FullPath],
) -> None:
    """A worker with attestations off trusts none: another worker's attested
    cookie is RS256-verified (once), in the lane and on the full path."""
    value, session = _attested_cookie(server)
    rs256.reset()
    auth = _lane(_worker(server, token_attestation=False), value)
    assert auth is not None and auth.user == session.user
    assert rs256.calls == 1
    rs256.reset()
    auth, _ = full_path(token_attestation=False).get(value)
    assert auth.user == session.user
    assert rs256.calls == 1


# --------------------------------------------------------------------------- g. written


def test_the_callback_writes_an_attestation(harness: Harness, rs256: RS256) -> None:
    """A real sign-in (both adapters): the cookie carries a 22-character
    attestation, which another worker trusts (no RS256 there)."""
    browser = harness.browser()
    browser.login()
    value = browser.session_cookie()
    assert value is not None
    _assert_attestation_is_genuine(harness.server, value, rs256)


def test_a_refresh_writes_an_attestation(harness: Harness, rs256: RS256) -> None:
    """A cookie without one (sealed by another library) whose token expired: the
    refreshed cookie carries an attestation of the new token."""
    minted = mint_session(harness.kit.config, harness.emulator, VICTIM, expired=True)
    assert "attestation" not in _sealed(harness.kit, minted.cookie_value)
    browser = harness.browser()
    response = browser.get("/whoami", cookie=minted.cookie_header)
    assert response.status_code == 200 and response.json()["authenticated"] is True
    assert session_sets(response), response.headers
    assert harness.emulator.count("refresh_token") == 1
    value = browser.session_cookie()
    assert value is not None and value != minted.cookie_value
    _assert_attestation_is_genuine(harness.server, value, rs256)
    data = _sealed(harness.kit, value)
    assert data["accessToken"] != minted.access_token


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
def test_a_reseal_after_a_password_rotation_writes_an_attestation(
    server: EmulatorServer, emulator: Emulator, rs256: RS256, kind: str
) -> None:
    """A cookie sealed under the old (fallback) password, without an attestation:
    the middleware re-seals it with the primary password and an attestation."""
    tokens = emulator.issue_session(VICTIM)
    old = seal_session(tokens, OTHER_PASSWORD)
    with make_harness(kind, server, cookie_password=(PASSWORD, OTHER_PASSWORD)) as harness:
        browser = harness.browser()
        response = browser.get("/whoami", cookie=f"{SESSION_COOKIE}={old}")
        assert response.status_code == 200 and response.json()["authenticated"] is True
        assert session_sets(response), response.headers
        value = browser.session_cookie()
    assert value is not None and value != old
    assert emulator.count("refresh_token") == 0  # re-sealed, not refreshed
    _assert_attestation_is_genuine(server, value, rs256)
    assert decode_session(_sealed(_worker(server), value)).access_token == tokens["access_token"]
