"""Masks as Spark SQL built-in expressions: what a governed copy shows of each granted column.

Pure: every function returns SQL text or a plan; the governed-copy job (spark_jobs/
governed_copy.py) runs it. No Python UDF anywhere, so a mask costs what a built-in costs
(bench/masking.py). docs/masking.md lists each mask's expression and result type.

Strictness: the grade bundle asks a level per grade (none, partial, full). A mask meets a level:
partial masks (SHOW_LAST_4, SHOW_FIRST_4, DATE_SHOW_YEAR, GENERALIZE) show part of the value,
full masks (MASK, HASH, NULL) show none of its characters. A CUSTOM expression cannot be judged,
so it meets no level: on a grade 2 or 3 column the bundle's own mask replaces it. A grant's mask
that meets the level the bundle asks is served; one below it gives way to the bundle's default.

HASH is HMAC-SHA256 under the grant's key. Spark 4.1 has no HMAC built-in, so the expression is
HMAC's definition (RFC 2104) from sha2/unhex/concat, with the key's inner and outer pads as hex
literals computed here. Those literals are the key in another form: a select list that holds
them is built inside the job's process and is never logged, recorded or put in a span.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import IntEnum

from nidc.api.column_mask import ColumnMask, MaskType
from nidc.api.job_specs import SPARK_TYPE
from nidc.governance.grade_bundle import GradeBundle, MaskDefault
from nidc.governance.sql_checks import check_custom_mask, check_row_filter

__all__ = [
    "GovernedColumn",
    "HashKey",
    "MaskError",
    "MaskLevel",
    "ProductColumn",
    "check_custom_mask",
    "check_mask",
    "check_row_filter",
    "default_mask",
    "governed_columns",
    "governed_select",
    "mask_expression",
    "needs_hash_key",
]

SHA256_BLOCK = 64  # bytes: HMAC pads the key to the hash's block size
INNER_PAD, OUTER_PAD = 0x36, 0x5C
# Letters Spark's mask() leaves alone (CJK ideographs, kana, modifier letters: not upper or
# lower case in Java's sense) are hidden too: a Chinese name must not pass through a mask.
CASELESS_LETTERS = r"[\\p{Lo}\\p{Lt}\\p{Lm}]"

NUMERIC = re.compile(r"^(tinyint|smallint|int|bigint|float|double|decimal(\(\d+,\s*\d+\))?)$")
TEXT = re.compile(r"^(string|varchar\(\d+\)|char\(\d+\))$")
DATE_TYPES = frozenset({"date", "timestamp", "timestamp_ntz"})
SPARK_TYPE_NAME = re.compile(SPARK_TYPE)  # stands in CAST(NULL AS <type>) as it is


class MaskError(ValueError):
    """A mask that cannot apply (wrong column type, missing key, unknown column): the message
    names the column and the problem."""


class MaskLevel(IntEnum):
    """How much of a value a mask hides, in order."""

    NONE = 0
    PARTIAL = 1
    FULL = 2


MASK_LEVELS: dict[MaskType, MaskLevel] = {
    MaskType.CUSTOM: MaskLevel.NONE,
    MaskType.SHOW_LAST_4: MaskLevel.PARTIAL,
    MaskType.SHOW_FIRST_4: MaskLevel.PARTIAL,
    MaskType.DATE_SHOW_YEAR: MaskLevel.PARTIAL,
    MaskType.GENERALIZE: MaskLevel.PARTIAL,
    MaskType.MASK: MaskLevel.FULL,
    MaskType.HASH: MaskLevel.FULL,
    MaskType.NULL: MaskLevel.FULL,
}
BUNDLE_LEVELS = {
    MaskDefault.NONE: MaskLevel.NONE,
    MaskDefault.PARTIAL: MaskLevel.PARTIAL,
    MaskDefault.FULL: MaskLevel.FULL,
}


@dataclass(frozen=True)
class ProductColumn:
    """A column of a product's table: name, Spark type (simpleString, e.g. "string",
    "double", "timestamp", "decimal(10,2)") and computed grade (1-3)."""

    name: str
    spark_type: str
    grade: int

    def __post_init__(self) -> None:
        if not SPARK_TYPE_NAME.match(self.spark_type):
            raise MaskError(f"column {self.name}: {self.spark_type!r} is not a Spark type name")

    @property
    def kind(self) -> str:
        """text, number, date or other."""
        spark_type = self.spark_type.strip().lower()
        if TEXT.match(spark_type):
            return "text"
        if NUMERIC.match(spark_type):
            return "number"
        if spark_type in DATE_TYPES:
            return "date"
        return "other"


@dataclass(frozen=True)
class HashKey:
    """A grant's HMAC key (kept in OpenBao; the job reads it from its environment). Never
    printed: repr leaves the bytes out."""

    secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.secret) < 16:
            raise MaskError("a HASH key must have at least 16 bytes")

    @classmethod
    def from_hex(cls, text: str) -> HashKey:
        try:
            return cls(bytes.fromhex(text.strip()))
        except ValueError:
            raise MaskError("a HASH key must be hex") from None

    def pads(self) -> tuple[str, str]:
        """The key's inner and outer HMAC-SHA256 pads, as hex (RFC 2104)."""
        key = self.secret
        if len(key) > SHA256_BLOCK:
            key = hashlib.sha256(key).digest()
        key = key.ljust(SHA256_BLOCK, b"\0")
        inner = bytes(b ^ INNER_PAD for b in key).hex()
        outer = bytes(b ^ OUTER_PAD for b in key).hex()
        return inner, outer


