"""The classify job on real Delta tables, Spark in local mode (needs the tool cache's Spark
jars; no servers): grades from a bounded sample, records the result in the table's properties,
and samples only new columns until the policies change."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from deltalake import DeltaTable

from nidc.api.job_specs import ClassifyJob
from nidc.governance.classify_job import policy_document
from spark_jobs.classify import classify, classify_natively

REPO = Path(__file__).resolve().parents[2]
BASELINE = yaml.safe_load((REPO / "policies/classification/national-baseline.yaml").read_text())
IDS = ["11010519491231002X", "440305197408026282", "310104198305040768", "110105196805048045"]
GCODE = [
    "N10 G90 G21\nN20 G01 X10.0 Y5.0 F200",
    "G00 X0 Y0 Z5.0",
    "G02 X5.0 Y5.0 I2.5 J0",
    "G01 Z-1.5 F80",
]


@pytest.fixture(scope="module")
def spark(tenant_spark: Any) -> Any:
    # The session's one Spark (tests/conftest.py): a session of our own would share its JVM
    # context, and stopping it would stop everyone's.
    return tenant_spark


def job(table: str, path: Path, *policies: dict[str, Any], floor: int | None = None) -> Any:
    spec = ClassifyJob(
        tenant="steel-plant",
        table=table,
        path=f"s3a://tenant-steel-plant/{table.replace('.', '/')}",
        policies=[policy_document(p) for p in policies],
        declared_floor=floor,
    )
    # The table lives on the local disk here; Spark reads a file path as it reads s3a://.
    return spec.model_copy(update={"path": str(path)})


def properties_of(path: Path) -> dict[str, str]:
    return dict(DeltaTable(str(path)).metadata().configuration)


def test_a_product_table_is_graded_and_only_new_columns_are_sampled(
    spark: Any, tmp_path: Path
) -> None:
    path = tmp_path / "silver_people"
    rows = [(f"2026-11-30T0{i}:00:00Z", IDS[i], 20.5 + i) for i in range(4)]
    frame = spark.createDataFrame(rows, "ts string, col_017 string, temp double")
    frame.write.format("delta").save(str(path))
    spec = job("silver.people", path, BASELINE, floor=1)
    first = classify(spark, spec)
    assert (first.grade, first.level) == (2, "重要")
    assert set(first.sampled) == {"ts", "col_017", "temp"} and not first.reused
    recorded = properties_of(path)
    assert recorded["nidc.grade"] == "2"
    columns = {c["name"]: c for c in json.loads(recorded["nidc.classification"])["columns"]}
    assert columns["col_017"]["category"] == "personal-identity"
    # A retried run finds the same result and commits nothing.
    again = classify(spark, spec)
    assert again.grade == 2 and again.committed_version == first.committed_version

    more = [(f"2026-11-30T0{i}:00:00Z", IDS[i], 20.5 + i, GCODE[i]) for i in range(4)]
    wider = spark.createDataFrame(more, "ts string, col_017 string, temp double, f12 string")
    wider.write.format("delta").mode("append").option("mergeSchema", "true").save(str(path))
    second = classify(spark, spec)
    assert second.sampled == ("f12",) and set(second.reused) == {"ts", "col_017", "temp"}
    assert second.grade == 3

    tenant = {
        "kind": "ClassificationPolicy",
        "metadata": {"name": "t", "namespace": "steel-plant"},
        "spec": {"overrides": [{"table": "silver.people", "column": "temp", "grade": 3,
                                "reason": "Furnace temperatures reveal the recipe."}]},
    }  # fmt: skip
    third = classify(spark, job("silver.people", path, BASELINE, tenant))
    assert set(third.sampled) == {"ts", "col_017", "temp", "f12"}  # the policies changed
    assert {c["name"]: c["grade"] for c in third.columns}["temp"] == 3


def test_a_bronze_table_gaining_ids_under_an_opaque_name_is_regraded(
    spark: Any, tmp_path: Path
) -> None:
    path = tmp_path / "bronze_drop"
    frame = spark.createDataFrame([("a", 1.0), ("b", 2.0), ("c", 3.0)], "point string, v double")
    frame.write.format("delta").save(str(path))
    spec = job("bronze.drop", path, BASELINE)
    assert classify(spark, spec).grade == 1
    grown = spark.createDataFrame(
        [(p, float(i), IDS[i]) for i, p in enumerate("defg")], "point string, v double, k7 string"
    )
    grown.write.format("delta").mode("append").option("mergeSchema", "true").save(str(path))
    regraded = classify(spark, spec)
    assert regraded.grade == 2 and regraded.sampled == ("k7",)
    assert properties_of(path)["nidc.grade"] == "2"


def test_delta_rs_and_spark_classify_alike_and_read_each_others_record(
    spark: Any, tmp_path: Path
) -> None:
    """A run classifies through delta-rs (no JVM); Spark must see what it recorded, and a
    Spark pass over the same table must find the same result and commit nothing."""
    path = tmp_path / "bronze_mixed"
    rows = [(f"M-{i}", IDS[i], GCODE[i], 20.5 + i) for i in range(4)]
    frame = spark.createDataFrame(rows, "machine string, col_3 string, prog string, t double")
    frame.write.format("delta").save(str(path))
    spec = job("bronze.mixed", path, BASELINE)
    native = classify_natively(spec, {})
    assert (native.grade, set(native.sampled)) == (3, {"machine", "col_3", "prog", "t"})
    detail = spark.sql(f"DESCRIBE DETAIL delta.`{path}`").collect()[0]
    assert detail["properties"]["nidc.grade"] == "3"
    assert spark.read.format("delta").load(str(path)).count() == 4  # the data is untouched

    by_spark = classify(spark, spec)
    assert by_spark.grade == native.grade and not by_spark.sampled  # all reused
    assert by_spark.columns == native.columns
    assert by_spark.committed_version == native.committed_version  # nothing new committed
