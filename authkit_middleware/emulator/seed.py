"""Seed data: the users, organisations and memberships an emulator starts with.

Seeds are plain frozen dataclasses so tests can build them inline, and they load
from JSON or TOML files so a team can share one fixture file between the CLI and
the test suite. Ids are optional: without a pinned id, each record gets an id
derived from its email (users), name (organisations) or pair (memberships), so a
restart gives the same ids and nothing that stored an id goes stale.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, cast

from authkit_middleware.core.errors import AuthKitError
from authkit_middleware.emulator.ids import stable_id

#: Password of every default demo user (and the default for seeded users).
DEFAULT_PASSWORD = "password"

#: Step-up requirements an organisation can declare (see ``SeedOrganization.require``).
REQUIREMENTS = ("sso", "mfa_enrollment")

_STATUSES = ("active", "inactive", "pending")


class SeedError(AuthKitError):
    """A seed cannot be used. Lists every problem at once, so one edit fixes them all."""

    code = "invalid_seed"
    status = 500

    def __init__(self, problems: Sequence[str]):
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"emulator seed is invalid:\n{lines}")


@dataclass(frozen=True)
class SeedUser:
    """A user. ``password=None`` (or ``""`` in a file) means no password sign-in."""

    email: str
    password: str | None = DEFAULT_PASSWORD
    first_name: str | None = None
    last_name: str | None = None
    id: str | None = None
    email_verified: bool = True
    external_id: str | None = None
    profile_picture_url: str | None = None
    locale: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)

    @property
    def resolved_id(self) -> str:
        """The pinned id, else one derived from the (case-folded) email."""
        return self.id or stable_id("user", self.email.strip().lower())


@dataclass(frozen=True)
class SeedOrganization:
    """An organisation. ``require`` makes sessions scoped to it need a step-up.

    ``require="sso"`` answers an org switch with ``sso_required``;
    ``require="mfa_enrollment"`` with ``mfa_enrollment`` (both with a
    ``pending_authentication_token``), as WorkOS does for such organisations.
    """

    name: str
    id: str | None = None
    domains: tuple[str, ...] = ()
    entitlements: tuple[str, ...] = ()
    feature_flags: tuple[str, ...] = ()
    metadata: Mapping[str, str] = field(default_factory=dict)
    external_id: str | None = None
    require: str | None = None

    @property
    def resolved_id(self) -> str:
        """The pinned id, else one derived from the name."""
        return self.id or stable_id("org", self.name.strip())


@dataclass(frozen=True)
class SeedMembership:
    """A user's membership of an organisation.

    ``user`` is an email or a user id; ``organization`` a name or an org id.
    ``roles`` defaults to ``(role,)``; ``role`` is the primary (highest) role.
    """

    user: str
    organization: str
    role: str = "member"
    roles: tuple[str, ...] = ()
    permissions: tuple[str, ...] = ()
    id: str | None = None
    status: str = "active"


@dataclass(frozen=True)
class Seed:
    """Everything an emulator starts with (and returns to on ``reset()``)."""

    users: tuple[SeedUser, ...] = ()
    organizations: tuple[SeedOrganization, ...] = ()
    memberships: tuple[SeedMembership, ...] = ()

    # -- lookups used to resolve references -------------------------------------------

    def find_user(self, ref: str) -> SeedUser | None:
        """The user whose id or (case-insensitive) email is ``ref``."""
        folded = ref.strip().lower()
        for user in self.users:
            if ref == user.resolved_id or folded == user.email.strip().lower():
                return user
        return None

    def find_organization(self, ref: str) -> SeedOrganization | None:
        """The organisation whose id or name is ``ref``."""
        for org in self.organizations:
            if ref in (org.resolved_id, org.name):
                return org
        return None

    def membership_id(self, membership: SeedMembership) -> str:
        """The pinned id, else one derived from the user and organisation ids."""
        if membership.id:
            return membership.id
        user = self.find_user(membership.user)
        org = self.find_organization(membership.organization)
        uid = user.resolved_id if user else membership.user
        oid = org.resolved_id if org else membership.organization
        return stable_id("om", f"{uid}|{oid}")

    # -- validation -------------------------------------------------------------------

    def problems(self) -> list[str]:
        """Every reason this seed cannot be loaded (empty when it is fine)."""
        out: list[str] = []
        seen_ids: set[str] = set()
        seen_emails: set[str] = set()
        for user in self.users:
            if "@" not in user.email:
                out.append(f"user {user.email!r}: email must contain '@'")
            email = user.email.strip().lower()
            if email in seen_emails:
                out.append(f"user {user.email!r}: duplicate email")
            seen_emails.add(email)
            _check_id(out, seen_ids, user.resolved_id, "user_", f"user {user.email!r}")
        for org in self.organizations:
            if not org.name.strip():
                out.append("organization: name must not be empty")
            if org.require is not None and org.require not in REQUIREMENTS:
                out.append(
                    f"organization {org.name!r}: require must be one of {REQUIREMENTS}, "
                    f"not {org.require!r}"
                )
            _check_id(out, seen_ids, org.resolved_id, "org_", f"organization {org.name!r}")
        pairs: set[tuple[str, str]] = set()
        for m in self.memberships:
            label = f"membership {m.user!r} in {m.organization!r}"
            member = self.find_user(m.user)
            group = self.find_organization(m.organization)
            if member is None:
                out.append(f"{label}: no user with that email or id")
            if group is None:
                out.append(f"{label}: no organization with that name or id")
            if m.status not in _STATUSES:
                out.append(f"{label}: status must be one of {_STATUSES}")
            if member and group:
                pair = (member.resolved_id, group.resolved_id)
                if pair in pairs:
                    out.append(f"{label}: duplicate membership")
                pairs.add(pair)
                _check_id(out, seen_ids, self.membership_id(m), "om_", label)
        return out

    def validate(self) -> Seed:
        """Raise ``SeedError`` listing every problem; return ``self`` when valid."""
        problems = self.problems()
        if problems:
            raise SeedError(problems)
        return self

    # -- (de)serialisation ------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Seed:
        """Build and validate a seed from the JSON/TOML shape (see ``docs``/README)."""
        problems: list[str] = []
        unknown = set(data) - {"users", "organizations", "memberships"}
        if unknown:
            problems.append(f"unknown top-level keys: {sorted(unknown)}")
        users = _records(data.get("users"), SeedUser, "users", problems)
        orgs = _records(data.get("organizations"), SeedOrganization, "organizations", problems)
        members = _records(data.get("memberships"), SeedMembership, "memberships", problems)
        if problems:
            raise SeedError(problems)
        return cls(users=tuple(users), organizations=tuple(orgs), memberships=tuple(members))

    def to_dict(self) -> dict[str, Any]:
        """The seed in its file shape (round-trips through ``from_dict``)."""

        def dump(obj: Any) -> dict[str, Any]:
            out: dict[str, Any] = {}
            for f in fields(obj):
                value = getattr(obj, f.name)
                out[f.name] = (
                    list(value)
                    if isinstance(value, tuple)
                    else dict(value)
                    if isinstance(value, Mapping)
                    else value
                )
            return out

        return {
            "users": [dump(u) for u in self.users],
            "organizations": [dump(o) for o in self.organizations],
            "memberships": [dump(m) for m in self.memberships],
        }

    @classmethod
    def default(cls) -> Seed:
        """The demo world: alice (two orgs, admin in one), carol (member), bob (no org)."""
        return cls(
            users=(
                SeedUser("alice@example.com", first_name="Alice", last_name="Anderson"),
                SeedUser("bob@example.com", first_name="Bob", last_name="Baker"),
                SeedUser("carol@example.com", first_name="Carol", last_name="Chen"),
            ),
            organizations=(
                SeedOrganization(
                    "Acme Inc",
                    domains=("acme.test",),
                    entitlements=("pro-plan",),
                    feature_flags=("new-dashboard",),
                ),
                SeedOrganization("Globex", domains=("globex.test",)),
            ),
            memberships=(
                SeedMembership(
                    "alice@example.com",
                    "Acme Inc",
                    role="admin",
                    permissions=("widgets:read", "widgets:write", "members:manage"),
                ),
                SeedMembership(
                    "alice@example.com", "Globex", role="member", permissions=("widgets:read",)
                ),
                SeedMembership(
                    "carol@example.com", "Acme Inc", role="member", permissions=("widgets:read",)
                ),
            ),
        )


def _check_id(out: list[str], seen: set[str], value: str, prefix: str, label: str) -> None:
    if not value.startswith(prefix):
        out.append(f"{label}: id {value!r} must start with {prefix!r}")
    if value in seen:
        out.append(f"{label}: duplicate id {value!r}")
    seen.add(value)


def _records(raw: Any, kind: type[Any], section: str, problems: list[str]) -> list[Any]:
    """Build dataclass records from a list of dicts, collecting (not raising) problems."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        problems.append(f"{section}: must be a list")
        return []
    known = {f.name: f for f in fields(kind)}
    out: list[Any] = []
    for index, item in enumerate(raw):
        where = f"{section}[{index}]"
        if not isinstance(item, Mapping):
            problems.append(f"{where}: must be an object")
            continue
        unknown = set(item) - set(known)
        if unknown:
            problems.append(f"{where}: unknown keys {sorted(unknown)}")
            continue
        values: dict[str, Any] = {}
        for key, value in item.items():
            if isinstance(value, list):
                if not all(isinstance(v, str) for v in value):
                    problems.append(f"{where}.{key}: must be a list of strings")
                values[key] = tuple(value)
            elif isinstance(value, Mapping):
                values[key] = {str(k): str(v) for k, v in value.items()}
            else:
                values[key] = value
        if kind is SeedUser and values.get("password") == "":
            values["password"] = None
        try:
            out.append(kind(**values))
        except TypeError as exc:  # a required key is missing
            problems.append(f"{where}: {exc}")
    return out