def quoted(name: str) -> str:
    """A column name as a Spark SQL identifier."""
    return "`" + name.replace("`", "``") + "`"


def as_text(column: ProductColumn) -> str:
    reference = quoted(column.name)
    return reference if column.kind == "text" else f"CAST({reference} AS STRING)"


def hide_letters(text: str, masked: str) -> str:
    """`masked` (mask() of `text`) with caseless letters hidden too. A regular expression costs
    more than the rest of a mask (bench/masking.py), so ASCII text (as many bytes as
    characters: most serials and codes) skips it."""
    return (
        f"CASE WHEN octet_length({text}) = length({text}) THEN {masked} "
        f"ELSE regexp_replace({masked}, '{CASELESS_LETTERS}', 'x') END"
    )


def hmac_sha256(column: ProductColumn, key: HashKey) -> str:
    inner, outer = key.pads()
    reference = quoted(column.name)
    data = reference if column.spark_type == "binary" else f"CAST({as_text(column)} AS BINARY)"
    return (
        f"sha2(concat(unhex('{outer}'), unhex(sha2(concat(unhex('{inner}'), {data}), 256))), 256)"
    )


def generalized(column: ProductColumn, width: float) -> str:
    """`lo-hi`, the half-open range [lo, lo + width) the value falls in."""
    reference = quoted(column.name)
    if float(width).is_integer():
        step = str(int(width))
        low = f"CAST(floor({reference} / {step}) * {step} AS BIGINT)"
        return f"concat({low}, '-', {low} + {step})"
    step = f"CAST({float(width)!r} AS DOUBLE)"
    low = f"(floor({reference} / {step}) * {step})"
    return f"concat({low}, '-', {low} + {step})"


def check_mask(column: ProductColumn, mask: ColumnMask) -> str | None:
    """None when the mask applies to the column's type; else why not."""
    kind = column.kind
    if mask.type == MaskType.DATE_SHOW_YEAR and kind != "date":
        return f"DATE_SHOW_YEAR needs a date or timestamp; {column.name} is {column.spark_type}"
    if mask.type == MaskType.GENERALIZE:
        if kind != "number":
            return f"GENERALIZE needs a number; {column.name} is {column.spark_type}"
        if mask.width is None:
            return f"GENERALIZE of {column.name} needs a width"
    if mask.type in (MaskType.MASK, MaskType.SHOW_LAST_4, MaskType.SHOW_FIRST_4) and kind not in (
        "text",
        "number",
        "date",
    ):
        return f"{mask.type} needs a string, number or date; {column.name} is {column.spark_type}"
    if mask.type == MaskType.CUSTOM:
        problem = check_custom_mask(mask.expression or "")
        if problem:
            return f"{column.name}: {problem}"
    return None


def mask_expression(column: ProductColumn, mask: ColumnMask, hash_key: HashKey | None) -> str:
    """One select expression: the column under the mask, aliased to the column's name.

    Raises MaskError when the mask does not apply to the column (check_mask) or a HASH has no
    key. A null stays null under every mask.
    """
    problem = check_mask(column, mask)
    if problem:
        raise MaskError(problem)
    reference = quoted(column.name)
    text = as_text(column)
    match mask.type:
        case MaskType.MASK:
            # Ranger's MASK: upper case to X, lower case to x, digits to n, the rest kept.
            body = hide_letters(text, f"mask({text}, 'X', 'x', 'n', NULL)")
        case MaskType.SHOW_LAST_4:
            hidden = hide_letters(
                text, f"mask(left({text}, length({text}) - 4), 'x', 'x', 'x', NULL)"
            )
            body = f"concat({hidden}, right({text}, 4))"
        case MaskType.SHOW_FIRST_4:
            hidden = hide_letters(text, f"mask(substring({text}, 5), 'x', 'x', 'x', NULL)")
            body = f"concat(left({text}, 4), {hidden})"
        case MaskType.HASH:
            if hash_key is None:
                raise MaskError(f"HASH of {column.name} needs the grant's hash key")
            body = hmac_sha256(column, hash_key)
        case MaskType.NULL:
            body = f"CAST(NULL AS {column.spark_type})"
        case MaskType.DATE_SHOW_YEAR:
            # The first instant of the value's year, in the value's own type.
            if column.spark_type == "date":
                body = f"trunc({reference}, 'YEAR')"
            else:
                body = f"date_trunc('YEAR', {reference})"
        case MaskType.GENERALIZE:
            body = generalized(column, float(mask.width or 0))
        case MaskType.CUSTOM:
            body = f"({(mask.expression or '').replace('{col}', reference)})"
    return f"{body} AS {reference}"


