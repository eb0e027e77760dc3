"""Classify a landing batch column-wise with Arrow compute, with exactly the Spark path's rules.

The rules are values.classify_sample's. Most device samples are plain numbers of a mapped
numeric point within range: those are parsed (by Arrow, whose finite numbers are float()'s),
scaled, range-checked and unit-converted here for whole columns at once (the same float
operations in the same order, so the stored doubles are bit-for-bit the ones classify_sample
gives). Every other sample (JSON payloads, bool and string points, unmapped points, anything
out of range or not a finite number) goes through values.classify_batch row by row, so reasons
and details come from one place. Output order is not input order (deduplication orders
explicitly).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
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

# A plain decimal number, as Python's float() and Arrow's cast read it alike: the fast path's
# rows when some sample of the batch is not a number Arrow reads. Anything else (blanks,
# underscores, inf/nan, long exponents) takes the row-by-row path.
PLAIN_NUMBER = r"^-?[0-9]{1,20}(\.[0-9]{1,20})?([eE][-+]?[0-9]{1,2})?$"
NUMERIC = (PointType.DOUBLE.value, PointType.INT.value)


@dataclass(frozen=True)
class NumericPoints:
    """The numeric points, one entry each: names and strings as Arrow arrays (taken per row),
    numbers as numpy arrays (indexed per row: a gather of a few numbers costs far less than
    Arrow's take of a table). A missing minimum/maximum is -inf/+inf, which no finite value
    crosses, as classify_sample skips the check."""

    names: pa.Array
    types: pa.Array
    identifiers: pa.Array
    units: pa.Array
    is_int: np.ndarray
    scale: np.ndarray
    offset: np.ndarray
    minimum: np.ndarray
    maximum: np.ndarray
    factor: np.ndarray
    shift: np.ndarray
    convert: np.ndarray

    @classmethod
    def of(cls, points: Mapping[str, Point]) -> NumericPoints:
        numeric = [p for p in points.values() if str(p.data_type) in NUMERIC]
        conversions = [unit_conversion(p.unit) for p in numeric]

        def numbers(values: list[float]) -> np.ndarray:
            return np.array(values, dtype=np.float64)

        return cls(
            names=pa.array([p.name for p in numeric], pa.string()),
            types=pa.array([str(p.data_type) for p in numeric], pa.string()),
            identifiers=pa.array([p.identifier for p in numeric], pa.string()),
            units=pa.array(
                [c[0] if c else p.unit for p, c in zip(numeric, conversions, strict=True)],
                pa.string(),
            ),
            is_int=np.array([str(p.data_type) == PointType.INT.value for p in numeric], bool),
            scale=numbers([float(p.scale) for p in numeric]),
            offset=numbers([float(p.offset) for p in numeric]),
            minimum=numbers([-math.inf if p.minimum is None else p.minimum for p in numeric]),
            maximum=numbers([math.inf if p.maximum is None else p.maximum for p in numeric]),
            factor=numbers([c[1] if c else 1.0 for c in conversions]),
            shift=numbers([c[2] if c else 0.0 for c in conversions]),
            convert=np.array([c is not None for c in conversions], bool),
        )


def _fast_rows(table: pa.Table, known: NumericPoints) -> tuple[pa.Array, pa.Array, Any]:
    """Each row's index into the numeric points, which rows may take the fast path (mapped
    numeric point, a timestamp, a number), and those rows' numbers when they parse at once
    (None: the caller casts the fast rows' raw)."""
    index = pc.index_in(table["point"], value_set=known.names)
    mapped = pc.and_(
        pc.and_(pc.is_valid(index), pc.is_valid(table["ts"])), pc.is_valid(table["raw"])
    )
    try:
        # Arrow reads a subset of what float() reads, and every finite number it reads is
        # float()'s own (both round correctly; tests/unit/test_native_ingest.py tries it on
        # odd strings). What it reads as nan or inf fails the finite check: row by row.
        return index, mapped, pc.cast(_kept(table["raw"], mapped), pa.float64())
    except pa.ArrowInvalid:
        # Something Arrow does not read (blanks, underscores, JSON, text): the plain-number
        # pattern picks the rows it reads alike.
        plain = pc.fill_null(pc.match_substring_regex(table["raw"], PLAIN_NUMBER), False)
        return index, pc.and_(mapped, plain), None


def classify_table(
    table: pa.Table,
    points: Mapping[str, Point],
    extra_columns: Mapping[str, pa.DataType] | None = None,
) -> pa.Table:
    """values.classify_batch's output (classified_schema) for a whole landing table."""
    schema = classified_schema(extra_columns)
    names = list(LANDING_COLUMNS) + list(extra_columns or {})
    table = table.select(names).combine_chunks()
    known = NumericPoints.of(points)
    index, candidate, numbers = _fast_rows(table, known)
    fast = _kept(table, candidate)
    slow_mask = pc.invert(candidate)
    if fast.num_rows:
        chosen = _kept(index, candidate)
        at = np.asarray(chosen.combine_chunks() if isinstance(chosen, pa.ChunkedArray) else chosen)
        # The same float operations, in the same order, as classify_sample (numpy neither
        # fuses nor reorders them): the stored doubles are bit-for-bit its own.
        if numbers is None:
            numbers = pc.cast(fast["raw"], pa.float64())
        number = numbers.to_numpy()
        scaled = number * known.scale[at] + known.offset[at]
        with np.errstate(invalid="ignore"):
            good = np.isfinite(number) & (~known.is_int[at] | (np.floor(number) == number))
            good &= (scaled >= known.minimum[at]) & (scaled <= known.maximum[at])
        value = np.where(known.convert[at], scaled * known.factor[at] + known.shift[at], scaled)
        # Rows the fast path cannot vouch for (out of range, not an int) are redone row by row.
        good_mask = pa.array(good)
        slow_mask = pc.or_(slow_mask, _scatter(candidate, pc.invert(good_mask)))
        kept = pa.array(at[good])
        columns = {
            **{n: _kept(fast[n], good_mask) for n in LANDING_COLUMNS},
            "identifier": known.identifiers.take(kept),
            "value": pa.array(value[good], pa.float64()),
            "value_type": known.types.take(kept),
            "unit": known.units.take(kept),
        }
        rows = len(columns["value"])
        for name in ("value_text", "reason", "detail"):
            columns[name] = pa.nulls(rows, pa.string())
        for name in extra_columns or {}:
            columns[name] = _kept(fast[name], good_mask)
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
