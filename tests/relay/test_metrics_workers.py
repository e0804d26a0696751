"""``--workers 2 --metrics-port``: one scrape of the parent shows what every worker did."""

import re
import signal

import pytest

from feed_outbox.models import EventStatus, OutboxEvent
from tests.factories import TweetFactory
from tests.polling import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample of a text exposition (labels in any order), 0 when absent."""
    for line in text.splitlines():
        match = re.fullmatch(rf"{name}(?:\{{(.*)\}})? (\S+)", line)
        if not match:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1) or ""))
        if all(found.get(k) == v for k, v in labels.items()) and len(found) == len(labels):
            return float(match.group(2))
    return 0.0


def test_one_scrape_sums_both_workers_and_shows_each_workers_process(start_relay, stream_emulator):
    # Slow answers and one request at a time: neither worker can take every batch.
    stream_emulator.set_faults(latency_ms=100)
    parent = start_relay(
        "--workers",
        "2",
        "--metrics-port",
        "0",
        "--poll-interval",
        "0.2",
        "--batch-size",
        "5",
        "--concurrency",
        "1",
    )
    wait_for(lambda: parent.output().count("started (batch size") == 2)
    TweetFactory.create_batch(40)
    wait_for(
        lambda: not OutboxEvent.objects.filter(status=EventStatus.PENDING).exists(), timeout=60
    )

    # Both workers delivered some (each batch line carries its process id). A batch's line is
    # written once it is settled: the last one may come a moment after the rows say so.
    def delivered_per_worker() -> dict[str, int] | None:
        per_worker: dict[str, int] = {}
        found = re.findall(r"relay\[(\d+)\] batch .* delivered=(\d+)", parent.output())
        for pid, count in found:
            per_worker[pid] = per_worker.get(pid, 0) + int(count)
        return per_worker if sum(per_worker.values()) >= 40 else None

    per_worker = wait_for(delivered_per_worker, timeout=10, what="every batch's log line")
    assert len(per_worker) == 2 and all(per_worker.values()), parent.output()[-2000:]
    assert sum(per_worker.values()) == 40

    def scraped_all():
        status, text = parent.get("/metrics")
        delivered = sample(text, "feed_outbox_relay_events_total", kind="add", outcome="delivered")
        return text if status == 200 and delivered == 40 else None

    text = wait_for(scraped_all, timeout=20)
    # Histograms are summed too: every claimed batch of either worker is counted once.
    assert sample(text, "feed_outbox_relay_batch_size_sum") == 40
    pids = set(re.findall(r'process_cpu_seconds_total\{worker="(\d+)"\}', text))
    assert len(pids) == 2
    assert sample(text, "feed_outbox_relay_paused") == 0
    assert sample(text, "feed_outbox_relay_database_up") == 1
    assert parent.get("/readyz") == (200, "ready\n")

    parent.signal(signal.SIGTERM)
    assert parent.wait(timeout=30) == 0
