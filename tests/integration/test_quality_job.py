"""The quality job end to end on real Delta tables (Spark local mode with the tool cache's jars).

History: every run appends its metrics (run, rule, metric, value, threshold, passed) and the
volume rule reads the past runs' row counts back from it. Quarantine: failing rows land with
their rule's name. A retried run commits neither twice. One Spark session for the module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import SparkSession

from nidc.api.job_specs import QualityJob
from nidc.api.quality_rules import TABLE_ROWS_RULE
from spark_jobs.quality import RULE_COLUMN, quality
from tests.quality_dataset import (
    CLEAN_ROWS,
    COLUMNS,
    DEFECTIVE_COLUMNS,
    FLOOR,
    NOW,
    ORDERS,
    RULES,
    SEEDED_FAILURES,
    SEEDED_TABLE_FAILURES,
    clean_rows,
    defective_rows,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def spark(tenant_spark: SparkSession) -> SparkSession:
    # The session's one Spark (tests/conftest.py): a session of our own would share its JVM
    # context, and stopping it would stop everyone's.
    return tenant_spark


def spec(tmp: Path, txn_version: int, version: int | None = None) -> QualityJob:
    return QualityJob.model_validate(spec_json(tmp, txn_version, version))


def run_of(txn_version: int) -> str:
    return f"lots-quality-{txn_version}"


def spec_json(tmp: Path, txn_version: int, version: int | None) -> dict[str, Any]:
    return {
        "job": "quality",
        "resource": "DataProduct/steel-plant/lots",
        "tableName": "silver.lots",
        "table": f"file://{tmp}/lots",
        "version": version,
        "rules": [r.model_dump(by_alias=True, exclude_none=True) for r in RULES],
        "floor": FLOOR,
        "references": {"orders": f"file://{tmp}/orders"},
        "history": f"file://{tmp}/quality_history",
        "quarantine": f"file://{tmp}/quarantine_lots",
        "txnAppId": "uid-of-lots",
        "txnVersion": txn_version,
    }


def test_history_quarantine_and_volume_across_runs(spark: SparkSession, tmp_path: Path) -> None:
    lots, orders = f"file://{tmp_path}/lots", f"file://{tmp_path}/orders"
    spark.createDataFrame(ORDERS, "order_id string").write.format("delta").save(orders)
    spark.createDataFrame(clean_rows(), COLUMNS).write.format("delta").save(lots)

    # three clean runs: no alarm, and the volume rule waits for history, then has it
    for run in range(3):
        result = quality(spark, spec(tmp_path, run), run_of(run), now=NOW)
        assert result["quality"]["failingChecks"] == [], result["checks"]
        assert result["tableVersion"] == 0
    history = spark.read.format("delta").load(f"file://{tmp_path}/quality_history")
    table_rows = history.where(f"rule = '{TABLE_ROWS_RULE}'").collect()
    assert sorted(r["value"] for r in table_rows) == [CLEAN_ROWS] * 3

    # a new version with every seeded defect (and a dropped column)
    defects = spark.createDataFrame(defective_rows(), DEFECTIVE_COLUMNS)
    defects.write.format("delta").mode("overwrite").option("overwriteSchema", "true").save(lots)
    result = quality(spark, spec(tmp_path, 3), run_of(3), now=NOW)
    assert result["tableVersion"] == 1
    assert set(result["quality"]["failingChecks"]) == set(SEEDED_FAILURES) | SEEDED_TABLE_FAILURES
    assert result["quality"]["blockingFailures"] == result["quality"]["failingChecks"]
    assert result["quality"]["score"] == pytest.approx(1 / len(RULES))  # has-rows alone passes
    volume = next(c for c in result["checks"] if c["name"] == "steady-volume")
    assert not volume["passed"]
    assert volume["detail"] == "400 rows against a mean of 1000 over 3 runs"

    quarantine = spark.read.format("delta").load(f"file://{tmp_path}/quarantine_lots")
    counts = {r[RULE_COLUMN]: r["count"] for r in quarantine.groupBy(RULE_COLUMN).count().collect()}
    assert counts["lot-present"] == SEEDED_FAILURES["lot-present"]
    assert counts["order-known"] == SEEDED_FAILURES["order-known"]
    assert set(counts) == set(SEEDED_FAILURES)
    assert result["quality"]["quarantinedRows"] == quarantine.count()

    run_rows = history.where("run = 'lots-quality-3'").collect()
    failed = {r["rule"] for r in run_rows if not r["passed"]}
    assert failed == set(SEEDED_FAILURES) | SEEDED_TABLE_FAILURES
    weight = next(r for r in run_rows if r["rule"] == "weight-plausible")
    assert (weight["metric"], weight["threshold"]) == ("passRatio", FLOOR)

    # the same run retried: neither table gets a second commit
    before = (history.count(), quarantine.count())
    quality(spark, spec(tmp_path, 3), run_of(3), now=NOW)
    history = spark.read.format("delta").load(f"file://{tmp_path}/quality_history")
    quarantine = spark.read.format("delta").load(f"file://{tmp_path}/quarantine_lots")
    assert (history.count(), quarantine.count()) == before

    # an older version can still be checked: the clean one passes
    pinned = quality(spark, spec(tmp_path, 4, version=0), run_of(4), now=NOW)
    assert pinned["tableVersion"] == 0
    assert [c["name"] for c in pinned["checks"] if not c["passed"]] == []
