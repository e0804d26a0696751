"""OpenTelemetry trace context kept with each outbox event (the optional ``otel`` extra).

The W3C ``traceparent``/``tracestate`` of the span active when the event is written go into
its row, so the relay's Stream call can link back to the request that caused it. Without
``opentelemetry`` installed nothing is imported and nothing is stored.
"""

from __future__ import annotations

from typing import Any

_UNSET: Any = object()
_api: Any = _UNSET  # (trace module, W3C propagator), or None when the extra is absent


def opentelemetry_api() -> Any:
    global _api
    if _api is _UNSET:
        try:
            from opentelemetry import trace
            from opentelemetry.trace.propagation.tracecontext import (
                TraceContextTextMapPropagator,
            )
        except ImportError:
            _api = None
        else:
            _api = (trace, TraceContextTextMapPropagator())
    return _api


def current_trace_context() -> tuple[str, str] | None:
    """``(traceparent, tracestate)`` of the active span, or None (no span, or no OpenTelemetry)."""
    api = opentelemetry_api()
    if api is None:
        return None
    trace, propagator = api
    if not trace.get_current_span().get_span_context().is_valid:
        return None
    carrier: dict[str, str] = {}
    propagator.inject(carrier)
    parent = carrier.get("traceparent")
    return (parent, carrier.get("tracestate", "")) if parent else None


def span_context(traceparent: str | None, tracestate: str | None = None) -> Any:
    """The SpanContext stored in a row (None when there is none, or no OpenTelemetry)."""
    api = opentelemetry_api() if traceparent else None
    if api is None:
        return None
    trace, propagator = api
    carrier = {"traceparent": traceparent}
    if tracestate:
        carrier["tracestate"] = tracestate
    context = trace.get_current_span(propagator.extract(carrier)).get_span_context()
    return context if context.is_valid else None
