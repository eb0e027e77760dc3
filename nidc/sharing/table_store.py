"""Reading Delta tables from the object store: the log listing, checkpoints, commits.

Blocking (the minio client); the routes call it in worker threads. The latest snapshot of each
table is kept and rolled forward with the commits that came since, so a busy table costs one
listing and a few small reads per query rather than a full replay.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlparse

import pyarrow.parquet as pq
from minio import Minio
from minio.error import S3Error

from nidc.sharing.delta_log import (
    LogListing,
    Snapshot,
    build_listing,
    checkpoint_rows_to_actions,
    parse_commit,
    plan_read,
    replay,
)
from nidc.sharing.errors import NotFoundError

LOG = "_delta_log/"
# A table's log listing is reused this long: under many recipients the LIST request per query
# was most of a query's time, and a version one second late is still a consistent version.
LISTING_SECONDS = 1.0


@dataclass(frozen=True)
class TableLocation:
    """s3://bucket/prefix of a Delta table."""

    bucket: str
    prefix: str

    @classmethod
    def parse(cls, location: str) -> TableLocation:
        parsed = urlparse(location)
        if parsed.scheme not in ("s3", "s3a") or not parsed.netloc:
            raise NotFoundError(f"table location {location!r} is not an s3:// location")
        return cls(parsed.netloc, parsed.path.strip("/"))

    def key(self, relative: str) -> str:
        return f"{self.prefix}/{relative}" if self.prefix else relative

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


class TableStore:
    """Delta logs in one object store, read with the sharing server's read-only login."""

    def __init__(
        self,
        client: Minio,
        listing_seconds: float = LISTING_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.listing_seconds = listing_seconds
        self.monotonic = monotonic
        self._latest: dict[TableLocation, Snapshot] = {}
        self._listings: dict[TableLocation, tuple[float, LogListing]] = {}
        self._lock = threading.Lock()

    def listing(self, table: TableLocation) -> LogListing:
        """The log's files, listed at most once a `listing_seconds` per table."""
        with self._lock:
            cached = self._listings.get(table)
        if cached is not None and cached[0] > self.monotonic():
            return cached[1]
        listing = self._list(table)
        with self._lock:
            self._listings[table] = (self.monotonic() + self.listing_seconds, listing)
        return listing

    def _list(self, table: TableLocation) -> LogListing:
        prefix = table.key(LOG)
        try:
            objects = [
                (obj.object_name[len(prefix) :], _ms(obj.last_modified))
                for obj in self.client.list_objects(table.bucket, prefix=prefix)
                if obj.object_name is not None
            ]
        except S3Error as error:
            raise NotFoundError(f"the table's storage answered {error.code}") from error
        if not objects:
            raise NotFoundError("the shared table has not been written yet")
        return build_listing(objects)

    def _read(self, table: TableLocation, name: str) -> bytes:
        response = self.client.get_object(table.bucket, table.key(LOG + name))
        try:
            return bytes(response.read())
        finally:
            response.close()
            response.release_conn()

    def commit(self, table: TableLocation, version: int) -> list[dict[str, object]]:
        return parse_commit(self._read(table, f"{version:020d}.json").decode())

    def snapshot(self, table: TableLocation, version: int | None = None) -> Snapshot:
        """The table at `version` (latest when None)."""
        listing = self.listing(table)
        plan = plan_read(listing, version)
        with self._lock:
            cached = self._latest.get(table)
        # A cached snapshot counts only while its commit is the same file (same time): a table
        # deleted and written again starts over at version 0 with other files.
        if (
            cached is not None
            and listing.commit_times_ms.get(cached.version) != cached.timestamp_ms
        ):
            cached = None
        if cached is not None and cached.version == plan.version:
            return cached
        stamp = listing.commit_times_ms.get(plan.version, 0)
        if (
            version is None
            and cached is not None
            and cached.version < plan.version
            and all(v in listing.commits for v in range(cached.version + 1, plan.version + 1))
        ):
            commits = [self.commit(table, v) for v in range(cached.version + 1, plan.version + 1)]
            snapshot = replay(plan.version, [], commits, base=cached, timestamp_ms=stamp)
        else:
            checkpoint: list[dict[str, object]] = []
            for name in plan.checkpoint:
                rows = pq.read_table(io.BytesIO(self._read(table, name))).to_pylist()
                checkpoint.extend(checkpoint_rows_to_actions(rows))
            commits = [self.commit(table, v) for v in plan.commits]
            snapshot = replay(plan.version, checkpoint, commits, timestamp_ms=stamp)
        if version is None:
            with self._lock:
                self._latest[table] = snapshot
        return snapshot


def _ms(moment: object) -> int:
    timestamp = getattr(moment, "timestamp", None)
    return int(timestamp() * 1000) if timestamp else 0
