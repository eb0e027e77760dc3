"""JSON logs, one object per line, carrying the trace and span id of the current span.

kopf's own JSON formatter (python-json-logger) writes the record; a filter on the handler adds
`trace_id` and `span_id` so an SRE can jump from a log line to its trace in the trace backend.
"""

from __future__ import annotations

import logging
import os

from opentelemetry import trace


class TraceIdFilter(logging.Filter):
    """Adds trace_id/span_id (hex, as the trace backend shows them) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            record.trace_id = format(context.trace_id, "032x")
            record.span_id = format(context.span_id, "016x")
        return True


def add_trace_ids_to_root_handlers() -> None:
    """Attach the filter to every handler of the root logger (call after logging is set up)."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, TraceIdFilter) for f in handler.filters):
            handler.addFilter(TraceIdFilter())


def setup_log_export(service_name: str) -> None:
    """Send log records (INFO and above) over OTLP as well, when OTEL_LOGS_EXPORTER=otlp and an
    endpoint is set: the deployed operator's logs reach the stack's collector beside its traces
    and metrics. Opt-in, because the embedded platform's endpoint is Jaeger, which takes traces
    only. Configured by the same standard variables as tracing (_ENDPOINT, _CERTIFICATE)."""
    if os.environ.get("OTEL_LOGS_EXPORTER") != "otlp" or not os.environ.get(
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    ):
        return
    from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
    from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
    from opentelemetry.sdk.resources import Resource

    provider = LoggerProvider(resource=Resource.create({"service.name": service_name}))
    provider.add_log_record_processor(BatchLogRecordProcessor(OTLPLogExporter()))
    root = logging.getLogger()
    if not any(isinstance(h, LoggingHandler) for h in root.handlers):
        handler = LoggingHandler(level=logging.INFO, logger_provider=provider)
        # An exporter's own complaint stays on stdout: sent over OTLP it could fail in turn.
        handler.addFilter(lambda record: not record.name.startswith("opentelemetry"))
        root.addHandler(handler)
