"""Running outbox_* commands the way a script does: output, and the exit code it would get."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError


@dataclass
class Run:
    code: int
    out: str
    err: str


@pytest.fixture
def run_command():
    def run(name: str, *args: str) -> Run:
        out, err = io.StringIO(), io.StringIO()
        try:
            call_command(name, *args, stdout=out, stderr=err)
        except CommandError as exc:
            return Run(exc.returncode, out.getvalue(), err.getvalue() + str(exc))
        return Run(0, out.getvalue(), err.getvalue())

    return run
