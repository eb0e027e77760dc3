"""Column lineage of SQL transforms (sqlglot) as OpenLineage's columnLineage facet."""

from __future__ import annotations

from typing import Any

import pytest

from nidc.lineage.column_lineage import column_lineage_facet
from nidc.lineage.naming import DatasetName

SENSORS = DatasetName("s3://tenant-steel-plant", "bronze/line_sensors")
MACHINES = DatasetName("s3://tenant-steel-plant", "silver/machines")
VIEWS = {"line_sensors": SENSORS, "machines": MACHINES}
COLUMNS = {"line_sensors": ["line", "ts", "value"], "machines": ["line", "name", "site"]}


def lineage_of(sql: str, outputs: list[str]) -> tuple[dict[str, set[Any]], set[Any]]:
    facet = column_lineage_facet(sql, VIEWS, COLUMNS, outputs)
    assert facet is not None
    direct = {
        out: {
            (f.name, f.field, t.type, t.subtype)
            for f in spec.inputFields
            for t in f.transformations or []
        }
        for out, spec in facet.fields.items()
    }
    indirect = {
        (f.name, f.field, t.subtype) for f in facet.dataset or [] for t in f.transformations or []
    }
    return direct, indirect


def test_select_star_is_identity_per_column() -> None:
    direct, indirect = lineage_of("SELECT * FROM line_sensors", ["line", "ts", "value"])
    assert direct == {
        c: {("bronze/line_sensors", c, "DIRECT", "IDENTITY")} for c in ("line", "ts", "value")
    }
    assert indirect == set()


def test_renames_and_expressions() -> None:
    direct, _ = lineage_of(
        "SELECT line AS production_line, value * 1.8 + 32 AS value_f, "
        "concat(line, '-', cast(ts AS string)) AS tag FROM line_sensors",
        ["production_line", "value_f", "tag"],
    )
    assert direct["production_line"] == {("bronze/line_sensors", "line", "DIRECT", "IDENTITY")}
    assert direct["value_f"] == {("bronze/line_sensors", "value", "DIRECT", "TRANSFORMATION")}
    assert {c for _, c, _, _ in direct["tag"]} == {"line", "ts"}


def test_aggregate_with_group_by_and_having() -> None:
    direct, indirect = lineage_of(
        "SELECT line, avg(value) AS mean, count(*) AS samples FROM line_sensors "
        "WHERE ts > '2026-11-25' GROUP BY line HAVING max(value) < 100",
        ["line", "mean", "samples"],
    )
    assert direct["line"] == {("bronze/line_sensors", "line", "DIRECT", "IDENTITY")}
    assert direct["mean"] == {("bronze/line_sensors", "value", "DIRECT", "AGGREGATION")}
    assert "samples" not in direct  # count(*) reads no column
    assert ("bronze/line_sensors", "line", "GROUP_BY") in indirect
    assert ("bronze/line_sensors", "ts", "FILTER") in indirect
    assert ("bronze/line_sensors", "value", "FILTER") in indirect  # the HAVING


def test_join_resolves_each_side_and_its_keys() -> None:
    direct, indirect = lineage_of(
        "SELECT s.line, m.name AS machine, s.value FROM line_sensors s "
        "JOIN machines m ON s.line = m.line WHERE m.site = 'east'",
        ["line", "machine", "value"],
    )
    assert direct["machine"] == {("silver/machines", "name", "DIRECT", "IDENTITY")}
    assert direct["value"] == {("bronze/line_sensors", "value", "DIRECT", "IDENTITY")}
    assert {
        ("bronze/line_sensors", "line", "JOIN"),
        ("silver/machines", "line", "JOIN"),
    } <= indirect
    assert ("silver/machines", "site", "FILTER") in indirect


def test_cte_and_subquery_reach_the_base_views() -> None:
    direct, indirect = lineage_of(
        "WITH hot AS (SELECT line, value FROM line_sensors WHERE value > 80) "
        "SELECT h.line, h.peak FROM (SELECT line, max(value) AS peak FROM hot GROUP BY line) h "
        "ORDER BY h.peak DESC",
        ["line", "peak"],
    )
    assert direct["peak"] == {("bronze/line_sensors", "value", "DIRECT", "AGGREGATION")}
    assert ("bronze/line_sensors", "value", "FILTER") in indirect
    assert ("bronze/line_sensors", "line", "GROUP_BY") in indirect
    assert ("bronze/line_sensors", "value", "SORT") in indirect


def test_output_names_follow_the_written_table_case() -> None:
    direct, _ = lineage_of("SELECT LINE AS Line FROM line_sensors", ["Line"])
    assert set(direct) == {"Line"}


@pytest.mark.parametrize("sql", ["SELEC line FROM", "SELECT line FROM (SELECT"])
def test_a_query_sqlglot_cannot_read_gives_no_facet(sql: str) -> None:
    assert column_lineage_facet(sql, VIEWS, COLUMNS, ["line"]) is None
