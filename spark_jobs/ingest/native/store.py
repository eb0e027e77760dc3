"""The object store as the native writer reaches it: a MinIO client for landing objects and the
writer lease, and delta-rs storage options for the tables (spark_jobs/delta_rs_options.py:
conditional puts for commit files). Keys come from the environment only (AWS_ACCESS_KEY_ID /
AWS_SECRET_ACCESS_KEY, as for the Spark job)."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.parquet as pq
import urllib3
from minio import Minio

from nidc.api.job_runtime import Storage
from spark_jobs.delta_rs_options import delta_rs_options

# The process's fetch threads, started once: a pool started per call cost each run its threads'
# start, which many runs in one process queued on (docs/benchmarks.md, native writer).
FETCHERS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="nidc-fetch")


def split_s3a(path: str) -> tuple[str, str]:
    """s3a://bucket/key/... -> (bucket, key/...)."""
    rest = path.split("://", 1)[1]
    bucket, _, key = rest.partition("/")
    return bucket, key


@dataclass
class ObjectStore:
    """One tenant's object store, for one run."""

    client: Minio
    options: dict[str, str]

    @classmethod
    def from_storage(cls, storage: Storage) -> ObjectStore:
        options = delta_rs_options(storage)  # checks the keys, trusts the CA for delta-rs
        http = urllib3.PoolManager(
            cert_reqs="CERT_REQUIRED",
            ca_certs=storage.ca_file or None,
            timeout=urllib3.Timeout(connect=10, read=60),
            maxsize=16,
        )
        client = Minio(
            storage.endpoint.split("://", 1)[-1],
            access_key=options["AWS_ACCESS_KEY_ID"],
            secret_key=options["AWS_SECRET_ACCESS_KEY"],
            secure=storage.endpoint.startswith("https://"),
            region=storage.region,
            http_client=http,
        )
        return cls(client, options)

    def list_names(self, folder: str, after: str | None = None) -> list[str]:
        """Object names directly under an s3a:// folder, relative to it, sorted; with `after`,
        only the names that sort after it (the server skips the rest: a landing prefix grows
        by a batch a second, and a run needs only the batches past its checkpoint)."""
        bucket, prefix = split_s3a(folder)
        start = prefix + after if after else None
        names = [
            (o.object_name or "").removeprefix(prefix)
            for o in self.client.list_objects(bucket, prefix=prefix, start_after=start)
        ]
        return sorted(n for n in names if n and not n.endswith("/"))

    def has_delta_log(self, table: str) -> bool:
        """Whether a Delta table is at the s3a:// path: one listing of its log on this client's
        pooled connection (delta-rs would build a client and a TLS session of its own to learn
        that a source's first run has no table yet)."""
        bucket, prefix = split_s3a(table.rstrip("/") + "/_delta_log/")
        return next(iter(self.client.list_objects(bucket, prefix=prefix)), None) is not None

    def read(self, path: str) -> bytes:
        bucket, key = split_s3a(path)
        response = self.client.get_object(bucket, key)
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()

    def read_many(self, paths: Sequence[str]) -> list[bytes]:
        """Several objects at once (a run's manifests and Parquet objects): one round trip's
        wait instead of one per object."""
        if len(paths) < 2:
            return [self.read(path) for path in paths]
        return list(FETCHERS.map(self.read, paths))

    def read_parquet(self, path: str) -> pa.Table:
        return parquet_table(self.read(path))


def parquet_table(body: bytes) -> pa.Table:
    """A Parquet object's rows; read from the bytes in place (no Python file object)."""
    return pq.read_table(pa.BufferReader(body), use_threads=False)
