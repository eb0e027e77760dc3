"""The one map's data: which tables feed it (the catalog, scoped to the viewer) and the view
of one indicator (pure): a map of the latest period by province, bars by industry, the
national time series and the early warnings that fire."""

# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import dict_row

from nidc.catalog.access import Scope
from nidc.catalog.queries import visible
from nidc.onemap.indicators import (
    INDICATOR_COLUMNS,
    Indicator,
    IndicatorValue,
    compute,
    series,
)
from nidc.onemap.warnings import EarlyWarning, WarningRule, evaluate


def indicator_tables(conn: psycopg.Connection[Any], scope: Scope) -> list[dict[str, Any]]:
    """The tables the viewer sees that carry every indicator column: id, location and the
    version to read (the last good one when the quality gate has judged it)."""
    condition, params = visible(scope)
    sql = (
        f"SELECT a.id, a.location, COALESCE(a.last_good_version, a.version) AS version "
        f"FROM catalog.assets a WHERE {condition} AND a.version IS NOT NULL AND "
        f"(SELECT count(DISTINCT c.name) FROM catalog.columns c WHERE c.asset_id = a.id "
        f"AND c.name = ANY(%s)) = %s ORDER BY a.id"
    )
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            sql.encode(), [*params, list(INDICATOR_COLUMNS), len(INDICATOR_COLUMNS)]
        ).fetchall()
    return [dict(r) for r in rows]


@dataclass(frozen=True)
class OneMapView:
    indicator: Indicator
    period: str | None
    by_province: dict[str, float | None]
    by_industry: list[tuple[str, float | None]]
    national: list[tuple[str, float | None]]
    warnings: list[EarlyWarning]
    warned_provinces: frozenset[str]


def latest(values: Sequence[IndicatorValue], indicator: str) -> str | None:
    periods = [v.period for v in values if v.indicator == indicator]
    return max(periods) if periods else None


def one_map_view(
    tables: Sequence[Any], indicators: Sequence[Indicator], chosen: str, rules: list[WarningRule]
) -> OneMapView:
    """`tables`: Arrow tables with the indicator columns; `chosen`: an indicator id."""
    indicator = next((i for i in indicators if i.id == chosen), indicators[0])
    by_province = compute(list(tables), list(indicators), "province")
    by_industry = compute(list(tables), list(indicators), "industry")
    national = compute(list(tables), list(indicators), "national")
    period = latest(by_province, indicator.id)
    warnings = evaluate(rules, by_province + by_industry + national)
    return OneMapView(
        indicator=indicator,
        period=period,
        by_province={
            v.province or "": v.value
            for v in by_province
            if v.indicator == indicator.id and v.period == period
        },
        by_industry=[
            (v.industry or "", v.value)
            for v in by_industry
            if v.indicator == indicator.id and v.period == period
        ],
        national=series(national, indicator.id).get((None, None), []),
        warnings=warnings,
        warned_provinces=frozenset(w.province for w in warnings if w.province),
    )
