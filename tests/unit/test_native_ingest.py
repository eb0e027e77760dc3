"""The native bronze writer's pure parts: the same rows, reasons and details as the Spark path's
rules (values.classify_batch), deduplication, quarantine rows, the engine in the job spec and
the entry point the runners start."""

from __future__ import annotations

import datetime as dt
import json
import math
import random
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from nidc.api.data_source import Point
from nidc.api.job_specs import IngestJob
from operators.runs.kubernetes_build import build_driver_script
from operators.runs.runner import ENTRY_MODULES, job_module
from spark_jobs.ingest.native.batches import BatchGroup, batch_rows, split_mistyped
from spark_jobs.ingest.native.classify import NumericPoints, _fast_rows, classify_table
from spark_jobs.ingest.native.commit import new_rows
from spark_jobs.ingest.native.rows import (
    BRONZE_SCHEMA,
    QUARANTINE_SCHEMA,
    bronze_rows,
    classified_bad,
    contract_breaking,
    first_batch_per_key,
    first_per_key,
    quarantine_rows,
)
from spark_jobs.ingest.values import (
    LANDING_COLUMNS,
    Sample,
    SchemaDecision,
    classify_batch,
    classify_sample,
)
from tests.unit.test_ingest_values import job_spec

pytestmark = pytest.mark.unit

T0 = dt.datetime(2026, 11, 25, 23, 59, tzinfo=dt.UTC)
LANDING = pa.schema([pa.field(n, t) for n, t in LANDING_COLUMNS.items()])


def point(name: str, **fields: object) -> Point:
    base = {"name": name, "address": "ns=2;s=X", "identifier": f"88.118.8/CNC-01.{name}"}
    return Point.model_validate({**base, **fields})


POINTS = {
    "temp": point("temp", unit="[degF]", minimum=-20, maximum=200, scale=0.1, offset=1.5),
    "pressure": point("pressure", dataType="int", unit="kPa"),
    "load": point("load", unit="%"),
    "door": point("door", dataType="bool"),
    "program": point("program", dataType="string"),
}
RAWS = [
    "1",
    "-2.5",
    "1e3",
    "3000",
    "41.25",
    "abc",
    None,
    '{"value": 7}',
    " 5",
    "1_0",
    "7.5",
    "1e999",
    "nan",
    "0",
    "-0",
    "true",
    "2E2",
    "00012.50",
    "{bad",
    '{"temp": 1}',
    "1999",
    "123456789012345678901234567890",
]


def landing(rows: list[dict[str, Any]], schema: pa.Schema = LANDING) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=schema)


# Samples Arrow reads as numbers, finite or not: a batch of only these (and nulls) is parsed
# at once, without the plain-number pattern.
READABLE = [
    "1", "-2.5", "1e3", "3000", "41.25", "7.5", "1e999", "nan", "0", "-0", "2E2", "00012.50",
    "1999", "123456789012345678901234567890", "+4", ".5", "5.", "-inf", "1e-400", "4.9e-324",
]  # fmt: skip


def random_batch(count: int, seed: int, raws: list[str | None] | None = None) -> pa.Table:
    chance = random.Random(seed)  # noqa: S311 (test data)
    rows = []
    for index in range(count):
        ts = None if index % 97 == 0 else T0 + dt.timedelta(seconds=index % 300)
        rows.append(
            {
                "source": "cnc-01",
                "point": chance.choice([*POINTS, "unmapped"]),
                "identifier": "device-side",
                "ts": ts,
                "received_at": T0 + dt.timedelta(seconds=index),
                "raw": chance.choice(raws or RAWS),
                "quality": "Good",
            }
        )
    return landing(rows)


def same(left: dict[str, Any], right: dict[str, Any]) -> bool:
    def equal(a: object, b: object) -> bool:
        if isinstance(a, float) and isinstance(b, float):
            # bit for bit, sign of zero included
            return a == b and math.copysign(1, a) == math.copysign(1, b)
        return a == b

    return left.keys() == right.keys() and all(equal(left[k], right[k]) for k in left)


