"""Bronze and quarantine rows of one landing batch, as Arrow tables (pure).

The same shapes as the Spark path (spark_jobs/ingest/landing.py, quarantine.py): bronze keeps
one row per (source, point, ts), the first received (order received_at, raw); quarantine rows
carry the reason, the detail, the raw payload, the batch and its file.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from spark_jobs.ingest.values import LANDING_COLUMNS, Reason

BRONZE_SCHEMA = pa.schema(
    [
        ("source", pa.string()),
        ("point", pa.string()),
        ("identifier", pa.string()),
        ("ts", pa.timestamp("us", tz="UTC")),
        ("received_at", pa.timestamp("us", tz="UTC")),
        ("value", pa.float64()),
        ("value_text", pa.string()),
        ("value_type", pa.string()),
        ("unit", pa.string()),
        ("quality", pa.string()),
        ("batch_sequence", pa.int64()),
        ("date", pa.date32()),
    ]
)
QUARANTINE_SCHEMA = pa.schema(
    [
        ("source", pa.string()),
        ("point", pa.string()),
        ("identifier", pa.string()),
        ("ts", pa.timestamp("us", tz="UTC")),
        ("received_at", pa.timestamp("us", tz="UTC")),
        ("raw", pa.string()),
        ("quality", pa.string()),
        ("reason", pa.string()),
        ("detail", pa.string()),
        ("batch_sequence", pa.int64()),
        ("origin", pa.string()),
        ("date", pa.date32()),
    ]
)
PARTITIONS = ["date", "source"]
KEY = ["source", "point", "ts"]


def utc_date(ts: pa.ChunkedArray | pa.Array) -> pa.Array:
    """The UTC date of each timestamp (Spark's to_date under the jobs' UTC session zone)."""
    return pc.cast(pc.cast(ts, pa.timestamp("us")), pa.date32())


def _same_as_previous(column: pa.Array) -> pa.BooleanArray:
    """For rows 1..n-1: equal to the row before (two nulls are equal, as in a Spark window)."""
    before, after = column.slice(0, len(column) - 1), column.slice(1)
    equal = pc.fill_null(pc.equal(before, after), False)
    both_null = pc.and_(pc.is_null(before), pc.is_null(after))
    result: pa.BooleanArray = pc.or_(equal, both_null)
    return result


def first_per_key(rows: pa.Table) -> pa.Table:
    """One row per (source, point, ts): the first by (received_at, raw).

    Most batches repeat no key: a sort of the keys' codes says so cheaply. Otherwise a hash
    count finds the keys that repeat (after a collector restart, a few); only their rows are
    sorted, the rest pass as they are."""
    if rows.num_rows < 2 or _keys_unique(rows):
        return rows
    counts = rows.select(KEY).group_by(KEY, use_threads=False).aggregate([([], "count_all")])
    if counts.num_rows == rows.num_rows:
        return rows
    repeated = counts.filter(pc.greater(counts["count_all"], 1)).select(KEY)
    single = rows.join(repeated, keys=KEY, join_type="left anti").select(rows.column_names)
    several = rows.join(repeated, keys=KEY, join_type="left semi").select(rows.column_names)
    return pa.concat_tables([single, _first_of_sorted(several)])


def first_batch_per_key(rows: pa.Table) -> pa.Table:
    """One row per (source, point, ts) of rows concatenated in batch order, each batch's keys
    already unique: the row of the earliest batch (the first occurrence) is kept."""
    if rows.num_rows < 2 or _keys_unique(rows):
        return rows
    positions = rows.select(KEY).append_column(
        "position", pa.array(np.arange(rows.num_rows, dtype=np.int64))
    )
    first = positions.group_by(KEY, use_threads=False).aggregate([("position", "min")])
    return rows.take(np.sort(first["position_min"].to_numpy()))


def _keys_unique(rows: pa.Table) -> bool:
    """True when no (source, point, ts) repeats; False may also mean "not sure" (nulls)."""
    if any(rows[name].null_count for name in KEY):
        return False
    ts = rows["ts"].combine_chunks().cast(pa.int64()).to_numpy()
    point = _codes(rows["point"])
    source = rows["source"].combine_chunks()
    span, points = int(ts.max() - ts.min()) + 1, int(point.max()) + 1
    if pc.all(pc.equal(source, source[0])).as_py() and span < 2**62 // points:
        # One source (a device batch always): (ts, point) as one integer, sorted by a sort that
        # takes ordered runs as they are (batches mostly come in time order).
        keys = np.sort((ts - ts.min()) * points + point, kind="stable")
        return not bool((keys[1:] == keys[:-1]).any())
    codes = [_codes(rows["source"]), point]
    order = np.lexsort((ts, *codes))
    same = ts[order][1:] == ts[order][:-1]
    for code in codes:
        same &= code[order][1:] == code[order][:-1]
    return not bool(same.any())


def _codes(column: pa.ChunkedArray) -> np.ndarray:
    """Each value's code (equal values, equal codes), as int64."""
    indices = pc.dictionary_encode(column.combine_chunks()).indices
    codes: np.ndarray = indices.to_numpy().astype(np.int64)
    return codes


