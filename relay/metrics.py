"""The relay's counters, gauges and histograms, through prometheus-client.

Each ``Metrics`` has a registry of its own (tests and ``drain_outbox`` build several relays in
one process), with the default process, platform and GC collectors. Under ``--workers N`` the
children run in prometheus-client's multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``, set by
``relay.supervisor``) and the parent serves one scrape of all of them: ``workers_exposition``.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from typing import Literal

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 5, 10, 25, 50, 100, 250, 500, 1000)

#: Every metric family the relay exports (the dashboards and alerts may name only these).
EVENTS = "feed_outbox_relay_events_total"
PENDING = "feed_outbox_relay_pending_events"
LAG = "feed_outbox_relay_lag_seconds"
PAUSED = "feed_outbox_relay_paused"
DATABASE_UP = "feed_outbox_relay_database_up"
RATE_LIMIT_WAITS = "feed_outbox_relay_rate_limit_waits_total"
RATE_LIMIT_WAIT_SECONDS = "feed_outbox_relay_rate_limit_wait_seconds_total"
RATE_LIMITED = "feed_outbox_relay_rate_limited_total"
STREAM_FAILURES = "feed_outbox_relay_stream_failures_total"
BATCH_SIZE = "feed_outbox_relay_batch_size"
STREAM_REQUEST_SECONDS = "feed_outbox_relay_stream_request_seconds"

# How the parent of --workers combines each gauge of its children. The outbox figures are the
# same database seen by every worker (max: the freshest bad news); one paused worker or one
# that lost its database makes the relay unready, so the alert sees it.
_GAUGES: dict[str, tuple[str, Literal["livemax", "livemin"], float]] = {
    PENDING: ("Pending events in the outbox.", "livemax", 0.0),
    LAG: ("Age of the oldest pending event.", "livemax", 0.0),
    PAUSED: ("1 while a configuration error pauses the relay.", "livemax", 0.0),
    DATABASE_UP: ("1 when the last database operation worked.", "livemin", 1.0),
}


class Metrics:
    """What the relay records; ``render()`` is the standard text exposition of its registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
            # In a --workers child the parent collects these (per worker, see below).
            ProcessCollector(registry=self.registry)
            PlatformCollector(registry=self.registry)
            GCCollector(registry=self.registry)
        reg = self.registry
        self._events = Counter(
            EVENTS, "Events settled, by kind and outcome.", ["kind", "outcome"], registry=reg
        )
        self._waits = Counter(
            RATE_LIMIT_WAITS, "Waits for a rate-limit reset.", ["bucket"], registry=reg
        )
        self._wait_seconds = Counter(
            RATE_LIMIT_WAIT_SECONDS, "Seconds spent waiting.", ["bucket"], registry=reg
        )
        self._rate_limited = Counter(
            RATE_LIMITED, "429 answers met (then waited out).", ["bucket"], registry=reg
        )
        self._failures = Counter(
            STREAM_FAILURES,
            "Stream requests that failed, by endpoint and failure class "
            "(retryable, permanent, configuration, unrecognised).",
            ["endpoint", "failure_class"],
            registry=reg,
        )
        self._batch = Histogram(
            BATCH_SIZE, "Events per claimed batch.", buckets=BATCH_BUCKETS, registry=reg
        )
        self._latency = Histogram(
            STREAM_REQUEST_SECONDS,
            "Stream request latency.",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=reg,
        )
        self._gauges: dict[str, Gauge] = {}
        for name, (text, mode, initial) in _GAUGES.items():
            gauge = Gauge(name, text, registry=reg, multiprocess_mode=mode)
            gauge.set(initial)
            self._gauges[name] = gauge

    # -- what the relay records -------------------------------------------------------

    def events(self, kind: str, outcome: str, count: int = 1) -> None:
        if count:
            self._events.labels(kind=kind, outcome=outcome).inc(count)

    def batch(self, size: int) -> None:
        self._batch.observe(size)

    def stream_request(self, endpoint: str, seconds: float) -> None:
        self._latency.labels(endpoint=endpoint).observe(seconds)

    def stream_failure(self, endpoint: str, failure_class: str) -> None:
        self._failures.labels(endpoint=endpoint, failure_class=failure_class).inc()

    def rate_limit_wait(self, bucket: str, seconds: float) -> None:
        self._waits.labels(bucket=bucket).inc()
        self._wait_seconds.labels(bucket=bucket).inc(seconds)

    def rate_limited(self, bucket: str) -> None:
        self._rate_limited.labels(bucket=bucket).inc()

    def set_gauge(self, name: str, value: float) -> None:
        self._gauges[name].set(value)

    # -- reading back -----------------------------------------------------------------

    def counter(self, name: str, **labels: str) -> float:
        return self.registry.get_sample_value(name, labels) or 0.0

    def events_by_outcome(self) -> dict[str, int]:
        totals: dict[str, int] = defaultdict(int)
        for sample in _samples(self.registry, EVENTS):
            totals[sample.labels["outcome"]] += int(sample.value)
        return dict(totals)

    def render(self) -> str:
        return self.exposition()[0].decode()

    def exposition(self, accept: str | None = None) -> tuple[bytes, str]:
        """(body, content type): OpenMetrics when the scraper asks for it, else the text format."""
        encoder, content_type = choose_encoder(accept or "")
        return encoder(self.registry), content_type


def _samples(registry: CollectorRegistry, name: str) -> Iterable[Sample]:
    for family in registry.collect():
        for sample in family.samples:
            if sample.name == name:
                yield sample


class _WorkerProcesses(Collector):
    """process_* figures of each --workers child, labelled ``worker="<pid>"``.

    prometheus-client's multiprocess mode cannot carry a child's process collector (it is read
    at scrape time, in the child): the parent reads each child's /proc instead.
    """

    def __init__(self, pids: Callable[[], list[int]]) -> None:
        self._pids = pids

    def collect(self) -> Iterator[Metric]:
        families: dict[str, Metric] = {}
        for pid in self._pids():
            for family in ProcessCollector(pid=partial(int, pid), registry=None).collect():
                merged = families.setdefault(family.name, family)
                if merged is family:
                    samples, family.samples = family.samples, []
                else:
                    samples = family.samples
                merged.samples += [
                    s._replace(labels={**s.labels, "worker": str(pid)}) for s in samples
                ]
        yield from families.values()


class WorkersMetrics:
    """The parent of ``--workers N``: one scrape that sums its children's counters and
    histograms (``MultiProcessCollector`` over ``path``) and shows each child's process."""

    def __init__(self, path: str, pids: Callable[[], list[int]]) -> None:
        self.path = path
        self.registry = CollectorRegistry()
        MultiProcessCollector(self.registry, path=path)
        self.registry.register(_WorkerProcesses(pids))

    def gauge(self, name: str) -> float | None:
        values = [s.value for s in _samples(self.registry, name)]
        return values[0] if values else None

    def exposition(self, accept: str | None = None) -> tuple[bytes, str]:
        encoder, content_type = choose_encoder(accept or "")
        return encoder(self.registry), content_type