@pytest.mark.parametrize(("seed", "raws"), [(1, RAWS), (2, RAWS), (3, RAWS), (4, READABLE)])
def test_native_classification_equals_the_spark_paths_rules(
    seed: int, raws: list[str | None]
) -> None:
    batch = random_batch(4000, seed, raws)
    # READABLE's batch is parsed by one cast; RAWS's by way of the plain-number pattern.
    _index, _rows, parsed_at_once = _fast_rows(batch, NumericPoints.of(POINTS))
    assert (parsed_at_once is not None) == (raws is READABLE)
    expected = pa.Table.from_batches([classify_batch(batch.to_batches()[0], POINTS)])
    got = classify_table(batch, POINTS)
    assert got.schema == expected.schema
    order = sorted(expected.to_pylist(), key=lambda r: r["received_at"])
    mine = sorted(got.to_pylist(), key=lambda r: r["received_at"])
    assert len(order) == len(mine) == 4000
    different = [(a, b) for a, b in zip(order, mine, strict=True) if not same(a, b)]
    assert different == []
    reasons = {r["reason"] for r in mine}
    if raws is READABLE:
        # stored values, out-of-range and non-finite ones (row by row), other points' rows
        assert {None, "wrong-type", "out-of-range", "unmapped-point"} <= reasons
        return
    # the mix has every kind of row: fast-path values, rejections of each reason
    assert {None, "unparseable", "wrong-type", "out-of-range", "schema-mismatch"} <= reasons
    assert "unmapped-point" in reasons


def test_every_finite_number_arrow_reads_is_the_one_float_reads() -> None:
    """The fast path's parse (one Arrow cast of a batch) stands for float(): on strings made of
    a number's characters and a few others, each string Arrow reads as a finite number is
    float()'s number bit for bit (sign of zero included); what Arrow refuses takes the other
    way, and nan/inf go row by row."""
    chance = random.Random(7)  # noqa: S311 (test data)
    alphabet = "0123456789" * 3 + ".eE+-_ xnaifNI()"
    strings = [
        "".join(chance.choice(alphabet) for _ in range(chance.randint(1, 30)))
        for _ in range(60_000)
    ] + RAWS_ODD
    read = 0
    for text in strings:
        try:
            number = pc.cast(pa.array([text]), pa.float64())[0].as_py()
        except pa.ArrowInvalid:
            continue
        if not math.isfinite(number):
            continue
        read += 1
        assert same({"v": float(text)}, {"v": number}), text
    assert read > 1_000  # the alphabet makes many numbers, not only refusals


RAWS_ODD = [
    "-0", "+0", ".5", "5.", "+.5e-3", "1e-400", "4.9e-324", "1.7976931348623157e308",
    "123456789012345678901234567890", "0.1000000000000000055511151231257827",
    "9007199254740993", "1e0000000000000000000000001", "00012.50", "2.2250738585072011e-308",
]  # fmt: skip


def test_fast_path_scales_converts_and_sends_the_rest_row_by_row() -> None:
    rows = [
        {"point": "temp", "ts": T0, "received_at": T0, "raw": "500", "source": "s"},
        {"point": "temp", "ts": T0, "received_at": T0, "raw": "2500", "source": "s"},
        {"point": "pressure", "ts": T0, "received_at": T0, "raw": "7.5", "source": "s"},
        {"point": "pressure", "ts": T0, "received_at": T0, "raw": "250", "source": "s"},
    ]
    got = {r["raw"]: r for r in classify_table(landing(rows), POINTS).to_pylist()}
    # 500 * 0.1 + 1.5 = 51.5 degF, in Cel: the very double classify_sample gives
    expected = classify_sample("500", POINTS["temp"])
    assert isinstance(expected, Sample) and math.isclose(
        expected.value or 0, 10.833333, abs_tol=1e-5
    )
    assert got["500"]["value"] == expected.value
    assert got["500"]["unit"] == "Cel" and got["500"]["identifier"] == "88.118.8/CNC-01.temp"
    assert got["2500"]["reason"] == "out-of-range" and "above maximum 200" in got["2500"]["detail"]
    assert got["7.5"]["reason"] == "wrong-type" and "not an int" in got["7.5"]["detail"]
    assert got["250"]["value"] == 2.5 and got["250"]["unit"] == "bar"
    assert got["250"]["value_type"] == "int"


