"""``python -m relay`` answers a bad option with one line and exit 2, before it claims anything
(a relay started on a typo would run for ever)."""

from __future__ import annotations

import contextlib
import io
import subprocess

import pytest

from relay.__main__ import main
from tests.conftest import ROOT
from tests.feed_outbox.commands.test_bad_arguments import ARGUMENTS

RELAY_ARGUMENTS = [(name, table) for command, name, table, _ in ARGUMENTS if command == "relay"]


def exit_of(argv: list[str]) -> tuple[object, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), pytest.raises(SystemExit) as stopped:
        main(argv)
    return stopped.value.code, err.getvalue()


@pytest.mark.parametrize(
    "name, table",
    [(n, t) for n, t in RELAY_ARGUMENTS if n != "--database"],  # read after setup: see below
    ids=[n for n, _ in RELAY_ARGUMENTS if n != "--database"],
)
def test_a_bad_option_value_is_one_line_naming_it_and_exit_2(name, table):
    for value in table:
        code, err = exit_of([f"{name}={value}", "--once"])
        assert code == 2, (name, value, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and name in lines[0] and repr(value) in lines[0], (name, value, err)


def run(args, env):
    return subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_unknown_database_alias_is_one_line_and_exit_2(subprocess_env, python):
    result = run([python, "-m", "relay", "--once", "--database", "nope"], subprocess_env)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "'nope' is not a database alias" in result.stderr
