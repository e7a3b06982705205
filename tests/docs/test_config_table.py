"""docs/configuration.md lists every AuthKitConfig option, as the code defines it."""

from __future__ import annotations

import dataclasses

from config_table import current_page_table, render

from authkit_middleware.core.config import ENV_VARS, AuthKitConfig


def test_the_table_is_up_to_date() -> None:
    assert current_page_table() == render(), (
        "docs/configuration.md is out of date: run `python tests/docs/config_table.py --write`"
    )


def test_every_option_and_variable_is_listed() -> None:
    table = current_page_table()
    for f in dataclasses.fields(AuthKitConfig):
        if f.init:
            assert f"| `{f.name}` |" in table
    for variables in ENV_VARS.values():
        for variable in variables:
            assert f"`{variable}`" in table


def test_every_option_has_a_description() -> None:
    for row in render().splitlines()[2:]:
        assert not row.rstrip().endswith("|  |"), row
