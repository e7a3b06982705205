"""The request-side value: who is signed in, as one immutable ``Auth``.

Adapters attach an ``Auth`` to every request (``scope["authkit"]``,
``environ["authkit"]``). Signed out is an ``Auth`` too (``ANONYMOUS``), so app code
never has to test for ``None`` before asking ``auth.is_authenticated``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from operator import itemgetter
from types import MappingProxyType
from typing import Any, cast

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
        """Read a user object in either snake_case (API) or camelCase (JS cookie) form.

        Each field is read from its snake_case key when present, else from its
        camelCase key, else takes its default; ``id`` must be a non-empty string.
        """
        if type(data) is dict and cls is User:
            # Every sealed session: a plain dict in one spelling. When no key of the
            # other spelling is present, reading each field from this one's key is
            # exactly the rule above, in one C call; anything else (a subclass too)
            # takes the loop.
            keys = data.keys()
            if keys.isdisjoint(_SNAKE_ONLY):
                read, spelling = _READ_CAMEL, _CAMEL_KEYS
            elif keys.isdisjoint(_CAMEL_ONLY):
                read, spelling = _READ_SNAKE, _INIT_ORDER
            else:
                return cls._from_mapping(data)
            try:
                values = read(data)
            except KeyError:  # some field absent: None reads as its default below
                values = tuple(map(data.get, spelling))
            (uid, email, verified, first, last, name, picture, external, locale, created,
             updated, last_sign_in, meta) = values  # fmt: skip
            if not isinstance(uid, str) or not uid:
                raise ValueError("user object has no id")
            metadata = _metadata(meta)
            return _build_user(
                uid,
                email,
                bool(verified),
                first,
                last,
                name,
                picture,
                external,
                locale,
                created,
                updated,
                last_sign_in,
                metadata,
            )
        return cls._from_mapping(data)

    @classmethod
    def _from_mapping(cls, data: Mapping[str, Any]) -> User:
        """``from_dict`` for any mapping, field by field (the rule itself)."""
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
        values["metadata"] = _metadata(values.get("metadata"))
        values["email_verified"] = bool(values.get("email_verified", False))
        return cls(**values)

    # Immutable values: a copy is the value itself, and pickling rebuilds it (the
    # read-only ``metadata`` view cannot be pickled, its dict can).
    def __copy__(self) -> User:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> User:
        return self

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        values = {name: getattr(self, name) for name in _USER_FIELD_NAMES}
        values["metadata"] = dict(self.metadata)
        return (_unpickle_user, (values,))

    def to_dict(self, *, camel: bool = False) -> dict[str, Any]:
        """The user object as WorkOS shapes it, snake_case or camelCase."""
        out: dict[str, Any] = {}
        for snake, camel_key in USER_FIELDS:
            value: Any = "user" if snake == "object" else getattr(self, snake)
            if snake == "metadata":
                value = dict(self.metadata)
            out[camel_key if camel else snake] = value
        return out


def _unpickle_user(values: dict[str, Any]) -> User:
    values["metadata"] = _metadata(values.get("metadata"))
    return User(**values)


def _unpickle_auth(values: dict[str, Any]) -> Auth:
    claims = values.get("claims")
    if isinstance(claims, dict) and values.pop("claims_read_only", False):
        values["claims"] = MappingProxyType(claims) if claims else _EMPTY
    return Auth(**values)


def _metadata(value: Any) -> Mapping[str, str]:
    """A user's ``metadata``: a read-only copy of a mapping, else empty."""
    if type(value) is dict:
        return MappingProxyType(value.copy()) if value else _EMPTY
    if not isinstance(value, Mapping):
        return _EMPTY
    copy = dict(value)
    return MappingProxyType(copy) if copy else _EMPTY


