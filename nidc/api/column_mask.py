"""ColumnMask: how one column is masked in a governed copy (the masks of Apache Ranger's
column-masking policies, done with Spark built-in expressions only)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import ConfigDict, Field, JsonValue

from nidc.api.schema import Model


class MaskType(StrEnum):
    """What a grantee sees of a masked column."""

    MASK = "MASK"  # letters to x/X, digits to n: the shape stays, the value goes
    SHOW_LAST_4 = "SHOW_LAST_4"  # all but the last four characters masked
    SHOW_FIRST_4 = "SHOW_FIRST_4"  # all but the first four characters masked
    HASH = "HASH"  # keyed hash (key in OpenBao): joins still work, values do not leak
    NULL = "NULL"  # the column is there, every value is null
    DATE_SHOW_YEAR = "DATE_SHOW_YEAR"  # a date or timestamp kept to its year
    GENERALIZE = "GENERALIZE"  # a number replaced by the range of `width` it falls in
    CUSTOM = "CUSTOM"  # a Spark SQL expression over {col}


# CEL on each item: the API server names spec.masks[i].<field> when one is missing.
COLUMN_MASK_RULES: list[JsonValue] = [
    {
        "rule": "self.type != 'GENERALIZE' || has(self.width)",
        "message": "a GENERALIZE mask needs spec.masks[].width",
        "fieldPath": ".width",
    },
    {
        "rule": (
            "self.type != 'CUSTOM' || (has(self.expression) && self.expression.contains('{col}'))"
        ),
        "message": "a CUSTOM mask needs spec.masks[].expression using {col}",
        "fieldPath": ".expression",
    },
]


class ColumnMask(Model):
    """One column's mask in a grant (the grade bundle adds its own for grade 2 and 3 columns)."""

    model_config = Model.model_config | ConfigDict(
        json_schema_extra={"x-kubernetes-validations": COLUMN_MASK_RULES}
    )

    column: str = Field(description="The product column masked.", min_length=1, max_length=256)
    type: MaskType = Field(description="The mask applied.")
    width: float | None = Field(
        default=None,
        gt=0,
        description="GENERALIZE only: the width of each range (e.g. 10 gives 20-30).",
    )
    expression: str | None = Field(
        default=None,
        max_length=2000,
        description="CUSTOM only: a Spark SQL expression in which {col} is the column.",
    )
