"""The quality job's one aggregate pass on Spark (local mode): seeded defects vs the clean twin.

Must-show 1 of issue 20: every seeded defect (nulls, duplicates, out-of-range values, pattern
violations, stale data, a volume drop, orphan keys, a dropped column) is caught by the right rule
and only by it, and the clean twin raises no alarm. One Spark session for the module.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pyspark.sql import SparkSession

from nidc.api.quality_rules import QualityRule
from spark_jobs.quality import (
    KEY_ROWS_PER_PARTITION,
    RULE_COLUMN,
    duplicate_keys,
    evaluate,
    failing_rows,
    key_partitions,
)
from tests.quality_dataset import (
    CLEAN_ROWS,
    COLUMNS,
    DEFECTIVE_COLUMNS,
    FLOOR,
    NOW,
    ORDERS,
    PAST_ROW_COUNTS,
    RULES,
    SEEDED_FAILURES,
    SEEDED_TABLE_FAILURES,
    clean_rows,
    defective_rows,
)

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkSession]:
    # Another module's session may be live in this process (the integration tests' shared one):
    # getOrCreate then hands it over, and only the fixture that made a session may stop it.
    borrowed = SparkSession.getActiveSession() is not None
    session = (
        SparkSession.builder.master("local[1]")
        .appName("nidc-quality-unit")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    yield session
    if not borrowed:
        session.stop()


def run(spark: SparkSession, rows: list[Any], schema: str, rules: list[QualityRule]) -> Any:
    frame = spark.createDataFrame(rows, schema)
    orders = spark.createDataFrame(ORDERS, "order_id string")
    past = {r.name: PAST_ROW_COUNTS for r in rules if r.check == "volume"}
    return frame, evaluate(frame, rules, FLOOR, NOW, past, {"orders": orders})


def test_the_clean_twin_raises_no_alarm(spark: SparkSession) -> None:
    frame, evaluation = run(spark, clean_rows(), COLUMNS, RULES)
    assert evaluation.rows == CLEAN_ROWS
    failing = {r.name: r.detail for r in evaluation.results if not r.passed}
    assert failing == {}
    assert [r.name for r in evaluation.results] == [r.name for r in RULES]
    assert failing_rows(evaluation.plan, evaluation.results, frame) is None


def test_every_seeded_defect_is_caught_by_its_rule_and_only_it(spark: SparkSession) -> None:
    _, evaluation = run(spark, defective_rows(), DEFECTIVE_COLUMNS, RULES)
    results = {r.name: r for r in evaluation.results}
    failing = {name for name, r in results.items() if not r.passed}
    assert failing == set(SEEDED_FAILURES) | SEEDED_TABLE_FAILURES
    for name, count in SEEDED_FAILURES.items():
        assert results[name].failing_rows == count, name
        assert results[name].threshold == FLOOR
    assert results["has-rows"].passed
    assert results["fresh"].value == pytest.approx(4 * 86400)
    assert "operator dropped" in results["kept-columns"].detail
    assert results["steady-volume"].metric == "deviationSigmas"
    assert results["steady-volume"].value > results["steady-volume"].threshold


def test_failing_rows_go_to_quarantine_with_the_rule_name(spark: SparkSession) -> None:
    frame, evaluation = run(spark, defective_rows(), DEFECTIVE_COLUMNS, RULES)
    bad = failing_rows(evaluation.plan, evaluation.results, frame)
    assert bad is not None
    assert bad.columns == [*frame.columns, RULE_COLUMN]
    counts = {r[RULE_COLUMN]: r["count"] for r in bad.groupBy(RULE_COLUMN).count().collect()}
    expected = dict(SEEDED_FAILURES)
    # a uniqueness failure quarantines every row of a repeated key: the original and its copy
    expected["lot-unique"] = expected["lot-line-unique"] = 2 * SEEDED_FAILURES["lot-unique"]
    assert counts == expected
    orphans = bad.where(f"{RULE_COLUMN} = 'order-known'").select("order_id").distinct().collect()
    assert [r["order_id"] for r in orphans] == ["O9999"]


def test_a_threshold_tolerates_what_it_says(spark: SparkSession) -> None:
    rows = clean_rows(200)
    rows[0] = (None, *rows[0][1:])
    loose = QualityRule(name="lot-present", check="notNull", column="lot_id", mostly=0.995)
    _, at_floor = run(spark, rows, COLUMNS, [loose])
    # 199/200 = 0.995 passes 0.995; the grade floor (0.99) is looser, so it does not apply
    assert at_floor.results[0].passed
    assert at_floor.results[0].threshold == 0.995
    strict = QualityRule(name="lot-present", check="notNull", column="lot_id", mostly=0.999)
    _, tight = run(spark, rows, COLUMNS, [strict])
    assert not tight.results[0].passed


def test_a_rule_on_a_missing_column_fails_instead_of_crashing(spark: SparkSession) -> None:
    rule = QualityRule(name="operator-present", check="notNull", column="operator")
    _, evaluation = run(spark, defective_rows(), DEFECTIVE_COLUMNS, [rule])
    (result,) = evaluation.results
    assert not result.passed
    assert result.detail == "column missing: operator"


def test_volume_waits_for_history_then_tests_it(spark: SparkSession) -> None:
    rule = QualityRule(name="steady-volume", check="volume", lookback=5)
    frame = spark.createDataFrame(clean_rows(400), COLUMNS)
    young = evaluate(frame, [rule], FLOOR, NOW, {rule.name: [1000.0, 1000.0]})
    assert young.results[0].passed and "2 past runs" in young.results[0].detail
    steady = evaluate(frame, [rule], FLOOR, NOW, {rule.name: [400.0, 410.0, 395.0, 405.0]})
    assert steady.results[0].passed


@pytest.mark.parametrize("rows", [None, 50, 10_000_000])
def test_duplicate_keys_count_rows_past_the_first_of_each_complete_key(
    spark: SparkSession, rows: int | None
) -> None:
    # `rows` sizes the grouping's partitions (20 for ten million): the count must not depend on it.
    data = [(i % 7, f"k{i % 5}", None if i == 3 else i) for i in range(50)]
    frame = spark.createDataFrame(data, "a int, b string, c int")
    assert duplicate_keys(frame, ["a"], rows) == 50 - 7
    assert duplicate_keys(frame, ["a", "b"], rows) == 50 - 35
    assert duplicate_keys(frame, ["c"], rows) == 0  # the null key part does not count
    assert key_partitions(spark, 10_000_000) == 10_000_000 // KEY_ROWS_PER_PARTITION
    assert key_partitions(spark, 10) == int(spark.conf.get("spark.sql.shuffle.partitions") or 4)
