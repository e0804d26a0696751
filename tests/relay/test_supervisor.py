"""``python -m relay --workers N`` as real processes: its children never outlive their parent."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from tests.factories import TweetFactory
from tests.polling import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def running(pid: int) -> bool:
    """Whether ``pid`` still runs: a zombie nobody reaped yet (its parent is gone, the init
    of a container may reap late) has exited."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_workers_exit_when_their_parent_is_killed_with_sigkill(start_relay):
    TweetFactory.create_batch(3)
    parent = start_relay("--workers", "2", "--poll-interval", "0.2", "--grace-period", "1")
    started = parent.wait_for_log(r"started 2 relay processes: \[(\d+), (\d+)\]")
    children = [int(pid) for pid in started.groups()]
    wait_for(lambda: parent.output().count("started (batch size") == 2)
    assert all(running(pid) for pid in children)

    os.kill(parent.proc.pid, signal.SIGKILL)  # the parent alone: it forwards nothing
    assert parent.wait(timeout=10) == -signal.SIGKILL

    wait_for(lambda: not any(running(pid) for pid in children), timeout=8, what="orphans gone")
    assert parent.output().count("parent process is gone") == 2
    assert parent.output().count("relay stopped") == 2  # each stopped as on SIGTERM
