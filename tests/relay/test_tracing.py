"""OpenTelemetry: the request's trace context is stored with its outbox events, and the relay's
Stream call is a CLIENT span linked to it with the seconds each event waited in the outbox."""

import json
import subprocess
import textwrap

import pytest
from django.urls import reverse
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from feed_outbox.models import OutboxEvent
from tests.conftest import ROOT
from tests.factories import TweetFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(databases=["default", "other"])]

_EXPORTER = InMemorySpanExporter()


@pytest.fixture(scope="module", autouse=True)
def _provider():
    # The global provider can be set once per process; nothing else in the suite sets one.
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(_EXPORTER))
        trace.set_tracer_provider(provider)


@pytest.fixture
def spans():
    _EXPORTER.clear()
    yield lambda: list(_EXPORTER.get_finished_spans())
    _EXPORTER.clear()


def traceparent_of(span) -> str:
    context = span.get_span_context()
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"


def stream_spans(finished):
    return [s for s in finished if s.name.startswith("stream ")]


def test_a_request_that_posts_a_tweet_is_the_parent_and_link_of_the_stream_call(
    client, outbox_drain, spans
):
    author = UserFactory(username="traced")
    client.force_login(author)
    tracer = trace.get_tracer("tests")
    # What an instrumented web server does: the view runs inside the request's span.
    with tracer.start_as_current_span("POST /timeline/", kind=SpanKind.SERVER) as request:
        assert client.post(reverse("timeline"), {"text": "traced chirp"}).status_code == 302

    event = OutboxEvent.objects.get()
    assert event.traceparent == traceparent_of(request)
    assert "traceparent" not in event.payload and "_outbox" not in event.payload
    outbox_drain()

    (call,) = stream_spans(spans())
    assert call.name == "stream add_activities"
    assert call.kind is SpanKind.CLIENT
    assert call.context.trace_id == request.get_span_context().trace_id
    assert call.parent.span_id == request.get_span_context().span_id
    (link,) = call.links
    assert link.context.span_id == request.get_span_context().span_id
    assert link.attributes["feed_outbox.event.id"] == event.id
    waited = link.attributes["feed_outbox.outbox.wait_seconds"]
    assert 0 <= waited < 60
    assert call.attributes["feed_outbox.outbox.wait_seconds"] == waited
    assert list(call.attributes["feed_outbox.event.ids"]) == [event.id]


def test_one_call_for_events_of_two_requests_links_both_and_has_no_parent(outbox_drain, spans):
    author = UserFactory()
    tracer = trace.get_tracer("tests")
    requests = []
    for text in ("first", "second"):
        with tracer.start_as_current_span(f"request {text}") as span:
            TweetFactory(user=author, text=text)
            requests.append(span.get_span_context())
    outbox_drain()

    (call,) = stream_spans(spans())  # both adds go to one feed: one add_activities
    assert call.parent is None
    assert {link.context.span_id for link in call.links} == {c.span_id for c in requests}


def test_without_an_active_span_nothing_is_stored_and_the_call_has_no_links(outbox_drain, spans):
    TweetFactory()
    assert OutboxEvent.objects.get().traceparent is None
    outbox_drain()
    (call,) = stream_spans(spans())
    assert call.links == () or not call.links
    assert call.parent is None
    assert call.attributes["feed_outbox.outbox.wait_seconds"] >= 0


@pytest.mark.django_db(transaction=True)
def test_without_opentelemetry_installed_nothing_is_imported_and_delivery_is_unchanged(
    subprocess_env, python
):
    # A process where `import opentelemetry` fails as if the extra were not installed.
    script = textwrap.dedent(
        """
        import importlib.abc, json, sys

        class NoOpenTelemetry(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name == "opentelemetry" or name.startswith("opentelemetry."):
                    raise ModuleNotFoundError(f"No module named {name!r}", name=name)
                return None

        sys.meta_path.insert(0, NoOpenTelemetry())
        import django
        django.setup()
        from django.db import transaction
        from feed_outbox.models import OutboxEvent
        from feed_outbox.write.outbox import enqueue, follow_event
        from feed_outbox.testing import drain_outbox

        with transaction.atomic():
            enqueue([follow_event("timeline:1", "user:2", "follow")])
        stats = drain_outbox()
        print(json.dumps({
            "delivered": stats.delivered,
            "traceparent": OutboxEvent.objects.get().traceparent,
            "imported": sorted(m for m in sys.modules if m.startswith("opentelemetry")),
        }))
        """
    )
    result = subprocess.run(
        [python, "-c", script], env=subprocess_env, cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out == {"delivered": 1, "traceparent": None, "imported": []}
