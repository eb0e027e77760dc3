"""The table's writer lease, taken by the native writer: the same object and protocol as
spark_jobs/table_lease.py (`<table>/_nidc_writer_lease.json`, created with If-None-Match: *,
replaced only with If-Match: <etag>), so a native run and a Spark run of one table exclude each
other as two Spark runs do (docs/decisions/0030-ingest-job.md)."""

from __future__ import annotations

import json
import time
from typing import Any

from minio.error import S3Error

from spark_jobs.ingest.native.store import ObjectStore, split_s3a
from spark_jobs.table_lease import LEASE_NAME, WriterLease

REFUSED = ("PreconditionFailed", "ConditionalRequestConflict")


class NativeTableLease(WriterLease):
    """`with NativeTableLease(store, table, holder): ...` holds the table's writer lease."""

    def __init__(
        self,
        store: ObjectStore,
        table: str,
        holder: str,
        ttl_seconds: float = 300.0,
        wait_seconds: float = 600.0,
    ) -> None:
        self.store = store
        self.bucket, key = split_s3a(table.rstrip("/") + "/" + LEASE_NAME)
        self.key = key
        self.holder = holder
        self.ttl = ttl_seconds
        self.wait = wait_seconds
        self.etag: str | None = None

    def _put(self, etag: str | None) -> bool:
        """Create (etag None: only if absent) or replace (only if still at etag); True if won."""
        body = json.dumps({"holder": self.holder, "expiresAt": time.time() + self.ttl}).encode()
        condition = {"If-Match": etag} if etag else {"If-None-Match": "*"}
        headers: dict[str, str | list[str] | tuple[str]] = {
            **condition,
            "Content-Type": "application/json",
        }
        try:
            # put_object would turn the condition into user metadata; _put_object sends it as
            # a header (nidc/audit/store.py does the same).
            result = self.store.client._put_object(self.bucket, self.key, body, headers=headers)
        except S3Error as error:
            if error.code in REFUSED or error.code == "NoSuchKey":
                return False
            raise
        self.etag = result.etag
        return True

    def _current(self) -> tuple[dict[str, Any], str] | None:
        try:
            stat = self.store.client.stat_object(self.bucket, self.key)
            response = self.store.client.get_object(self.bucket, self.key)
        except S3Error as error:
            if error.code in ("NoSuchKey", "NoSuchObject"):
                return None
            raise
        try:
            text = response.read().decode()
        finally:
            response.close()
            response.release_conn()
        try:
            return json.loads(text), str(stat.etag)
        except json.JSONDecodeError:
            return {"holder": "?", "expiresAt": 0}, str(stat.etag)

    def _remove(self) -> None:
        self.store.client.remove_object(self.bucket, self.key)
