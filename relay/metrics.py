"""The relay's counters, gauges and histograms, rendered in Prometheus' text format.

Written by hand (a few dozen lines) rather than pulling in prometheus_client; updated from the
main thread and the Stream threads, so every change takes one lock.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 5, 10, 25, 50, 100, 250, 500, 1000)

_HELP = {
    "feed_outbox_relay_events_total": ("counter", "Events settled, by kind and outcome."),
    "feed_outbox_relay_pending_events": ("gauge", "Pending events in the outbox."),
    "feed_outbox_relay_lag_seconds": ("gauge", "Age of the oldest pending event."),
    "feed_outbox_relay_paused": ("gauge", "1 while a configuration error pauses the relay."),
    "feed_outbox_relay_database_up": ("gauge", "1 when the last database operation worked."),
    "feed_outbox_relay_rate_limit_waits_total": ("counter", "Waits for a rate-limit reset."),
    "feed_outbox_relay_rate_limit_wait_seconds_total": ("counter", "Seconds spent waiting."),
    "feed_outbox_relay_rate_limited_total": ("counter", "429 answers met (then waited out)."),
    "feed_outbox_relay_batch_size": ("histogram", "Events per claimed batch."),
    "feed_outbox_relay_stream_request_seconds": ("histogram", "Stream request latency."),
}


class _Histogram:
    def __init__(self, buckets: tuple[float, ...]) -> None:
        self.buckets = buckets
        self.counts = [0] * len(buckets)
        self.total = 0
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.total += 1
        self.sum += value
        for i, bound in enumerate(self.buckets):
            if value <= bound:
                self.counts[i] += 1


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[tuple[str, tuple], float] = defaultdict(float)
        self._gauges: dict[str, float] = {
            "feed_outbox_relay_database_up": 1.0,
            "feed_outbox_relay_paused": 0.0,
        }
        self._histograms: dict[tuple[str, tuple], _Histogram] = {}
        self.started = time.time()

    def _inc(self, name: str, labels: tuple = (), value: float = 1.0) -> None:
        with self._lock:
            self._counters[(name, labels)] += value

    def _observe(self, name: str, labels: tuple, buckets: tuple, value: float) -> None:
        with self._lock:
            histogram = self._histograms.get((name, labels))
            if histogram is None:
                histogram = self._histograms[(name, labels)] = _Histogram(buckets)
            histogram.observe(value)

    def set_gauge(self, name: str, value: float) -> None:
        with self._lock:
            self._gauges[name] = value

    def counter(self, name: str, **labels: str) -> float:
        with self._lock:
            return self._counters.get((name, tuple(sorted(labels.items()))), 0.0)

    def events_by_outcome(self) -> dict[str, int]:
        totals: dict[str, int] = defaultdict(int)
        with self._lock:
            for (name, labels), value in self._counters.items():
                if name == "feed_outbox_relay_events_total":
                    totals[dict(labels)["outcome"]] += int(value)
        return dict(totals)

    # -- what the relay records -------------------------------------------------------

    def events(self, kind: str, outcome: str, count: int = 1) -> None:
        if count:
            labels = (("kind", kind), ("outcome", outcome))
            self._inc("feed_outbox_relay_events_total", labels, count)

    def batch(self, size: int) -> None:
        self._observe("feed_outbox_relay_batch_size", (), BATCH_BUCKETS, size)

    def stream_request(self, endpoint: str, seconds: float) -> None:
        labels = (("endpoint", endpoint),)
        self._observe("feed_outbox_relay_stream_request_seconds", labels, LATENCY_BUCKETS, seconds)

    def rate_limit_wait(self, bucket: str, seconds: float) -> None:
        labels = (("bucket", bucket),)
        self._inc("feed_outbox_relay_rate_limit_waits_total", labels)
        self._inc("feed_outbox_relay_rate_limit_wait_seconds_total", labels, seconds)

    def rate_limited(self, bucket: str) -> None:
        self._inc("feed_outbox_relay_rate_limited_total", (("bucket", bucket),))

    # -- exposition -------------------------------------------------------------------

    def render(self) -> str:
        with self._lock:
            samples: dict[str, list[str]] = defaultdict(list)
            for (name, labels), value in sorted(self._counters.items()):
                samples[name].append(f"{name}{_labels(labels)} {_num(value)}")
            for name, value in sorted(self._gauges.items()):
                samples[name].append(f"{name} {_num(value)}")
            for (name, labels), hist in sorted(self._histograms.items()):
                for bound, count in zip(hist.buckets, hist.counts, strict=True):
                    le = (*labels, ("le", _num(bound)))
                    samples[name].append(f"{name}_bucket{_labels(le)} {count}")
                inf = (*labels, ("le", "+Inf"))
                samples[name].append(f"{name}_bucket{_labels(inf)} {hist.total}")
                samples[name].append(f"{name}_sum{_labels(labels)} {_num(hist.sum)}")
                samples[name].append(f"{name}_count{_labels(labels)} {hist.total}")
        lines = []
        for name, (kind, text) in _HELP.items():
            lines += [f"# HELP {name} {text}", f"# TYPE {name} {kind}", *samples.get(name, [])]
        return "\n".join(lines) + "\n"


def _labels(labels: tuple) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{key}="{_escape(str(value))}"' for key, value in labels)
    return "{" + inner + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _num(value: float) -> str:
    return repr(float(value)) if value != int(value) else str(int(value))
