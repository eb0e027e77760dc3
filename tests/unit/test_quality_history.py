"""`nidc quality history`'s pure parts: one resource's series, the table, the chart file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from nidc.api.quality_rules import TABLE_ROWS_RULE
from nidc.governance.quality_history import render_table, rule_series, write_chart

T0 = dt.datetime(2026, 11, 30, 8, 0)
MINE = "DataProduct/steel-plant/line-peaks"


def row(resource: str, rule: str, minutes: int, value: float, passed: bool) -> dict[str, Any]:
    return {
        "resource": resource,
        "rule": rule,
        "checked_at": T0 + dt.timedelta(minutes=minutes),
        "table_version": minutes // 10,
        "value": value,
        "threshold": None if rule == TABLE_ROWS_RULE else 0.99,
        "passed": passed,
        "metric": "rows" if rule == TABLE_ROWS_RULE else "passRatio",
    }


ROWS = [
    row(MINE, "in-range", 10, 0.5, False),  # written out of order: sorted by time
    row(MINE, "in-range", 0, 1.0, True),
    row(MINE, TABLE_ROWS_RULE, 0, 40, True),
    row("DataProduct/steel-plant/other", "in-range", 5, 0.1, False),
]


def test_one_resource_in_time_order_with_the_table_size_as_rows() -> None:
    series = rule_series(ROWS, MINE)
    assert list(series) == ["in-range", "rows"]
    assert [p.value for p in series["in-range"]] == [1.0, 0.5]
    assert [p.passed for p in series["in-range"]] == [True, False]
    lines = render_table(series).splitlines()
    assert lines[0].split()[:2] == ["rule", "metric"]
    assert lines[1].split() == [
        "in-range",
        "passRatio",
        "2026-11-30",
        "08:00:00",
        "0",
        "1",
        "0.99",
        "pass",
    ]
    assert lines[2].split()[-1] == "FAIL" and lines[2].split()[4] == "1"
    assert lines[3].split()[:2] == ["rows", "rows"] and lines[3].split()[5] == "40"


def test_the_chart_is_an_svg_with_a_panel_per_rule(tmp_path: Path) -> None:
    chart = tmp_path / "q.svg"
    write_chart(rule_series(ROWS, MINE), f"quality of {MINE}", chart)
    drawn = chart.read_text()
    assert drawn.startswith("<?xml") and "<svg" in drawn
    assert "in-range" in drawn and "rows" in drawn and "line-peaks" in drawn