def load_seed(path: str | Path) -> Seed:
    """Load and validate a seed from a ``.json`` or ``.toml`` file.

    TOML needs Python 3.11+ (``tomllib``) or the ``tomli`` package on 3.10.
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise SeedError([f"{file}: cannot read ({exc.strerror})"]) from None
    suffix = file.suffix.lower()
    try:
        if suffix == ".json":
            data: Any = json.loads(text)
        elif suffix == ".toml":
            data = _toml_loads(text)
        else:
            raise SeedError([f"{file}: seed files must end in .json or .toml"])
    except ValueError as exc:  # JSONDecodeError and TOMLDecodeError are ValueErrors
        raise SeedError([f"{file}: not valid {suffix[1:].upper()}: {exc}"]) from None
    if not isinstance(data, Mapping):
        raise SeedError([f"{file}: the top level must be an object/table"])
    return Seed.from_dict(data).validate()


def _toml_loads(text: str) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib

        return tomllib.loads(text)
    try:  # pragma: no cover - exercised only on 3.10
        tomli = importlib.import_module("tomli")
    except ImportError:  # pragma: no cover
        raise SeedError(
            ["TOML seed files need Python 3.11+ or the 'tomli' package; use a .json seed"]
        ) from None
    return cast(dict[str, Any], tomli.loads(text))  # pragma: no cover


def coerce_seed(seed: Seed | Mapping[str, Any] | str | Path | None) -> Seed:
    """Accept the forms ``Emulator(seed=...)`` takes: None (default), Seed, dict, path."""
    if seed is None:
        return Seed.default()
    if isinstance(seed, Seed):
        return seed.validate()
    if isinstance(seed, (str, Path)):
        return load_seed(seed)
    return Seed.from_dict(seed).validate()
