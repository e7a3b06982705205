"""Which app runs under which server.

All four servers run one representative app of their kind (an example once the
examples exist); every app runs under one server of its kind; and the
representative of each kind also runs mounted under ``/app``. Deduplicated, so a
combo never starts twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from .harness import ASGI_SERVERS, WSGI_SERVERS, AppTarget, all_targets, representative

#: The server each kind's apps run under when only one is used.
DEFAULT_SERVER = {"asgi": "uvicorn", "wsgi": "gunicorn"}


@dataclass(frozen=True)
class Combo:
    server: str
    target: AppTarget
    mounted: bool = False

    @property
    def id(self) -> str:
        return f"{self.server}-{self.target.name}" + ("-mounted" if self.mounted else "")


def combos() -> list[Combo]:
    found: dict[str, Combo] = {}

    def add(combo: Combo) -> None:
        found.setdefault(combo.id, combo)

    for kind, servers in (("asgi", ASGI_SERVERS), ("wsgi", WSGI_SERVERS)):
        rep = representative(kind)  # type: ignore[arg-type]
        for server in servers:
            add(Combo(server, rep))
    for target in all_targets():
        add(Combo(DEFAULT_SERVER[target.kind], target))
    for kind in ("asgi", "wsgi"):
        add(Combo(DEFAULT_SERVER[kind], representative(kind), mounted=True))  # type: ignore[arg-type]
    return list(found.values())