def test_extra_landing_columns_pass_through() -> None:
    schema = LANDING.append(pa.field("vibration", pa.float64()))
    rows = [
        {"point": "load", "ts": T0, "received_at": T0, "raw": "4", "vibration": 0.5},
        {"point": "door", "ts": T0, "received_at": T0, "raw": "on", "vibration": 0.7},
    ]
    got = classify_table(landing(rows, schema), POINTS, {"vibration": pa.float64()})
    assert sorted(got["vibration"].to_pylist()) == [0.5, 0.7]
    assert got.schema.names[-1] == "vibration"


def test_bronze_rows_keep_the_first_received_per_key() -> None:
    later = T0 + dt.timedelta(seconds=5)
    rows = [
        {"source": "s", "point": "load", "ts": T0, "received_at": later, "raw": "9"},
        {"source": "s", "point": "load", "ts": T0, "received_at": T0, "raw": "8"},
        {"source": "s", "point": "load", "ts": T0, "received_at": T0, "raw": "7"},
        {"source": "s", "point": "load", "ts": later, "received_at": later, "raw": "1"},
        {"source": "t", "point": "load", "ts": T0, "received_at": later, "raw": "2"},
    ]
    classified = classify_table(landing(rows), POINTS)
    bronze = bronze_rows(classified, 12)
    assert bronze.schema == BRONZE_SCHEMA
    got = sorted((r["source"], r["ts"], r["value"]) for r in bronze.to_pylist())
    assert got == [("s", T0, 7.0), ("s", later, 1.0), ("t", T0, 2.0)]
    assert set(bronze["batch_sequence"].to_pylist()) == {12}
    assert set(bronze["date"].to_pylist()) == {dt.date(2026, 11, 25)}


def test_first_per_key_of_nothing_and_of_one() -> None:
    empty = classify_table(landing([]), POINTS)
    assert first_per_key(empty).num_rows == 0
    assert bronze_rows(empty, 1).num_rows == 0


def test_quarantine_rows_name_the_source_origin_and_date() -> None:
    rows: list[dict[str, Any]] = [
        {"source": "x", "point": "temp", "ts": T0, "received_at": T0, "raw": "abc"},
        {"source": "x", "point": "temp", "ts": None, "received_at": T0, "raw": "1"},
    ]
    bad = classified_bad(classify_table(landing(rows), POINTS))
    out = quarantine_rows(bad, "cnc-01", 3, "batch-000000000003.parquet", dt.date(2026, 11, 30))
    assert out.schema == QUARANTINE_SCHEMA
    got = {r["raw"]: r for r in out.to_pylist()}
    assert got["abc"]["reason"] == "wrong-type" and got["abc"]["date"] == dt.date(2026, 11, 25)
    assert got["1"]["reason"] == "schema-mismatch" and got["1"]["date"] == dt.date(2026, 11, 30)
    assert {r["source"] for r in got.values()} == {"cnc-01"}
    assert {r["origin"] for r in got.values()} == {"batch-000000000003.parquet"}
    assert {r["batch_sequence"] for r in got.values()} == {3}


def test_a_batch_without_contract_columns_is_quarantined_whole() -> None:
    schema = pa.schema([("point", pa.string()), ("ts", pa.timestamp("us", tz="UTC"))])
    table = landing([{"point": "temp", "ts": T0}], schema)
    out = contract_breaking(table, ["raw", "quality"])
    row = out.to_pylist()[0]
    assert json.loads(row["raw"]) == {"point": "temp", "ts": "2026-11-25T23:59:00.000Z"}
    assert row["reason"] == "schema-mismatch" and "raw, quality" in row["detail"]


def test_new_rows_leave_out_keys_the_table_holds() -> None:
    rows = bronze_rows(
        classify_table(
            landing(
                [
                    {"source": "s", "point": "load", "ts": T0, "received_at": T0, "raw": "1"},
                    {
                        "source": "s",
                        "point": "load",
                        "ts": T0 + dt.timedelta(seconds=1),
                        "received_at": T0,
                        "raw": "2",
                    },
                ]
            ),
            POINTS,
        ),
        1,
    )
    existing = rows.select(["source", "point", "ts"]).slice(0, 1)
    kept = new_rows(rows, existing)
    assert kept.schema == rows.schema and kept["value"].to_pylist() == [2.0]


