"""What the demo prints once the factory has settled (pure): resources, tables, shares, traces.

Every figure comes from the resources' status as the API server returns it, the same that
`kubectl get nidc -A` shows, so the summary and kubectl cannot disagree.
"""

from __future__ import annotations

from typing import Any

TABLE_KINDS = ("DataSource", "DataProduct")


def trace_id(traceparent: str | None) -> str | None:
    """The trace id of a W3C traceparent (00-<trace id>-<span id>-<flags>), or None."""
    parts = (traceparent or "").split("-")
    return parts[1] if len(parts) == 4 and len(parts[1]) == 32 else None


def table_lines(objects: dict[str, dict[str, Any]]) -> list[str]:
    """One line per table a source or product writes: rows, grade, quality, version."""
    header = f"{'TABLE':<44} {'ROWS':>7} {'GRADE':>5} {'QUALITY':>7} {'VERSION':>7}"
    lines = [header]
    for _name, obj in sorted(objects.items()):
        if obj.get("kind") not in TABLE_KINDS:
            continue
        status = obj.get("status") or {}
        quality = (status.get("quality") or {}).get("score")
        table = f"{obj['metadata']['namespace']}/{obj['spec'].get('targetTable', '?')}"
        lines.append(
            f"{table:<44} {_show(status.get('rows')):>7} {_show(status.get('grade')):>5} "
            f"{_show(None if quality is None else f'{quality:.2f}'):>7} "
            f"{_show(status.get('tableVersion')):>7}"
        )
    return lines


def share_lines(objects: dict[str, dict[str, Any]]) -> list[str]:
    """Where each share's recipients find their profile (an OpenBao path, never the token)."""
    lines = []
    for name, obj in sorted(objects.items()):
        if obj.get("kind") != "DataShare":
            continue
        recipients = (obj.get("status") or {}).get("recipients") or []
        if not recipients:
            lines.append(f"{name}: no recipient has a profile yet")
        for r in recipients:
            lines.append(
                f"{name} -> {r.get('name')}: profile at OpenBao "
                f"{r.get('profilePath') or '(not written)'}, expires {r.get('expiresAt') or '?'}"
            )
    return lines


def trace_lines(
    objects: dict[str, dict[str, Any]], runs: dict[str, dict[str, Any]], query_url: str
) -> list[str]:
    """The trace of each product's and source's last run, as a link to the trace backend."""
    lines = []
    for name, obj in sorted(objects.items()):
        last = ((obj.get("status") or {}).get("lastRun") or {}).get("name")
        run = runs.get(f"{obj['metadata'].get('namespace')}/{last}") if last else None
        found = trace_id(((run or {}).get("spec") or {}).get("job", {}).get("traceparent"))
        if found:
            lines.append(f"{name}: {query_url}/trace/{found}")
    return lines


def _show(value: Any) -> str:
    return "-" if value is None else str(value)


def failure_lines(
    failed: list[str], objects: dict[str, dict[str, Any]], runs: dict[str, dict[str, Any]]
) -> list[str]:
    """For each resource not Ready: its conditions, and its last run's phase and log."""
    lines = []
    for name in failed:
        obj = objects.get(name) or {}
        for c in (obj.get("status") or {}).get("conditions", []):
            if (c.get("type"), c.get("status")) in (("Ready", "False"), ("Degraded", "True")):
                lines.append(
                    f"{name}: {c['type']}={c.get('status')} {c.get('reason', '')}: "
                    f"{c.get('message', '')}"
                )
        last = ((obj.get("status") or {}).get("lastRun") or {}).get("name")
        run = runs.get(f"{(obj.get('metadata') or {}).get('namespace')}/{last}") if last else None
        if run is not None:
            status = run.get("status") or {}
            phase, log = status.get("phase", "?"), status.get("logLocation", "?")
            lines.append(f"{name}: last run {last} {phase}, log {log}")
    return lines
