"""The request-side value: who is signed in, as one immutable ``Auth``.

Adapters attach an ``Auth`` to every request (``scope["authkit"]``,
``environ["authkit"]``). Signed out is an ``Auth`` too (``ANONYMOUS``), so app code
never has to test for ``None`` before asking ``auth.is_authenticated``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

_EMPTY: Mapping[str, Any] = MappingProxyType({})

# Keys of a WorkOS user object, snake_case (API and workos-python) to camelCase
# (authkit-nextjs / authkit-session cookies). The same table reads both shapes.
USER_FIELDS: tuple[tuple[str, str], ...] = (
    ("object", "object"),
    ("id", "id"),
    ("email", "email"),
    ("email_verified", "emailVerified"),
    ("first_name", "firstName"),
    ("last_name", "lastName"),
    ("name", "name"),
    ("profile_picture_url", "profilePictureUrl"),
    ("last_sign_in_at", "lastSignInAt"),
    ("locale", "locale"),
    ("created_at", "createdAt"),
    ("updated_at", "updatedAt"),
    ("external_id", "externalId"),
    ("metadata", "metadata"),
)


@dataclass(frozen=True, slots=True)
class User:
    """A WorkOS user as stored in the session (the profile is not in the token)."""

    id: str
    email: str | None = None
    email_verified: bool = False
    first_name: str | None = None
    last_name: str | None = None
    name: str | None = None
    profile_picture_url: str | None = None
    external_id: str | None = None
    locale: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    last_sign_in_at: str | None = None
    metadata: Mapping[str, str] = field(default_factory=lambda: _EMPTY)

    @property
    def display_name(self) -> str:
        """What a page shows: the full name, else the email, else the id."""
        full = " ".join(p for p in (self.first_name, self.last_name) if p)
        return full or self.name or self.email or self.id

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> User:
        """Read a user object in either snake_case (API) or camelCase (JS cookie) form."""
        values: dict[str, Any] = {}
        for snake, camel in USER_FIELDS:
            if snake == "object":
                continue
            if snake in data:
                values[snake] = data[snake]
            elif camel in data:
                values[snake] = data[camel]
        uid = values.get("id")
        if not isinstance(uid, str) or not uid:
            raise ValueError("user object has no id")
        meta = values.get("metadata")
        values["metadata"] = MappingProxyType(dict(meta)) if isinstance(meta, Mapping) else _EMPTY
        values["email_verified"] = bool(values.get("email_verified", False))
        return cls(**values)

    def to_dict(self, *, camel: bool = False) -> dict[str, Any]:
        """The user object as WorkOS shapes it, snake_case or camelCase."""
        out: dict[str, Any] = {}
        for snake, camel_key in USER_FIELDS:
            value: Any = "user" if snake == "object" else getattr(self, snake)
            if snake == "metadata":
                value = dict(self.metadata)
            out[camel_key if camel else snake] = value
        return out


@dataclass(frozen=True, slots=True)
class Impersonator:
    """Who is acting as the user (WorkOS dashboard impersonation)."""

    email: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Auth:
    """Authentication state of one request. Immutable; safe to share between requests.

    ``access_token`` is present for API calls the app makes on the user's behalf;
    it is left out of ``repr`` and of ``to_public_dict`` (the ``/auth/me`` payload).
    """

    user: User | None = None
    session_id: str | None = None
    organization_id: str | None = None
    role: str | None = None
    roles: tuple[str, ...] = ()
    permissions: tuple[str, ...] = ()
    entitlements: tuple[str, ...] = ()
    feature_flags: tuple[str, ...] = ()
    impersonator: Impersonator | None = None
    access_token: str | None = field(default=None, repr=False)
    claims: Mapping[str, Any] = field(default_factory=lambda: _EMPTY, repr=False)
    #: Unix time at which the access token expires (None when signed out).
    expires_at: int | None = None
    #: ``"cookie"`` or ``"bearer"``: how the request authenticated.
    source: str | None = None
    #: ``scopes``, computed on first use: a cached ``Auth`` serves many requests, and
    #: the ASGI adapter asks for its scopes on each. Derived from the fields above,
    #: which never change, so not part of equality, ``repr`` or the constructor.
    _scopes: tuple[str, ...] | None = field(
        default=None, init=False, repr=False, compare=False, hash=False
    )

    @property
    def is_authenticated(self) -> bool:
        return self.user is not None

    @property
    def scopes(self) -> tuple[str, ...]:
        """Starlette-style scopes: ``"authenticated"``, the permissions as they are, then
        ``role:<slug>`` for the role(s), ``entitlement:<name>`` and ``feature:<flag>``
        (for ``starlette.authentication.requires``)."""
        scopes = self._scopes
        if scopes is None:
            scopes = self._compute_scopes()
            object.__setattr__(self, "_scopes", scopes)
        return scopes

    def _compute_scopes(self) -> tuple[str, ...]:
        if not self.is_authenticated:
            return ()
        roles = (
            self.roles if self.role is None or self.role in self.roles else (self.role, *self.roles)
        )
        return (
            "authenticated",
            *self.permissions,
            *[f"role:{r}" for r in roles],
            *[f"entitlement:{e}" for e in self.entitlements],
            *[f"feature:{f}" for f in self.feature_flags],
        )

    def has_permission(self, permission: str) -> bool:
        return permission in self.permissions

    def has_role(self, role: str) -> bool:
        return role == self.role or role in self.roles

    def has_entitlement(self, entitlement: str) -> bool:
        return entitlement in self.entitlements

    def has_feature_flag(self, flag: str) -> bool:
        return flag in self.feature_flags

    def to_public_dict(self) -> dict[str, Any]:
        """JSON-ready view for browsers: user and claims, never the tokens."""
        if self.user is None:
            return {"authenticated": False, "user": None}
        claims = {k: v for k, v in self.claims.items() if k not in _PRIVATE_CLAIMS}
        return {
            "authenticated": True,
            "user": self.user.to_dict(),
            "session_id": self.session_id,
            "organization_id": self.organization_id,
            "role": self.role,
            "roles": list(self.roles),
            "permissions": list(self.permissions),
            "entitlements": list(self.entitlements),
            "feature_flags": list(self.feature_flags),
            "impersonator": (
                {"email": self.impersonator.email, "reason": self.impersonator.reason}
                if self.impersonator
                else None
            ),
            "expires_at": self.expires_at,
            "claims": claims,
        }


_PRIVATE_CLAIMS = frozenset({"jti"})

#: The signed-out value.
ANONYMOUS = Auth()
