"""The replicate job: copy a Delta table to a peer center, incrementally, every file checksummed.

The copy is byte-for-byte, not a re-write: files are copied as they are, in commit order, so the
replica is the same table with the same checksums (a Spark deep clone would re-write the log
and the files, and nothing could prove the two equal). Hence this job needs no Spark session.

For each source version v after the highest one the replica holds, up to `untilVersion`:

1. every data file v adds (`add`, `cdc` actions) is copied, read back and compared by sha256;
2. the version's manifest (`_nidc_replication/<v>.json`: each copied path and its sha256) is
   written;
3. the commit `_delta_log/<v>.json` (and its `.crc` and checkpoint, if any) is copied last.

Readers of the replica only see version v once its commit file is there, and by then all its files
are. A job killed anywhere restarts at the first version whose commit is missing and copies that
version again (same bytes, same names): nothing is lost or doubled. The replica's checksum is the
sha256 over the sorted `path sha256` lines of every manifest up to the version it holds.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO, cast

import urllib3
from minio import Minio
from minio.error import S3Error

from nidc.api.job_environment import (
    DEST_ACCESS_KEY_ENV,
    DEST_SECRET_KEY_ENV,
    S3_ACCESS_KEY_ENV,
    S3_SECRET_KEY_ENV,
)
from nidc.api.job_runtime import Storage
from nidc.api.job_specs import ReplicateJob
from nidc.crash_points import crash_point
from nidc.telemetry.tracing import tracer

TRACER = tracer(__name__)
LOG = "_delta_log"
MANIFESTS = "_nidc_replication"


class ReplicationError(RuntimeError):
    """The copy cannot go on (the message says why; the replica keeps its last whole version)."""


@dataclass(frozen=True)
class Location:
    """A table's root in one object store."""

    bucket: str
    prefix: str

    @classmethod
    def parse(cls, path: str) -> Location:
        """s3a://bucket/some/prefix -> Location('bucket', 'some/prefix')."""
        scheme, _, rest = path.partition("://")
        bucket, _, prefix = rest.partition("/")
        if scheme not in ("s3", "s3a") or not bucket or not prefix:
            raise ReplicationError(f"not an s3a://bucket/prefix path: {path!r}")
        return cls(bucket, prefix.strip("/"))

    def key(self, relative: str) -> str:
        """The object key of a path relative to the table root."""
        return f"{self.prefix}/{relative}"


def commit_name(version: int) -> str:
    """_delta_log/00000000000000000007.json for version 7."""
    return f"{LOG}/{version:020d}.json"


def files_of_commit(text: str) -> list[str]:
    """Data files a commit adds, relative to the table root (pure).

    Paths in the log are URL-encoded relative paths; an absolute one (a shallow clone's) or a
    deletion vector cannot be copied as a file of this table, so the job stops with the reason.
    """
    from urllib.parse import unquote

    paths: list[str] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        action = json.loads(line)
        for kind in ("add", "cdc"):
            if kind not in action:
                continue
            entry = action[kind]
            path = str(entry["path"])
            if "://" in path or path.startswith("/"):
                raise ReplicationError(f"{kind} action refers to a file outside the table: {path}")
            if entry.get("deletionVector"):
                raise ReplicationError(
                    "the table uses deletion vectors, which replication does not copy yet"
                )
            paths.append(unquote(path))
    return paths


def table_checksum(manifests: Iterable[Mapping[str, str]]) -> str:
    """sha256 over sorted `path sha256` lines of every file in the manifests (pure)."""
    entries: dict[str, str] = {}
    for manifest in manifests:
        entries.update(manifest)
    digest = hashlib.sha256()
    for path in sorted(entries):
        digest.update(f"{path} {entries[path]}\n".encode())
    return digest.hexdigest()


def s3_client(endpoint: str, access_key: str, secret_key: str, ca_file: str | None) -> Minio:
    """A MinIO SDK client for an http(s) endpoint, trusting `ca_file` when given."""
    host = endpoint.split("://", 1)[1].rstrip("/")
    retries = urllib3.Retry(total=5, backoff_factor=0.5)
    http = urllib3.PoolManager(cert_reqs="CERT_REQUIRED", ca_certs=ca_file, retries=retries)
    return Minio(
        host,
        access_key=access_key,
        secret_key=secret_key,
        secure=endpoint.startswith("https://"),
        http_client=http,
    )


