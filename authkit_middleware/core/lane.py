"""The fast lane's shape: what it answers, and its steady-state front.

The adapters call ``AuthKit.lane`` on every request that carries no
``Authorization`` header, before any ``RequestInfo`` exists. A browser repeating a
Cookie header seen before (the steady state of every signed-in user), or a signed-out
visitor on an open path, is answered by :func:`memo_lane`, a closure that reads two
dicts and the clock; everything else goes to the engine's own lane
(``AuthKit._lane``), which decides with the full rules.

Why a closure and not a method: measured with a Flask request around it, each
bytecode the middleware runs costs about 9 ns (the interpreter's dispatch runs cold
between two requests), so the steady path is counted in bytecodes. A closure reads
its state from cells; a method would load each attribute through ``self``.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Mapping
from dataclasses import dataclass
from typing import Literal, NamedTuple

from authkit_middleware.core.auth import Auth
from authkit_middleware.core.seal import Unsealed
from authkit_middleware.core.session import SessionData


@dataclass(slots=True)
class OpenedCookie:
    """A session cookie ``attempt`` unsealed whose verification needs an effect (a
    JWKS fetch, a refresh): ``handle`` goes on from here instead of unsealing again."""

    value: str
    unsealed: Unsealed
    session: SessionData


class _Unreadable:
    """The type of ``UNREADABLE``."""

    __slots__ = ()


#: A session cookie the fast lane tried to open and could not (D11: the full path
#: answers it as anonymous plus a deletion, without trying again).
UNREADABLE = _Unreadable()


class LaneMiss(NamedTuple):
    """What the lane found when it could not answer: the decoded Cookie header, the
    session cookie's value and, when it tried to open it, the ``OpenedCookie`` or
    ``UNREADABLE``. The adapter hands it to ``AuthKit.seen_cookie`` so that the full
    path does not parse or unseal again.

    Falsy, like None: ``if found:`` is "the lane answered" (an ``Auth`` is always
    true), one test on the hot path instead of a type check."""

    header: str
    value: str | None
    opened: OpenedCookie | _Unreadable | None

    def __bool__(self) -> Literal[False]:
        return False


#: ``AuthKit.lane(path, root_path, cookie_header)``: an ``Auth`` (the answer), a
#: ``LaneMiss`` or None (no answer). ``path`` is relative to the mount
#: (``root_path``); both may be None when the server left them out (WSGI).
#: ``cookie_header`` is the raw header: bytes from ASGI, str from WSGI.
Lane = Callable[[str | None, str | None, str | bytes | None], "Auth | LaneMiss | None"]


def memo_lane(
    session_paths: Container[str | None],
    open_paths: Container[str | None],
    header_memo: Mapping[str | bytes, tuple[Auth, float]],
    anonymous_headers: Container[str | bytes],
    clock: Callable[[], float],
    anonymous: Auth,
    otherwise: Lane,
) -> Lane:
    """The lane: what a path and a Cookie header seen before already decided.

    - A Cookie header remembered with a verified session (``header_memo``), on one
      of ``session_paths``: that session, while ``clock()`` is before the entry's
      expiry.
    - No Cookie header, or one remembered as holding no session cookie at all
      (``anonymous_headers``), on one of ``open_paths``: ``anonymous``.
    - Anything else is ``otherwise``'s to answer.

    ``session_paths`` must hold only paths where a signed-in session *is* the answer
    (open, or requiring only sign-in), ``open_paths`` only those open to everyone;
    neither an auth route nor a path that a mount could turn into the callback, and
    only ASCII (a WSGI path is latin-1 decoded bytes: a non-ASCII one is not what
    the rules would see). The engine fills them as ``otherwise`` meets such paths.
    ``header_memo`` holds only verified sessions, each until its refresh is due, and
    loses them when they are signed out.
    """
    # ``get`` takes None too (never a key): one lookup whether a header came or not.
    memo_get: Callable[[str | bytes | None], tuple[Auth, float] | None] = header_memo.get  # type: ignore[assignment]

    def lane(
        path: str | None, root_path: str | None, cookie_header: str | bytes | None
    ) -> Auth | LaneMiss | None:
        entry = memo_get(cookie_header)
        if entry is not None:
            if path in session_paths and clock() < entry[1]:
                return entry[0]
        elif path in open_paths and (not cookie_header or cookie_header in anonymous_headers):
            return anonymous
        return otherwise(path, root_path, cookie_header)

    return lane


def no_lane(path: str | None, root_path: str | None, cookie_header: str | bytes | None) -> None:
    """The lane in debug mode: never an answer, so every request takes the full
    path and its debug log lines."""
    return None
