"""The pure side of masking: which mask a column gets, and the SQL checks the grant reconciler
runs without Spark (row filters and CUSTOM masks, good and bad)."""

from __future__ import annotations

import pytest

from nidc.api.column_mask import ColumnMask, MaskType
from nidc.governance.grade_bundle import grade_bundle
from nidc.governance.masking import (
    HashKey,
    MaskError,
    ProductColumn,
    check_custom_mask,
    check_row_filter,
    default_mask,
    governed_columns,
    governed_select,
    mask_expression,
    needs_hash_key,
)

pytestmark = pytest.mark.unit

COLUMNS = ["plant", "line", "ts", "value", "operator_id"]


@pytest.mark.parametrize(
    "expression",
    [
        "plant = 'shanghai'",
        "value > 10 AND line IN ('line0', 'line1')",
        "NOT (plant LIKE 'sh%') OR value BETWEEN 1 AND 2",
        "ts >= TIMESTAMP '2026-11-25 08:00:00'",
        "operator_id IS NOT NULL",
        "PLANT = 'x'",  # Spark resolves names without regard to case
        "startswith(line, 'line')",
        "coalesce(value, 0) * 2 < 100",
        "(plant = 'a')",
        "exists(array(value), v -> v > 1)",
        "unix_timestamp(ts) > 0",
    ],
)
def test_a_boolean_filter_over_known_columns_passes(expression: str) -> None:
    assert check_row_filter(expression, COLUMNS) is None


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("value + 1", "not boolean"),
        ("plant", "not boolean"),
        ("upper(plant)", "not boolean"),
        ("secret = 'x'", "unknown column secret"),
        ("t.plant = 'x'", "qualified column"),
        ("plant IN (SELECT plant FROM other)", "subquery"),
        ("EXISTS (SELECT 1)", "subquery"),
        ("rand() < 0.5", "non-deterministic function rand"),
        ("ts > current_timestamp()", "non-deterministic"),
        ("uuid() = plant", "non-deterministic"),
        ("count(value) > 1", "aggregate function"),
        ("row_number() OVER (ORDER BY ts) < 10", "window"),
        ("plant = ", "not parseable"),
        ("coalesce(value, ) > 1", "not parseable"),
        ("(plant = 'a'", "not parseable"),
        ("unix_timestamp() > 0", "non-deterministic"),
        ("plant = 'a'; DROP TABLE x", "one expression"),
        ("SELECT 1", "statement"),
        ("", "empty"),
    ],
)
def test_a_bad_filter_is_refused_naming_the_problem(expression: str, reason: str) -> None:
    problem = check_row_filter(expression, COLUMNS)
    assert problem is not None
    assert problem.startswith("row filter ")
    assert reason in problem


@pytest.mark.parametrize(
    "expression",
    ["upper(substring({col}, 1, 2))", "concat('***', right({col}, 2))", "round({col}, -2)"],
)
def test_a_custom_mask_over_its_column_passes(expression: str) -> None:
    assert check_custom_mask(expression) is None


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("upper(plant)", "does not use {col}"),
        ("concat({col}, secret)", "unknown column secret"),
        ("{col} || (SELECT max(x) FROM t)", "subquery"),
        ("concat({col}, rand())", "non-deterministic"),
        ("max({col})", "aggregate"),
        ("substring({col}, ", "not parseable"),
    ],
)
def test_a_bad_custom_mask_is_refused_naming_the_problem(expression: str, reason: str) -> None:
    problem = check_custom_mask(expression)
    assert problem is not None and reason in problem


def test_custom_mask_may_read_the_columns_it_is_given() -> None:
    assert check_custom_mask("concat({col}, plant)", ["plant"]) is None


@pytest.mark.parametrize(
    ("spark_type", "grade", "expected"),
    [
        ("string", 1, None),
        ("double", 1, None),
        ("string", 2, MaskType.SHOW_LAST_4),
        ("varchar(20)", 2, MaskType.SHOW_LAST_4),
        ("date", 2, MaskType.DATE_SHOW_YEAR),
        ("timestamp", 2, MaskType.DATE_SHOW_YEAR),
        ("double", 2, MaskType.HASH),
        ("decimal(10,2)", 2, MaskType.HASH),
        ("boolean", 2, MaskType.HASH),
        ("string", 3, MaskType.NULL),
        ("timestamp", 3, MaskType.NULL),
        ("double", 3, MaskType.NULL),
    ],
)
def test_the_bundle_default_by_grade_and_type(
    spark_type: str, grade: int, expected: MaskType | None
) -> None:
    mask = default_mask(ProductColumn("c", spark_type, grade), grade_bundle())
    assert (mask.type if mask else None) == expected


