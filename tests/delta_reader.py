"""Read a Delta table on the platform's MinIO with delta-rs: a reader independent of the Spark
jobs that write it (no JVM, its own Delta log replay), so a test checks the table itself rather
than a job's counters."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def delta_rows(
    platform_env: dict[str, Any], path: str, columns: list[str] | tuple[str, ...] | None = None
) -> list[dict[str, Any]]:
    """Every row of the table at `path` (s3:// or s3a://); raises if it cannot be read."""
    os.environ["SSL_CERT_FILE"] = platform_env["ca_file"]
    from deltalake import DeltaTable

    s3 = platform_env["servers"]["minio"]
    options = {
        "AWS_ENDPOINT_URL": s3["url"],
        "AWS_ACCESS_KEY_ID": s3["access_key"],
        "AWS_SECRET_ACCESS_KEY": Path(s3["secret_key_file"]).read_text().strip(),
        "AWS_REGION": "us-east-1",
        "AWS_FORCE_PATH_STYLE": "true",
    }
    table = DeltaTable(path.replace("s3a://", "s3://"), storage_options=options)
    wanted = list(columns) if columns is not None else None
    rows: list[dict[str, Any]] = table.to_pyarrow_table(columns=wanted).to_pylist()
    return rows
