"""The wheel is a typed package (PEP 561): feed_outbox and relay each ship their py.typed, so
users' mypy and pyright read the annotations instead of treating both packages as Any."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("feed_outbox", "relay")


@pytest.mark.slow
def test_the_wheel_ships_a_py_typed_marker_for_each_package(tmp_path):
    # setuptools' build_py lays out what the wheel packs (modules and package data), from a
    # copy, so the checkout gets no build/ or egg-info of the test's, and without the network
    # an isolated wheel build would need.
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, tmp_path / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=ignore)
    build = [sys.executable, "-c", "import setuptools; setuptools.setup()", "build_py"]
    done = subprocess.run(
        [*build, "--build-lib", "wheel"], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    built = tmp_path / "wheel"
    names = {path.relative_to(built).as_posix() for path in built.rglob("*") if path.is_file()}
    assert {f"{package}/py.typed" for package in PACKAGES} <= names
    # The markers sit beside the code they vouch for.
    assert {"feed_outbox/activity.py", "relay/queries.py"} <= names