def _first_of_sorted(rows: pa.Table) -> pa.Table:
    if rows.num_rows < 2:
        return rows
    # Nulls first, as Spark orders them ascending.
    order = [(name, "ascending", "at_start") for name in [*KEY, "received_at", "raw"]]
    ordered = rows.take(pc.sort_indices(rows, sort_keys=order))
    ordered = ordered.combine_chunks()
    repeat = pa.repeat(pa.scalar(True), rows.num_rows - 1)
    for name in KEY:
        repeat = pc.and_(repeat, _same_as_previous(ordered[name].chunk(0)))
    keep = pa.concat_arrays([pa.array([True]), pc.invert(repeat)])
    return ordered.filter(keep)


def bronze_rows(classified: pa.Table, sequence: int, extras: Sequence[str] = ()) -> pa.Table:
    """The good rows of a classified batch, deduplicated, in bronze's columns."""
    reason = classified["reason"]
    good = classified if reason.null_count == len(reason) else classified.filter(pc.is_null(reason))
    good = first_per_key(good)
    rows = good.num_rows
    columns: dict[str, Any] = {
        name: good[name] for name in BRONZE_SCHEMA.names if name not in ("batch_sequence", "date")
    }
    columns["batch_sequence"] = pa.repeat(pa.scalar(sequence, pa.int64()), rows)
    columns["date"] = utc_date(good["ts"])
    for name in extras:
        columns[name] = good[name]
    schema = pa.schema([*BRONZE_SCHEMA, *(good.schema.field(n) for n in extras)])
    return pa.table({name: columns[name] for name in schema.names}).cast(schema)


def quarantine_rows(
    bad: pa.Table, source: str, sequence: int | None, origin: str, today: dt.date
) -> pa.Table:
    """Bad records (landing columns, reason, detail) in the quarantine table's columns.

    `source` is the DataSource's name (the Spark path writes it so too); `date` is the UTC
    date of ts, or today for a record without one."""
    rows = bad.num_rows
    if rows == 0:
        return QUARANTINE_SCHEMA.empty_table()  # most batches
    date = pc.fill_null(utc_date(bad["ts"]), pa.scalar(today, pa.date32()))
    columns: dict[str, Any] = {
        name: bad[name] for name in QUARANTINE_SCHEMA.names if name in bad.column_names
    }
    columns["source"] = pa.array([source] * rows, pa.string())
    columns["batch_sequence"] = pa.array([sequence] * rows, pa.int64())
    columns["origin"] = pa.array([origin] * rows, pa.string())
    columns["date"] = date
    return pa.table({n: columns[n] for n in QUARANTINE_SCHEMA.names}).cast(QUARANTINE_SCHEMA)


def classified_bad(classified: pa.Table) -> pa.Table:
    """The rejected rows of a classified batch: landing columns, reason, detail."""
    bad = classified.filter(pc.is_valid(classified["reason"]))
    return bad.select([*LANDING_COLUMNS, "reason", "detail"])


def _json_value(value: object) -> object:
    if isinstance(value, dt.datetime):
        # Spark's to_json form of a timestamp in the UTC session zone.
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
            f"{value.microsecond // 1000:03d}Z"
        )
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def contract_breaking(landing: pa.Table, missing: Sequence[str]) -> pa.Table:
    """A batch lacking landing columns, kept whole in quarantine: the columns it has, the row as
    JSON in `raw` (nulls left out, as Spark's to_json does), reason schema-mismatch."""
    rows = landing.to_pylist()
    columns: dict[str, Any] = {}
    for name, kind in LANDING_COLUMNS.items():
        if name == "raw":
            continue
        columns[name] = landing[name] if name in landing.column_names else pa.nulls(len(rows), kind)
    columns["raw"] = pa.array(
        [
            json.dumps(
                {k: _json_value(v) for k, v in row.items() if v is not None},
                separators=(",", ":"),
            )
            for row in rows
        ],
        pa.string(),
    )
    columns["reason"] = pa.array([Reason.SCHEMA_MISMATCH.value] * len(rows), pa.string())
    detail = f"batch lacks landing column(s) {', '.join(missing)}"
    columns["detail"] = pa.array([detail] * len(rows), pa.string())
    names = [*LANDING_COLUMNS, "reason", "detail"]
    return pa.table({n: columns[n] for n in names}).cast(
        pa.schema([*(pa.field(n, t) for n, t in LANDING_COLUMNS.items()),
                   ("reason", pa.string()), ("detail", pa.string())])
    )  # fmt: skip
