"""The health server: /healthz and /readyz answer what they promise, /metrics serves the
relay's metrics in Prometheus' text format or OpenMetrics."""

import urllib.error
import urllib.request

import pytest

from relay.health import HealthServer
from relay.metrics import Metrics


def get(port, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.fixture
def server():
    state = {"ready": (True, "ready")}
    srv = HealthServer(0, Metrics(), lambda: state["ready"], host="127.0.0.1").start()
    yield srv, state
    srv.stop()


def test_readyz_follows_the_relay_state_while_healthz_stays_up(server):
    srv, state = server
    assert get(srv.port, "/readyz") == (200, "ready\n")

    state["ready"] = (False, "database unreachable: connection refused")

    assert get(srv.port, "/readyz") == (503, "database unreachable: connection refused\n")
    assert get(srv.port, "/healthz") == (200, "ok\n")
    assert get(srv.port, "/metrics")[0] == 200
    assert get(srv.port, "/nope")[0] == 404


def test_metrics_carry_the_default_process_collectors_and_the_standard_exposition(server):
    srv, _state = server
    status, text = get(srv.port, "/metrics")

    assert status == 200
    assert "process_cpu_seconds_total" in text  # prometheus-client's default collectors
    assert "python_info" in text
    assert "# TYPE feed_outbox_relay_events_total counter" in text
    request = urllib.request.Request(
        f"http://127.0.0.1:{srv.port}/metrics",
        headers={"Accept": "application/openmetrics-text; version=1.0.0"},
    )
    with urllib.request.urlopen(request, timeout=5) as answer:
        assert answer.headers["Content-Type"].startswith("application/openmetrics-text")
        assert answer.read().decode().endswith("# EOF\n")
