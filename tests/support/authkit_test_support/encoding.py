"""Encodings the tests build tokens and seals with by hand."""

from __future__ import annotations

import base64


def b64url(data: bytes) -> str:
    """Base64url without padding (JWT segments, iron salts, IVs and MACs)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
