"""``User.from_dict`` and ``decode_session`` answer as the field-by-field rule.

``User.from_dict`` reads a plain dict in one spelling with one C call; anything
else (both spellings, another mapping type) goes field by field. Hypothesis checks
both against the rule as it was written before (``ref_user_from_dict``) on dicts
mixing camelCase and snake_case keys with junk values.
"""

from __future__ import annotations

import copy
import dataclasses
import pickle
from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from typing import Any

import pytest
from authkit_test_support.compare import same_answer
from hypothesis import given, settings
from hypothesis import strategies as st

from authkit_middleware.core.auth import USER_FIELDS, Impersonator, User, _build_user
from authkit_middleware.core.errors import SealError
from authkit_middleware.core.session import SessionData, decode_session

_EMPTY: Mapping[str, Any] = MappingProxyType({})


def ref_user_from_dict(data: Mapping[str, Any]) -> User:
    """The rule: snake_case key if present, else camelCase, else the default."""
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
    return User(**values)


def ref_decode_session(payload: Mapping[str, Any]) -> SessionData:
    access = payload.get("accessToken", payload.get("access_token"))
    refresh = payload.get("refreshToken", payload.get("refresh_token"))
    user = payload.get("user")
    if not isinstance(access, str) or not access:
        raise SealError("session has no access token", code="invalid_session")
    if not isinstance(refresh, str) or not refresh:
        raise SealError("session has no refresh token", code="invalid_session")
    if not isinstance(user, Mapping):
        raise SealError("session has no user", code="invalid_session")
    try:
        parsed_user = ref_user_from_dict(user)
    except (ValueError, TypeError) as exc:
        raise SealError("session user is malformed", code="invalid_session") from exc
    imp = payload.get("impersonator")
    impersonator = None
    if isinstance(imp, Mapping) and isinstance(imp.get("email"), str):
        reason = imp.get("reason")
        impersonator = Impersonator(
            email=imp["email"], reason=reason if isinstance(reason, str) else None
        )
    org = payload.get("organizationId", payload.get("organization_id"))
    method = payload.get("authenticationMethod", payload.get("authentication_method"))
    return SessionData(
        access_token=access,
        refresh_token=refresh,
        user=parsed_user,
        impersonator=impersonator,
        organization_id=org if isinstance(org, str) else None,
        authentication_method=method if isinstance(method, str) else None,
    )


def outcome(fn: Callable[[], Any]) -> tuple[Any, ...]:
    try:
        return ("value", fn())
    except Exception as exc:
        return ("error", type(exc), str(exc))


def same_user(a: User, b: User) -> None:
    """Equal, and field by field of the same types (equality hides 1 == True)."""
    assert a == b
    for snake, _ in USER_FIELDS[1:]:
        assert type(getattr(a, snake)) is type(getattr(b, snake)), snake
    assert type(a.metadata) is MappingProxyType


def assert_user_answers_as_the_rule(data: Mapping[str, Any]) -> None:
    expected = outcome(lambda: ref_user_from_dict(data))
    for got in (outcome(lambda: User.from_dict(data)), outcome(lambda: User._from_mapping(data))):
        assert got[0] == expected[0], (got, expected)
        if got[0] == "value":
            same_user(got[1], expected[1])
        else:
            assert got == expected


ALL_KEYS = sorted({key for pair in USER_FIELDS for key in pair})

VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=6),
    st.just(""),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=2),
    st.just({}),
)


@st.composite
def user_dicts(draw: st.DrawFn) -> dict[str, Any]:
    """A user object: one spelling, the other, or a mix; maybe keys missing, maybe junk."""
    shape = draw(st.sampled_from(["camel", "snake", "mixed", "any"]))
    if shape == "any":
        keys = draw(st.lists(st.sampled_from([*ALL_KEYS, "extra", "Id"]), unique=True))
    else:
        keys = []
        for snake, camel in USER_FIELDS:
            if draw(st.integers(min_value=0, max_value=5)) == 5:
                continue  # this field absent
            if shape == "mixed":
                keys += draw(st.sampled_from([[snake], [camel], [snake, camel]]))
            else:
                keys.append(snake if shape == "snake" else camel)
    data = {key: draw(VALUES) for key in dict.fromkeys(keys)}
    if draw(st.integers(min_value=0, max_value=3)) != 3:
        data["id"] = draw(st.sampled_from(["user_01", "u"]))  # usually a valid id
    return data


@settings(max_examples=2000, deadline=None)
@given(data=user_dicts())
def test_user_from_dict_answers_as_the_rule(data: dict[str, Any]) -> None:
    assert_user_answers_as_the_rule(data)
    assert_user_answers_as_the_rule(MappingProxyType(data))  # not a dict: the loop


