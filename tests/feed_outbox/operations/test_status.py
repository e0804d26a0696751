"""outbox_status: figures by kind, lag, throughput, dead letters by error; --max-lag is a probe."""

import datetime
import json
import subprocess

import pytest
from django.utils import timezone

from feed_outbox.models import EventKind, EventStatus, OutboxEvent
from feed_outbox.operations.status import history, outbox_status
from tests.factories import TweetFactory

pytestmark = [pytest.mark.postgres]


def age(events, **changes):
    OutboxEvent.objects.filter(id__in=[e.id for e in events]).update(**changes)


@pytest.mark.django_db
def test_status_counts_each_status_by_kind_with_lag_and_dead_letters_by_error(run_command):
    now = timezone.now()
    TweetFactory.create_batch(3)
    tweet = TweetFactory()
    tweet.delete()
    events = list(OutboxEvent.objects.order_by("id"))
    age(events[:2], status=EventStatus.DELIVERED, delivered_at=now)
    age(events[2:3], status=EventStatus.DEAD, last_error="HTTP 400: bad field\ntrace")
    age(events[3:4], status=EventStatus.DEAD, last_error="HTTP 400: bad field\nother trace")
    age(events[4:], created_at=now - datetime.timedelta(seconds=90))
    age(events[4:], lease_expires_at=now + datetime.timedelta(seconds=30))

    status = outbox_status()

    assert status.counts["delivered"] == {"add": 2}
    assert status.counts["dead"] == {"add": 2}
    assert status.counts["pending"] == {"remove": 1}
    assert status.in_flight == 1 and status.in_flight_by_kind == {"remove": 1}
    assert 89 <= status.lag_seconds < 200
    assert status.dead_by_error == [("HTTP 400: bad field", 2)]
    assert status.delivered_in_window == 2

    data = json.loads(run_command("outbox_status", "--json").out)
    assert data["totals"] == {"pending": 1, "delivered": 2, "dead": 2}
    assert data["dead_by_error"] == [{"error": "HTTP 400: bad field", "count": 2}]
    text = run_command("outbox_status").out
    assert "dead letters by error" in text and "lag" in text
    assert [line.split() for line in text.splitlines() if "in flight" in line] == [
        ["in", "flight", "0", "0", "1", "0", "0", "1"]
    ]


@pytest.mark.django_db
def test_status_says_why_pending_events_wait_grouped_by_cause_with_counts(run_command):
    TweetFactory.create_batch(4)
    events = list(OutboxEvent.objects.order_by("id"))
    refused = (
        "ConnectionError: HTTPConnectionPool(host='localhost', port=1): Max retries exceeded "
        "with url: /api/v1.0/feed/user/{}/?api_key=k (Caused by NewConnectionError('<urllib3."
        "connection.HTTPConnection object at 0x7f{}>: Failed to establish a new connection: "
        "[Errno 111] Connection refused'))"
    )
    for n, event in enumerate(events[:3]):  # one cause, though each URL and object differ
        age([event], attempts=1, last_error=refused.format(n, n))
    # events[3] was never tried: it waits for nothing but the relay

    cause = "ConnectionError: localhost:1: Failed to establish a new connection: [Errno 111] Connection refused"
    assert outbox_status().waiting_by_cause == [(cause, 3)]
    data = json.loads(run_command("outbox_status", "--json").out)
    assert data["waiting_by_cause"] == [{"cause": cause, "count": 3}]
    text = run_command("outbox_status").out
    assert "pending after a failure, by last error:" in text
    assert f"3  {cause}" in [line.strip() for line in text.splitlines()]


@pytest.mark.django_db
def test_max_lag_fails_only_when_the_oldest_pending_event_is_older(run_command):
    TweetFactory()
    OutboxEvent.objects.update(created_at=timezone.now() - datetime.timedelta(minutes=10))
    assert run_command("outbox_status", "--max-lag", "3600").code == 0
    late = run_command("outbox_status", "--max-lag", "60")
    assert late.code == 1 and "exceeds --max-lag" in late.err


@pytest.mark.django_db(transaction=True)
def test_status_as_a_health_probe_exits_1_when_behind_and_0_when_caught_up(subprocess_env, python):
    def probe():
        return subprocess.run(
            [python, "-m", "django", "outbox_status", "--max-lag", "30", "--json"],
            env=subprocess_env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    TweetFactory()
    OutboxEvent.objects.update(created_at=timezone.now() - datetime.timedelta(minutes=5))
    behind = probe()
    assert behind.returncode == 1, behind.stderr
    assert json.loads(behind.stdout)["totals"]["pending"] == 1
    OutboxEvent.objects.update(status=EventStatus.DELIVERED, delivered_at=timezone.now())
    assert probe().returncode == 0


@pytest.mark.django_db
def test_history_counts_delivered_and_failed_per_minute_with_the_lag():
    now = timezone.now().replace(second=30, microsecond=0)
    TweetFactory.create_batch(3)
    events = list(OutboxEvent.objects.order_by("id"))
    created = now - datetime.timedelta(minutes=5)
    age(events[:2], status=EventStatus.DELIVERED, created_at=created, delivered_at=now)
    age(events[2:], status=EventStatus.DEAD, available_at=now - datetime.timedelta(minutes=1))

    minutes = history(hours=1)

    by_minute = {m.minute: m for m in minutes}
    this = by_minute[now.replace(second=0)]
    assert (this.delivered, this.failed, this.lag_seconds) == (2, 0, 300.0)
    assert by_minute[now.replace(second=0) - datetime.timedelta(minutes=1)].failed == 1
    assert sum(m.delivered for m in minutes) == 2
    assert EventKind.ADD in {e.kind for e in events}