def default_mask(column: ProductColumn, bundle: GradeBundle) -> ColumnMask | None:
    """The mask the grade bundle asks for a column by its grade and type.

    * none (grade 1): no mask.
    * partial (grade 2): text SHOW_LAST_4 (Ranger's partial mask: enough to tell values apart
      by their ending), dates DATE_SHOW_YEAR; any other type HASH, since a number has no
      partial form without a width only a grant can choose (a grant's GENERALIZE then wins).
    * full (grade 3): NULL for every type: no part of a core value leaves the tenant, not even
      equality (a grant may ask MASK or HASH instead, the same level).
    """
    level = BUNDLE_LEVELS[bundle.controls(column.grade).masks.default]
    if level == MaskLevel.NONE:
        return None
    if level == MaskLevel.FULL:
        return ColumnMask(column=column.name, type=MaskType.NULL)
    kind = column.kind
    if kind == "text":
        return ColumnMask(column=column.name, type=MaskType.SHOW_LAST_4)
    if kind == "date":
        return ColumnMask(column=column.name, type=MaskType.DATE_SHOW_YEAR)
    return ColumnMask(column=column.name, type=MaskType.HASH)


@dataclass(frozen=True)
class GovernedColumn:
    """A granted column and the mask it is served with (None: as it is)."""

    column: ProductColumn
    mask: ColumnMask | None


def stricter(
    grant: ColumnMask | None, column: ProductColumn, bundle: GradeBundle
) -> ColumnMask | None:
    """The grant's mask when it meets the level the bundle asks for the column's grade, else the
    bundle's default mask (module docstring). The level, not the default mask, is the floor: a
    grade 2 number defaults to HASH, yet a grant's GENERALIZE meets partial and wins."""
    asked = BUNDLE_LEVELS[bundle.controls(column.grade).masks.default]
    if grant is not None and MASK_LEVELS[grant.type] >= asked:
        return grant
    return default_mask(column, bundle)


def governed_columns(
    columns: Sequence[ProductColumn],
    granted: Sequence[str],
    masks: Sequence[ColumnMask],
    bundle: GradeBundle,
) -> list[GovernedColumn]:
    """The granted columns (empty: all) in the product's order, each with its mask.

    Raises MaskError naming an unknown granted or masked column, or a mask that does not apply.
    Needs no key: the grant reconciler validates with it before any credential exists.
    """
    by_name = {c.name: c for c in columns}
    for name in granted:
        if name not in by_name:
            raise MaskError(f"granted column {name} is not a column of the product")
    chosen: dict[str, ColumnMask] = {}
    for asked in masks:
        if asked.column not in by_name:
            raise MaskError(f"masked column {asked.column} is not a column of the product")
        if asked.column in chosen:
            raise MaskError(f"column {asked.column} has two masks")
        chosen[asked.column] = asked
    wanted = set(granted) if granted else set(by_name)
    result = []
    for column in columns:
        if column.name not in wanted:
            continue
        served = stricter(chosen.get(column.name), column, bundle)
        if served is not None:
            problem = check_mask(column, served)
            if problem:
                raise MaskError(problem)
        result.append(GovernedColumn(column, served))
    return result


def needs_hash_key(governed: Sequence[GovernedColumn]) -> bool:
    """Whether any column is served hashed (the grant then needs a key in OpenBao)."""
    return any(g.mask is not None and g.mask.type == MaskType.HASH for g in governed)


def governed_select(
    columns: Sequence[ProductColumn],
    granted: Sequence[str],
    masks: Sequence[ColumnMask],
    bundle: GradeBundle,
    hash_key: HashKey | None,
) -> list[str]:
    """The select list of a governed copy: each granted column, masked as governed_columns
    says. Holds key material when a column is hashed: never log it."""
    return [
        quoted(g.column.name) if g.mask is None else mask_expression(g.column, g.mask, hash_key)
        for g in governed_columns(columns, granted, masks, bundle)
    ]