class OddMapping(Mapping[str, Any]):
    """A mapping that is not a dict (an SDK object, say)."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


class DictSubclass(dict[str, Any]):
    pass


FULL = User(
    id="user_01",
    email="a@example.com",
    email_verified=True,
    first_name="Ada",
    last_name="Lovelace",
    name="Ada Lovelace",
    profile_picture_url="https://example.com/a.png",
    external_id="ext",
    locale="en",
    created_at="2024-01-01",
    updated_at="2024-01-02",
    last_sign_in_at="2024-01-03",
    metadata=MappingProxyType({"plan": "pro"}),
)


@pytest.mark.parametrize(
    "data",
    [
        FULL.to_dict(camel=True),
        FULL.to_dict(),
        {"id": "user_01"},
        {"id": "user_01", "firstName": "camel", "first_name": "snake"},
        {"id": "user_01", "firstName": "camel", "last_name": "snake"},
        {"id": "user_01", "emailVerified": "yes", "metadata": OddMapping({"a": "b"})},
        {"id": "user_01", "email_verified": 0, "metadata": []},
        {"id": "user_01", "metadata": {}},
        {"id": "user_01", "metadata": {"a": 1}},
        {"id": "user_01", "metadata": DictSubclass(a="b")},
        {"id": "", "email": "a@example.com"},
        {"id": 7},
        {"email": "a@example.com"},
        {},
        {"id": "user_01", "object": "user", "extra": 1},
        DictSubclass(id="user_01", firstName="x"),
        OddMapping({"id": "user_01", "firstName": "x", "first_name": "y"}),
    ],
)
def test_user_from_dict_cases(data: Mapping[str, Any]) -> None:
    assert_user_answers_as_the_rule(data)


def test_round_trips_through_both_spellings() -> None:
    assert User.from_dict(FULL.to_dict(camel=True)) == FULL
    assert User.from_dict(FULL.to_dict()) == FULL


def test_metadata_is_a_private_read_only_copy() -> None:
    meta = {"plan": "pro"}
    user = User.from_dict({"id": "user_01", "metadata": meta})
    meta["plan"] = "free"
    assert user.metadata == {"plan": "pro"}
    with pytest.raises(TypeError):
        user.metadata["plan"] = "free"  # type: ignore[index]
    assert User.from_dict({"id": "user_01", "metadata": {}}).metadata == {}


SESSION_KEYS = [
    "accessToken",
    "access_token",
    "refreshToken",
    "refresh_token",
    "impersonator",
    "organizationId",
    "organization_id",
    "authenticationMethod",
    "authentication_method",
]


@settings(max_examples=1000, deadline=None)
@given(
    payload=st.fixed_dictionaries(
        {"user": st.one_of(user_dicts(), user_dicts().map(MappingProxyType), VALUES)},
        optional={
            key: st.one_of(
                st.text(max_size=4),
                VALUES,
                st.fixed_dictionaries(
                    {}, optional={"email": st.one_of(st.text(max_size=4), VALUES), "reason": VALUES}
                ),
            )
            for key in SESSION_KEYS
        },
    )
)
def test_decode_session_answers_as_the_rule(payload: dict[str, Any]) -> None:
    expected = outcome(lambda: ref_decode_session(payload))
    got = outcome(lambda: decode_session(payload))
    assert got[0] == expected[0], (got, expected)
    if got[0] == "value":
        assert type(got[1]) is SessionData
        assert got[1] == expected[1] and repr(got[1]) == repr(expected[1])
        same_user(got[1].user, expected[1].user)
    else:
        assert got == expected


# -- User built without the dataclass constructor ------------------------------------------


def test_built_user_is_an_ordinary_user() -> None:
    values = [getattr(FULL, f.name) for f in dataclasses.fields(User)]
    built = _build_user(*values)
    assert type(built) is User
    assert built == FULL and repr(built) == repr(FULL) and same_answer(hash, built, FULL)
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.email = "b@example.com"  # type: ignore[misc]
    for clone in (copy.copy, copy.deepcopy, lambda u: pickle.loads(pickle.dumps(u))):
        assert same_answer(clone, built, FULL)
    assert dataclasses.replace(built, name="Ada") == dataclasses.replace(FULL, name="Ada")
    assert built.display_name == FULL.display_name
    assert User.from_dict(FULL.to_dict()) is not User.from_dict(FULL.to_dict())


@dataclasses.dataclass(frozen=True, slots=True)
class SubUser(User):
    pass


def test_from_dict_on_a_subclass_builds_the_subclass() -> None:
    for data in (
        FULL.to_dict(),
        FULL.to_dict(camel=True),
        {"id": "u", "firstName": "a", "first_name": "b"},
    ):
        user = SubUser.from_dict(data)
        assert type(user) is SubUser
        expected = ref_user_from_dict(data)
        for f in dataclasses.fields(User):
            assert getattr(user, f.name) == getattr(expected, f.name)


def test_decoded_session_is_an_ordinary_session_data() -> None:
    payload = {"accessToken": "at", "refreshToken": "rt", "user": FULL.to_dict(camel=True)}
    session = decode_session(payload)
    made = SessionData(access_token="at", refresh_token="rt", user=FULL)
    assert type(session) is SessionData and session == made and repr(session) == repr(made)
    with pytest.raises(dataclasses.FrozenInstanceError):
        session.access_token = "other"  # type: ignore[misc]
    assert dataclasses.replace(session, organization_id="org") == dataclasses.replace(
        made, organization_id="org"
    )
    for clone in (copy.copy, copy.deepcopy, lambda s: pickle.loads(pickle.dumps(s))):
        assert same_answer(clone, session, made)
