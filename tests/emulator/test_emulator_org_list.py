"""``GET /organizations`` through the real SDK's ``organizations.list_organizations``."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from workos import AuthenticationError, UnprocessableEntityError

from authkit_middleware.emulator import EmulatorServer


def _ids(server: EmulatorServer, *names: str) -> list[str]:
    found = [server.emulator.get_organization(name) for name in names]
    assert all(org is not None for org in found)
    return [str(org["id"]) for org in found if org is not None]


def test_lists_every_organization_newest_first(server: EmulatorServer) -> None:
    client = server.workos_client()
    acme, globex = _ids(server, "Acme Inc", "Globex")
    page = client.organizations.list_organizations()  # the SDK sends order=desc
    assert [o.id for o in page.data] == [globex, acme]
    assert page.list_metadata.before is None and page.list_metadata.after is None
    first = page.data[1]
    assert first.name == "Acme Inc" and [d.domain for d in first.domains] == ["acme.test"]
    assert first.domains[0].organization_id == acme
    assert first.object == "organization"

    ascending = client.organizations.list_organizations(order="asc")
    assert [o.name for o in ascending.data] == ["Acme Inc", "Globex"]
    raw = httpx.get(
        f"{server.base_url}/organizations",
        headers={"Authorization": f"Bearer {server.api_key}"},
    )
    assert raw.status_code == 200
    assert raw.json()["object"] == "list"
    assert raw.json()["list_metadata"] == {"before": None, "after": None}


def test_paginates_with_limit_before_and_after(server: EmulatorServer) -> None:
    client = server.workos_client()
    emulator = server.emulator
    for index in range(3):
        emulator.add_organization(f"Extra {index}")
    everything = [o.id for o in client.organizations.list_organizations(order="asc").data]
    assert len(everything) == 5

    first = client.organizations.list_organizations(limit=2, order="asc")
    assert [o.id for o in first.data] == everything[:2]
    assert first.list_metadata.before is None
    assert first.list_metadata.after == everything[1]

    second = client.organizations.list_organizations(
        limit=2, order="asc", after=first.list_metadata.after
    )
    assert [o.id for o in second.data] == everything[2:4]
    assert second.list_metadata.before == everything[2]
    assert second.list_metadata.after == everything[3]

    back = client.organizations.list_organizations(
        limit=2, order="asc", before=second.list_metadata.before
    )
    assert [o.id for o in back.data] == everything[:2]

    walked = [o.id for o in first.auto_paging_iter()]
    assert walked == everything
    newest_first = client.organizations.list_organizations(limit=2)
    assert [o.id for o in newest_first.auto_paging_iter()] == everything[::-1]


def test_filters_by_domains(server: EmulatorServer) -> None:
    client = server.workos_client()
    emulator = server.emulator
    (acme,) = _ids(server, "Acme Inc")
    initech = emulator.add_organization("Initech", domains=["initech.test", "initech.example"])
    one = client.organizations.list_organizations(domains=["acme.test"])
    assert [o.id for o in one.data] == [acme]
    # Any organisation with a matching domain (the SDK comma-joins the list).
    both = client.organizations.list_organizations(
        domains=["ACME.test", "initech.example"], order="asc"
    )
    assert [o.id for o in both.data] == [acme, initech["id"]]
    assert client.organizations.list_organizations(domains=["nowhere.test"]).data == []
    named = client.organizations.list_organizations(search="glob")
    assert [o.name for o in named.data] == ["Globex"]


def test_needs_the_api_key(server: EmulatorServer) -> None:
    with pytest.raises(AuthenticationError):
        server.workos_client(api_key="sk_test_wrong").organizations.list_organizations()
    assert httpx.get(f"{server.base_url}/organizations").status_code == 401


def test_refuses_bad_parameters(server: EmulatorServer) -> None:
    client = server.workos_client()
    with pytest.raises(UnprocessableEntityError):
        client.organizations.list_organizations(limit=0)
    with pytest.raises(UnprocessableEntityError):
        client.organizations.list_organizations(limit=101)
    with pytest.raises(UnprocessableEntityError):
        client.organizations.list_organizations(order="sideways")


def test_async_client(server: EmulatorServer) -> None:
    async def scenario() -> list[str]:
        client = server.async_workos_client()
        try:
            page = await client.organizations.list_organizations(limit=1, order="asc")
            return [o.name async for o in page.auto_paging_iter()]
        finally:
            await client.close()

    assert asyncio.run(scenario()) == ["Acme Inc", "Globex"]


def test_doctor_checks_the_api_key_with_the_list(server: EmulatorServer) -> None:
    from authkit_middleware.doctor import run_checks

    env = {
        **server.env(),
        "WORKOS_REDIRECT_URI": "http://localhost:3000/callback",
        "WORKOS_COOKIE_PASSWORD": "Doctor-org-list-test-password-0123456789",
    }
    (ok,) = [f for f in run_checks(env) if f.check == "api_key"]
    assert ok.level == "ok"
    calls = server.emulator.calls(method="GET")
    assert [c.status for c in calls if c.path.startswith("/organizations")] == [200]
    assert server.emulator.count("/organizations") == 1

    (rejected,) = [
        f for f in run_checks({**env, "WORKOS_API_KEY": "sk_test_wrong"}) if f.check == "api_key"
    ]
    assert rejected.level == "error" and "HTTP 401" in rejected.message
