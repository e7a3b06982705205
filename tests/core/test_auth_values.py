"""``Auth`` and ``User`` behave as immutable values: copies are the value itself, and
they pickle (e.g. into a cache or a task queue) and come back equal, read-only views
included. The read-only ``metadata``/``claims`` views cannot be pickled as such."""

from __future__ import annotations

import copy
import pickle
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from authkit_middleware.core.auth import ANONYMOUS, Auth, Impersonator, User

texts = st.text(max_size=12)
optional = st.none() | texts
users = st.builds(
    User,
    id=st.text(min_size=1, max_size=12),
    email=optional,
    email_verified=st.booleans(),
    first_name=optional,
    metadata=st.dictionaries(texts, texts, max_size=3).map(
        lambda d: MappingProxyType(d) if d else MappingProxyType({})
    ),
)
claims = st.dictionaries(texts, st.integers() | texts, max_size=4)
auths = st.builds(
    Auth,
    user=st.none() | users,
    session_id=optional,
    permissions=st.lists(texts, max_size=3).map(tuple),
    impersonator=st.none() | st.builds(Impersonator, email=texts, reason=optional),
    access_token=optional,
    claims=claims | claims.map(MappingProxyType),
    expires_at=st.none() | st.integers(0, 2**40),
    source=st.sampled_from([None, "cookie", "bearer"]),
)


@given(auths)
def test_auth_pickles_and_copies_as_a_value(auth: Auth) -> None:
    back = pickle.loads(pickle.dumps(auth))
    assert back == auth and type(back) is Auth
    assert back.scopes == auth.scopes
    assert type(back.claims) is type(auth.claims)
    if auth.user is not None:
        assert type(back.user) is User
        assert isinstance(back.user.metadata, MappingProxyType)
    assert copy.copy(auth) is auth and copy.deepcopy(auth) is auth


@pytest.mark.parametrize("value", [ANONYMOUS, User(id="u"), Impersonator(email="a@b")])
def test_the_simple_values_too(value: Any) -> None:
    assert pickle.loads(pickle.dumps(value)) == value
    assert copy.deepcopy(value) == value


def test_a_rebuilt_user_is_still_read_only() -> None:
    user = pickle.loads(pickle.dumps(User(id="u", metadata=MappingProxyType({"k": "v"}))))
    with pytest.raises(TypeError):
        user.metadata["k"] = "changed"  # type: ignore[index]
