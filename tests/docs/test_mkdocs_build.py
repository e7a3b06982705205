"""`mkdocs build --strict` passes: every page in the nav, every link resolves, the API
reference is generated from the docstrings (mkdocstrings, offline)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_mkdocs_build_strict(tmp_path: Path) -> None:
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings")
    pytest.importorskip("material")
    site = tmp_path / "site"
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    reference = (site / "reference" / "index.html").read_text(encoding="utf-8")
    for name in ("AuthKitMiddleware", "AuthKitConfig", "sign_in", "run_checks"):
        assert name in reference
    assert (site / "testing" / "index.html").exists()
