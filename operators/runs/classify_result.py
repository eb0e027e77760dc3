"""A classify run's result whose columns stayed in the table (too large for a driver's
termination message, nidc/api/classification_result.py): the columns are read back from the
table's properties at the version the run recorded, so its run status is complete."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from nidc.api.classification_result import CLASSIFICATION_PROPERTY, COLUMNS_IN_TABLE

# (s3a:// path, version) -> the table's properties, or None when no table is there.
ReadProperties = Callable[[str, int | None], Mapping[str, str] | None]


class ColumnsNotInTableError(RuntimeError):
    """The result said its columns are in the table, and the table does not hold them."""


def with_columns_from_table(
    result: dict[str, Any], job: Mapping[str, Any], read: ReadProperties
) -> dict[str, Any]:
    """`result` with its columns, read from the table when the job left them there."""
    if not result.get(COLUMNS_IN_TABLE):
        return result
    version = result.get("tableVersion")
    properties = read(str(job["path"]), version if isinstance(version, int) else None)
    try:
        recorded = json.loads((properties or {}).get(CLASSIFICATION_PROPERTY) or "")
    except json.JSONDecodeError as error:
        raise ColumnsNotInTableError(
            f"{job['path']}: {CLASSIFICATION_PROPERTY} unreadable"
        ) from error
    columns = recorded.get("columns") if isinstance(recorded, dict) else None
    if not isinstance(columns, list):
        raise ColumnsNotInTableError(f"{job['path']}@{version}: no {CLASSIFICATION_PROPERTY}")
    return {**{k: v for k, v in result.items() if k != COLUMNS_IN_TABLE}, "columns": columns}
