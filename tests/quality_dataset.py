"""A lot table with a clean twin and a twin seeded with one defect per quality rule (issue 20).

Shared by the quality job's Spark tests (unit: the aggregate pass; integration: Delta history
and quarantine). Every defect is planted where exactly one rule looks.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from nidc.api.quality_rules import QualityRule

NOW = dt.datetime(2026, 11, 30, 4, 0, tzinfo=dt.UTC)
CLEAN_ROWS = 1000
COLUMNS = (
    "lot_id string, code string, line string, weight double, weight_unit string, "
    "order_id string, start_ts timestamp, end_ts timestamp, ts timestamp, operator string"
)
ORDERS = [(f"O{i:04d}",) for i in range(50)]

RULES = [
    QualityRule(name="lot-present", check="notNull", column="lot_id"),
    QualityRule(name="weight-plausible", check="range", column="weight", minimum=0, maximum=50),
    QualityRule(name="code-shape", check="regex", column="code", pattern="[A-Z]{2}-[0-9]{4}"),
    QualityRule(
        name="known-line", check="allowedValues", column="line", allowedValues=["L1", "L2", "L3"]
    ),
    QualityRule(name="weighed-in-kg", check="unit", column="weight_unit", unit="kg"),
    QualityRule(name="lot-unique", check="unique", column="lot_id"),
    QualityRule(name="lot-line-unique", check="unique", columns=["lot_id", "line"]),
    QualityRule(
        name="order-known",
        check="referential",
        column="order_id",
        reference={"product": "orders", "column": "order_id"},
    ),
    QualityRule(name="ends-after-start", check="sql", sql="end_ts >= start_ts"),
    QualityRule(name="fresh", check="freshness", column="ts", maxAge="1d"),
    QualityRule(name="has-rows", check="rowCount", minimum=1),
    QualityRule(name="steady-volume", check="volume", lookback=5),
    QualityRule(
        name="kept-columns",
        check="schema",
        expectedColumns=[
            {"name": "lot_id", "type": "string"},
            {"name": "weight", "type": "double"},
            {"name": "operator", "type": "string"},
        ],
    ),
]
# Five earlier runs of about the clean size: the volume rule's history.
PAST_ROW_COUNTS = [1000.0, 990.0, 1010.0, 1000.0, 1005.0]
FLOOR = 0.99


def clean_rows(count: int = CLEAN_ROWS, now: dt.datetime = NOW) -> list[tuple[Any, ...]]:
    rows = []
    for i in range(count):
        start = now - dt.timedelta(hours=6, minutes=i % 300)
        rows.append(
            (
                f"LOT{i:05d}",
                f"{'AB' if i % 2 else 'CD'}-{i % 10000:04d}",
                f"L{1 + i % 3}",
                1.0 + (i % 40),
                "kg",
                f"O{i % 50:04d}",
                start,
                start + dt.timedelta(minutes=30),
                now - dt.timedelta(minutes=i % 600),
                f"op{i % 7}",
            )
        )
    return rows


# rule -> rows of the defective twin that fail it (row-level rules)
SEEDED_FAILURES = {
    "lot-present": 12,
    "weight-plausible": 9,
    "code-shape": 7,
    "known-line": 6,
    "weighed-in-kg": 5,
    "lot-unique": 8,
    "lot-line-unique": 8,
    "order-known": 11,
    "ends-after-start": 5,
}
# table-level rules the defective twin fails
SEEDED_TABLE_FAILURES = {"fresh", "steady-volume", "kept-columns"}


def defective_rows() -> list[tuple[Any, ...]]:
    """400 rows (a volume drop), all four days old (stale), one defect per rule at a time."""
    stale = NOW - dt.timedelta(days=4)
    rows = [list(r) for r in clean_rows(400, now=stale)]
    cursor = 0

    def take(count: int) -> list[list[Any]]:
        nonlocal cursor
        chosen = rows[cursor : cursor + count]
        cursor += count
        return chosen

    for row in take(SEEDED_FAILURES["lot-present"]):
        row[0] = None
    for row in take(SEEDED_FAILURES["weight-plausible"]):
        row[3] = 75.5 if row[3] % 2 else -3.0
    for row in take(SEEDED_FAILURES["code-shape"]):
        row[1] = "ab-12"
    for row in take(SEEDED_FAILURES["known-line"]):
        row[2] = "L9"
    for row in take(SEEDED_FAILURES["weighed-in-kg"]):
        row[4] = "lb"
    # duplicates: 8 extra copies of existing (lot, line) pairs, taken from rows not yet touched
    originals = rows[cursor + 100 : cursor + 108]
    for row in take(SEEDED_FAILURES["lot-unique"]):
        source = originals.pop()
        row[0], row[2] = source[0], source[2]
    for row in take(SEEDED_FAILURES["order-known"]):
        row[5] = "O9999"
    for row in take(SEEDED_FAILURES["ends-after-start"]):
        row[7] = row[6] - dt.timedelta(minutes=5)
    # the dropped column: operator is gone from the defective twin
    return [tuple(r[:9]) for r in rows]


DEFECTIVE_COLUMNS = COLUMNS.rsplit(",", 1)[0]
