"""``auth_from_claims`` (the positional hot path) builds exactly the keyword ``Auth``."""

from __future__ import annotations

from typing import Any

import pytest

from authkit_middleware.core.auth import Auth, Impersonator, User
from authkit_middleware.core.tokens import auth_from_claims, claims_to_auth_fields

USER = User(id="user_01", email="alice@example.com")
SESSION_IMP = Impersonator(email="support@example.com", reason="ticket 42")

CLAIMS: list[dict[str, Any]] = [
    {"sub": "user_01", "sid": "session_01", "exp": 1_900_000_000, "iat": 1},
    {
        "sub": "user_01",
        "sid": "session_01",
        "org_id": "org_01",
        "role": "admin",
        "roles": ["admin", "member"],
        "permissions": ["posts:read", "posts:write"],
        "entitlements": ["audit-logs"],
        "feature_flags": ["beta"],
        "act": {"sub": "admin@example.com", "reason": "support"},
        "exp": 1_900_000_000.5,
    },
    # Junk types read as absent, lists keep their strings only.
    {
        "sub": "user_01",
        "sid": 7,
        "org_id": ["x"],
        "role": None,
        "roles": "admin",
        "permissions": ["a", 1, None, "b"],
        "entitlements": {"a": 1},
        "feature_flags": ("f",),
        "act": {"sub": ""},
        "exp": "soon",
    },
    {"sub": "user_01", "act": "nope", "exp": float("inf")},
]


def _keyword(claims: dict[str, Any], impersonator: Impersonator | None) -> Auth:
    fields = claims_to_auth_fields(claims)
    if impersonator is not None:
        fields["impersonator"] = impersonator
    return Auth(user=USER, access_token="token", claims=claims, source="cookie", **fields)


@pytest.mark.parametrize("claims", CLAIMS)
@pytest.mark.parametrize("impersonator", [None, SESSION_IMP])
def test_auth_from_claims_equals_the_keyword_auth(
    claims: dict[str, Any], impersonator: Impersonator | None
) -> None:
    fast = auth_from_claims(USER, "token", claims, "cookie", impersonator)
    slow = _keyword(claims, impersonator)
    assert fast == slow
    assert fast.scopes == slow.scopes
    assert fast.expires_at == slow.expires_at and fast.impersonator == slow.impersonator