#: ``User``'s fields in constructor order, and where the two spellings keep them.
_INIT_ORDER: tuple[str, ...] = tuple(f.name for f in fields(User))
_CAMEL_KEYS: tuple[str, ...] = tuple(dict(USER_FIELDS)[name] for name in _INIT_ORDER)
_READ_SNAKE = itemgetter(*_INIT_ORDER)
_READ_CAMEL = itemgetter(*_CAMEL_KEYS)
#: Keys that exist in one spelling only (``id``, ``email``... are spelled alike).
_SNAKE_ONLY = frozenset(snake for snake, camel in USER_FIELDS if snake != camel)
_CAMEL_ONLY = frozenset(camel for snake, camel in USER_FIELDS if snake != camel)


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

    def __copy__(self) -> Auth:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Auth:
        return self  # immutable; its claims are read, never written

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        values: dict[str, Any] = {name: getattr(self, name) for name in _AUTH_FIELD_NAMES}
        if isinstance(self.claims, MappingProxyType):
            values["claims"] = dict(self.claims)
            values["claims_read_only"] = True
        return (_unpickle_auth, (values,))

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


# -- building on the first-request path ---------------------------------------------
#
# A frozen dataclass's ``__init__`` stores each field through ``object.__setattr__``
# (~70 ns a field, past the frozen ``__setattr__``). A session's first request builds
# a ``User`` and an ``Auth``, 13 fields each, so the two builders below store into a
# plain class with the very same slots (direct stores) and then make the instance a
# ``User``/``Auth`` by assigning ``__class__``, which Python allows between classes
# of identical layout (CPython checks it and raises TypeError otherwise). The result
# is an ordinary instance, equal, hashed, frozen and pickled like one the dataclass
# built. Positional, every field given, nothing checked: callers validate first.


class _UserLayout:
    __slots__ = User.__slots__

    def __init__(
        self,
        id: str,
        email: str | None,
        email_verified: bool,
        first_name: str | None,
        last_name: str | None,
        name: str | None,
        profile_picture_url: str | None,
        external_id: str | None,
        locale: str | None,
        created_at: str | None,
        updated_at: str | None,
        last_sign_in_at: str | None,
        metadata: Mapping[str, str],
    ) -> None:
        self.id = id
        self.email = email
        self.email_verified = email_verified
        self.first_name = first_name
        self.last_name = last_name
        self.name = name
        self.profile_picture_url = profile_picture_url
        self.external_id = external_id
        self.locale = locale
        self.created_at = created_at
        self.updated_at = updated_at
        self.last_sign_in_at = last_sign_in_at
        self.metadata = metadata
        self.__class__ = User  # type: ignore[assignment]


class _AuthLayout:
    __slots__ = Auth.__slots__

    def __init__(
        self,
        user: User | None,
        session_id: str | None,
        organization_id: str | None,
        role: str | None,
        roles: tuple[str, ...],
        permissions: tuple[str, ...],
        entitlements: tuple[str, ...],
        feature_flags: tuple[str, ...],
        impersonator: Impersonator | None,
        access_token: str | None,
        claims: Mapping[str, Any],
        expires_at: int | None,
        source: str | None,
    ) -> None:
        self.user = user
        self.session_id = session_id
        self.organization_id = organization_id
        self.role = role
        self.roles = roles
        self.permissions = permissions
        self.entitlements = entitlements
        self.feature_flags = feature_flags
        self.impersonator = impersonator
        self.access_token = access_token
        self.claims = claims
        self.expires_at = expires_at
        self.source = source
        self._scopes = None
        self.__class__ = Auth  # type: ignore[assignment]


def _check_layout(layout: Any, cls: Any, extra: tuple[str, ...] = ()) -> None:
    """A builder must store every field of its class, in the constructor's order."""
    code = layout.__init__.__code__
    params = code.co_varnames[1 : code.co_argcount]
    names = tuple(f.name for f in fields(cls) if f.init)
    if params != names or cls.__slots__ != (*names, *extra):
        raise RuntimeError(f"{layout.__name__} does not match {cls.__name__}")  # pragma: no cover


_check_layout(_UserLayout, User)
_check_layout(_AuthLayout, Auth, ("_scopes",))

#: ``User(*fields)`` / ``Auth(*fields)`` (every field, in order), without the
#: frozen dataclass's per-field ``object.__setattr__``.
_build_user = cast("Callable[..., User]", _UserLayout)
_build_auth = cast("Callable[..., Auth]", _AuthLayout)


_PRIVATE_CLAIMS = frozenset({"jti"})

#: The signed-out value.
#: The constructor fields of ``User`` and ``Auth`` (what pickling carries).
_USER_FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in fields(User) if f.init)
_AUTH_FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in fields(Auth) if f.init)

ANONYMOUS = Auth()
