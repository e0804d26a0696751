"""A span per Stream call, linked to the trace of every event it carries (the ``otel`` extra).

Each link holds the seconds the event waited in the outbox; when every event of the call
comes from one span (a request that saved one row), that span is also the parent, so a trace
shows request → outbox → relay → Stream as one tree. Without ``opentelemetry`` this is a
no-op that imports nothing.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from feed_outbox.write.tracing import opentelemetry_api, span_context

if TYPE_CHECKING:
    from relay.calls import Call

logger = logging.getLogger("relay")

TRACER = "feed_outbox.relay"
WAIT = "feed_outbox.outbox.wait_seconds"


@contextlib.contextmanager
def stream_span(call: Call) -> Iterator[Any]:
    """Around one stream-python call: a CLIENT span (or nothing without OpenTelemetry)."""
    api = opentelemetry_api()
    if api is None:
        yield None
        return
    try:
        name, options = _span_options(api[0], call)
    except Exception:  # tracing must never cost a delivery
        logger.warning("could not build the span of %s", call.endpoint, exc_info=True)
        yield None
        return
    with api[0].get_tracer(TRACER).start_as_current_span(name, **options) as span:
        yield span


def _span_options(trace: Any, call: Call) -> tuple[str, dict[str, Any]]:
    from opentelemetry.trace import Link, NonRecordingSpan, SpanKind

    now = timezone.now()
    links, parents, waits = [], {}, []
    for event in call.events:
        context = span_context(event.traceparent, event.tracestate)
        wait = (now - event.created_at).total_seconds() if event.created_at else None
        if wait is not None:
            waits.append(max(0.0, wait))
        if context is None:
            continue
        attributes: dict[str, Any] = {"feed_outbox.event.id": event.id}
        if wait is not None:
            attributes[WAIT] = max(0.0, wait)
        links.append(Link(context, attributes))
        parents[(context.trace_id, context.span_id)] = context  # (a SpanContext is unhashable)
    attributes = {
        "feed_outbox.stream.endpoint": call.endpoint,
        "feed_outbox.event.count": len(call.events),
        "feed_outbox.event.ids": [event.id for event in call.events],
        "feed_outbox.event.kinds": sorted({event.kind for event in call.events}),
    }
    if waits:
        attributes[WAIT] = max(waits)
    parent = None
    if len(parents) == 1 and len(links) == len(call.events):
        parent = trace.set_span_in_context(NonRecordingSpan(next(iter(parents.values()))))
    options = {"context": parent, "kind": SpanKind.CLIENT, "links": links, "attributes": attributes}
    return f"stream {call.endpoint}", options
