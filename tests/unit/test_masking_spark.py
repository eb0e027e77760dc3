"""Every mask run by real Spark (local mode, one session for the module) against values worked out
here in plain Python from each mask's definition (Ranger's masks; RFC 2104 through `hmac`), never
by calling the expression builder's own logic."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math
import unicodedata
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from pyspark.sql import SparkSession

from nidc.api.column_mask import ColumnMask, MaskType
from nidc.governance.grade_bundle import grade_bundle
from nidc.governance.masking import HashKey, ProductColumn, governed_select, mask_expression

pytestmark = pytest.mark.unit

KEY = bytes(range(1, 33))
LONG_KEY = b"k" * 100  # longer than SHA-256's block: HMAC hashes it first

TYPES = {
    "name": "string",
    "serial": "string",
    "qty": "int",
    "weight": "double",
    "made": "date",
    "seen": "timestamp",
    "seen_ntz": "timestamp_ntz",
    "reading": "decimal(10,2)",
}
SCHEMA = ", ".join(f"{name} {kind}" for name, kind in TYPES.items())
D, T = dt.date, dt.datetime
ROWS: list[tuple[Any, ...]] = [
    ("Li Wei", "SN-2024-0001", 42, 20.7, D(2024, 5, 17), T(2024, 5, 17, 8, 30, 5),
     T(2023, 12, 31, 23, 59, 59), Decimal("12.50")),
    ("张伟", "AB1", -3, -0.2, D(1999, 1, 1), T(1999, 1, 1), T(2000, 2, 2), Decimal("-7.25")),
    ("o'Brien-Smith Jr.", "x@y.cn", 0, 0.0, D(2026, 11, 30), T(2026, 11, 30, 7), T(2026, 1, 1),
     Decimal("0.00")),
    ("ABCD", "1234", 1005, 99.99, D(2000, 2, 29), T(2000, 2, 29, 12), T(2010, 6, 6),
     Decimal("999.99")),
    (None, None, None, None, None, None, None, None),
]  # fmt: skip


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkSession]:
    borrowed = SparkSession.getActiveSession() is not None
    session = (
        SparkSession.builder.master("local[1]")
        .appName("nidc-masking-unit")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    yield session
    if not borrowed:
        session.stop()


def served(
    spark: SparkSession, column: str, mask: ColumnMask, key: HashKey | None = None
) -> list[Any]:
    product = ProductColumn(column, TYPES[column], 2)
    frame = spark.createDataFrame(ROWS, SCHEMA)
    out = frame.selectExpr(mask_expression(product, mask, key))
    assert out.columns == [column]
    return [row[0] for row in out.collect()]


def column_values(column: str) -> list[Any]:
    index = list(TYPES).index(column)
    return [row[index] for row in ROWS]


# --- the masks' definitions, written out in Python ------------------------------------------


def hidden_char(char: str, upper: str, lower: str, digit: str) -> str:
    if char.isupper():
        return upper
    if char.islower():
        return lower
    if char.isdigit():
        return digit
    if unicodedata.category(char).startswith("L"):  # caseless letters: 张, 伟
        return lower
    return char


def python_text(value: Any) -> str:
    if isinstance(value, float):
        return repr(value)
    return str(value)


def masked(value: Any) -> str | None:
    if value is None:
        return None
    return "".join(hidden_char(c, "X", "x", "n") for c in python_text(value))


def show_last_4(value: Any) -> str | None:
    if value is None:
        return None
    text = python_text(value)
    head, tail = text[:-4] if len(text) > 4 else "", text[-4:]
    return "".join(hidden_char(c, "x", "x", "x") for c in head) + tail


def show_first_4(value: Any) -> str | None:
    if value is None:
        return None
    text = python_text(value)
    return text[:4] + "".join(hidden_char(c, "x", "x", "x") for c in text[4:])


def keyed_hash(key: bytes) -> Callable[[Any], str | None]:
    def digest(value: Any) -> str | None:
        if value is None:
            return None
        return hmac.new(key, python_text(value).encode(), hashlib.sha256).hexdigest()

    return digest


def year_only(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return dt.datetime(value.year, 1, 1)
    return dt.date(value.year, 1, 1)


def ranges(width: float) -> Callable[[Any], str | None]:
    def bucket(value: Any) -> str | None:
        if value is None:
            return None
        low = math.floor(float(value) / width) * width
        if float(width).is_integer():
            return f"{int(low)}-{int(low + width)}"
        return f"{low!r}-{low + width!r}"

    return bucket


# --- tests -------------------------------------------------------------------------------------


@pytest.mark.parametrize("column", ["name", "serial", "qty"])
def test_mask_keeps_the_shape_and_hides_every_letter_and_digit(
    spark: SparkSession, column: str
) -> None:
    got = served(spark, column, ColumnMask(column=column, type=MaskType.MASK))
    assert got == [masked(v) for v in column_values(column)]
    assert "张" not in "".join(g for g in got if g)


@pytest.mark.parametrize("column", ["name", "serial", "qty"])
def test_show_last_4(spark: SparkSession, column: str) -> None:
    got = served(spark, column, ColumnMask(column=column, type=MaskType.SHOW_LAST_4))
    assert got == [show_last_4(v) for v in column_values(column)]


@pytest.mark.parametrize("column", ["name", "serial", "qty"])
def test_show_first_4(spark: SparkSession, column: str) -> None:
    got = served(spark, column, ColumnMask(column=column, type=MaskType.SHOW_FIRST_4))
    assert got == [show_first_4(v) for v in column_values(column)]


@pytest.mark.parametrize("column", ["name", "serial", "qty"])
@pytest.mark.parametrize("key", [KEY, LONG_KEY], ids=["32-byte key", "100-byte key"])
def test_hash_is_hmac_sha256_under_the_key(spark: SparkSession, column: str, key: bytes) -> None:
    got = served(spark, column, ColumnMask(column=column, type=MaskType.HASH), HashKey(key))
    assert got == [keyed_hash(key)(v) for v in column_values(column)]
    other = served(spark, column, ColumnMask(column=column, type=MaskType.HASH), HashKey(b"o" * 32))
    assert all(a != b for a, b in zip(got, other, strict=True) if a is not None)


@pytest.mark.parametrize("column", list(TYPES))
def test_null_keeps_the_column_and_its_type(spark: SparkSession, column: str) -> None:
    product = ProductColumn(column, TYPES[column], 3)
    frame = spark.createDataFrame(ROWS, SCHEMA)
    out = frame.selectExpr(
        mask_expression(product, ColumnMask(column=column, type=MaskType.NULL), None)
    )
    assert [f.dataType.simpleString() for f in out.schema.fields] == [TYPES[column]]
    assert [row[0] for row in out.collect()] == [None] * len(ROWS)


@pytest.mark.parametrize("column", ["made", "seen", "seen_ntz"])
def test_date_show_year_keeps_the_year_in_the_same_type(spark: SparkSession, column: str) -> None:
    got = served(spark, column, ColumnMask(column=column, type=MaskType.DATE_SHOW_YEAR))
    assert got == [year_only(v) for v in column_values(column)]


@pytest.mark.parametrize(
    ("column", "width"), [("qty", 10.0), ("weight", 0.5), ("reading", 100.0), ("weight", 25.0)]
)
def test_generalize_gives_the_range_the_value_falls_in(
    spark: SparkSession, column: str, width: float
) -> None:
    got = served(spark, column, ColumnMask(column=column, type=MaskType.GENERALIZE, width=width))
    assert got == [ranges(width)(v) for v in column_values(column)]


def test_custom_expression_over_the_column(spark: SparkSession) -> None:
    mask = ColumnMask(
        column="serial", type=MaskType.CUSTOM, expression="upper(substring({col}, 1, 2))"
    )
    got = served(spark, "serial", mask)
    assert got == [None if v is None else v[:2].upper() for v in column_values("serial")]


def test_governed_select_serves_granted_columns_with_the_bundle_masks(spark: SparkSession) -> None:
    columns = [
        ProductColumn("serial", "string", 1),
        ProductColumn("name", "string", 2),
        ProductColumn("qty", "int", 2),
        ProductColumn("weight", "double", 3),
        ProductColumn("made", "date", 2),
    ]
    select = governed_select(
        columns,
        ["serial", "name", "qty", "weight", "made"],
        [ColumnMask(column="qty", type=MaskType.GENERALIZE, width=10)],
        grade_bundle(),
        HashKey(KEY),
    )
    out = spark.createDataFrame(ROWS, SCHEMA).selectExpr(*select)
    assert out.columns == ["serial", "name", "qty", "weight", "made"]
    rows = out.collect()
    assert [r["serial"] for r in rows] == column_values("serial")  # grade 1: as it is
    assert [r["name"] for r in rows] == [show_last_4(v) for v in column_values("name")]
    assert [r["qty"] for r in rows] == [ranges(10)(v) for v in column_values("qty")]  # grant's
    assert [r["weight"] for r in rows] == [None] * len(ROWS)  # grade 3: full
    assert [r["made"] for r in rows] == [year_only(v) for v in column_values("made")]
