"""The supported (Python, Django) matrix: one nox session per pair, on its own test database.

`make test` runs the whole suite on the first pair (the .venv); `make matrix` runs the
write-side, relay, read-side, sample-app and security tests on the others. The README's
"Supported versions" table, the classifiers and the Django range in pyproject.toml are
checked against MATRIX by tests/test_supported_versions.py.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import nox

# (python, django): the first is the .venv's (`make test`, the whole suite).
MATRIX = [("3.11", "5.2"), ("3.12", "6.0"), ("3.13", "6.1")]
# What the other pairs run: the write side and read side (tests/feed_outbox), relay, sample
# app and security tests. Chaos, browser, emulator, property and benchmark-harness tests
# run on the first pair only: they prove the protocol and the processes, not Django. So do
# the tests marked slow (several relay processes, thousands of rows, memory at scale, the demo
# as a whole): the first pair runs them, the other pairs run the rest of the subset.
SUBSET = ["tests/feed_outbox", "tests/relay", "tests/sample_app", "tests/security"]
SUBSET_MARKS = ["-m", "not slow"]
# pytest-xdist workers per session, as `make test` (Makefile's TEST_WORKERS): the tests mostly
# wait on PostgreSQL, relay subprocesses and the emulator. A later -n after -- wins.
WORKERS = ["-n", "3", "--dist", "worksteal"]
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/feed_outbox"
# stream-django 1.8, installed without its pins (its wheel pins Django<5) as `make install`
# does: outbox_switch_check's tests start a project that still lists it. The Makefile holds the pin.
STREAM_DJANGO = re.search(
    r"^STREAM_DJANGO := (\S+)$", (Path(__file__).parent / "Makefile").read_text(), re.M
)[1]

# `nox` alone runs the pairs `make test` does not.
nox.options.sessions = [f"tests(python='{p}', django='{d}')" for p, d in MATRIX[1:]]
nox.options.reuse_existing_virtualenvs = True


def session_database_url(python: str, django: str) -> str:
    """DATABASE_URL with a database name of this pair's own (test_<name>_py313_dj61)."""
    url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    suffix = f"_py{python.replace('.', '')}_dj{django.replace('.', '')}"
    return re.sub(r"^([^?#]*/)([^/?#]+)", lambda m: m[1] + m[2] + suffix, url, count=1)


@nox.session
@nox.parametrize(("python", "django"), MATRIX)
def tests(session: nox.Session, django: str) -> None:
    """The subset (or the pytest arguments after --) on one Django minor release."""
    session.install("--disable-pip-version-check", "-e", ".[test]", f"Django~={django}.0")
    session.install("--disable-pip-version-check", "--no-deps", STREAM_DJANGO)
    session.run(
        "python",
        "-m",
        "pytest",
        *WORKERS,
        *(session.posargs or [*SUBSET_MARKS, *SUBSET]),
        env={"DATABASE_URL": session_database_url(session.python, django)},
    )
