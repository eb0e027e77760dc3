"""Pre-signed URLs of the sharing server (signing is local: no server is asked)."""

from __future__ import annotations

import datetime as dt

from minio import Minio

from nidc.sharing.presign import Presigner
from nidc.sharing.table_store import TableLocation


def test_signed_urls_name_the_file_the_log_names() -> None:
    # Signing is local (SigV4 with a known region): no server is asked.
    signer = Presigner(Minio("s3.example:9000", "ak", "sk", secure=True, region="us-east-1"), 900)
    now = dt.datetime(2026, 11, 30, 10, 0, tzinfo=dt.UTC)
    table = TableLocation.parse("s3://tenant-a/silver/t")
    relative = signer.sign(table, "p%3D1/part-0.parquet", now)
    assert relative.url.startswith(
        "https://s3.example:9000/tenant-a/silver/t/p%3D1/part-0.parquet?"
    )
    assert "X-Amz-Expires=900" in relative.url
    assert relative.expires_ms == int(now.timestamp() * 1000) + 900_000
    absolute = signer.sign(table, "s3://tenant-b/x/part-1.parquet", now)
    assert absolute.url.startswith("https://s3.example:9000/tenant-b/x/part-1.parquet?")
