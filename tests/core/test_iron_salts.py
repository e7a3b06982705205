"""Our seals reuse a per-process salt pair for a bounded period; everything still interops."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator

import pytest
from authkit_test_support.iron_vectors import NOW, PASSWORD

from authkit_middleware.core import iron
from authkit_middleware.core.errors import SealError
from authkit_middleware.core.seal import Sealer

OLD = "an-older-test-password-long-enough-too"


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    iron.rotate_salts()
    yield
    iron.rotate_salts()


def _salts(sealed: str) -> tuple[str, str]:
    parts = iron.parse(sealed)
    return parts.encryption_salt, parts.hmac_salt


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# -- reuse and rotation ------------------------------------------------------------------


def test_seals_share_salts_but_never_an_iv() -> None:
    seals = [iron.seal({"a": 1}, PASSWORD, now=NOW) for _ in range(50)]
    assert len({_salts(s) for s in seals}) == 1
    enc_salt, mac_salt = _salts(seals[0])
    assert enc_salt != mac_salt
    assert len(enc_salt) == len(mac_salt) == 64
    assert int(enc_salt, 16) >= 0 and enc_salt == enc_salt.lower()
    assert len({iron.parse(s).iv for s in seals}) == 50
    assert len({iron.parse(s).ciphertext for s in seals}) == 50  # same plaintext
    assert len(set(seals)) == 50


def test_sealers_and_purposes_share_the_process_salts() -> None:
    a, b = Sealer(PASSWORD), Sealer([OLD, PASSWORD])
    salts = {
        _salts(a.seal({"x": 1})),
        _salts(b.seal({"x": 1})),
        _salts(a.seal({"x": 1}, purpose="login_state", ttl=600)),
        _salts(iron.seal({"x": 1}, PASSWORD)),
    }
    assert len(salts) == 1


def test_salts_rotate_after_the_period(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    monkeypatch.setattr(iron._SALTS, "clock", clock)
    iron.rotate_salts()
    first = _salts(iron.seal({}, PASSWORD))
    clock.now += iron.SALT_REUSE_SECONDS - 0.001
    assert _salts(iron.seal({}, PASSWORD)) == first
    clock.now += 0.001
    second = _salts(iron.seal({}, PASSWORD))
    assert second != first
    assert second[0] != first[0] and second[1] != first[1]
    clock.now += iron.SALT_REUSE_SECONDS / 2
    assert _salts(iron.seal({}, PASSWORD)) == second


def test_salts_rotate_after_the_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(iron._SALTS, "max_uses", 3)
    iron.rotate_salts()
    seals = [_salts(iron.seal({}, PASSWORD)) for _ in range(7)]
    assert seals[0] == seals[1] == seals[2] != seals[3]
    assert seals[3] == seals[4] == seals[5] != seals[6]


def test_default_bounds_are_ten_minutes_or_65536_seals() -> None:
    assert iron.SALT_REUSE_SECONDS == 600
    assert iron.SALT_REUSE_SEALS == 2**16
    assert iron._SALTS.max_age == iron.SALT_REUSE_SECONDS
    assert iron._SALTS.max_uses == iron.SALT_REUSE_SEALS
    clock = FakeClock()
    schedule = iron._SaltSchedule(iron.SALT_REUSE_SECONDS, iron.SALT_REUSE_SEALS, clock)
    first = schedule.next()
    for _ in range(iron.SALT_REUSE_SEALS - 1):
        assert schedule.next() is first
    assert schedule.next() != first  # seal number 65537


def test_rotate_salts_forces_a_fresh_pair() -> None:
    first = _salts(iron.seal({}, PASSWORD))
    iron.rotate_salts()
    second = _salts(iron.seal({}, PASSWORD))
    assert first != second
    assert _salts(iron.seal({}, PASSWORD)) == second


def test_salt_schedule_counts_exactly_under_threads() -> None:
    schedule = iron._SaltSchedule(3600, 100, FakeClock())
    drawn: list[tuple[str, str]] = []
    lock = threading.Lock()

    def work() -> None:
        got = [schedule.next() for _ in range(500)]
        with lock:
            drawn.extend(got)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    uses = Counter(drawn)
    assert sum(uses.values()) == 4000
    assert len(uses) == 40 and set(uses.values()) == {100}


# -- seals from elsewhere ----------------------------------------------------------------

_OTHER_PROCESS = """
import json, sys
from authkit_middleware.core import iron
from authkit_middleware.core.seal import Sealer
s = Sealer(sys.argv[1])
ours = sys.stdin.read()
print(json.dumps({
    "opened": s.unseal(ours),
    "sealed": [s.seal({"from": "child", "n": n}) for n in range(2)],
}))
"""


def test_seals_from_another_process_open_here_and_ours_there() -> None:
    s = Sealer(PASSWORD)
    ours = s.seal({"from": "parent"})
    done = subprocess.run(
        [sys.executable, "-c", _OTHER_PROCESS, PASSWORD],
        input=ours,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    answer = json.loads(done.stdout)
    assert answer["opened"] == {"from": "parent"}
    theirs = answer["sealed"]
    assert _salts(theirs[0]) == _salts(theirs[1]) != _salts(ours)
    for n, sealed in enumerate(theirs):
        assert s.unseal_ex(sealed) == s.unseal_ex(sealed)  # a miss, then a hit
        assert s.unseal(sealed) == {"from": "child", "n": n}
        with pytest.raises(SealError):
            Sealer(OLD).unseal(sealed)


_FORK = """
import json, os, sys
from authkit_middleware.core import iron
def salts():
    parts = iron.parse(iron.seal({}, sys.argv[1]))
    return [parts.encryption_salt, parts.hmac_salt]
