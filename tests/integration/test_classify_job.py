"""The classify job on real Delta tables, Spark in local mode (needs the tool cache's Spark
jars; no servers): grades from a bounded sample, records the result in the table's properties
through the table's own engine, and samples only new columns until the policies change."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import yaml
from deltalake import DeltaTable, write_deltalake

from nidc.local.tools.manifest import spark_jars
from spark_jobs.classify import ClassifySpec, classify
from spark_jobs.session import ObjectStore, build_spark_conf, create_session

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
def spark() -> Iterator[Any]:
    jars = spark_jars()
    assert jars, "the tool cache has no Spark jars: run `nidc tools build`"
    session = create_session(
        build_spark_conf(ObjectStore("http://127.0.0.1:9"), jars, "classify-tests")
    )
    yield session
    session.stop()


def properties_of(path: Path) -> dict[str, str]:
    return dict(DeltaTable(str(path)).metadata().configuration)


def test_a_product_table_is_graded_and_only_new_columns_are_sampled(
    spark: Any, tmp_path: Path
) -> None:
    path = str(tmp_path / "silver_people")
    rows = [(f"2026-11-30T0{i}:00:00Z", IDS[i], 20.5 + i) for i in range(4)]
    spark.createDataFrame(rows, "ts string, col_017 string, temp double").write.format(
        "delta"
    ).save(path)
    spec = ClassifySpec(table="silver.people", path=path, policies=[BASELINE], declared_floor=1)
    first = classify(spark, spec)
    assert (first.grade, first.level) == (2, "重要")
    assert set(first.sampled) == {"ts", "col_017", "temp"} and not first.reused
    recorded = properties_of(tmp_path / "silver_people")
    assert recorded["nidc.grade"] == "2"
    columns = {c["name"]: c for c in json.loads(recorded["nidc.classification"])["columns"]}
    assert columns["col_017"]["category"] == "personal-identity"

    more = [(f"2026-11-30T0{i}:00:00Z", IDS[i], 20.5 + i, GCODE[i]) for i in range(4)]
    spark.createDataFrame(more, "ts string, col_017 string, temp double, f12 string").write.format(
        "delta"
    ).mode("append").option("mergeSchema", "true").save(path)
    second = classify(spark, spec)
    assert second.sampled == ("f12",) and set(second.reused) == {"ts", "col_017", "temp"}
    assert second.grade == 3

    tenant = {
        "kind": "ClassificationPolicy",
        "metadata": {"name": "t", "namespace": "n"},
        "spec": {
            "overrides": [
                {
                    "table": "silver.people",
                    "column": "temp",
                    "grade": 3,
                    "reason": "Furnace temperatures reveal the recipe.",
                }
            ]
        },
    }
    third = classify(
        spark, ClassifySpec(table="silver.people", path=path, policies=[BASELINE, tenant])
    )
    assert set(third.sampled) == {"ts", "col_017", "temp", "f12"}  # the policies changed
    assert {c["name"]: c["grade"] for c in third.columns}["temp"] == 3


def test_a_bronze_table_gaining_ids_under_an_opaque_name_is_regraded_by_delta_rs(
    spark: Any, tmp_path: Path
) -> None:
    path = tmp_path / "bronze_drop"
    write_deltalake(
        str(path), pa.table({"point": ["a", "b", "c", "d"], "value": [1.0, 2.0, 3.0, 4.0]})
    )
    spec = ClassifySpec(table="bronze.drop", path=str(path), policies=[BASELINE], writer="delta-rs")
    assert classify(spark, spec).grade == 1
    write_deltalake(
        str(path),
        pa.table({"point": ["e", "f", "g", "h"], "value": [5.0, 6.0, 7.0, 8.0], "k7": IDS}),
        mode="append",
        schema_mode="merge",
    )
    regraded = classify(spark, spec)
    assert regraded.grade == 2 and regraded.sampled == ("k7",)
    assert properties_of(path)["nidc.grade"] == "2"
    # delta-rs wrote the properties: the last commit is its SET TBLPROPERTIES, not Spark's.
    last = DeltaTable(str(path)).history(1)[0]
    assert "delta-rs" in str(last.get("clientVersion", last.get("engineInfo", "")))
