"""``Emulator``: one emulated WorkOS environment, its control API and its WSGI app.

This is the object tests hold. It composes the state (``Store``), the signing keys
(``KeyRing``), the flows (``Service``), failure injection and the request journal,
and exposes the in-process control API as plain methods.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from authkit_middleware.emulator.app import EmulatorApp
from authkit_middleware.emulator.config import (
    DEFAULT_ACCESS_TOKEN_TTL,
    DEFAULT_API_KEY,
    DEFAULT_CLIENT_ID,
    EmulatorConfig,
)
from authkit_middleware.emulator.control import ControlAPI
from authkit_middleware.emulator.faults import FailureRule, Faults
from authkit_middleware.emulator.ids import stable_id
from authkit_middleware.emulator.journal import Journal, RequestRecord
from authkit_middleware.emulator.seed import REQUIREMENTS, Seed, coerce_seed
from authkit_middleware.emulator.service import Service
from authkit_middleware.emulator.store import OrgRecord, Store
from authkit_middleware.emulator.tokens import KeyRing, SigningKey

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from authkit_middleware.emulator.server import EmulatorServer


class Emulator:
    """A local WorkOS AuthKit environment the unmodified ``workos`` SDK can talk to.

    ``Emulator()`` starts with the demo seed (``Seed.default()``); pass ``seed`` as a
    ``Seed``, a dict in the file shape, or a ``.json``/``.toml`` path. ``serve()``
    puts it on a loopback port; the object itself is also a WSGI application.
    """

    def __init__(
        self,
        seed: Seed | Mapping[str, Any] | str | Path | None = None,
        *,
        client_id: str = DEFAULT_CLIENT_ID,
        api_key: str = DEFAULT_API_KEY,
        auto_login: bool = False,
        access_token_ttl: int = DEFAULT_ACCESS_TOKEN_TTL,
        issuer: str | None = None,
        redirect_uris: Sequence[str] = (),
        allow_loopback_redirects: bool = True,
        logout_redirects: Sequence[str] = (),
        require_organization_selection: bool = False,
        sso_required_status: int = 400,
        signing_key: SigningKey | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.seed = coerce_seed(seed)
        self.config = EmulatorConfig(
            client_id=client_id,
            api_key=api_key,
            auto_login=auto_login,
            access_token_ttl=access_token_ttl,
            issuer=issuer,
            redirect_uris=tuple(redirect_uris),
            allow_loopback_redirects=allow_loopback_redirects,
            logout_redirects=tuple(logout_redirects),
            require_organization_selection=require_organization_selection,
            sso_required_status=sso_required_status,
        )
        self._initial = (auto_login, access_token_ttl)
        self.clock = clock
        self.store = Store()
        self.store.load(self.seed, clock())
        self.keys = KeyRing(signing_key)
        self.service = Service(self.store, self.keys, self.config, clock)
        self.faults = Faults()
        self.journal = Journal()
        self.stopping = threading.Event()
        self.wsgi_app = EmulatorApp(
            self.service, self.journal, self.faults, ControlAPI(self), self.stopping
        )

    # ---------------------------------------------------------------- identity

    @property
    def client_id(self) -> str:
        return self.config.client_id

    @property
    def api_key(self) -> str:
        return self.config.api_key

    @property
    def base_url(self) -> str | None:
        """Where the emulator is reached (set by ``serve()`` or the first request)."""
        return self.service.base_url

    @base_url.setter
    def base_url(self, value: str | None) -> None:
        self.service.base_url = value.rstrip("/") if value else None

    @property
    def issuer(self) -> str:
        """``iss`` of the access tokens it mints."""
        return self.service.issuer()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """The emulator is its own WSGI application."""
        return self.wsgi_app(environ, start_response)

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> EmulatorServer:
        """Serve on ``host:port`` (0 = a free port) in a background thread.

        Use as ``with emulator.serve() as server:`` or call ``server.stop()``.
        """
        from authkit_middleware.emulator.server import EmulatorServer

        return EmulatorServer(self, host=host, port=port)

    # ---------------------------------------------------------------- data

    def add_user(
        self,
        email: str,
        password: str | None = "password",
        first_name: str | None = None,
        last_name: str | None = None,
        *,
        id: str | None = None,
        email_verified: bool = True,
        external_id: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Add a user; returns the API user object."""
        return self.service.add_user(
            email,
            password,
            first_name,
            last_name,
            id=id,
            email_verified=email_verified,
            external_id=external_id,
            metadata=metadata,
        ).to_api()

    def add_organization(
        self,
        name: str,
        *,
        id: str | None = None,
        domains: Sequence[str] = (),
        entitlements: Sequence[str] = (),
        feature_flags: Sequence[str] = (),
        metadata: Mapping[str, str] | None = None,
        external_id: str | None = None,
        require: str | None = None,
    ) -> dict[str, Any]:
        """Add an organisation; ``require`` is ``"sso"`` or ``"mfa_enrollment"``."""
        if require is not None and require not in REQUIREMENTS:
            raise ValueError(f"require must be one of {REQUIREMENTS}")
        now = self.clock()
        record = OrgRecord(
            id=id or stable_id("org", name.strip()),
            name=name,
            domains=tuple(domains),
            entitlements=tuple(entitlements),
            feature_flags=tuple(feature_flags),
            metadata=dict(metadata or {}),
            external_id=external_id,
            require=require,
            created_at=now,
            updated_at=now,
        )
        with self.store.lock:
            if record.id in self.store.organizations:
                raise ValueError(f"organization {record.id!r} exists")
            self.store.organizations[record.id] = record
        return record.to_api()

    def add_membership(
        self,
        user: str,
        organization: str,
        role: str = "member",
        *,
        roles: Sequence[str] = (),
        permissions: Sequence[str] = (),
        id: str | None = None,
        status: str = "active",
    ) -> dict[str, Any]:
        """Add ``user`` (id or email) to ``organization`` (id or name)."""
        record = self.service.add_membership(
            user, organization, role, tuple(roles), tuple(permissions), id=id, status=status
        )
        return self.store.membership_to_api(record)

    def get_user(self, ref: str) -> dict[str, Any] | None:
        """A user object by id or email (None when unknown)."""
        user = self.store.find_user(ref)
        return user.to_api() if user else None

    def get_organization(self, ref: str) -> dict[str, Any] | None:
        """An organisation object by id or name (None when unknown)."""
        org = self.store.find_organization(ref)
        return org.to_api() if org else None

    # ---------------------------------------------------------------- settings and keys

    def set_access_token_ttl(self, seconds: int) -> None:
        """Lifetime of access tokens minted from now on."""
        if seconds < 1:
            raise ValueError("access token lifetime must be at least 1 second")
        self.config.access_token_ttl = int(seconds)

    def set_auto_login(self, enabled: bool) -> None:
        """Auto-login: the authorize URL signs in straight away (no page)."""
        self.config.auto_login = bool(enabled)

    def rotate_signing_key(self, key: SigningKey | None = None) -> str:
        """A new key signs from now on; the old one stays published. Returns the new kid."""
        return self.keys.rotate(key)

    def remove_signing_key(self, kid: str) -> bool:
        """Unpublish an old key (tokens it signed stop verifying)."""
        return self.keys.remove(kid)

    def signing_kids(self) -> list[str]:
        """Published kids, current signer first."""
        return self.keys.kids()

    # ---------------------------------------------------------------- failures

    def inject_failure(
        self,
        path: str,
        *,
        method: str = "*",
        status: int | None = 500,
        count: int | None = 1,
        latency: float = 0.0,
        body: dict[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        retry_after: str | None = "0",
        grant_type: str | None = None,
    ) -> FailureRule:
        """Fail (or delay) the next ``count`` requests matching method + path (+ grant)."""
        return self.faults.add(
            FailureRule(
                path=path,
                method=method,
                status=status,
                count=count,
                latency=latency,
                body=body,
                headers=dict(headers or {}),
                retry_after=retry_after,
                grant_type=grant_type,
            )
        )

    def clear_failures(self) -> None:
        self.faults.clear()

    # ---------------------------------------------------------------- sessions

    def issue_session(
        self,
        user: str,
        organization_id: str | None = None,
        impersonator: str | Mapping[str, Any] | None = None,
        *,
        authentication_method: str | None = None,
    ) -> dict[str, Any]:
        """Mint a real session for ``user`` (email or id) without the browser flow.

        Returns what ``POST /user_management/authenticate`` returns (user,
        access_token, refresh_token, organization_id, impersonator...); refreshing
        it works afterwards. Raises the same step-up errors a sign-in would.
        """
        return self.service.issue_session(
            user, organization_id, impersonator, authentication_method
        )

    def revoke_session(self, session_id: str) -> bool:
        """End a session (its refresh tokens stop working). False when unknown."""
        return self.store.end_session(session_id, self.clock())

    def sessions(self, *, active_only: bool = True) -> list[dict[str, Any]]:
        """The sessions it knows, for assertions (id, user_id, organization_id...)."""
        with self.store.lock:
            return [
                {
                    "id": s.id,
                    "user_id": s.user_id,
                    "organization_id": s.organization_id,
                    "authentication_method": s.authentication_method,
                    "impersonator": s.impersonator,
                    "active": s.active,
                }
                for s in self.store.sessions.values()
                if s.active or not active_only
            ]

    # ---------------------------------------------------------------- journal

    def calls(
        self,
        path: str | None = None,
        *,
        grant_type: str | None = None,
        method: str | None = None,
        status: int | None = None,
    ) -> list[RequestRecord]:
        """Served requests matching every filter (control-API calls are not logged)."""
        return self.journal.calls(path=path, grant_type=grant_type, method=method, status=status)

    def count(
        self,
        what: str | None = None,
        *,
        path: str | None = None,
        grant_type: str | None = None,
        method: str | None = None,
        status: int | None = None,
    ) -> int:
        """How many requests matched: ``count("refresh_token")`` or ``count("/health")``.

        A positional ``what`` starting with ``/`` is a path, otherwise a grant type.
        """
        if what is not None:
            if what.startswith("/"):
                path = what
            else:
                grant_type = what
        return len(self.calls(path, grant_type=grant_type, method=method, status=status))

    def clear_calls(self) -> None:
        self.journal.clear()

    # ---------------------------------------------------------------- lifecycle

    def reset(self) -> None:
        """Back to the seed: data, sessions, failures, journal and settings (keys kept)."""
        self.store.load(self.seed, self.clock())
        self.faults.clear()
        self.journal.clear()
        self.config.auto_login, self.config.access_token_ttl = self._initial

    def describe(self) -> dict[str, Any]:
        """A JSON summary (served at ``GET /_emulator``)."""
        with self.store.lock:
            counts = {
                "users": len(self.store.users),
                "organizations": len(self.store.organizations),
                "memberships": len(self.store.memberships),
                "active_sessions": sum(1 for s in self.store.sessions.values() if s.active),
            }
            users = [
                {"id": u.id, "email": u.email, "has_password": u.password is not None}
                for u in self.store.users.values()
            ]
        return {
            "base_url": self.base_url,
            "client_id": self.client_id,
            "issuer": self.issuer,
            "config": {
                "auto_login": self.config.auto_login,
                "access_token_ttl": self.config.access_token_ttl,
            },
            "kids": self.signing_kids(),
            "counts": counts,
            "users": users,
        }
