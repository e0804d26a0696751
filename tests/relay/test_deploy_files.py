"""deploy/: the Grafana dashboard and the Prometheus alerts name only metrics the relay exports."""

import json
import re

import pytest
import yaml

from tests.conftest import ROOT

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

DASHBOARD = ROOT / "deploy" / "grafana" / "feed-outbox-relay.json"
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
# A metric name in PromQL: not a function, label, keyword or range (those never end a name
# followed by "{", "[" or ")" the way these do, but the list below is explicit anyway).
NAME = re.compile(r"\b(feed_outbox_relay_\w+|process_\w+|python_\w+)\b")
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}


def exported_names(text: str) -> set[str]:
    """Every series name a scrape can hold, from its # TYPE lines (also for empty families)."""
    names = set()
    for family, kind in re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M):
        base = family.removesuffix("_total")
        names |= {base + suffix for suffix in SUFFIXES.get(kind, ("",))}
    return names


def expressions() -> dict[str, str]:
    found = {}
    for group in yaml.safe_load(ALERTS.read_text())["groups"]:
        for rule in group["rules"]:
            found[f"alert {rule['alert']}"] = rule["expr"]
    for panel in json.loads(DASHBOARD.read_text())["panels"]:
        for target in panel["targets"]:
            found[f"panel {panel['title']!r} {target['refId']}"] = target["expr"]
    for variable in json.loads(DASHBOARD.read_text())["templating"]["list"]:
        if variable.get("type") == "query":
            found[f"variable {variable['name']}"] = variable["query"]
    return found


def test_dashboard_and_alerts_name_only_metrics_a_running_relay_exports(start_relay):
    relay = start_relay("--metrics-port", "0", "--poll-interval", "0.2")
    status, text = relay.get("/metrics")
    assert status == 200
    exported = exported_names(text)

    unknown = {
        where: sorted(set(NAME.findall(expr)) - exported)
        for where, expr in expressions().items()
        if set(NAME.findall(expr)) - exported
    }
    assert not unknown, f"not exported by the relay: {unknown}"
    # And the five views are there: lag, throughput, failures by class, dead letters,
    # rate-limit waits; the alerts: lag, paused, dead letters growing.
    used = {name for expr in expressions().values() for name in NAME.findall(expr)}
    assert {
        "feed_outbox_relay_lag_seconds",
        "feed_outbox_relay_events_total",
        "feed_outbox_relay_stream_failures_total",
        "feed_outbox_relay_rate_limit_wait_seconds_total",
        "feed_outbox_relay_paused",
    } <= used
    alerts = {k for k in expressions() if k.startswith("alert ")}
    assert {
        "alert FeedOutboxLagHigh",
        "alert FeedOutboxRelayPaused",
        "alert FeedOutboxDeadLettersGrowing",
    } <= alerts
