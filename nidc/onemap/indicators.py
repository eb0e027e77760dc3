"""The one map's indicators over tenants' gold product tables (pure, on Arrow tables).

A gold product feeds the one map when its table has the indicator columns: `period` (a date or
`YYYY-MM` string), `province` (GB/T 2260 province code, e.g. 320000), `industry` (GB/T 4754
section or division code) and the measures below. The console reads each such product's last
good version (delta-rs) and concatenates them; these functions do the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import yaml
from pydantic import BaseModel, ConfigDict, Field

from nidc.governance.policy_files import policies_dir

KEY_COLUMNS = ("period", "province", "industry")
MEASURE_COLUMNS = (
    "output_value",
    "energy_tce",
    "equipment_run_hours",
    "equipment_available_hours",
    "units_produced",
    "units_passed",
)
INDICATOR_COLUMNS = KEY_COLUMNS + MEASURE_COLUMNS
GROUPINGS = {
    "province": ("period", "province"),
    "industry": ("period", "industry"),
    "province-industry": ("period", "province", "industry"),
    "national": ("period",),
}


class Indicator(BaseModel):
    """One indicator: the sum of `numerator`, divided by the sum of `denominator` if given."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]+$")
    zh: str
    en: str
    unit: str
    numerator: str
    denominator: str | None = None


class IndicatorError(ValueError):
    """A table cannot feed the one map; the message names what is wrong."""


def load_indicators(path: Path | None = None) -> list[Indicator]:
    """policies/onemap/indicators.yaml, checked against the measure columns."""
    file = path or policies_dir() / "onemap" / "indicators.yaml"
    indicators = [Indicator.model_validate(row) for row in yaml.safe_load(file.read_text("utf-8"))]
    for indicator in indicators:
        for column in (indicator.numerator, indicator.denominator):
            if column is not None and column not in MEASURE_COLUMNS:
                raise IndicatorError(f"{indicator.id}: {column} is not a measure column")
    return indicators


def check_table(table: pa.Table) -> None:
    """Refuse a table without the indicator columns, naming the ones it lacks."""
    absent = [c for c in INDICATOR_COLUMNS if c not in table.column_names]
    if absent:
        raise IndicatorError(f"the table lacks the indicator columns {absent}")


def normalise(table: pa.Table) -> pa.Table:
    """Keys as strings (a date period becomes YYYY-MM), measures as float64 (pure)."""
    check_table(table)
    period = table["period"]
    if pa.types.is_date(period.type) or pa.types.is_timestamp(period.type):
        period = pc.strftime(period, format="%Y-%m")
    columns = {
        "period": pc.cast(period, pa.string()),
        "province": pc.cast(table["province"], pa.string()),
        "industry": pc.cast(table["industry"], pa.string()),
    }
    for name in MEASURE_COLUMNS:
        columns[name] = pc.cast(table[name], pa.float64())
    return pa.table(columns)


@dataclass(frozen=True)
class IndicatorValue:
    """One indicator for one group and period."""

    indicator: str
    period: str
    province: str | None
    industry: str | None
    value: float | None  # None: the denominator is zero


def compute(
    tables: list[pa.Table], indicators: list[Indicator], grouping: str = "province"
) -> list[IndicatorValue]:
    """Every indicator for every group of `grouping` (a key of GROUPINGS) and period (pure).

    Rows with a null measure leave that measure out of its sums, not the whole row."""
    if grouping not in GROUPINGS:
        raise IndicatorError(f"unknown grouping {grouping!r}; known: {sorted(GROUPINGS)}")
    keys = list(GROUPINGS[grouping])
    if not tables:
        return []
    combined = pa.concat_tables([normalise(t) for t in tables])
    summed = combined.group_by(keys).aggregate([(m, "sum") for m in MEASURE_COLUMNS])
    rows = summed.to_pylist()
    values = []
    for row in sorted(rows, key=lambda r: tuple(str(r[k]) for k in keys)):
        for indicator in indicators:
            numerator = row[f"{indicator.numerator}_sum"] or 0.0
            value: float | None = numerator
            if indicator.denominator is not None:
                denominator = row[f"{indicator.denominator}_sum"] or 0.0
                value = numerator / denominator if denominator else None
            values.append(
                IndicatorValue(
                    indicator.id, row["period"], row.get("province"), row.get("industry"), value
                )
            )
    return values


def series(
    values: list[IndicatorValue], indicator: str
) -> dict[tuple[str | None, str | None], list[tuple[str, float | None]]]:
    """One indicator's time series per (province, industry), periods in order (pure)."""
    found: dict[tuple[str | None, str | None], list[tuple[str, float | None]]] = {}
    for value in values:
        if value.indicator == indicator:
            found.setdefault((value.province, value.industry), []).append(
                (value.period, value.value)
            )
    return {key: sorted(points) for key, points in found.items()}
