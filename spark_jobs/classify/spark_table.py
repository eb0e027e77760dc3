"""A Delta table as the classify job sees it, through an open Spark session."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


class SparkTable:
    """`ClassifiedTable` over Spark SQL (DESCRIBE DETAIL/HISTORY, ALTER TABLE)."""

    def __init__(self, spark: SparkSession, path: str) -> None:
        self.spark, self.path = spark, path

    def version_and_properties(self) -> tuple[int, dict[str, str]]:
        detail = self.spark.sql(f"DESCRIBE DETAIL delta.`{self.path}`").collect()[0]
        history = self.spark.sql(f"DESCRIBE HISTORY delta.`{self.path}` LIMIT 1").collect()[0]
        return int(history["version"]), dict(detail["properties"] or {})

    def column_names(self) -> list[str]:
        return list(self.spark.read.format("delta").load(self.path).columns)

    def sample(self, columns: Sequence[str], rows: int) -> dict[str, list[Any]]:
        quoted = [f"`{c.replace('`', '``')}`" for c in columns]
        frame = self.spark.read.format("delta").load(self.path).selectExpr(*quoted)
        found = frame.limit(rows).collect()
        return {c: [row[c] for row in found] for c in columns}

    def set_properties(self, properties: dict[str, str]) -> None:
        def quoted(value: str) -> str:
            return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"

        assignments = ", ".join(f"{quoted(k)} = {quoted(v)}" for k, v in properties.items())
        self.spark.sql(f"ALTER TABLE delta.`{self.path}` SET TBLPROPERTIES ({assignments})")
