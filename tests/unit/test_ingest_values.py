"""Pure rules of the ingest job: parsing, types, ranges, units, schema drift, the job spec."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from nidc.api.data_source import Point
from nidc.api.job_specs import IngestJob
from nidc.collector.report import gap_sample
from spark_jobs.ingest.jdbc import version_to_watermark, watermark_to_version
from spark_jobs.ingest.landing import batch_name, pending_batches
from spark_jobs.ingest.values import (
    LANDING_COLUMNS,
    Reason,
    Rejection,
    Sample,
    classify_batch,
    classify_sample,
    decide_schema,
    normalize_unit,
)

pytestmark = pytest.mark.unit


def point(**fields: object) -> Point:
    base = {"name": "spindle_temp", "address": "ns=2;s=T", "identifier": "88.118.8/CNC-01.t"}
    return Point.model_validate({**base, **fields})


TEMP = point(dataType="double", unit="Cel", minimum=-20, maximum=200)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("41.5", 41.5),
        (" 41.5 ", 41.5),
        ('{"value": 41.5, "unit": "Cel"}', 41.5),
        ('{"value": "41.5"}', 41.5),
        ("200", 200.0),
        ("-20", -20.0),
    ],
)
def test_good_doubles(raw: str, expected: float) -> None:
    result = classify_sample(raw, TEMP)
    assert result == Sample(expected, None, "Cel")


@pytest.mark.parametrize(
    ("raw", "reason", "detail_part"),
    [
        ("{not json", Reason.UNPARSEABLE, "invalid JSON"),
        (None, Reason.UNPARSEABLE, "raw is null"),
        ("abc", Reason.WRONG_TYPE, "not a double"),
        ("true", Reason.WRONG_TYPE, "not a double"),
        ('{"value": true}', Reason.WRONG_TYPE, "boolean"),
        ('{"value": [1]}', Reason.WRONG_TYPE, "list"),
        ("nan", Reason.WRONG_TYPE, "finite"),
        ('{"temp": 41.5}', Reason.SCHEMA_MISMATCH, "no 'value' field"),
        ("[1, 2]", Reason.SCHEMA_MISMATCH, "not an object"),
        ("200.5", Reason.OUT_OF_RANGE, "above maximum 200"),
        ("-20.01", Reason.OUT_OF_RANGE, "below minimum -20"),
    ],
)
def test_bad_samples_have_reasons(raw: str | None, reason: Reason, detail_part: str) -> None:
    result = classify_sample(raw, TEMP)
    assert isinstance(result, Rejection)
    assert result.reason == reason
    assert detail_part in result.detail


def test_a_gap_record_is_quarantined_as_the_devices_gap_with_its_text() -> None:
    since = dt.datetime(2026, 11, 30, 1, tzinfo=dt.UTC)
    gap = gap_sample("t", None, since, since + dt.timedelta(minutes=5), "no history")
    result = classify_sample(None, TEMP, gap.quality)
    assert result == Rejection(Reason.DEVICE_GAP, str(gap.quality))
    # a null payload with any other quality text is still an empty sample
    other = classify_sample(None, TEMP, "Bad_Timeout")
    assert isinstance(other, Rejection) and other.reason == Reason.UNPARSEABLE


def test_unmapped_point() -> None:
    result = classify_sample("1", None)
    assert isinstance(result, Rejection) and result.reason == Reason.UNMAPPED_POINT


def test_scale_offset_then_range_then_unit() -> None:
    # A Modbus register in tenths of a degree Fahrenheit: 1000 -> 100.0 degF -> 37.78 Cel.
    register = point(dataType="int", unit="[degF]", scale=0.1, offset=0.0, maximum=150)
    result = classify_sample("1000", register)
    assert isinstance(result, Sample)
    assert result.unit == "Cel"
    assert result.value == pytest.approx(37.7778, abs=1e-4)
    # The range is in the declared unit (degF), checked after scaling: 1600 -> 160 degF > 150.
    over = classify_sample("1600", register)
    assert isinstance(over, Rejection) and over.reason == Reason.OUT_OF_RANGE


def test_int_points_refuse_fractions() -> None:
    counter = point(dataType="int")
    assert classify_sample("7", counter) == Sample(7.0, None, None)
    bad = classify_sample("7.5", counter)
    assert isinstance(bad, Rejection) and bad.reason == Reason.WRONG_TYPE


@pytest.mark.parametrize(("raw", "value"), [("true", 1.0), ("OFF", 0.0), ("1", 1.0)])
def test_bools(raw: str, value: float) -> None:
    assert classify_sample(raw, point(dataType="bool")) == Sample(value, None, None)


def test_bool_refuses_other_numbers() -> None:
    result = classify_sample("2", point(dataType="bool"))
    assert isinstance(result, Rejection) and result.reason == Reason.WRONG_TYPE


def test_strings_keep_text() -> None:
    assert classify_sample('{"value": "RUN"}', point(dataType="string")) == Sample(
        None, "RUN", None
    )


@pytest.mark.parametrize(
    ("value", "unit", "expected", "canonical"),
    [
        (212.0, "[degF]", 100.0, "Cel"),
        (300.0, "K", 26.85, "Cel"),
        (250.0, "kPa", 2.5, "bar"),
        (1.5, "m", 1500.0, "mm"),
        (1500.0, "W", 1.5, "kW"),
        (3.6, "MJ", 1.0, "kW.h"),
        (1200.0, "rpm", 1200.0, "/min"),
        (10.0, "L/min", 0.6, "m3/h"),
        (5.0, "furlong", 5.0, "furlong"),  # unknown: kept as declared
    ],
)
def test_unit_normalization(value: float, unit: str, expected: float, canonical: str) -> None:
    converted, unit_out = normalize_unit(value, unit)
    assert unit_out == canonical
    assert converted == pytest.approx(expected)


def landing(rows: list[dict[str, object]], **extra: pa.Array) -> pa.RecordBatch:
    ts = dt.datetime(2026, 11, 25, 8, tzinfo=dt.UTC)
    columns: dict[str, list[object]] = {name: [] for name in LANDING_COLUMNS}
    for row in rows:
        full: dict[str, object] = {
            "source": "cnc-01",
            "identifier": None,
            "ts": ts,
            "received_at": ts,
        }
        full.update({"quality": "Good", **row})
        for name in LANDING_COLUMNS:
            columns[name].append(full.get(name))
    arrays = [pa.array(columns[n], type=t) for n, t in LANDING_COLUMNS.items()]
    names = list(LANDING_COLUMNS)
    for name, array in extra.items():
        arrays.append(array)
        names.append(name)
    return pa.RecordBatch.from_arrays(arrays, names=names)


def test_classify_batch_types_rows_and_keeps_raw() -> None:
    batch = landing(
        [
            {"point": "spindle_temp", "raw": "41.5"},
            {"point": "spindle_temp", "raw": "999"},
            {"point": "plant/unknown/topic", "raw": "1", "identifier": "88.118.8/GW-1"},
            {"point": "spindle_temp", "raw": "1", "ts": None},
        ]
    )
    out = classify_batch(batch, {"spindle_temp": TEMP}).to_pydict()
    assert out["reason"] == [
        None,
        "out-of-range",
        "unmapped-point",
        "schema-mismatch",
    ]
    assert out["value"][0] == 41.5 and out["unit"][0] == "Cel"
    assert out["value_type"][0] == "double"
    # The mapped identifier wins; unmapped samples keep what the device sent.
    assert out["identifier"][0] == "88.118.8/CNC-01.t"
    assert out["identifier"][2] == "88.118.8/GW-1"
    assert out["raw"] == ["41.5", "999", "1", "1"]


def test_classify_batch_carries_extra_columns() -> None:
    batch = landing(
        [{"point": "spindle_temp", "raw": "1"}], firmware=pa.array(["v2"], type=pa.string())
    )
    out = classify_batch(batch, {"spindle_temp": TEMP}, {"firmware": pa.string()})
    assert out.schema.names[-1] == "firmware"
    assert out.column("firmware").to_pylist() == ["v2"]


def test_schema_new_table_takes_incoming() -> None:
    decision = decide_schema(None, {"a": "int"}, "fail")
    assert decision.failure is None and not decision.added


def test_schema_add_columns_evolves() -> None:
    decision = decide_schema(
        {"order_id": "bigint", "qty": "int", "note": "string"},
        {"order_id": "bigint", "qty": "string", "priority": "int"},
        "addColumns",
    )
    assert decision.failure is None
    assert decision.added == {"priority": "int"}
    assert decision.retyped == {"qty": ("string", "int")}
    assert decision.missing == ["note"]


def test_schema_fail_names_columns() -> None:
    decision = decide_schema(
        {"order_id": "bigint", "qty": "int"},
        {"order_id": "bigint", "qty": "string", "priority": "int"},
        "fail",
    )
    assert decision.failure is not None
    assert "new column priority (int)" in decision.failure
    assert "column qty is string, table has int" in decision.failure


def test_schema_fail_allows_missing_columns_and_ignored_names() -> None:
    decision = decide_schema(
        {"order_id": "bigint", "qty": "int", "_source": "string"},
        {"order_id": "bigint", "_source": "int"},
        "fail",
        ignore=["_source"],
    )
    assert decision.failure is None and decision.missing == ["qty"]


def test_pending_batches_are_contiguous_from_start() -> None:
    names = [batch_name(s, "json") for s in (1, 2, 3, 5)]
    names += [batch_name(s, "parquet") for s in (1, 2, 3, 4, 5)]
    assert pending_batches(names, 2, 100) == [2, 3]  # 4 has no manifest yet
    assert pending_batches(names, 1, 2) == [1, 2]
    assert pending_batches(names, 6, 100) == []


def test_watermark_round_trip() -> None:
    iso = "2026-11-25T08:00:00.123456+00:00"
    version = watermark_to_version(iso, True)
    assert version_to_watermark(version, True) == iso
    assert watermark_to_version("2026-11-25T08:00:00.123457Z", True) == version + 1
    assert watermark_to_version("42", False) == 42


def job_spec(**changes: object) -> dict[str, object]:
    spec: dict[str, object] = {
        "job": "ingest",
        "type": "opcua",
        "source": "cnc-01",
        "namespace": "steel-plant",
        "sourceUid": "uid-1",
        "points": [TEMP.model_dump(by_alias=True, exclude_none=True)],
        "target": "s3a://tenant-steel-plant/bronze/cnc",
        "quarantine": "s3a://tenant-steel-plant/quarantine/cnc",
        "landing": {"prefix": "s3a://tenant-steel-plant/landing/sources/steel-plant/cnc-01/"},
        "run": "r-1",
        "storage": {"endpoint": "https://127.0.0.1:9000"},
        "jars": [],
    }
    spec.update(changes)
    return spec


def test_job_spec_parses_and_ignores_runtime_keys() -> None:
    job = IngestJob.from_spec(job_spec())
    assert job.landing is not None and job.landing.from_sequence == 0
    assert job.schema_policy == "addColumns"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"landing": {"prefix": "s3a://b/x/", "fromSequence": -1}}, "landing.fromSequence"),
        ({"schemaPolicy": "ignore"}, "schemaPolicy"),
        ({"target": "/local/path"}, "target"),
        ({"type": "jdbc"}, "type jdbc needs jdbc"),
        ({"points": []}, "at least one entry in points"),
        ({"quarantine": "s3a://tenant-steel-plant/bronze/cnc"}, "different tables"),
        (
            {
                "type": "jdbc",
                "jdbc": {
                    "url": "jdbc:postgresql://u:p@h:5432/mes",
                    "table": "mes.work_orders",
                    "watermarkColumn": "updated_at",
                },
            },
            "jdbc.url",
        ),
        (
            {
                "type": "jdbc",
                "jdbc": {
                    "url": "jdbc:postgresql://h:5432/mes",
                    "table": "mes.orders; drop table x",
                    "watermarkColumn": "updated_at",
                },
            },
            "jdbc.table",
        ),
    ],
)
def test_job_spec_errors_name_the_field(changes: dict[str, object], field: str) -> None:
    with pytest.raises(ValueError, match="invalid ingest job spec") as error:
        IngestJob.from_spec(job_spec(**changes))
    assert field in str(error.value)


def test_spark_conf_for_local_jobs() -> None:
    import sys
    from pathlib import Path

    from spark_jobs.session import ObjectStore, build_spark_conf

    local = build_spark_conf(ObjectStore("https://127.0.0.1:9000"), [Path("/j/d.jar")], "job")
    # Python workers (mapInArrow) use the job's interpreter, which has pyarrow.
    assert local["spark.pyspark.python"] == sys.executable
    # Delta state rebuilds with 2 tasks on two local cores, not 50.
    assert local["spark.databricks.delta.snapshotPartitions"] == "2"
    # Partitioned writes without a sort per task; uploads buffered in memory.
    assert local["spark.sql.maxConcurrentOutputFileWriters"] == "16"
    assert local["spark.hadoop.fs.s3a.fast.upload.buffer"] == "bytebuffer"
    # Tasks share the driver JVM in local mode: a 2g heap and the throughput collector.
    assert local["spark.driver.memory"] == "2g"
    assert "-XX:+UseParallelGC" in local["spark.driver.extraJavaOptions"]
    cluster = build_spark_conf(
        ObjectStore("https://s3:9000"), [], "job", master="k8s://https://api:6443"
    )
    assert "spark.databricks.delta.snapshotPartitions" not in cluster
    assert "spark.driver.memory" not in cluster
    assert "spark.driver.extraJavaOptions" not in cluster
