"""Classify a landing batch column-wise with Arrow compute, with exactly the Spark path's rules.

The rules are values.classify_sample's. Most device samples are plain numbers of a mapped
numeric point within range: those are parsed, scaled, range-checked and unit-converted here for
whole columns at once (the same float operations in the same order, so the stored doubles are
bit-for-bit the ones classify_sample gives). Every other sample (JSON payloads, bool and string
points, unmapped points, anything out of range or not plainly numeric) goes through
values.classify_batch row by row, so reasons and details come from one place. Output order is
not input order (deduplication orders explicitly).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from nidc.api.data_source import Point, PointType
from spark_jobs.ingest.values import (
    CLASSIFIED_EXTRA,
    LANDING_COLUMNS,
    classified_schema,
    classify_batch,
    unit_conversion,
)

# A plain decimal number, as Python's float() and Arrow's cast read it alike. Anything else
# (blanks, underscores, inf/nan, long exponents) takes the row-by-row path.
PLAIN_NUMBER = r"^-?[0-9]{1,20}(\.[0-9]{1,20})?([eE][-+]?[0-9]{1,2})?$"
NUMERIC = (PointType.DOUBLE.value, PointType.INT.value)


def _point_table(points: Mapping[str, Point]) -> pa.Table:
    """One row per numeric point: its name and what the fast path needs of it."""
    names, types, identifiers, scales, offsets = [], [], [], [], []
    minimums, maximums, units, factors, shifts, converts = [], [], [], [], [], []
    for name, point in points.items():
        if str(point.data_type) not in NUMERIC:
            continue
        conversion = unit_conversion(point.unit)
        names.append(name)
        types.append(str(point.data_type))
        identifiers.append(point.identifier)
        scales.append(float(point.scale))
        offsets.append(float(point.offset))
        minimums.append(point.minimum)
        maximums.append(point.maximum)
        units.append(conversion[0] if conversion else point.unit)
        factors.append(conversion[1] if conversion else 1.0)
        shifts.append(conversion[2] if conversion else 0.0)
        converts.append(conversion is not None)
    return pa.table(
        {
            "name": pa.array(names, pa.string()),
            "type": pa.array(types, pa.string()),
            "identifier": pa.array(identifiers, pa.string()),
            "scale": pa.array(scales, pa.float64()),
            "offset": pa.array(offsets, pa.float64()),
            "minimum": pa.array(minimums, pa.float64()),
            "maximum": pa.array(maximums, pa.float64()),
            "unit": pa.array(units, pa.string()),
            "factor": pa.array(factors, pa.float64()),
            "shift": pa.array(shifts, pa.float64()),
            "convert": pa.array(converts, pa.bool_()),
        }
    )


def _fast_rows(table: pa.Table, points: Mapping[str, Point]) -> tuple[pa.Table, pa.Array, pa.Array]:
    """The numeric points' attributes, each row's index into them, and which rows may take
    the fast path (mapped numeric point, a timestamp, a plain number)."""
    known = _point_table(points)
    index = pc.index_in(table["point"], value_set=known["name"])
    candidate = pc.and_(
        pc.and_(pc.is_valid(index), pc.is_valid(table["ts"])),
        pc.fill_null(pc.match_substring_regex(table["raw"], PLAIN_NUMBER), False),
    )
    return known, index, candidate


def classify_table(
    table: pa.Table,
    points: Mapping[str, Point],
    extra_columns: Mapping[str, pa.DataType] | None = None,
) -> pa.Table:
    """values.classify_batch's output (classified_schema) for a whole landing table."""
    schema = classified_schema(extra_columns)
    names = list(LANDING_COLUMNS) + list(extra_columns or {})
    table = table.select(names).combine_chunks()
    known, index, candidate = _fast_rows(table, points)
    fast = _kept(table, candidate)
    slow_mask = pc.invert(candidate)
    if fast.num_rows:
        # Only the numeric attributes are taken per row; strings come per point below.
        chosen = _kept(index, candidate)
        attrs = known.select(
            ["scale", "offset", "minimum", "maximum", "factor", "shift", "convert"]
        ).take(chosen)
        is_int = pc.equal(known["type"].take(chosen), PointType.INT.value)
        number = pc.cast(fast["raw"], pa.float64())
        scaled = pc.add(pc.multiply(number, attrs["scale"]), attrs["offset"])
        good = pc.is_finite(number)
        good = pc.and_(good, pc.or_(pc.invert(is_int), pc.equal(pc.floor(number), number)))
        good = pc.and_(good, pc.fill_null(pc.greater_equal(scaled, attrs["minimum"]), True))
        good = pc.and_(good, pc.fill_null(pc.less_equal(scaled, attrs["maximum"]), True))
        converted = pc.add(pc.multiply(scaled, attrs["factor"]), attrs["shift"])
        value = pc.if_else(attrs["convert"], converted, scaled)
        # Rows the fast path cannot vouch for (out of range, not an int) are redone row by row.
        slow_mask = pc.or_(slow_mask, _scatter(candidate, pc.invert(good)))
        kept = _kept(chosen, good)
        columns = {
            **{n: _kept(fast[n], good) for n in LANDING_COLUMNS},
            "identifier": known["identifier"].take(kept),
            "value": _kept(value, good),
            "value_type": known["type"].take(kept),
            "unit": known["unit"].take(kept),
        }
        rows = len(columns["value"])
        for name in ("value_text", "reason", "detail"):
            columns[name] = pa.nulls(rows, pa.string())
        for name in extra_columns or {}:
            columns[name] = _kept(fast[name], good)
        fast_out = pa.table({f.name: columns[f.name] for f in schema}).cast(schema)
    else:
        fast_out = schema.empty_table()
    if not pc.any(slow_mask).as_py():
        return fast_out  # every row took the fast path (most batches)
    slow = table.filter(slow_mask)
    parts = [fast_out]
    for batch in slow.to_batches():
        parts.append(pa.Table.from_batches([classify_batch(batch, points, extra_columns)]))
    return pa.concat_tables(parts).combine_chunks()


def _kept(values: Any, mask: Any) -> Any:
    """values.filter(mask), without the copy when the mask keeps everything (most batches)."""
    if mask.null_count == 0 and pc.all(mask).as_py():
        return values
    return values.filter(mask)


def _scatter(mask: pa.Array, values: pa.Array) -> pa.Array:
    """A full-length boolean: `values` (one per True of `mask`) at mask's True places."""
    nothing = pa.repeat(pa.scalar(False), len(mask))
    if isinstance(mask, pa.ChunkedArray):
        mask = mask.combine_chunks()
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    return pc.replace_with_mask(nothing, mask, values)


def classified_columns() -> list[str]:
    """classify_table's fixed columns, in order (extras follow)."""
    return list(LANDING_COLUMNS) + list(CLASSIFIED_EXTRA)
