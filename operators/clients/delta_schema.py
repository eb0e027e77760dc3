"""A Delta table's columns as Spark names its types, read with delta-rs (no JVM in the operator).

The grant reconciler checks granted columns and row filters against them and hands them to the
governed-copy job. Reads the log only (no data file), with the operator's own S3 login.
"""

from __future__ import annotations

import json
from typing import Any

from nidc.delta_trust import trust_platform_ca
from operators.clients.settings import OperatorSettings

# Delta's primitive type names that Spark's simpleString spells differently.
SPARK_NAMES = {"long": "bigint", "integer": "int", "short": "smallint", "byte": "tinyint"}


def spark_type(delta_type: Any) -> str:
    """A Delta schema type (protocol JSON) as Spark's simpleString: long -> bigint,
    {"type": "array", "elementType": "string"} -> array<string>, ..."""
    if isinstance(delta_type, str):
        return SPARK_NAMES.get(delta_type, delta_type)
    kind = delta_type.get("type")
    if kind == "array":
        return f"array<{spark_type(delta_type['elementType'])}>"
    if kind == "map":
        return f"map<{spark_type(delta_type['keyType'])},{spark_type(delta_type['valueType'])}>"
    if kind == "struct":
        fields = ",".join(f"{f['name']}:{spark_type(f['type'])}" for f in delta_type["fields"])
        return f"struct<{fields}>"
    raise ValueError(f"unknown Delta type {delta_type!r}")


def schema_columns(schema: dict[str, Any]) -> list[tuple[str, str]]:
    """(name, Spark type) of each top-level field of a Delta schema (protocol JSON)."""
    return [(field["name"], spark_type(field["type"])) for field in schema["fields"]]


def open_table(settings: OperatorSettings, path: str, version: int | None = None) -> Any:
    """The Delta table at `path` (s3a://) at `version` (default: latest) through delta-rs, or
    None when no table is there (yet)."""
    trust_platform_ca(settings.ca_file)
    from deltalake import DeltaTable
    from deltalake.exceptions import TableNotFoundError

    options = {
        "AWS_ENDPOINT_URL": settings.s3_endpoint,
        "AWS_ACCESS_KEY_ID": settings.s3_access_key,
        "AWS_SECRET_ACCESS_KEY": settings.s3_secret_key_file.read_text().strip(),
        "AWS_REGION": settings.s3_region,
        "AWS_FORCE_PATH_STYLE": "true",
    }
    try:
        return DeltaTable(
            path.replace("s3a://", "s3://", 1), storage_options=options, version=version
        )
    except TableNotFoundError:
        return None


def table_columns(
    settings: OperatorSettings, path: str, version: int | None = None
) -> list[tuple[str, str]] | None:
    """The columns of the table at `path` at `version`; None when no table is there (yet)."""
    table = open_table(settings, path, version)
    if table is None:
        return None
    return schema_columns(json.loads(table.schema().to_json()))


def table_properties(
    settings: OperatorSettings, path: str, version: int | None = None
) -> dict[str, str] | None:
    """The table's properties at `version`; None when no table is there (yet)."""
    table = open_table(settings, path, version)
    return None if table is None else dict(table.metadata().configuration)
