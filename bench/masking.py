"""Five masked columns: our built-in expressions against the unmasked projection and against the
same masks as Python UDFs, in one run and one Spark session (issue 22, must-show 6).

`python -m bench.masking [--rows N] [--udf-rows M] [--repeat R] [--record]` (default 10M rows).

1. Spark (local[2], the jobs' configuration) writes the table once as Parquet: the product a
   governed copy reads (lot id, operator, serial, weight, made, plant).
2. Three projections of the same five columns, each read from those files and run to the end
   with the `noop` sink (all rows computed, nothing written), best of R, interleaved:
   - unmasked: the five columns as they are (reading and projecting: the goal's baseline);
   - one SHA-256: the same, with the lot column replaced by one unkeyed sha2(lot, 256). A keyed
     hash needs at least one SHA-256 per value (HMAC, which HASH is, needs two), so this is the
     floor under any HASH mask, the other four masks costing nothing;
   - masked: nidc.governance.masking.mask_expression for HASH (lot), SHOW_LAST_4 (operator),
     MASK (serial), GENERALIZE 10 (weight), DATE_SHOW_YEAR (made);
   - UDF: the same five masks as row-at-a-time Python UDFs (pyspark.sql.functions.udf), as
     a masking layer without built-ins would write them. On this 2-core machine it runs on the
     first `--udf-rows` rows (default: all), and its rate is compared per row.
Goals: masked within 1.2x of unmasked; at least 10x the UDF's rows per second.

`--record` replaces the "Issue 22: masking" section of docs/benchmarks.md with the table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import hmac
import json
import math
import os
import platform as host
import shutil
import tempfile
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F  # noqa: N812 (the PySpark convention)
from pyspark.sql.types import StringType, TimestampType

from bench.recording import record_section
from nidc.api.column_mask import ColumnMask, MaskType
from nidc.governance.masking import HashKey, ProductColumn, mask_expression
from spark_jobs.session import ObjectStore, build_spark_conf, create_session

SECTION = "## Issue 22: masking (bench/masking.py)"
KEY = HashKey(hashlib.sha256(b"bench-masking").digest())
MASKS = [
    (ProductColumn("lot", "string", 2), ColumnMask(column="lot", type=MaskType.HASH)),
    (
        ProductColumn("operator", "string", 2),
        ColumnMask(column="operator", type=MaskType.SHOW_LAST_4),
    ),
    (ProductColumn("serial", "string", 2), ColumnMask(column="serial", type=MaskType.MASK)),
    (
        ProductColumn("weight", "double", 2),
        ColumnMask(column="weight", type=MaskType.GENERALIZE, width=10),
    ),
    (
        ProductColumn("made", "timestamp", 2),
        ColumnMask(column="made", type=MaskType.DATE_SHOW_YEAR),
    ),
]
NAMES = [column.name for column, _ in MASKS]


def session() -> SparkSession:
    """The jobs' Spark configuration (no Delta: the bench reads and writes no Delta table)."""
    conf = build_spark_conf(ObjectStore(endpoint="http://127.0.0.1:1"), [], "bench-masking")
    conf.pop("spark.sql.extensions")
    conf.pop("spark.sql.catalog.spark_catalog")
    spark = create_session(conf)
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    return spark


def table(spark: SparkSession, rows: int) -> DataFrame:
    """The product: ids, a Chinese-and-ASCII operator name, a serial, a weight, a timestamp."""
    return spark.range(rows).select(
        F.format_string("LOT-%09d", F.col("id")).alias("lot"),
        F.concat(F.lit("操作员"), F.lit("-Li-"), (F.col("id") % 9973).cast("string")).alias(
            "operator"
        ),
        F.format_string("SN-%04d-%08X", F.col("id") % 10000, F.col("id")).alias("serial"),
        (F.col("id") % 100000 / 7.0).alias("weight"),
        F.timestamp_seconds(F.lit(1_600_000_000) + F.col("id") * 13).alias("made"),
        F.when(F.col("id") % 3 == 0, "wuhan").otherwise("shanghai").alias("plant"),
    )


# --- the same masks in Python (what a UDF-based masking layer runs per row) --------------------


def hide(text: str, upper: str, lower: str, digit: str) -> str:
    out = []
    for char in text:
        if char.isupper():
            out.append(upper)
        elif char.islower() or unicodedata.category(char).startswith("L"):
            out.append(lower)
        elif char.isdigit():
            out.append(digit)
        else:
            out.append(char)
    return "".join(out)


def udf_hash(value: str | None) -> str | None:
    if value is None:
        return None
    return hmac.new(KEY.secret, value.encode(), hashlib.sha256).hexdigest()


def udf_show_last_4(value: str | None) -> str | None:
    if value is None:
        return None
    return hide(value[:-4], "x", "x", "x") + value[-4:] if len(value) > 4 else value


def udf_mask(value: str | None) -> str | None:
    return None if value is None else hide(value, "X", "x", "n")


def udf_generalize(value: float | None) -> str | None:
    if value is None:
        return None
    low = int(math.floor(value / 10) * 10)
    return f"{low}-{low + 10}"


def udf_year(value: dt.datetime | None) -> dt.datetime | None:
    return None if value is None else value.replace(month=1, day=1, hour=0, minute=0, second=0)


UDFS: list[Callable[..., Any]] = [
    F.udf(udf_hash, StringType()),
    F.udf(udf_show_last_4, StringType()),
    F.udf(udf_mask, StringType()),
    F.udf(udf_generalize, StringType()),
    F.udf(udf_year, TimestampType()),
]


