"""JSON logs, one object per line, carrying the trace and span id of the current span.

kopf's own JSON formatter (python-json-logger) writes the record; a filter on the handler adds
`trace_id` and `span_id` so an SRE can jump from a log line to its trace in the trace backend.
"""

from __future__ import annotations

import logging

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
