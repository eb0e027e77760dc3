"""Where a center's log lives: one object per record and per checkpoint in the object store.

Layout in the audit bucket (its own bucket, object lock and so versioning on where the server
allows it at creation): `<center>/records/<sequence, 12 digits>.json` and
`<center>/checkpoints/<tree size, 12 digits>.json`. Every object is created only if absent
(`If-None-Match: *`): of two writers of sequence N exactly one wins; nothing is overwritten.
"""

from __future__ import annotations

import base64
import hashlib
import io
from dataclasses import dataclass

from minio import Minio
from minio.error import S3Error

DEFAULT_BUCKET = "nidc-audit"
DEFAULT_CENTER = "local"
DIGITS = 12
RECORDS = "records"
CHECKPOINTS = "checkpoints"


def object_name(center: str, folder: str, number: int) -> str:
    return f"{center}/{folder}/{number:0{DIGITS}d}.json"


def number_of(name: str) -> int | None:
    """The sequence or tree size an object's name carries, or None for another name."""
    digits = name.rsplit("/", 1)[-1].removesuffix(".json")
    return int(digits) if name.endswith(".json") and digits.isdigit() else None


@dataclass(frozen=True)
class StoredObject:
    name: str
    data: bytes


class AuditStore:
    """The audit bucket of the center's object store (a root or audit-writer client)."""

    def __init__(self, s3: Minio, bucket: str = DEFAULT_BUCKET) -> None:
        self.s3 = s3
        self.bucket = bucket

    def ensure_bucket(self) -> None:
        """Create the bucket with object lock (which turns versioning on), or adopt it.

        Versioning keeps every earlier version of an object that someone overwrites, so a
        tampered record can be restored as well as detected. A server that refuses object lock
        gets a plainly versioned bucket.
        """
        if self.s3.bucket_exists(self.bucket):
            return
        try:
            self.s3.make_bucket(self.bucket, object_lock=True)
        except S3Error as error:
            if error.code in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                return
            if self.s3.bucket_exists(self.bucket):
                return
            self.s3.make_bucket(self.bucket)
            from minio.commonconfig import ENABLED
            from minio.versioningconfig import VersioningConfig

            self.s3.set_bucket_versioning(self.bucket, VersioningConfig(ENABLED))

    def put_if_absent(self, name: str, data: bytes) -> bool:
        """Create the object unless it exists; False when it did (another writer was first)."""
        headers: dict[str, str | list[str] | tuple[str]] = {
            "If-None-Match": "*",
            "Content-Type": "application/json",
            # Buckets with object lock take a write only with a checksum of its body.
            "Content-MD5": base64.b64encode(hashlib.md5(data).digest()).decode(),  # noqa: S324
        }
        try:
            # minio-py's put_object turns unknown headers into user metadata; its _put_object
            # sends them as they are (the same request, one part).
            self.s3._put_object(self.bucket, name, data, headers=headers)
        except S3Error as error:
            if error.code in ("PreconditionFailed", "ConditionalRequestConflict"):
                return False
            raise
        return True

    def get(self, name: str) -> bytes | None:
        try:
            response = self.s3.get_object(self.bucket, name)
        except S3Error as error:
            if error.code == "NoSuchKey":
                return None
            raise
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()

    def put(self, name: str, data: bytes) -> None:
        """Overwrite (a new version): only tests that tamper with the log use it."""
        self.s3.put_object(self.bucket, name, io.BytesIO(data), len(data))

    def remove(self, name: str) -> None:
        self.s3.remove_object(self.bucket, name)

    def names(self, center: str, folder: str) -> list[str]:
        """Object names under <center>/<folder>/, in name (= number) order."""
        if not self.s3.bucket_exists(self.bucket):
            return []
        found = self.s3.list_objects(self.bucket, prefix=f"{center}/{folder}/", recursive=True)
        return sorted(o.object_name for o in found if o.object_name)

    def read_all(self, center: str, folder: str) -> list[StoredObject]:
        objects = []
        for name in self.names(center, folder):
            data = self.get(name)
            if data is not None:
                objects.append(StoredObject(name, data))
        return objects
