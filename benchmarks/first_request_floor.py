"""The floor under a first request: the least work a new session cookie needs, timed.

Not the middleware: a straight line of the primitives a cookie never seen before must
go through, with nothing else around them, to show how much of ``inprocess.py``'s
"first request" row is cryptography and parsing and how much is the middleware:

1. cut the session cookie out of the Cookie header;
2. open the iron seal (parse, HMAC-SHA256 over ~2.2 KB, AES-256-CBC, JSON), with the
   derived keys already cached, as the middleware has them for its own seals;
3. verify the access token: base64url, RS256 signature (``cryptography``), JSON claims,
   expiry and subject only;
4. keep the result in a dict.

No ``Auth``/``User`` objects, no header/claim checks beyond those, no request object,
no framework: every one of those is extra cost the middleware pays on top. Each
request uses a distinct session minted by the emulator (distinct seals and tokens),
so the timing is of a first sight, as in ``inprocess.py``.

Next to it, interleaved, the middleware's engine doing the same first sight alone
(``AuthKit.lane`` on the raw Cookie header: memo miss, cookie cut, unseal, every
check, ``Auth``, cache entry), twice: on cookies sealed without an attestation (as
WorkOS's JavaScript libraries seal them: RS256 verified, the floor's work) and on
cookies another worker of the app sealed, attested (``core.attestation``: an HMAC
replaces the RS256 check). The gap to the floor is what the middleware's own checks
and objects cost; the rest of ``inprocess.py``'s figure is the adapter and the app.

    .venv/bin/python benchmarks/first_request_floor.py [--sessions 2000] [--rounds 2]
"""

from __future__ import annotations

import argparse
import binascii
import gc
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import apps
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicNumbers
from cryptography.hazmat.primitives.hashes import SHA256

from authkit_middleware.core import iron
from authkit_middleware.core.config import AuthKitConfig
from authkit_middleware.core.cookies import get_cookie
from authkit_middleware.core.engine import AuthKit
from authkit_middleware.emulator import Emulator

OTHER_COOKIES = "_ga=GA1.1.1234567890.1700000000; theme=dark"


def _b64u(text: str) -> bytes:
    return binascii.a2b_base64(text.replace("-", "+").replace("_", "/") + "=" * (-len(text) % 4))


def _int(text: str) -> int:
    return int.from_bytes(_b64u(text), "big")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--sessions", type=int, default=2000)
    p.add_argument("--rounds", type=int, default=2)
    args = p.parse_args()

    emulator = Emulator(access_token_ttl=3600)
    with emulator.serve() as server:
        settings = apps.Settings(server.base_url, server.api_key, server.client_id)
        kit = AuthKit(AuthKitConfig(**apps.our_options(settings)))
        jwks = emulator.keys.jwks()
        worker = apps.other_worker(settings, jwks)
        sessions = [emulator.issue_session(apps.EMAIL) for _ in range(args.sessions)]
        headers = [
            f"{OTHER_COOKIES}; wos-session={apps.foreign_cookie(worker, t)}" for t in sessions
        ]
        attested = [
            f"{OTHER_COOKIES}; wos-session={apps.our_cookie(worker, t)}".encode("latin-1")
            for t in sessions
        ]
        jwk = jwks["keys"][0]
    key = RSAPublicNumbers(_int(jwk["e"]), _int(jwk["n"])).public_key()
    secret = apps.IRON_PASSWORD.encode()
    padding, sha256 = PKCS1v15(), SHA256()
    decoder = json.JSONDecoder()
    kept: dict[str, Any] = {}

    def first_sight(header: str) -> None:
        value = get_cookie(header, "wos-session")
        assert value is not None
        session = iron.open_parts(iron.parse(value), secret)
        token: str = session["accessToken"]
        head, payload, signature = token.split(".")
        key.verify(
            _b64u(signature), token[: len(head) + 1 + len(payload)].encode(), padding, sha256
        )
        claims = decoder.decode(_b64u(payload).decode())
        if not (claims["exp"] > time.time() and claims["sub"] == session["user"]["id"]):
            raise ValueError("expired or not the session's user")
        kept[value] = (session, claims)

    # The middleware's own lane on the same sessions: everything the engine does for a
    # first sight (header memo miss, cookie cut, unseal, every check, Auth, cache entry),
    # without the adapter, the app or a server around it.
    kit.jwks.store(jwks, time.time())
    raw_headers = [h.encode("latin-1") for h in headers]

    def lane(header: bytes) -> None:
        found = kit.lane("/dash", "", header)
        if found is None or type(found) is tuple:
            raise RuntimeError("the lane did not verify a plain first cookie")

    print(f"{args.sessions} distinct sessions, {args.rounds} rounds (medians, µs)")
    for round_no in range(1, args.rounds + 1):
        kept.clear()
        kit.sessions.clear()
        gc.collect()
        floor, ours, ours_attested = [], [], []
        for header, raw, sealed_here in zip(headers, raw_headers, attested, strict=True):
            t0 = time.perf_counter_ns()
            first_sight(header)
            t1 = time.perf_counter_ns()
            lane(raw)
            t2 = time.perf_counter_ns()
            lane(sealed_here)
            t3 = time.perf_counter_ns()
            floor.append(t1 - t0)
            ours.append(t2 - t1)
            ours_attested.append(t3 - t2)
        print(
            f"round {round_no}: floor {statistics.median(floor) / 1000:.2f} µs;"
            f" AuthKit.lane (the engine's first sight): RS256"
            f" {statistics.median(ours) / 1000:.2f} µs,"
            f" attested {statistics.median(ours_attested) / 1000:.2f} µs"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
