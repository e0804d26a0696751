"""The package is typed (PEP 561): feed_outbox and relay each ship their py.typed, so users'
mypy and pyright read the annotations instead of treating both packages as Any.

Both markers are listed in ``[tool.setuptools.package-data]``, so the wheel does not depend on
the setuptools default that adds py.typed by itself (the build-system's setuptools has it; a
build without the list was seen to keep them). ``.ci/release`` builds the wheel and checks that
every tracked file of the packages, these markers included, is in it; this test catches a
marker deleted, or dropped from the list, before any build.
"""

from __future__ import annotations

import tomllib
from fnmatch import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("feed_outbox", "relay")


def test_each_package_ships_a_py_typed_marker():
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]
    for package in PACKAGES:
        assert (ROOT / package / "py.typed").is_file()
        patterns = package_data.get(package, [])
        assert any(fnmatch("py.typed", pattern) for pattern in patterns), (
            f"{package}/py.typed is not package data: the wheel would leave it out"
        )
