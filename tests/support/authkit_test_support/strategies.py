"""Hypothesis strategies for JSON documents (what seals and tokens carry)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st


def json_values(
    *, list_size: int = 4, key_size: int = 8, dict_size: int = 4, max_leaves: int = 12
) -> st.SearchStrategy[Any]:
    """Any JSON value: null, booleans, integers, finite floats, text, and lists and
    objects of those, nested (``list_size``/``dict_size`` items at most per level,
    object keys of ``key_size`` characters at most, ``max_leaves`` leaves in all)."""
    return st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(),
        lambda children: (
            st.lists(children, max_size=list_size)
            | st.dictionaries(st.text(max_size=key_size), children, max_size=dict_size)
        ),
        max_leaves=max_leaves,
    )


def json_objects(*, key_size: int = 10, max_size: int = 6) -> st.SearchStrategy[dict[str, Any]]:
    """A JSON object (up to ``max_size`` keys of ``key_size`` characters at most) of
    :func:`json_values` with their defaults."""
    return st.dictionaries(st.text(max_size=key_size), json_values(), max_size=max_size)
