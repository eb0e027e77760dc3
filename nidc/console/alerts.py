"""Firing and pending alerts from Prometheus's /api/v1/alerts as rows of the alerts page (pure
but for `fetch_alerts`). A tenant sees the alerts labelled with its namespace; center-wide
alerts (runs by job type, the metrics pipeline) are the center operators'."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nidc.catalog.access import Scope


@dataclass(frozen=True)
class AlertView:
    name: str
    state: str
    severity: str
    namespace: str
    summary: str
    description: str
    active_at: str
    value: str
    labels: tuple[tuple[str, str], ...]


def alert_view(alert: Mapping[str, Any]) -> AlertView:
    labels = alert.get("labels") or {}
    annotations = alert.get("annotations") or {}
    return AlertView(
        name=labels.get("alertname", ""),
        state=alert.get("state", ""),
        severity=labels.get("severity", ""),
        namespace=labels.get("namespace", ""),
        summary=annotations.get("summary", ""),
        description=annotations.get("description", ""),
        active_at=(alert.get("activeAt") or "")[:19].replace("T", " "),
        value=str(alert.get("value", "")),
        labels=tuple(
            sorted((k, str(v)) for k, v in labels.items() if k not in {"alertname", "severity"})
        ),
    )


def visible_alerts(alerts: Iterable[Mapping[str, Any]], scope: Scope) -> list[AlertView]:
    """The alerts `scope` may see, firing first, then by name."""
    shown = []
    for alert in alerts:
        view = alert_view(alert)
        if scope.everything or (view.namespace and view.namespace in scope.tenants):
            shown.append(view)
    return sorted(shown, key=lambda a: (a.state != "firing", a.name, a.labels))


def fetch_alerts(prometheus_url: str, ca_file: Path | None) -> list[dict[str, Any]]:
    """GET /api/v1/alerts (Prometheus serves it over TLS with the platform's certificate)."""
    import requests

    response = requests.get(
        f"{prometheus_url.rstrip('/')}/api/v1/alerts",
        verify=str(ca_file) if ca_file else True,
        timeout=5,
    )
    response.raise_for_status()
    alerts: list[dict[str, Any]] = response.json()["data"]["alerts"]
    return alerts
