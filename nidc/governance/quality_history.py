"""`nidc quality history`: each rule's metric over time, from the tenant's metrics history.

The quality job appends one row per rule per run to a Delta table per tenant
(`quality_history_path`: run, resource, table, version, time, rule, metric, value, threshold,
passed). This reads it with delta-rs (no JVM for a terminal command), keeps one resource's
rows, and shows them as a table in the terminal and, when asked, as an SVG chart: one line per
rule, its threshold dashed, failing checks marked.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nidc.api.addressing import quality_history_path
from nidc.api.quality_rules import TABLE_ROWS_RULE
from nidc.delta_trust import trust_platform_ca


@dataclass(frozen=True)
class Point:
    """One rule's measurement in one run."""

    checked_at: dt.datetime
    table_version: int | None
    value: float | None
    threshold: float | None
    passed: bool
    metric: str


def rule_series(rows: Iterable[Mapping[str, Any]], resource: str) -> dict[str, list[Point]]:
    """rule -> its points in time order, for one resource (e.g. DataProduct/ns/name)."""
    series: dict[str, list[Point]] = {}
    for row in rows:
        if row["resource"] != resource:
            continue
        # The table's size per run is shown as a rule of its own.
        rule = "rows" if row["rule"] == TABLE_ROWS_RULE else str(row["rule"])
        series.setdefault(rule, []).append(
            Point(
                checked_at=row["checked_at"],
                table_version=row.get("table_version"),
                value=row.get("value"),
                threshold=row.get("threshold"),
                passed=bool(row["passed"]),
                metric=str(row["metric"]),
            )
        )
    return {
        rule: sorted(points, key=lambda p: p.checked_at) for rule, points in sorted(series.items())
    }


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.0f}" if value == int(value) and abs(value) >= 1 else f"{value:.4g}"


def render_table(series: Mapping[str, Sequence[Point]]) -> str:
    """The terminal table: one line per rule and run, newest run last."""
    header = ("rule", "metric", "checked at (UTC)", "version", "value", "threshold", "result")
    lines = [header]
    for rule, points in series.items():
        for p in points:
            lines.append(
                (
                    rule,
                    p.metric,
                    p.checked_at.strftime("%Y-%m-%d %H:%M:%S"),
                    "-" if p.table_version is None else str(p.table_version),
                    _number(p.value),
                    _number(p.threshold),
                    "pass" if p.passed else "FAIL",
                )
            )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def write_chart(series: Mapping[str, Sequence[Point]], title: str, path: Path) -> None:
    """An SVG file: one panel per rule (metrics differ in scale), value over time, threshold
    dashed, failing runs marked with a cross."""
    import matplotlib

    matplotlib.use("Agg")  # a file, never a window
    matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text: searchable, smaller
    from matplotlib import pyplot

    rules = [r for r, points in series.items() if any(p.value is not None for p in points)]
    figure, axes = pyplot.subplots(
        len(rules) or 1, 1, figsize=(8, 2.2 * max(len(rules), 1)), sharex=True, squeeze=False
    )
    for axis, rule in zip(axes[:, 0], rules, strict=False):
        points = [p for p in series[rule] if p.value is not None]
        times = [p.checked_at for p in points]
        axis.plot(times, [p.value for p in points], marker="o", label=points[-1].metric)
        thresholds = [(p.checked_at, p.threshold) for p in points if p.threshold is not None]
        if thresholds:
            axis.plot(*zip(*thresholds, strict=True), linestyle="--", label="threshold")
        failed = [p for p in points if not p.passed]
        if failed:
            axis.scatter(
                [p.checked_at for p in failed], [p.value for p in failed], marker="x", s=80,
                color="red", label="failed", zorder=3,
            )  # fmt: skip
        axis.set_title(rule, loc="left", fontsize=9)
        axis.legend(fontsize=7, loc="best")
    figure.suptitle(title)
    figure.autofmt_xdate()
    figure.tight_layout()
    figure.savefig(path, format="svg")
    pyplot.close(figure)


def read_history(platform_env: Mapping[str, Any], namespace: str) -> list[dict[str, Any]]:
    """Every row of the tenant's metrics history (empty before its first quality run)."""
    from deltalake import DeltaTable
    from deltalake.exceptions import TableNotFoundError

    trust_platform_ca(Path(platform_env["ca_file"]))
    s3 = platform_env["servers"]["minio"]
    options = {
        "AWS_ENDPOINT_URL": s3["url"],
        "AWS_ACCESS_KEY_ID": s3["access_key"],
        "AWS_SECRET_ACCESS_KEY": Path(s3["secret_key_file"]).read_text().strip(),
        "AWS_REGION": "us-east-1",
        "AWS_FORCE_PATH_STYLE": "true",
    }
    path = quality_history_path(namespace).replace("s3a://", "s3://")
    try:
        table = DeltaTable(path, storage_options=options)
    except TableNotFoundError:
        return []
    rows: list[dict[str, Any]] = table.to_pyarrow_table().to_pylist()
    return rows