def test_retyped_extra_columns_cast_or_go_to_quarantine() -> None:
    schema = LANDING.append(pa.field("line", pa.string()))
    table = landing(
        [
            {"point": "load", "ts": T0, "received_at": T0, "raw": "1", "line": "7"},
            {"point": "load", "ts": T0, "received_at": T0, "raw": "2", "line": "seven"},
        ],
        schema,
    )
    good, bad = split_mistyped(table, SchemaDecision(retyped={"line": ("string", "bigint")}))
    assert good["line"].to_pylist() == [7] and good.schema.field("line").type == pa.int64()
    assert bad["raw"].to_pylist() == ["2"] and bad["reason"].to_pylist() == ["wrong-type"]
    assert "column line: seven is not bigint" in bad["detail"].to_pylist()[0]


def test_batch_rows_split_good_and_bad() -> None:
    job = IngestJob.from_spec(job_spec())
    table = landing(
        [
            {
                "source": "cnc-01",
                "point": "spindle_temp",
                "ts": T0,
                "received_at": T0,
                "raw": "41.5",
                "quality": "Good",
            },
            {
                "source": "cnc-01",
                "point": "spindle_temp",
                "ts": T0,
                "received_at": T0,
                "raw": "999",
                "quality": "Good",
            },
        ]
    )
    points = {p.name: p for p in job.points}
    good, bad = batch_rows(job, points, 4, table, [], SchemaDecision(), dt.date(2026, 11, 30))
    assert good["value"].to_pylist() == [41.5] and good["batch_sequence"].to_pylist() == [4]
    assert bad["reason"].to_pylist() == ["out-of-range"]
    assert bad["origin"].to_pylist() == ["batch-000000000004.parquet"]


def test_device_sources_default_to_the_native_engine_files_and_jdbc_to_spark() -> None:
    assert IngestJob.from_spec(job_spec()).engine == "native"
    assert IngestJob.from_spec(job_spec(engine="spark")).engine == "spark"
    files = job_spec(
        type="files", files={"prefix": "s3a://tenant-steel-plant/landing/drop/", "format": "csv"}
    )
    assert IngestJob.from_spec(files).engine == "spark"
    with pytest.raises(ValueError, match="engine native ingests opcua, modbus and mqtt"):
        IngestJob.from_spec({**files, "engine": "native"})
    with pytest.raises(ValueError, match="engine"):
        IngestJob.from_spec(job_spec(engine="duckdb"))


def test_runners_start_the_engines_entry_point() -> None:
    assert job_module(job_spec()) == "spark_jobs.ingest.native"
    assert job_module(job_spec(engine="spark")) == "spark_jobs.run"
    # a spec that does not parse goes to spark_jobs.run, which fails the run naming the field
    assert job_module(job_spec(target="/local")) == "spark_jobs.run"
    assert set(ENTRY_MODULES.values()) == {"spark_jobs.run", "spark_jobs.ingest.native"}
    from tests.unit.test_kubernetes_runner_build import SETTINGS

    script = build_driver_script(SETTINGS, "spark_jobs.ingest.native")
    assert "python -m spark_jobs.ingest.native /" in script
    assert "spark_jobs.run" not in script


def test_first_per_key_keeps_the_first_received_of_a_repeated_key_only() -> None:
    """The cheap no-repeat check must not let a repeat through: same (source, point, ts) in two
    sources or points is no repeat; the same key twice keeps the earlier received_at."""
    late = T0 + dt.timedelta(seconds=5)
    rows = pa.table(
        {
            "source": ["a", "b", "a", "a", "a"],
            "point": ["p", "p", "q", "p", "p"],
            "ts": pa.array([T0, T0, T0, T0 + dt.timedelta(seconds=1), T0],
                           pa.timestamp("us", tz="UTC")),
            "received_at": pa.array([late, T0, T0, T0, T0], pa.timestamp("us", tz="UTC")),
            "raw": ["2", "1", "1", "1", "1"],
        }
    )  # fmt: skip
    assert first_per_key(rows.slice(1, 3)).num_rows == 3  # no key repeats: passed as it is
    kept = first_per_key(rows)
    assert kept.num_rows == 4
    repeated = [r for r in kept.to_pylist() if r["source"] == "a" and r["point"] == "p"
                and r["ts"] == T0]  # fmt: skip
    assert [r["raw"] for r in repeated] == ["1"]  # received first


