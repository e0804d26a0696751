"""What the package claims to support is what noxfile.py's MATRIX tests: classifiers, ranges, README."""

import ast
import re
import tomllib

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from tests.conftest import ROOT


def _matrix() -> list[tuple[str, str]]:
    # Read, not imported: the nox package is in the dev extra only.
    tree = ast.parse((ROOT / "noxfile.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "MATRIX":
            return ast.literal_eval(node.value)
    raise AssertionError("noxfile.py has no MATRIX")


MATRIX = _matrix()
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _classified(prefix: str) -> set[str]:
    return {
        c.removeprefix(prefix)
        for c in PROJECT["classifiers"]
        if re.fullmatch(re.escape(prefix) + r"\d+\.\d+", c)
    }


def _readme_table() -> list[tuple[str, str, str]]:
    """(python, django, tested by) of each row of the README's "Supported versions" table."""
    section = (ROOT / "README.md").read_text().split("## Supported versions", 1)[1]
    section = section.split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and re.fullmatch(r"3\.\d+", cells[0]):
            rows.append((cells[0], re.match(r"\d+\.\d+", cells[1])[0], cells[2]))
    return rows


def test_classifiers_name_exactly_the_tested_pythons_and_djangos():
    assert _classified("Programming Language :: Python :: ") == {p for p, _ in MATRIX}
    assert _classified("Framework :: Django :: ") == {d for _, d in MATRIX}


def test_dependency_ranges_start_at_the_oldest_tested_and_admit_every_tested_version():
    (django,) = [d for d in PROJECT["dependencies"] if re.match(r"Django\b", d)]
    django_range = SpecifierSet(django.removeprefix("Django"))
    python_range = SpecifierSet(PROJECT["requires-python"])
    for python, dj in MATRIX:
        assert Version(f"{dj}.0") in django_range
        assert Version(f"{python}.0") in python_range
    assert f">={min(MATRIX, key=lambda pair: Version(pair[1]))[1]}" in str(django_range)
    assert f">={min(MATRIX, key=lambda pair: Version(pair[0]))[0]}" in str(python_range)


def test_readme_table_lists_each_pair_and_how_ci_runs_it():
    rows = _readme_table()
    assert [(p, d) for p, d, _ in rows] == MATRIX
    assert "make test" in rows[0][2]
    assert all("make matrix" in tested_by for _, _, tested_by in rows[1:])
