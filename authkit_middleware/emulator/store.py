"""The emulator's state: records and one re-entrant lock around all of them.

Handlers run on many server threads at once (an app under test may fire 50+
concurrent refreshes), so every read-modify-write happens under ``Store.lock``.
Records are plain mutable dataclasses owned by the store; JSON views are built
here so that every endpoint shapes a user (or membership) the same way.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from authkit_middleware.emulator.seed import Seed
from authkit_middleware.emulator.wire import iso


@dataclass
class UserRecord:
    id: str
    email: str
    password: str | None
    first_name: str | None
    last_name: str | None
    email_verified: bool
    external_id: str | None
    profile_picture_url: str | None
    locale: str | None
    metadata: dict[str, str]
    created_at: float
    updated_at: float
    last_sign_in_at: float | None = None

    def to_api(self) -> dict[str, Any]:
        """The full User object: every key the SDK indexes is present (null allowed)."""
        name = " ".join(p for p in (self.first_name, self.last_name) if p) or None
        return {
            "object": "user",
            "id": self.id,
            "email": self.email,
            "email_verified": self.email_verified,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "name": name,
            "profile_picture_url": self.profile_picture_url,
            "external_id": self.external_id,
            "last_sign_in_at": iso(self.last_sign_in_at),
            "locale": self.locale,
            "metadata": dict(self.metadata),
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
        }


@dataclass
class OrgRecord:
    id: str
    name: str
    domains: tuple[str, ...]
    entitlements: tuple[str, ...]
    feature_flags: tuple[str, ...]
    metadata: dict[str, str]
    external_id: str | None
    require: str | None
    created_at: float
    updated_at: float

    def to_api(self) -> dict[str, Any]:
        """The Organization object with verified domain objects."""
        created, updated = iso(self.created_at), iso(self.updated_at)
        return {
            "object": "organization",
            "id": self.id,
            "name": self.name,
            "domains": [
                {
                    "object": "organization_domain",
                    "id": f"org_domain_{self.id[4:]}_{index}",
                    "organization_id": self.id,
                    "domain": domain,
                    "state": "verified",
                    "created_at": created,
                    "updated_at": updated,
                }
                for index, domain in enumerate(self.domains)
            ],
            "metadata": dict(self.metadata),
            "external_id": self.external_id,
            "allow_profiles_outside_organization": False,
            "created_at": created,
            "updated_at": updated,
        }


@dataclass
class MembershipRecord:
    id: str
    user_id: str
    organization_id: str
    role: str
    roles: tuple[str, ...]
    permissions: tuple[str, ...]
    status: str
    created_at: float
    updated_at: float
    #: Creation order; sorts lists deterministically when timestamps tie.
    seq: int = 0


@dataclass
class SessionRecord:
    id: str
    user_id: str
    organization_id: str | None
    authentication_method: str
    auth_time: int
    created_at: float
    impersonator: dict[str, Any] | None = None
    ended_at: float | None = None

    @property
    def active(self) -> bool:
        return self.ended_at is None


@dataclass
class CodeRecord:
    code: str
    client_id: str
    redirect_uri: str
    user_id: str
    organization_id: str | None
    code_challenge: str | None
    authentication_method: str
    auth_time: int
    expires_at: float
    used: bool = False


@dataclass
class RefreshRecord:
    token: str
    session_id: str
    used: bool = False


@dataclass
class PendingAuthentication:
    """What a ``pending_authentication_token`` stands for (step-ups, org selection)."""

    token: str
    user_id: str
    reason: str
    authentication_method: str
    auth_time: int
    expires_at: float
    impersonator: dict[str, Any] | None = None
    used: bool = False


@dataclass
class PendingAuthorization:
    """A hosted-page sign-in in progress, kept server-side under an opaque id."""

    id: str
    form_token: str
    client_id: str
    redirect_uri: str
    state: str | None
    code_challenge: str | None
    organization_id: str | None
    login_hint: str | None
    screen_hint: str
    authentication_method: str
    prompt: str | None
    max_age: int | None
    expires_at: float


@dataclass
class Store:
    """All mutable state. Hold ``lock`` for any compound read-modify-write."""

    lock: threading.RLock = field(default_factory=threading.RLock)
    users: dict[str, UserRecord] = field(default_factory=dict)
    organizations: dict[str, OrgRecord] = field(default_factory=dict)
    memberships: dict[str, MembershipRecord] = field(default_factory=dict)
    sessions: dict[str, SessionRecord] = field(default_factory=dict)
    codes: dict[str, CodeRecord] = field(default_factory=dict)
    refresh_tokens: dict[str, RefreshRecord] = field(default_factory=dict)
    pending_authentications: dict[str, PendingAuthentication] = field(default_factory=dict)
    pending_authorizations: dict[str, PendingAuthorization] = field(default_factory=dict)
    _seq: int = 0

    # -- seeding ----------------------------------------------------------------------

    def load(self, seed: Seed, now: float) -> None:
        """Replace everything with the seed's world (sessions and codes are dropped)."""
        with self.lock:
            for table in (
                self.users,
                self.organizations,
                self.memberships,
                self.sessions,
                self.codes,
                self.refresh_tokens,
                self.pending_authentications,
                self.pending_authorizations,
            ):
                table.clear()
            for u in seed.users:
                self.users[u.resolved_id] = UserRecord(
                    id=u.resolved_id,
                    email=u.email.strip(),
                    password=u.password,
                    first_name=u.first_name,
                    last_name=u.last_name,
                    email_verified=u.email_verified,
                    external_id=u.external_id,
                    profile_picture_url=u.profile_picture_url,
                    locale=u.locale,
                    metadata=dict(u.metadata),
                    created_at=now,
                    updated_at=now,
                )
            for o in seed.organizations:
                self.organizations[o.resolved_id] = OrgRecord(
                    id=o.resolved_id,
                    name=o.name,
                    domains=tuple(o.domains),
                    entitlements=tuple(o.entitlements),
                    feature_flags=tuple(o.feature_flags),
                    metadata=dict(o.metadata),
                    external_id=o.external_id,
                    require=o.require,
                    created_at=now,
                    updated_at=now,
                )
            for m in seed.memberships:
                user = seed.find_user(m.user)
                org = seed.find_organization(m.organization)
                assert user is not None and org is not None  # validated seeds only
                self.add_membership(
                    MembershipRecord(
                        id=seed.membership_id(m),
                        user_id=user.resolved_id,
                        organization_id=org.resolved_id,
                        role=m.role,
                        roles=tuple(m.roles) or (m.role,),
                        permissions=tuple(m.permissions),
                        status=m.status,
                        created_at=now,
                        updated_at=now,
                    )
                )

    def add_membership(self, record: MembershipRecord) -> MembershipRecord:
        """Insert a membership, stamping its creation order."""
        with self.lock:
            self._seq += 1
            record.seq = self._seq
            self.memberships[record.id] = record
            return record

    # -- lookups ----------------------------------------------------------------------

    def find_user(self, ref: str) -> UserRecord | None:
        """A user by id or (case-insensitive) email."""
        with self.lock:
            if ref in self.users:
                return self.users[ref]
            folded = ref.strip().lower()
            for user in self.users.values():
                if user.email.lower() == folded:
                    return user
            return None

    def find_organization(self, ref: str) -> OrgRecord | None:
        """An organisation by id or exact name."""
        with self.lock:
            if ref in self.organizations:
                return self.organizations[ref]
            for org in self.organizations.values():
                if org.name == ref:
                    return org
            return None

    def memberships_of(self, user_id: str, *, active_only: bool = True) -> list[MembershipRecord]:
        """A user's memberships in creation order."""
        with self.lock:
            found = [
                m
                for m in self.memberships.values()
                if m.user_id == user_id and (m.status == "active" or not active_only)
            ]
        return sorted(found, key=lambda m: m.seq)

    def membership(self, user_id: str, organization_id: str) -> MembershipRecord | None:
        """The active membership of a user in an organisation, if any."""
        for m in self.memberships_of(user_id):
            if m.organization_id == organization_id:
                return m
        return None

    def iter_memberships(self) -> Iterator[MembershipRecord]:
        """All memberships in creation order (snapshot)."""
        with self.lock:
            items = list(self.memberships.values())
        return iter(sorted(items, key=lambda m: m.seq))

    def membership_to_api(self, m: MembershipRecord) -> dict[str, Any]:
        """The OrganizationMembership object, nested user included."""
        with self.lock:
            user = self.users[m.user_id]
            org = self.organizations.get(m.organization_id)
            return {
                "object": "organization_membership",
                "id": m.id,
                "user_id": m.user_id,
                "organization_id": m.organization_id,
                "organization_name": org.name if org else None,
                "status": m.status,
                "directory_managed": False,
                "role": {"slug": m.role},
                "roles": [{"slug": r} for r in m.roles],
                "custom_attributes": {},
                "user": user.to_api(),
                "created_at": iso(m.created_at),
                "updated_at": iso(m.updated_at),
            }

    # -- sessions ---------------------------------------------------------------------

    def end_session(self, session_id: str, now: float) -> bool:
        """End a session: its refresh tokens stop working. False when unknown."""
        with self.lock:
            session = self.sessions.get(session_id)
            if session is None:
                return False
            if session.ended_at is None:
                session.ended_at = now
            return True

    def purge_expired(self, now: float) -> None:
        """Drop expired codes and pending requests so long runs stay bounded."""
        with self.lock:
            for table in (self.codes, self.pending_authentications, self.pending_authorizations):
                dead = [k for k, v in table.items() if v.expires_at < now - 60]
                for key in dead:
                    del table[key]