def test_a_group_keeps_each_key_from_its_earliest_batch_and_quarantines_past_a_sequence() -> None:
    later = T0 + dt.timedelta(seconds=5)

    def bronze(sequence: int, raws: list[tuple[dt.datetime, str]]) -> pa.Table:
        rows = [
            {"source": "s", "point": "load", "ts": ts, "received_at": ts, "raw": raw}
            for ts, raw in raws
        ]
        return bronze_rows(classify_table(landing(rows), POINTS), sequence)

    def bad(sequence: int) -> pa.Table:
        rows = [{"source": "s", "point": "nope", "ts": T0, "received_at": T0, "raw": "1"}]
        flagged = classified_bad(classify_table(landing(rows), POINTS))
        return quarantine_rows(flagged, "s", sequence, "b", dt.date(2026, 11, 30))

    group = BatchGroup(3)
    group.batches.append((7, bronze(7, [(T0, "1")]), bad(7)))
    group.batches.append((8, bronze(8, [(T0, "2"), (later, "3")]), bad(8)))
    assert not group.full()
    group.batches.append((9, bronze(9, [(later, "4")]), bronze(9, []).slice(0, 0)))
    assert group.full() and group.has_bad_rows()
    got = sorted((r["ts"], r["value"], r["batch_sequence"]) for r in group.good_rows().to_pylist())
    assert got == [(T0, 1.0, 7), (later, 3.0, 8)]
    assert group.bad_rows(after=7)["batch_sequence"].to_pylist() == [8]  # type: ignore[index]
    assert group.bad_rows(after=9) is None
    assert group.bad_rows(after=0).num_rows == 2  # type: ignore[union-attr]


def test_first_batch_per_key_leaves_unique_keys_alone() -> None:
    rows = [
        {"source": "s", "point": "load", "ts": T0 + dt.timedelta(seconds=i), "received_at": T0,
         "raw": str(i)}
        for i in range(4)
    ]  # fmt: skip
    table = bronze_rows(classify_table(landing(rows), POINTS), 1)
    assert first_batch_per_key(table).equals(table)


@pytest.mark.parametrize(
    ("keys", "unique"),
    [
        # one source, out of time order, no key twice
        ([("s", "load", 3), ("s", "temp", 3), ("s", "load", 1), ("s", "load", 2)], True),
        # one source, a key again far from its first
        ([("s", "load", 3), ("s", "temp", 1), ("s", "load", 2), ("s", "load", 3)], False),
        # two sources share (point, ts): different keys
        ([("a", "load", 1), ("b", "load", 1), ("a", "temp", 1)], True),
        # two sources, one of them repeats a key
        ([("a", "load", 1), ("b", "load", 1), ("b", "load", 1)], False),
        # ts decades apart: the one-integer key would not fit, the general check answers
        ([("s", "load", 0), ("s", "load", 2**42), ("s", "temp", 0)], True),
        ([("s", "load", 0), ("s", "load", 2**42), ("s", "load", 0)], False),
    ],
)
def test_first_per_key_finds_repeated_keys_in_any_order(
    keys: list[tuple[str, str, int]], unique: bool
) -> None:
    table = pa.table(
        {
            "source": [s for s, _p, _t in keys],
            "point": [p for _s, p, _t in keys],
            "ts": pa.array([t * 1_000_000 for _s, _p, t in keys], pa.timestamp("us", tz="UTC")),
            "received_at": pa.array(range(len(keys)), pa.timestamp("us", tz="UTC")),
            "raw": [str(i) for i in range(len(keys))],
        }
    )
    kept = first_per_key(table)
    assert kept.num_rows == len({(s, p, t) for s, p, t in keys})
    assert (kept.num_rows == table.num_rows) == unique
