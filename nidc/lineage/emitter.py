"""Sends a job's run events with openlineage-python's HTTP transport, never failing the job.

A lineage outage (receiver down, refusing, slow) is logged and counted (the emitter's
`failures`, the `nidc.lineage.events` counter with outcome=failed, and the job's span), and the
job goes on: lineage describes the work, it is not the work. Retries are few and short, so a
dead receiver costs a run seconds, not minutes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import RunEvent
from openlineage.client.transport.http import HttpConfig, HttpSslContextConfig, HttpTransport
from opentelemetry import trace

from nidc.api.job_runtime import LineageTarget
from nidc.telemetry.metrics import meter

LOG = logging.getLogger(__name__)
ENDPOINT = "api/v1/lineage"
TIMEOUT_SECONDS = 5.0
# Two retries 0.2 s and 0.4 s apart on a refused connection or a 5xx: then the event is dropped.
RETRY = {
    "total": 2,
    "read": 2,
    "connect": 2,
    "backoff_factor": 0.2,
    "status_forcelist": [500, 502, 503, 504],
    "allowed_methods": ["POST"],
}
EVENTS = meter(__name__).create_counter(
    "nidc.lineage.events", description="OpenLineage events a job sent, by outcome"
)


def build_transport(target: LineageTarget) -> HttpTransport:
    """openlineage-python's HTTP transport to the receiver (the platform's CA and the job's
    client certificate when given)."""
    config = HttpConfig(
        url=target.url,
        endpoint=ENDPOINT,
        timeout=TIMEOUT_SECONDS,
        retry=RETRY,
        ssl_context=HttpSslContextConfig(
            ca_cert_path=target.ca_file or None,
            client_cert_path=target.client_cert or None,
            client_key_path=target.client_key or None,
        ),
    )
    return HttpTransport(config)


@dataclass
class LineageEmitter:
    """Emits events to one receiver; `emit` returns whether the event was delivered."""

    client: OpenLineageClient | None
    url: str = ""
    sent: int = 0
    failures: int = 0

    @classmethod
    def to(cls, target: LineageTarget | None) -> LineageEmitter:
        """An emitter for the job's lineage target (None: lineage off, nothing is sent)."""
        if target is None:
            return cls(None)
        try:
            return cls(OpenLineageClient(transport=build_transport(target)), target.url)
        except Exception as error:  # a bad target is an outage too, not the job's failure
            LOG.warning("lineage off: cannot set up the transport to %s (%s)", target.url, error)
            return cls(None, target.url, failures=1)

    def emit(self, event: RunEvent) -> bool:
        if self.client is None:
            return False
        state = str(getattr(event.eventType, "value", event.eventType))
        try:
            self.client.emit(event)
        except Exception as error:
            self.failures += 1
            EVENTS.add(1, {"outcome": "failed", "state": state})
            trace.get_current_span().add_event(
                "lineage event not delivered", {"nidc.lineage.state": state}
            )
            LOG.warning(
                "lineage event %s of job %s not delivered to %s: %s",
                state,
                event.job.name,
                self.url,
                type(error).__name__,
            )
            return False
        self.sent += 1
        EVENTS.add(1, {"outcome": "sent", "state": state})
        return True

    def close(self) -> None:
        if self.client is not None:
            try:
                self.client.close(timeout=TIMEOUT_SECONDS)
            except Exception as error:  # closing a broken transport must not fail the job
                LOG.warning("lineage transport did not close cleanly: %s", type(error).__name__)
