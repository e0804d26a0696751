"""A command run where it cannot work (migrate forgotten, Stream unreachable, a feed group Stream
does not know) says so in one line and exits 2, docs/topics/operations.md's configuration error."""

from __future__ import annotations

import socket

import pytest
from django.db import connection
from django.test import override_settings

from tests.factories import OutboxEventFactory, TweetFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

COMMANDS = [
    ("outbox_status",),
    ("outbox_purge", "--dry-run"),
    ("outbox_backfill", "sample_app.Tweet", "--dry-run"),
    ("outbox_replay", "--all", "--dry-run"),
    ("outbox_reconcile",),
    ("outbox_adopt_stream_django", "--dry-run"),
    ("relay", "--once"),
]


@pytest.mark.parametrize("argv", COMMANDS, ids=lambda argv: argv[0])
def test_a_forgotten_migrate_is_one_line_saying_to_run_migrate(argv, run_command):
    # DDL is transactional in PostgreSQL: the test's rollback brings the table back.
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE feed_outbox_outboxevent RENAME TO feed_outbox_elsewhere")
    result = run_command(*argv)
    assert result.code == 2, result
    assert "feed_outbox_outboxevent" in result.err and "migrate" in result.err, result.err
    assert len(result.err.strip().splitlines()) == 1, result.err


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("localhost", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize(
    "argv", [("outbox_reconcile",), ("outbox_adopt_stream_django", "--dry-run")]
)
def test_stream_unreachable_is_one_line_and_exit_2_not_drift(argv, run_command):
    TweetFactory(user=UserFactory())
    port = closed_port()
    with override_settings(STREAM_BASE_URL=f"http://localhost:{port}", STREAM_LOCATION=None):
        result = run_command(*argv)
    assert result.code == 2, result
    assert "Stream cannot be reached" in result.err and str(port) in result.err, result.err
    assert "api_key" not in result.err  # the URL's query string is left out


@pytest.mark.parametrize("api", ["v2", "v3"])
def test_a_feed_group_stream_does_not_know_is_exit_2(run_command, stream_emulator, api):
    # An outbox event named the group, so the command cannot tell it is a typo: Stream can.
    OutboxEventFactory(feed="board:1", status="delivered", api=api)
    result = run_command("outbox_reconcile", "--feed", "board:1", "--api", api)
    assert result.code == 2, result
    assert "board" in result.err and len(result.err.strip().splitlines()) == 1, result.err


@pytest.mark.parametrize("api", ["v2", "v3"])
def test_reconcile_with_stream_unreachable_is_exit_2_on_either_api(run_command, api):
    OutboxEventFactory(feed="user:1", status="delivered", api=api)
    port = closed_port()
    with override_settings(STREAM_BASE_URL=f"http://localhost:{port}", STREAM_LOCATION=None):
        result = run_command("outbox_reconcile", "--feed", "user:1", "--api", api)
    assert result.code == 2, result
    assert "Stream cannot be reached" in result.err and str(port) in result.err, result.err


def test_a_feed_group_neither_settings_nor_outbox_name_is_refused_before_stream(run_command):
    result = run_command("outbox_reconcile", "--feed", "no_such_group:1")
    assert result.code == 2
    assert "'no_such_group'" in result.err and "user" in result.err, result.err


def test_an_unlisted_feed_group_the_outbox_used_is_accepted_by_replay(run_command):
    OutboxEventFactory(feed="board:1", status="delivered")
    result = run_command("outbox_replay", "--feed", "board:1", "--dry-run")
    assert result.code == 0, result
    assert "1 keys selected" in result.out
