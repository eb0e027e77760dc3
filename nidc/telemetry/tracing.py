"""Traces over OTLP: one trace per pipeline run, carried from the operator into the job.

Configured by the standard variables (OTEL_EXPORTER_OTLP_ENDPOINT, _CERTIFICATE,
OTEL_SERVICE_NAME); without an endpoint nothing is exported. The W3C `traceparent` is the only
thing handed between processes; span attributes carry names and paths, never credentials.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import context, propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

_PROVIDER: TracerProvider | None = None


def setup_tracing(service_name: str) -> None:
    """Install the global tracer provider, exporting to OTLP when an endpoint is configured."""
    global _PROVIDER
    if _PROVIDER is not None:
        return
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    _PROVIDER = provider


def shutdown_tracing() -> None:
    """Flush and stop exporting (a job calls this before it exits)."""
    if _PROVIDER is not None:
        _PROVIDER.shutdown()


def current_traceparent() -> str:
    """The W3C traceparent of the current span ('' outside any span)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent", "")


@contextmanager
def continued(traceparent: str) -> Iterator[None]:
    """Make spans started inside children of the given remote parent."""
    if not traceparent:
        yield
        return
    token = context.attach(propagate.extract({"traceparent": traceparent}))
    try:
        yield
    finally:
        context.detach(token)


def tracer(name: str) -> trace.Tracer:
    return trace.get_tracer(name)
