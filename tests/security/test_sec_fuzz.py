"""Fuzzing the parsers: atheris (time-boxed) when installed, hypothesis always."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fuzz_targets import check_one
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.category("fuzz")

SEEDS = [
    b"wos-session=Fe26.2*1*abc*def*ghi*0*mac",
    b"wos-session.0=a; wos-session.1=b; wos-session.3=c",
    b'"' + b"\\\\" * 200 + b'"',
    b"/%2F%2Fevil.com",
    b"/\\evil",
    b"\t//evil.com",
    b"gAAAAA" + b"A" * 100,
]

#: Seconds of atheris inside ``make test``; raise it for a campaign (AUTHKIT_FUZZ_SECONDS=600).
FUZZ_SECONDS = int(os.environ.get("AUTHKIT_FUZZ_SECONDS", "3"))


def test_atheris_time_boxed(tmp_path: Path) -> None:
    if importlib.util.find_spec("atheris") is None:  # in the dev extra: CI must have it
        (pytest.fail if os.environ.get("CI") else pytest.skip)("atheris is not installed")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i, seed in enumerate(SEEDS):
        (corpus / f"seed{i}").write_bytes(seed)
    target = Path(__file__).with_name("fuzz_targets.py")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    proc = subprocess.run(
        [
            sys.executable,
            str(target),
            f"-max_total_time={FUZZ_SECONDS}",
            "-max_len=20000",
            "-rss_limit_mb=2048",
            f"-artifact_prefix={tmp_path}/",
            str(corpus),
        ],
        capture_output=True,
        text=True,
        timeout=FUZZ_SECONDS + 60,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Done" in proc.stderr or "DONE" in proc.stderr, proc.stderr[-2000:]


@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(st.one_of(st.binary(max_size=600), st.sampled_from(SEEDS)))
def test_hypothesis_parsers(data: bytes) -> None:
    check_one(data)


@settings(max_examples=800, deadline=None, database=None)
@given(st.text(max_size=300))
def test_hypothesis_text(value: str) -> None:
    check_one(value.encode("utf-8", "surrogatepass"))
