"""The package passes its linters: ruff (style) and mypy (types)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def run(tool: str, *args: str) -> subprocess.CompletedProcess[str]:
    exe = BIN / tool
    if not exe.exists():
        found = shutil.which(tool)
        if found is None:
            pytest.skip(f"{tool} is not installed")
        exe = Path(found)
    return subprocess.run(
        [str(exe), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_ruff_finds_nothing():
    result = run("ruff", "check", "flatmob_mn", "tests")
    assert result.returncode == 0, result.stdout


def test_mypy_finds_nothing():
    result = run("mypy", "flatmob_mn")
    assert result.returncode == 0, result.stdout
