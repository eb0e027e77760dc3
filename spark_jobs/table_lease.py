"""A writer lease per Delta table on S3, so two ingest runs never commit to one table at once.

Why: Delta's S3 log store makes creating commit file N.json exclusive only inside one JVM; two
jobs (two JVMs) committing version N at the same moment could overwrite each other's commit.
S3 conditional writes close that gap: the lease object `<table>/_nidc_writer_lease.json` is
created with `If-None-Match: *` and replaced only with `If-Match: <etag>` (S3A's
`fs.option.create.conditional.overwrite[.etag]`, Hadoop 3.4.2; MinIO supports both headers).

- holder = the run name: a retried attempt of the same run (the earlier one is dead: the run
  folder's lock admits one process) takes its own lease over at once;
- another run waits until the lease is released or has expired (ttl, renewed before every
  commit), then takes it over with If-Match, so of two waiters exactly one wins;
- renewal is an If-Match write too: a holder whose lease was taken over learns it before its
  next commit and stops (LeaseLostError) instead of committing beside the new holder.

The underscore prefix keeps the object out of Delta's way (VACUUM skips `_` names).
"""

from __future__ import annotations

import json
import time
from typing import Any, Self

from py4j.protocol import Py4JJavaError
from pyspark.sql import SparkSession

LEASE_NAME = "_nidc_writer_lease.json"
CONDITIONAL = "fs.option.create.conditional.overwrite"
CONDITIONAL_ETAG = "fs.option.create.conditional.overwrite.etag"


class LeaseBusyError(RuntimeError):
    """Another run holds the table's writer lease."""


class LeaseLostError(RuntimeError):
    """Our lease was taken over (it expired); this run must not commit."""


class WriterLease:
    """The lease protocol (acquire, renew, release); a transport gives `_put`, `_current` and
    `_remove`: TableLease through Spark's S3A, the native writer's through the S3 API."""

    holder: str
    wait: float
    etag: str | None

    def _put(self, etag: str | None) -> bool:
        raise NotImplementedError

    def _current(self) -> tuple[dict[str, Any], str] | None:
        raise NotImplementedError

    def _remove(self) -> None:
        raise NotImplementedError

    def acquire(self) -> None:
        """Take the lease, waiting (up to wait_seconds) for another holder to let it go."""
        deadline = time.monotonic() + self.wait
        while True:
            if self._put(None):
                return
            current = self._current()
            if current is not None:
                lease, etag = current
                expires = float(lease.get("expiresAt", 0))
                if (lease.get("holder") == self.holder or expires < time.time()) and self._put(
                    etag
                ):
                    return
                if time.monotonic() > deadline:
                    raise LeaseBusyError(
                        f"table is being written by run {lease.get('holder')} "
                        f"(lease until {time.ctime(expires)})"
                    )
            time.sleep(1.0)

    def renew(self) -> None:
        """Extend the lease before a commit; LeaseLostError if someone else holds it now."""
        if self.etag is None or not self._put(self.etag):
            raise LeaseLostError(
                f"writer lease of run {self.holder} was taken over; not committing"
            )

    def release(self) -> None:
        """Give the lease back (only if it is still ours)."""
        current = self._current()
        if current is not None and current[1].strip('"') == (self.etag or "").strip('"'):
            self._remove()
        self.etag = None

    def __enter__(self) -> Self:
        self.acquire()
        return self

    def __exit__(self, *_: object) -> None:
        self.release()


class TableLease(WriterLease):
    """`with TableLease(spark, table, holder): ...` holds the table's writer lease."""

    def __init__(
        self,
        spark: SparkSession,
        table: str,
        holder: str,
        ttl_seconds: float = 300.0,
        wait_seconds: float = 600.0,
    ) -> None:
        jvm = spark._jvm
        assert jvm is not None
        self.jvm = jvm
        self.path = jvm.org.apache.hadoop.fs.Path(table.rstrip("/") + "/" + LEASE_NAME)
        self.fs = self.path.getFileSystem(spark._jsc.hadoopConfiguration())
        self.holder = holder
        self.ttl = ttl_seconds
        self.wait = wait_seconds
        self.etag: str | None = None

    def _document(self) -> bytes:
        return json.dumps({"holder": self.holder, "expiresAt": time.time() + self.ttl}).encode()

    def _put(self, etag: str | None) -> bool:
        """Create (etag None: only if absent) or replace (only if still at etag); True if won."""
        builder = self.fs.createFile(self.path).overwrite(etag is not None)
        builder = builder.must(CONDITIONAL_ETAG, etag) if etag else builder.must(CONDITIONAL, True)
        try:
            stream = builder.build()
            stream.write(bytearray(self._document()))
            stream.close()
        except Py4JJavaError as error:
            text = str(error.java_exception)
            if "412" in text or "Precondition" in text or "AlreadyExists" in text:
                return False
            raise
        self.etag = str(self.fs.getFileStatus(self.path).getEtag())
        return True

    def _current(self) -> tuple[dict[str, Any], str] | None:
        """The lease as stored and its etag, or None when there is none."""
        try:
            status = self.fs.getFileStatus(self.path)
        except Py4JJavaError as error:
            if "FileNotFoundException" in str(error.java_exception):
                return None
            raise
        etag = str(status.getEtag())
        stream = self.fs.open(self.path)
        try:
            text = str(self.jvm.org.apache.commons.io.IOUtils.toString(stream, "UTF-8"))
        finally:
            stream.close()
        try:
            return json.loads(text), etag
        except json.JSONDecodeError:
            return {"holder": "?", "expiresAt": 0}, etag

    def _remove(self) -> None:
        self.fs.delete(self.path, False)


def no_renewal() -> None:
    """Stand-in for TableLease.renew where the caller serializes writers itself."""