def unmasked(frame: DataFrame) -> DataFrame:
    return frame.select(*NAMES)


def one_sha256(frame: DataFrame) -> DataFrame:
    return frame.select(F.sha2(F.col("lot"), 256).alias("lot"), *NAMES[1:])


def masked(frame: DataFrame) -> DataFrame:
    return frame.selectExpr(*(mask_expression(c, m, KEY) for c, m in MASKS))


def python_udfs(frame: DataFrame) -> DataFrame:
    return frame.select(*(f(F.col(n)).alias(n) for f, n in zip(UDFS, NAMES, strict=True)))


def timed(frame: DataFrame) -> float:
    start = time.perf_counter()
    frame.write.format("noop").mode("overwrite").save()
    return time.perf_counter() - start


def agree(spark: SparkSession, parquet: str) -> bool:
    """The UDFs compute what the expressions do (on 1,000 rows), so the race is fair."""
    sample = spark.read.parquet(parquet).limit(1000).cache()
    ours = sorted(masked(sample).collect())
    theirs = sorted(python_udfs(sample).collect())
    sample.unpersist()
    return ours == theirs


def measure(rows: int, udf_rows: int, repeat: int, workdir: Path) -> dict[str, Any]:
    spark = session()
    parquet = str(workdir / "product.parquet")
    figures: dict[str, Any] = {
        "rows": rows,
        "udf_rows": udf_rows,
        "repeat": repeat,
        "load_before": os.getloadavg(),
    }
    start = time.perf_counter()
    table(spark, rows).write.mode("overwrite").parquet(parquet)
    figures["write_parquet_s"] = time.perf_counter() - start
    figures["udfs_agree"] = agree(spark, parquet)
    runs: dict[str, list[float]] = {"unmasked": [], "one_sha256": [], "masked": [], "udf": []}
    for _ in range(repeat):
        source = spark.read.parquet(parquet)
        runs["unmasked"].append(timed(unmasked(source)))
        runs["one_sha256"].append(timed(one_sha256(source)))
        runs["masked"].append(timed(masked(source)))
    udf_source = spark.read.parquet(parquet)
    if udf_rows < rows:
        udf_source = udf_source.limit(udf_rows)
    runs["udf"].append(timed(python_udfs(udf_source)))
    spark.stop()
    figures["runs"] = runs
    figures["load_after"] = os.getloadavg()
    return figures


def render(figures: dict[str, Any], command: str) -> str:
    rows, udf_rows = figures["rows"], figures["udf_rows"]
    best = {name: min(times) for name, times in figures["runs"].items()}
    rate = {
        "unmasked": rows / best["unmasked"],
        "one_sha256": rows / best["one_sha256"],
        "masked": rows / best["masked"],
        "udf": udf_rows / best["udf"],
    }
    over_floor = best["masked"] / best["unmasked"]
    sha_floor = best["one_sha256"] / best["unmasked"]
    over_udf = rate["masked"] / rate["udf"]
    lines = [
        SECTION,
        "",
        f"`{command}` on {dt.date.today().isoformat()}, {host.node()}: {rows:,} rows, five "
        f"masked columns (HASH, SHOW_LAST_4, MASK, GENERALIZE 10, DATE_SHOW_YEAR) read from "
        f"Parquet and run to Spark's noop sink, local[2], best of {figures['repeat']} "
        f"(UDF: one run on {udf_rows:,} rows); load average {figures['load_before'][0]:.1f} "
        f"before, {figures['load_after'][0]:.1f} after (2 cores, shared with other work).",
        "",
        "| projection | rows | best s | all runs (s) | rows/s |",
        "|---|---|---|---|---|",
    ]
    for name in ("unmasked", "one_sha256", "masked", "udf"):
        count = udf_rows if name == "udf" else rows
        runs_text = ", ".join(f"{s:.1f}" for s in figures["runs"][name])
        lines.append(f"| {name} | {count:,} | {best[name]:.1f} | {runs_text} | {rate[name]:,.0f} |")
    lines += [
        "",
        f"Masked / unmasked: **{over_floor:.2f}x** (goal within 1.2x: "
        f"{'met' if over_floor <= 1.2 else 'not met'}). Masked rows/s over the UDF's: "
        f"**{over_udf:.1f}x** (goal >= 10x: {'met' if over_udf >= 10 else 'not met'}). "
        f"The UDFs give the expressions' values on a 1,000-row sample: "
        f"{figures['udfs_agree']}. Writing the product as Parquet took "
        f"{figures['write_parquet_s']:.1f} s.",
        "",
        f"The floor under any keyed-hash mask, one unkeyed SHA-256 of the lot column with the "
        f"other four columns unmasked: **{sha_floor:.2f}x** unmasked, "
        + (
            "already over the 1.2x goal: no HASH mask can meet it in this engine."
            if sha_floor > 1.2
            else "under the 1.2x goal: the goal is within reach of a cheaper mask."
        ),
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--udf-rows", type=int, default=0, help="UDF arm's rows (0: --rows)")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()
    udf_rows = args.udf_rows or args.rows
    workdir = Path(tempfile.mkdtemp(prefix="bench-masking-"))
    try:
        figures = measure(args.rows, udf_rows, args.repeat, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    command = (
        f"python -m bench.masking --rows {args.rows} --udf-rows {udf_rows} --repeat {args.repeat}"
    )
    text = render(figures, command)
    print(json.dumps(figures, default=str))
    print(text)
    if args.record:
        record_section(SECTION, text)


if __name__ == "__main__":
    main()
