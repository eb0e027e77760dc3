"""Metrics over OTLP: the same endpoint and CA as the traces (see tracing.py).

Configured by the standard variables (OTEL_EXPORTER_OTLP_ENDPOINT, _CERTIFICATE,
OTEL_METRIC_EXPORT_INTERVAL in milliseconds); without an endpoint the instruments still work
and nothing is exported. Attributes are names and outcomes, never values that could be secret.
"""

from __future__ import annotations

import os

from opentelemetry import metrics
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource

_PROVIDER: MeterProvider | None = None


def setup_metrics(service_name: str) -> None:
    """Install the global meter provider, exporting to OTLP when an endpoint is configured."""
    global _PROVIDER
    if _PROVIDER is not None:
        return
    readers: list[MetricReader] = []
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter

        # The reader takes its interval from OTEL_METRIC_EXPORT_INTERVAL (default 60 s).
        readers.append(PeriodicExportingMetricReader(OTLPMetricExporter()))
    provider = MeterProvider(
        resource=Resource.create({"service.name": service_name}), metric_readers=readers
    )
    metrics.set_meter_provider(provider)
    _PROVIDER = provider


def shutdown_metrics() -> None:
    """Export what is pending and stop."""
    if _PROVIDER is not None:
        _PROVIDER.shutdown()


def meter(name: str) -> metrics.Meter:
    """A meter from the global provider (a no-op one until setup_metrics ran)."""
    return metrics.get_meter(name)
