"""The sealed session payload, in the two shapes found in the wild.

WorkOS's JavaScript libraries (authkit-nextjs, authkit-session) seal a camelCase
object ``{accessToken, refreshToken, user, impersonator}``; workos-python seals a
snake_case one ``{access_token, refresh_token, user, impersonator}``. We read both
and write the shape that matches the seal format, so a cookie written here is
readable by the library that owns that format (checklist D9: we store the tokens
and the user object, never a whole API response). One field of our own,
``attestation`` (core.attestation), is ignored by the other libraries.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from authkit_middleware.core.auth import Impersonator, User, _check_layout
from authkit_middleware.core.errors import SealError


@dataclass(frozen=True, slots=True)
class SessionData:
    """What the session cookie holds. The access token is the source of the claims."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    user: User
    impersonator: Impersonator | None = None
    organization_id: str | None = None
    authentication_method: str | None = None
    #: This middleware's promise that it verified ``access_token`` (core.attestation);
    #: None when it did not, or when another library sealed the session.
    attestation: str | None = field(default=None, repr=False)


class _SessionLayout:
    """``SessionData``'s slots on a plain class: see ``auth._UserLayout``."""

    __slots__ = SessionData.__slots__

    def __init__(
        self,
        access_token: str,
        refresh_token: str,
        user: User,
        impersonator: Impersonator | None,
        organization_id: str | None,
        authentication_method: str | None,
        attestation: str | None,
    ) -> None:
        self.access_token = access_token
        self.refresh_token = refresh_token
        self.user = user
        self.impersonator = impersonator
        self.organization_id = organization_id
        self.authentication_method = authentication_method
        self.attestation = attestation
        self.__class__ = SessionData  # type: ignore[assignment]


_check_layout(_SessionLayout, SessionData)

#: ``SessionData(*fields)`` without the frozen dataclass's per-field setattr.
_build_session = cast("Callable[..., SessionData]", _SessionLayout)


@dataclass(frozen=True, slots=True)
class TokenResponse:
    """The part of a WorkOS authenticate response that the middleware uses."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    user: Mapping[str, Any]
    organization_id: str | None = None
    authentication_method: str | None = None
    impersonator: Mapping[str, Any] | None = None
    #: The full response as a dict, for sign-in hooks (tokens included: never logged).
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TokenResponse:
        """Build from an SDK ``AuthenticateResponse.to_dict()`` (or the raw JSON)."""
        access = data.get("access_token")
        refresh = data.get("refresh_token")
        user = data.get("user")
        if not isinstance(access, str) or not access:
            raise ValueError("authenticate response has no access_token")
        if not isinstance(refresh, str) or not refresh:
            raise ValueError("authenticate response has no refresh_token")
        if not isinstance(user, Mapping):
            raise ValueError("authenticate response has no user")
        imp = data.get("impersonator")
        method = data.get("authentication_method")
        org = data.get("organization_id")
        return cls(
            access_token=access,
            refresh_token=refresh,
            user=user,
            organization_id=org if isinstance(org, str) else None,
            authentication_method=str(method) if method is not None else None,
            impersonator=imp if isinstance(imp, Mapping) else None,
            raw=dict(data),
        )

    def to_session(self) -> SessionData:
        """The session to seal after a successful exchange or refresh."""
        imp = self.impersonator
        return SessionData(
            access_token=self.access_token,
            refresh_token=self.refresh_token,
            user=User.from_dict(self.user),
            impersonator=(
                Impersonator(email=str(imp.get("email", "")), reason=_opt_str(imp.get("reason")))
                if imp and imp.get("email")
                else None
            ),
            organization_id=self.organization_id,
            authentication_method=self.authentication_method,
        )


def encode_session(data: SessionData, *, camel: bool) -> dict[str, Any]:
    """The payload to seal: camelCase for iron (JS interop), snake_case for Fernet."""
    imp = (
        {"email": data.impersonator.email, "reason": data.impersonator.reason}
        if data.impersonator
        else None
    )
    if camel:
        out: dict[str, Any] = {
            "accessToken": data.access_token,
            "refreshToken": data.refresh_token,
            "user": data.user.to_dict(camel=True),
        }
        if imp:
            out["impersonator"] = imp
        if data.organization_id:
            out["organizationId"] = data.organization_id
        if data.authentication_method:
            out["authenticationMethod"] = data.authentication_method
        if data.attestation:
            out["attestation"] = data.attestation
        return out
    out = {
        "access_token": data.access_token,
        "refresh_token": data.refresh_token,
        "user": data.user.to_dict(),
    }
    if imp:
        out["impersonator"] = imp
    if data.organization_id:
        out["organization_id"] = data.organization_id
    if data.authentication_method:
        out["authentication_method"] = data.authentication_method
    if data.attestation:
        out["attestation"] = data.attestation
    return out


def decode_session(payload: Mapping[str, Any]) -> SessionData:
    """Read either shape; anything incomplete is a ``SealError`` (treated as no session)."""
    get = payload.get
    access = get("accessToken", get("access_token"))
    refresh = get("refreshToken", get("refresh_token"))
    user = get("user")
    if not isinstance(access, str) or not access:
        raise SealError("session has no access token", code="invalid_session")
    if not isinstance(refresh, str) or not refresh:
        raise SealError("session has no refresh token", code="invalid_session")
    if type(user) is not dict and not isinstance(user, Mapping):  # (a dict: no ABC check)
        raise SealError("session has no user", code="invalid_session")
    try:
        parsed_user = User.from_dict(user)
    except (ValueError, TypeError) as exc:
        raise SealError("session user is malformed", code="invalid_session") from exc
    imp = get("impersonator")
    impersonator = None
    if imp is not None and isinstance(imp, Mapping) and isinstance(imp.get("email"), str):
        impersonator = Impersonator(email=imp["email"], reason=_opt_str(imp.get("reason")))
    org = get("organizationId", get("organization_id"))
    method = get("authenticationMethod", get("authentication_method"))
    attestation = get("attestation")
    return _build_session(  # every field, in order (a first request's hot path)
        access,
        refresh,
        parsed_user,
        impersonator,
        org if isinstance(org, str) else None,
        method if isinstance(method, str) else None,
        attestation if type(attestation) is str else None,
    )


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None
