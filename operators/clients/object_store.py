"""S3 administration the operators need: buckets, users and policies on MinIO (idempotent)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import urllib3
from minio import Minio
from minio.credentials.providers import StaticProvider
from minio.error import MinioAdminException, S3Error
from minio.minioadmin import MinioAdmin
from minio.sseconfig import Rule, SSEConfig

from operators.clients.settings import OperatorSettings

# S3's answers to a bucket creation when the bucket is there already (ours, or made by another).
BUCKET_EXISTS = ("BucketAlreadyOwnedByYou", "BucketAlreadyExists")


class ObjectStoreAdmin:
    """Bucket and identity management with the S3 root user (read from its file)."""

    def __init__(self, settings: OperatorSettings) -> None:
        endpoint = settings.s3_endpoint.split("://", 1)[1]
        secure = settings.s3_endpoint.startswith("https://")
        secret = settings.s3_secret_key_file.read_text().strip()
        # One connection per worker thread that may talk to S3 at once: urllib3's default of one
        # per host made concurrent reconciles open (and TLS-handshake) a connection per request.
        http = urllib3.PoolManager(
            cert_reqs="CERT_REQUIRED", ca_certs=str(settings.ca_file), maxsize=16
        )
        self.s3 = Minio(
            endpoint,
            access_key=settings.s3_access_key,
            secret_key=secret,
            secure=secure,
            region=settings.s3_region,
            http_client=http,
        )
        self.admin = MinioAdmin(
            endpoint=endpoint,
            credentials=StaticProvider(settings.s3_access_key, secret),
            region=settings.s3_region,
            secure=secure,
            http_client=http,
        )

    def ensure_bucket(self, name: str) -> None:
        """The bucket, with default encryption SSE-S3: every object (landing files included)
        is encrypted on the server's disks with the server's KMS key."""
        if not self.s3.bucket_exists(name):
            try:
                self.s3.make_bucket(name)
            except S3Error as error:
                # Create-or-adopt: another replica (a rollout's handover) made it meanwhile.
                if error.code not in BUCKET_EXISTS:
                    raise
        self.ensure_bucket_encryption(name)

    def ensure_bucket_encryption(self, name: str) -> None:
        current = self.s3.get_bucket_encryption(name)
        rules = current.rule if current is not None else None
        if rules is None or rules.sse_algorithm != "AES256":
            self.s3.set_bucket_encryption(name, SSEConfig(Rule.new_sse_s3_rule()))

    def remove_bucket(self, name: str) -> None:
        """Delete every object, then the bucket."""
        if not self.s3.bucket_exists(name):
            return
        for obj in self.s3.list_objects(name, recursive=True):
            if obj.object_name is not None:
                self.s3.remove_object(name, obj.object_name)
        self.s3.remove_bucket(name)

    def has_prefix(self, bucket: str, prefix: str) -> bool:
        """True when at least one object lies under the prefix (a Delta log, say)."""
        if not self.s3.bucket_exists(bucket):
            return False
        return next(iter(self.s3.list_objects(bucket, prefix=prefix)), None) is not None

    def highest_batch(self, bucket: str, prefix: str) -> int:
        """The highest landing batch whose manifest exists under the prefix (0: none)."""
        if not self.s3.bucket_exists(bucket):
            return 0
        highest = 0
        for item in self.s3.list_objects(bucket, prefix=prefix):
            name = (item.object_name or "").rsplit("/", 1)[-1]
            digits = name.removeprefix("batch-").removesuffix(".json")
            if name.startswith("batch-") and name.endswith(".json") and digits.isdigit():
                highest = max(highest, int(digits))
        return highest

    def modified_times(self, bucket: str, prefix: str) -> list[dt.datetime]:
        """The last-modified time of every object under the prefix (one listing, no reads)."""
        if not self.s3.bucket_exists(bucket):
            return []
        return [
            item.last_modified
            for item in self.s3.list_objects(bucket, prefix=prefix, recursive=True)
            if item.last_modified is not None and not item.is_dir
        ]

    def read_json(self, bucket: str, key: str) -> dict[str, Any] | None:
        """One small JSON object, or None when it (or its bucket) does not exist."""
        try:
            response = self.s3.get_object(bucket, key)
        except S3Error as error:
            if error.code in ("NoSuchKey", "NoSuchBucket"):
                return None
            raise
        try:
            found: dict[str, Any] = json.loads(response.read())
        finally:
            response.close()
            response.release_conn()
        return found

    def put_policy(self, name: str, policy: dict[str, Any]) -> None:
        self.admin.policy_add(name, policy=policy)

    def user_exists(self, access_key: str) -> bool:
        """Whether MinIO knows the user: one user-info request.

        Not user_list: MinIO encrypts that answer with a key derived by argon2id, whose 64 MiB
        of memory per call raised the operator's peak RSS by 64 MiB (bench/operator.py).
        """
        try:
            self.admin.user_info(access_key)
        except MinioAdminException as error:
            if "XMinioAdminNoSuchUser" in str(error):  # the message carries MinIO's code
                return False
            raise
        return True

    def put_user(self, access_key: str, secret_key: str, policy: str) -> None:
        """Create the user (or reset its secret) and attach exactly one policy."""
        self.admin.user_add(access_key, secret_key)
        self.admin.policy_set(policy, user=access_key)

    def remove_user(self, access_key: str) -> None:
        if self.user_exists(access_key):
            self.admin.user_remove(access_key)

    def remove_policy(self, name: str) -> None:
        existing: dict[str, Any] = json.loads(self.admin.policy_list() or "{}")
        if name in existing:
            self.admin.policy_remove(name)

    def remove_prefix(self, bucket: str, prefix: str) -> int:
        """Delete every object under a prefix; returns how many (0 when the bucket is gone)."""
        if not self.s3.bucket_exists(bucket):
            return 0
        removed = 0
        for obj in self.s3.list_objects(bucket, prefix=prefix, recursive=True):
            if obj.object_name is not None:
                self.s3.remove_object(bucket, obj.object_name)
                removed += 1
        return removed
