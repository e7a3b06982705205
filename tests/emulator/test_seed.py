"""Seeds: dataclasses, JSON and TOML files, stable ids, validation."""

from __future__ import annotations

import json
from pathlib import Path

import jwt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from authkit_middleware.emulator import (
    Emulator,
    Seed,
    SeedError,
    SeedMembership,
    SeedOrganization,
    SeedUser,
    load_seed,
)

SEED = {
    "users": [
        {"email": "ann@corp.test", "password": "hunter22", "first_name": "Ann", "id": "user_ANN"},
        {"email": "ben@corp.test", "password": ""},
    ],
    "organizations": [
        {
            "name": "Corp",
            "id": "org_CORP",
            "entitlements": ["gold"],
            "feature_flags": ["beta"],
            "require": None,
        }
    ],
    "memberships": [
        {
            "user": "ann@corp.test",
            "organization": "Corp",
            "role": "owner",
            "roles": ["owner", "billing"],
            "permissions": ["all:things"],
        }
    ],
}

TOML = """
[[users]]
email = "ann@corp.test"
password = "hunter22"
first_name = "Ann"
id = "user_ANN"

[[users]]
email = "ben@corp.test"
password = ""

[[organizations]]
name = "Corp"
id = "org_CORP"
entitlements = ["gold"]
feature_flags = ["beta"]

[[memberships]]
user = "ann@corp.test"
organization = "Corp"
role = "owner"
roles = ["owner", "billing"]
permissions = ["all:things"]
"""


def _check(seed: Seed) -> None:
    emulator = Emulator(seed)
    session = emulator.issue_session("ann@corp.test")
    claims = jwt.decode(session["access_token"], options={"verify_signature": False})
    assert claims["sub"] == "user_ANN" and claims["org_id"] == "org_CORP"
    assert claims["roles"] == ["owner", "billing"] and claims["role"] == "owner"
    assert claims["permissions"] == ["all:things"]
    assert claims["entitlements"] == ["gold"] and claims["feature_flags"] == ["beta"]
    ben = emulator.store.find_user("ben@corp.test")
    assert ben is not None and ben.password is None


def test_json_seed(tmp_path: Path) -> None:
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(SEED))
    _check(load_seed(path))
    _check(Emulator(str(path)).seed)


def test_toml_seed(tmp_path: Path) -> None:
    path = tmp_path / "seed.toml"
    path.write_text(TOML)
    assert load_seed(path) == Seed.from_dict(SEED)
    _check(load_seed(path))


def test_dict_and_dataclass_seeds_are_equivalent() -> None:
    built = Seed(
        users=(
            SeedUser("ann@corp.test", "hunter22", first_name="Ann", id="user_ANN"),
            SeedUser("ben@corp.test", None),
        ),
        organizations=(
            SeedOrganization(
                "Corp", id="org_CORP", entitlements=("gold",), feature_flags=("beta",)
            ),
        ),
        memberships=(
            SeedMembership(
                "ann@corp.test",
                "Corp",
                role="owner",
                roles=("owner", "billing"),
                permissions=("all:things",),
            ),
        ),
    )
    assert built == Seed.from_dict(SEED)
    assert Seed.from_dict(built.to_dict()) == built
    _check(built)


def test_invalid_seeds_list_every_problem(tmp_path: Path) -> None:
    with pytest.raises(SeedError) as caught:
        Seed.from_dict(
            {
                "users": [{"email": "a@x.test", "pasword": "typo"}],
                "orgs": [],
            }
        )
    assert len(caught.value.problems) == 2
    with pytest.raises(SeedError) as refs:
        Seed(
            users=(SeedUser("a@x.test"), SeedUser("A@x.test")),
            organizations=(SeedOrganization("O", require="maybe"),),
            memberships=(SeedMembership("ghost@x.test", "Nope"),),
        ).validate()
    text = str(refs.value)
    assert "duplicate email" in text and "require must be" in text
    assert "no user" in text and "no organization" in text
    bad = tmp_path / "seed.yaml"
    bad.write_text("users: []")
    with pytest.raises(SeedError, match=r"\.json or \.toml"):
        load_seed(bad)
    broken = tmp_path / "seed.json"
    broken.write_text("{")
    with pytest.raises(SeedError, match="not valid JSON"):
        load_seed(broken)


def test_default_seed_ids_are_stable_across_instances() -> None:
    first, second = Emulator(), Emulator()
    assert first.describe()["users"] == second.describe()["users"]
    alice = first.get_user("alice@example.com")
    assert alice is not None and alice["id"].startswith("user_01") and len(alice["id"]) == 31


@settings(max_examples=40, deadline=None)
@given(
    local=st.from_regex(r"[a-z0-9._]{1,20}", fullmatch=True),
    name=st.text(min_size=1, max_size=30).filter(lambda s: s.strip() != ""),
)
def test_derived_ids_depend_only_on_email_and_name(local: str, name: str) -> None:
    email = f"{local}@example.test"
    a = Seed(users=(SeedUser(email),), organizations=(SeedOrganization(name),))
    b = Seed(users=(SeedUser(email.upper()),), organizations=(SeedOrganization(name),))
    assert a.users[0].resolved_id == b.users[0].resolved_id
    assert a.organizations[0].resolved_id == b.organizations[0].resolved_id
    m = SeedMembership(email, name)
    assert Seed(users=a.users, organizations=a.organizations, memberships=(m,)).membership_id(
        m
    ) == Seed(users=b.users, organizations=b.organizations, memberships=(m,)).membership_id(m)
