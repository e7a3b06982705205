"""Comparing a value built by a fast path with the one the ordinary code makes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest


def same_answer(fn: Callable[[Any], Any], built: Any, made: Any) -> bool:
    """``fn`` answers alike for both: equal values, or the same error class."""
    try:
        expected: Any = fn(made)
    except Exception as exc:
        with pytest.raises(type(exc)):
            fn(built)
        return True
    return bool(fn(built) == expected)
