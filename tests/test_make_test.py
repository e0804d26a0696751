"""The ``make test`` contract: PostgreSQL required means a failure, not a skip, when it is absent."""

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

UNREACHABLE = "postgres://postgres@127.0.0.1:9/feed_outbox"
pytestmark = pytest.mark.slow


def run_pytest(extra_env):
    env = {**os.environ, "DATABASE_URL": UNREACHABLE, **extra_env}
    env.pop("PYTEST_ADDOPTS", None)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/feed_outbox/test_checks.py",
            "tests/feed_outbox/testing/test_plugin.py",
        ],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_required_postgres_that_is_unreachable_fails_the_run():
    result = run_pytest({"FEED_OUTBOX_REQUIRE_POSTGRES": "1"})
    assert result.returncode != 0
    assert "FEED_OUTBOX_REQUIRE_POSTGRES=1 but PostgreSQL is not usable" in result.stderr


def test_without_postgres_the_postgres_tests_are_skipped_loudly():
    result = run_pytest({"FEED_OUTBOX_REQUIRE_POSTGRES": "0"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PostgreSQL tests SKIPPED (2)" in result.stdout
    assert "skipped: tests/feed_outbox/testing/test_plugin.py" in result.stdout
    assert "skipped: tests/feed_outbox/test_checks.py" in result.stdout