class TableCopier:
    """Copies one table's files from a source store to a destination store, verifying each."""

    def __init__(self, source: Minio, source_at: Location, dest: Minio, dest_at: Location) -> None:
        self.source, self.source_at = source, source_at
        self.dest, self.dest_at = dest, dest_at

    def read_source(self, relative: str) -> bytes | None:
        """A small source object (a commit file), or None when it is not there."""
        try:
            response = self.source.get_object(self.source_at.bucket, self.source_at.key(relative))
        except S3Error as error:
            if error.code == "NoSuchKey":
                return None
            raise
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()

    def _sha256_of(self, client: Minio, bucket: str, key: str, sink: Any | None) -> str:
        digest = hashlib.sha256()
        response = client.get_object(bucket, key)
        try:
            for chunk in response.stream(1 << 20):
                digest.update(chunk)
                if sink is not None:
                    sink.write(chunk)
        finally:
            response.close()
            response.release_conn()
        return digest.hexdigest()

    def copy(self, relative: str) -> str:
        """Copy one file, read the copy back, and return its sha256 (raises on a mismatch)."""
        with tempfile.SpooledTemporaryFile(max_size=64 << 20) as spool:
            expected = self._sha256_of(
                self.source, self.source_at.bucket, self.source_at.key(relative), spool
            )
            size = spool.tell()
            spool.seek(0)
            self.dest.put_object(
                self.dest_at.bucket,
                self.dest_at.key(relative),
                cast(BinaryIO, spool),
                size,
            )
        actual = self._sha256_of(self.dest, self.dest_at.bucket, self.dest_at.key(relative), None)
        if actual != expected:
            raise ReplicationError(
                f"checksum mismatch for {relative}: source {expected}, copy {actual}"
            )
        return expected

    def exists_in_source(self, relative: str) -> bool:
        try:
            self.source.stat_object(self.source_at.bucket, self.source_at.key(relative))
        except S3Error as error:
            if error.code in ("NoSuchKey", "NoSuchObject"):
                return False
            raise
        return True

    def replica_version(self) -> int:
        """The highest version whose commit file the replica holds (-1: none)."""
        prefix = self.dest_at.key(f"{LOG}/")
        highest = -1
        for obj in self.dest.list_objects(self.dest_at.bucket, prefix=prefix):
            name = (obj.object_name or "").rsplit("/", 1)[-1]
            stem, _, suffix = name.partition(".")
            if suffix == "json" and stem.isdigit():
                highest = max(highest, int(stem))
        return highest

    def manifest(self, version: int) -> dict[str, str]:
        """The replica's manifest of one version (path -> sha256)."""
        key = self.dest_at.key(f"{MANIFESTS}/{version:020d}.json")
        try:
            response = self.dest.get_object(self.dest_at.bucket, key)
        except S3Error as error:
            if error.code == "NoSuchKey":
                raise ReplicationError(
                    f"the replica holds version {version} without its manifest: it was not "
                    "written by this job"
                ) from error
            raise
        try:
            return dict(json.loads(response.read())["files"])
        finally:
            response.close()
            response.release_conn()

    def write_manifest(self, version: int, files: Mapping[str, str]) -> None:
        body = json.dumps({"version": version, "files": dict(files)}, sort_keys=True).encode()
        self.dest.put_object(
            self.dest_at.bucket,
            self.dest_at.key(f"{MANIFESTS}/{version:020d}.json"),
            io.BytesIO(body),
            len(body),
            content_type="application/json",
        )

    def copy_version(self, version: int) -> dict[str, str]:
        """Copy one version: its data files, its manifest, then its commit; returns the manifest."""
        commit = self.read_source(commit_name(version))
        if commit is None:
            raise ReplicationError(
                f"the source log no longer holds version {version} (log retention); copying "
                "from a checkpoint is not supported yet"
            )
        files: dict[str, str] = {}
        for relative in files_of_commit(commit.decode()):
            files[relative] = self.copy(relative)
        sidecars = [f"{LOG}/{version:020d}.crc", f"{LOG}/{version:020d}.checkpoint.parquet"]
        for relative in sidecars:
            if self.exists_in_source(relative):
                files[relative] = self.copy(relative)
        files[commit_name(version)] = hashlib.sha256(commit).hexdigest()
        self.write_manifest(version, files)
        crash_point("replicate:before-commit")
        # The commit goes last: a reader sees version v only when all of v's files are there.
        copied = self.copy(commit_name(version))
        if copied != files[commit_name(version)]:
            raise ReplicationError(f"the source commit {version} changed while it was copied")
        crash_point("replicate:after-commit")
        return files


def replicate(job: ReplicateJob, storage: Storage) -> dict[str, Any]:
    """Run one copy; returns tableVersion (held by the replica), files copied and the checksum."""
    ca_file = storage.ca_file or None
    destination = job.destination
    source = s3_client(
        storage.endpoint,
        os.environ[S3_ACCESS_KEY_ENV],
        os.environ[S3_SECRET_KEY_ENV],
        ca_file,
    )
    dest = s3_client(
        destination.endpoint,
        os.environ[DEST_ACCESS_KEY_ENV],
        os.environ[DEST_SECRET_KEY_ENV],
        destination.ca_file or ca_file,
    )
    copier = TableCopier(
        source, Location.parse(job.source.path), dest, Location.parse(destination.path)
    )
    until = job.until_version
    held = copier.replica_version()
    if held > until:
        raise ReplicationError(
            f"the replica holds version {held}, newer than the {until} this run copies"
        )
    copied = 0
    with TRACER.start_as_current_span(
        "replicate",
        attributes={
            "nidc.destination": destination.center,
            "nidc.from_version": held + 1,
            "nidc.until_version": until,
        },
    ) as span:
        for version in range(held + 1, until + 1):
            with TRACER.start_as_current_span(
                "replicate version", attributes={"nidc.version": version}
            ):
                copied += len(copier.copy_version(version))
        checksum = table_checksum(copier.manifest(v) for v in range(until + 1))
        span.set_attributes({"nidc.files": copied, "nidc.checksum": checksum})
    return {"tableVersion": until, "files": copied, "checksum": checksum}