PRODUCT = [
    ProductColumn("lot", "string", 1),
    ProductColumn("operator", "string", 2),
    ProductColumn("weight", "double", 2),
    ProductColumn("recipe", "string", 3),
    ProductColumn("made", "date", 2),
]


def served(granted: list[str], masks: list[ColumnMask]) -> dict[str, MaskType | None]:
    return {
        g.column.name: (g.mask.type if g.mask else None)
        for g in governed_columns(PRODUCT, granted, masks, grade_bundle())
    }


def test_no_grant_mask_gives_the_bundle_defaults_on_all_columns() -> None:
    assert served([], []) == {
        "lot": None,
        "operator": MaskType.SHOW_LAST_4,
        "weight": MaskType.HASH,
        "recipe": MaskType.NULL,
        "made": MaskType.DATE_SHOW_YEAR,
    }


def test_a_grant_mask_meeting_the_asked_level_wins_and_one_below_it_gives_way() -> None:
    masks = [
        ColumnMask(column="lot", type=MaskType.HASH),  # stricter than none
        ColumnMask(column="operator", type=MaskType.SHOW_FIRST_4),  # partial meets partial
        ColumnMask(column="weight", type=MaskType.GENERALIZE, width=5),  # partial meets partial
        ColumnMask(column="recipe", type=MaskType.SHOW_LAST_4),  # partial < full: bundle's NULL
        ColumnMask(column="made", type=MaskType.CUSTOM, expression="{col}"),  # never trusted
    ]
    assert served([], masks) == {
        "lot": MaskType.HASH,
        "operator": MaskType.SHOW_FIRST_4,
        "weight": MaskType.GENERALIZE,
        "recipe": MaskType.NULL,
        "made": MaskType.DATE_SHOW_YEAR,
    }


def test_a_custom_mask_on_a_grade_1_column_is_served() -> None:
    masks = [ColumnMask(column="lot", type=MaskType.CUSTOM, expression="upper({col})")]
    assert served(["lot"], masks) == {"lot": MaskType.CUSTOM}


def test_only_granted_columns_in_product_order() -> None:
    assert list(served(["made", "lot"], [])) == ["lot", "made"]


@pytest.mark.parametrize(
    ("granted", "masks", "reason"),
    [
        (["nope"], [], "granted column nope"),
        ([], [ColumnMask(column="nope", type=MaskType.NULL)], "masked column nope"),
        ([], [ColumnMask(column="lot", type=MaskType.GENERALIZE, width=1)], "needs a number"),
        ([], [ColumnMask(column="weight", type=MaskType.DATE_SHOW_YEAR)], "needs a date"),
        (
            [],
            [ColumnMask(column="lot", type=MaskType.CUSTOM, expression="{col} || recipe")],
            "unknown column recipe",
        ),
        (
            [],
            [ColumnMask(column="lot", type=MaskType.NULL)] * 2,
            "two masks",
        ),
    ],
)
def test_a_grant_that_cannot_be_served_is_refused_naming_why(
    granted: list[str], masks: list[ColumnMask], reason: str
) -> None:
    with pytest.raises(MaskError, match=reason):
        governed_columns(PRODUCT, granted, masks, grade_bundle())


def test_hash_needs_a_key_and_says_so_before_any_sql_is_built() -> None:
    plan = governed_columns(PRODUCT, ["weight"], [], grade_bundle())
    assert needs_hash_key(plan)
    assert not needs_hash_key(governed_columns(PRODUCT, ["lot", "recipe"], [], grade_bundle()))
    with pytest.raises(MaskError, match="needs the grant's hash key"):
        governed_select(PRODUCT, ["weight"], [], grade_bundle(), None)


def test_the_key_never_shows_in_its_repr() -> None:
    key = HashKey(bytes.fromhex("ab" * 32))
    assert "ab" * 4 not in repr(key) and "171" not in repr(key)
    with pytest.raises(MaskError):
        HashKey(b"short")
    with pytest.raises(MaskError, match="hex"):
        HashKey.from_hex("not hex at all")


def test_names_are_quoted_and_types_checked() -> None:
    column = ProductColumn("odd`name", "string", 1)
    expression = mask_expression(column, ColumnMask(column="odd`name", type=MaskType.NULL), None)
    assert expression == "CAST(NULL AS string) AS `odd``name`"
    with pytest.raises(MaskError, match="not a Spark type"):
        ProductColumn("x", "string) AS x, secret AS (y", 1)
