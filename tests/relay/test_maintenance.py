"""The maintenance jobs (relay.maintenance): each runs when its own interval is over, parks
what waits behind older pending events, sweeps orphaned parks and refreshes the gauges."""

import datetime

import pytest
from django.utils import timezone

from feed_outbox.models import OutboxEvent
from relay import maintenance
from relay.maintenance import Maintenance
from relay.metrics import LAG, PENDING, Metrics
from relay.options import RelayOptions
from tests.factories import OutboxEventFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def jobs(clock=lambda: 0.0):
    return Maintenance(RelayOptions(owner="maintenance-test"), Metrics(), clock=clock)


def gauge(service, name):
    return service.metrics.registry.get_sample_value(name)


def test_each_job_runs_at_once_then_again_only_when_its_own_interval_is_over():
    service = jobs()

    assert service.run_due(0.0) == ["statistics", "unpark_orphans", "park"]
    assert service.run_due(0.5) == []
    assert service.run_due(maintenance.PARK_EVERY) == ["park"]
    assert service.run_due(maintenance.STATS_EVERY) == ["statistics", "park"]
    assert service.run_due(maintenance.UNPARK_ORPHANS_EVERY) == [
        "statistics",
        "unpark_orphans",
        "park",
    ]


def test_a_job_that_raises_waits_for_its_next_turn(monkeypatch):
    service = jobs()

    def down():
        raise RuntimeError("database down")

    monkeypatch.setattr(service.jobs[0], "run", down)
    with pytest.raises(RuntimeError):
        service.run_due(0.0)
    assert service.run_due(0.1) == ["unpark_orphans", "park"]  # not the statistics again


def test_the_statistics_job_sets_the_pending_and_lag_gauges():
    OutboxEventFactory.create_batch(3)
    OutboxEvent.objects.update(created_at=timezone.now() - datetime.timedelta(minutes=1))
    service = jobs()

    service.refresh_stats()

    assert gauge(service, PENDING) == 3
    assert 55 < gauge(service, LAG) < 120


def test_the_park_job_parks_what_waits_and_the_sweep_clears_parks_left_behind():
    first, second, third = OutboxEventFactory.create_batch(3, ordering_key="k")
    service = jobs()

    assert service.park() == 2
    assert set(
        OutboxEvent.objects.filter(parked_behind__isnull=False).values_list("id", flat=True)
    ) == {
        second.id,
        third.id,
    }
    OutboxEvent.objects.filter(pk=first.pk).delete()  # by hand: no settlement unparks
    assert service.unpark_orphans() == 1
    assert OutboxEvent.objects.get(pk=second.pk).parked_behind is None


def test_a_park_pass_goes_on_while_most_of_what_it_reads_is_blocked(monkeypatch):
    passes = iter([2000, 1500, 10, 2000])
    monkeypatch.setattr("relay.queries.park", lambda using, api: next(passes))

    assert jobs().park() == 3510  # three passes: the third read mostly claimable events


def test_a_park_pass_stops_at_its_budget(monkeypatch):
    clock = [0.0]

    def park(using, api):
        clock[0] += maintenance.PARK_BUDGET / 2
        return 2000

    monkeypatch.setattr("relay.queries.park", park)
    assert jobs(clock=lambda: clock[0]).park() == 4000
