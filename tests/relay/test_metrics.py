"""What the relay records, rendered in Prometheus' text format."""

from relay.metrics import Metrics


def test_metrics_render_counters_gauges_and_cumulative_histograms():
    metrics = Metrics()
    metrics.events("add", "delivered", 3)
    metrics.events("remove", "dead")
    metrics.set_gauge("feed_outbox_relay_lag_seconds", 2.5)
    metrics.stream_request("add_activities", 0.02)
    metrics.stream_request("add_activities", 3.0)
    metrics.batch(100)

    text = metrics.render()

    assert 'feed_outbox_relay_events_total{kind="add",outcome="delivered"} 3' in text
    assert 'feed_outbox_relay_events_total{kind="remove",outcome="dead"} 1' in text
    assert "feed_outbox_relay_lag_seconds 2.5" in text
    name = "feed_outbox_relay_stream_request_seconds"
    assert f'{name}_bucket{{endpoint="add_activities",le="0.025"}} 1' in text
    assert f'{name}_bucket{{endpoint="add_activities",le="5.0"}} 2' in text
    assert f'{name}_bucket{{endpoint="add_activities",le="+Inf"}} 2' in text
    assert f'{name}_count{{endpoint="add_activities"}} 2' in text
    assert "# TYPE feed_outbox_relay_batch_size histogram" in text
    assert metrics.events_by_outcome() == {"delivered": 3, "dead": 1}


def test_failures_are_counted_by_class():
    metrics = Metrics()
    metrics.stream_failure("add_activities", "retryable")
    metrics.stream_failure("add_activities", "retryable")
    metrics.stream_failure("follow_many", "permanent")

    name = "feed_outbox_relay_stream_failures_total"
    assert metrics.counter(name, endpoint="add_activities", failure_class="retryable") == 2
    assert metrics.counter(name, endpoint="follow_many", failure_class="permanent") == 1
