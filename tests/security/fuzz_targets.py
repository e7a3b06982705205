"""atheris fuzz target: cookie parser, unseal, chunk reassembly, return-path validator.

Run directly for a longer campaign (what ``test_sec_fuzz.py`` does for a few seconds):

    .venv/bin/python tests/security/fuzz_targets.py -max_total_time=60 -rss_limit_mb=2048
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
import time
from typing import Any
from urllib.parse import urlsplit

_instrument: Any = contextlib.nullcontext()
if __name__ == "__main__" and importlib.util.find_spec("atheris") is not None:
    import atheris

    # Coverage feedback from our modules only (instrumenting everything takes minutes).
    _instrument = atheris.instrument_imports(include=["authkit_middleware"])

with _instrument:
    from authkit_middleware.core.cookies import get_cookie, join_cookie, parse_cookie_header
    from authkit_middleware.core.errors import SealError
    from authkit_middleware.core.login_state import LoginStateError, open_login_state
    from authkit_middleware.core.redirects import resolve_return_to, safe_return_path
    from authkit_middleware.core.seal import Sealer

SEALER = Sealer(("fuzzing-password-that-is-long-enough-0123",))
NOW = time.time()
ORIGIN = "https://app.example.com"


def check_one(data: bytes) -> None:
    text = data.decode("latin-1")  # what ASGI/WSGI hand over for header bytes
    cookies = parse_cookie_header(text)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in cookies.items())
    for name in ("wos-session", "a", next(iter(cookies), "x")):
        assert get_cookie(text, name) == cookies.get(name)
    joined = join_cookie(cookies, "wos-session", max_chunks=4)
    for candidate in (joined, text[:8192]):
        if candidate is None:
            continue
        for purpose in ("session", "login_state"):
            with contextlib.suppress(SealError):
                SEALER.unseal(candidate, purpose=purpose, now=NOW)
        with contextlib.suppress(LoginStateError):
            open_login_state(SEALER, candidate, now=NOW)
    for value in (text, data.decode("utf-8", "replace")):
        path = safe_return_path(value, "/")
        assert path.startswith("/") and not path.startswith(("//", "/\\"))
        assert "\\" not in path and not any(ord(c) < 0x20 or c == "\x7f" for c in path)
        url = urlsplit(resolve_return_to(ORIGIN, value))
        assert (url.scheme, url.netloc) == ("https", "app.example.com")


def main() -> None:
    import atheris

    atheris.Setup(sys.argv, check_one)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
