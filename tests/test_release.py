"""The release's metadata: one source for the version, which the changelog names, and the
license as an SPDX expression with its file (what .ci/release builds and checks)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.version import Version

import feed_outbox

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
# Keep a Changelog's release headings: "## [1.2.0] - 2027-01-31", or "Unreleased" for the date.
HEADING = re.compile(r"^## \[(?P<name>[^\]]+)\](?: - (?P<date>\d{4}-\d\d-\d\d|Unreleased))?$", re.M)


def test_the_version_has_one_source_the_package():
    project = PYPROJECT["project"]
    assert "version" not in project
    assert "version" in project["dynamic"]
    dynamic = PYPROJECT["tool"]["setuptools"]["dynamic"]["version"]
    assert dynamic == {"attr": "feed_outbox.__version__"}
    assert str(Version(feed_outbox.__version__)) == feed_outbox.__version__  # PEP 440, normalised


def test_the_changelogs_newest_release_is_the_packages_version():
    headings = list(HEADING.finditer((ROOT / "CHANGELOG.md").read_text()))
    releases = [heading for heading in headings if heading["name"] != "Unreleased"]

    assert releases, "CHANGELOG.md has no release heading"
    assert releases[0]["name"] == feed_outbox.__version__
    assert all(heading["date"] for heading in releases), "a release heading without a date"


def test_the_license_is_an_spdx_expression_with_its_file():
    project = PYPROJECT["project"]
    assert project["license"] == "BSD-3-Clause"
    assert [path.name for path in ROOT.glob(project["license-files"][0])] == ["LICENSE"]
    assert "BSD 3-Clause License" in (ROOT / "LICENSE").read_text()