parent = salts()
read, write = os.pipe()
pid = os.fork()
if pid == 0:
    os.write(write, json.dumps({"child": salts(), "opens": iron.unseal(
        iron.seal({"k": 1}, sys.argv[1]), sys.argv[1])}).encode())
    os._exit(0)
os.close(write)
child = json.loads(os.read(read, 10000))
os.waitpid(pid, 0)
print(json.dumps({"parent": parent, "again": salts(), **child}))
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_worker_draws_its_own_salts() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _FORK, PASSWORD],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    answer = json.loads(done.stdout)
    assert answer["parent"] == answer["again"]  # the parent keeps its pair
    assert answer["child"] != answer["parent"]
    assert answer["child"][0] != answer["parent"][0]
    assert answer["opens"] == {"k": 1}


def test_sealers_open_each_others_seals_across_rotation() -> None:
    a, b = Sealer(PASSWORD), Sealer([PASSWORD, OLD])
    before = a.seal({"v": 1})
    iron.rotate_salts()
    iron.clear_key_cache()
    after = b.seal({"v": 2})
    assert _salts(before) != _salts(after)
    for sealer in (a, b):
        assert sealer.unseal(before) == {"v": 1}
        assert sealer.unseal(after) == {"v": 2}
    old = Sealer(OLD).seal({"v": 0})  # same salts as `after`, other password
    assert _salts(old) == _salts(after)
    opened = b.unseal_ex(old)
    assert opened.data == {"v": 0} and opened.stale_password is True
    with pytest.raises(SealError):
        a.unseal(old)


def test_purposes_still_never_cross_with_shared_salts() -> None:
    s = Sealer(PASSWORD)
    session = s.seal({"p": "session"})
    state = s.seal({"p": "login_state"}, purpose="login_state", ttl=600)
    assert _salts(session) == _salts(state)
    assert s.unseal(session) == {"p": "session"}
    assert s.unseal(state, purpose="login_state") == {"p": "login_state"}
    with pytest.raises(SealError):
        s.unseal(state)
    with pytest.raises(SealError):
        s.unseal(session, purpose="login_state")
