"""A Delta table as the classify job sees it, through delta-rs: no JVM for what is a bounded
sample and, at most, one properties commit."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from deltalake import DeltaTable

from spark_jobs.delta_rs_options import delta_uri


class DeltaRsTable:
    """`ClassifiedTable` over delta-rs (`storage_options`: object_store's AWS_* settings)."""

    def __init__(self, path: str, storage_options: Mapping[str, str] | None = None) -> None:
        self.path = delta_uri(path)
        self.options = dict(storage_options or {})

    def table(self) -> DeltaTable:
        return DeltaTable(self.path, storage_options=self.options or None)

    def version_and_properties(self) -> tuple[int, dict[str, str]]:
        table = self.table()
        return table.version(), dict(table.metadata().configuration)

    def column_names(self) -> list[str]:
        return [field.name for field in self.table().schema().fields]

    def sample(self, columns: Sequence[str], rows: int) -> dict[str, list[Any]]:
        found = self.table().to_pyarrow_dataset().head(rows, columns=list(columns))
        return {c: found.column(c).to_pylist() for c in columns}

    def set_properties(self, properties: dict[str, str]) -> None:
        # Our own `nidc.*` keys are not Delta's: nothing to check them against.
        self.table().alter.set_table_properties(properties, raise_if_not_exists=False)
