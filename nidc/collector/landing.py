"""The landing prefix on S3: the collector's only durable state (sequence and position)."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import urllib3
from minio import Minio

from nidc.collector.batch import batch_names, manifest_json, manifest_sequence
from nidc.collector.config import S3_ACCESS_KEY_ENV, S3_SECRET_KEY_ENV, ConfigError, LandingTarget
from nidc.collector.report import report_key


def s3_client(target: LandingTarget) -> Minio:
    """A MinIO SDK client for the landing bucket, credentials from the environment only."""
    access, secret = os.environ.get(S3_ACCESS_KEY_ENV), os.environ.get(S3_SECRET_KEY_ENV)
    if not access or not secret:
        raise ConfigError(f"{S3_ACCESS_KEY_ENV} and {S3_SECRET_KEY_ENV} must be set")
    secure = target.endpoint.startswith("https://")
    http = urllib3.PoolManager(
        cert_reqs="CERT_REQUIRED",
        ca_certs=target.ca_file,
        timeout=urllib3.Timeout(connect=5, read=30),
        # Retries are the collector's (with backoff and the same sequence), not urllib3's.
        retries=False,
    )
    if target.ca_file and not Path(target.ca_file).is_file():
        raise ConfigError(f"landing.ca_file {target.ca_file} does not exist")
    return Minio(
        target.endpoint.split("://", 1)[-1],
        access_key=access,
        secret_key=secret,
        secure=secure,
        region=target.region,
        http_client=http,
    )


class Landing:
    """Writes batches (Parquet, then manifest) and reads back where the last one left off."""

    def __init__(self, client: Minio, bucket: str, prefix: str) -> None:
        self.client, self.bucket, self.prefix = client, bucket, prefix

    def last_manifest(self) -> dict[str, Any] | None:
        """The manifest with the highest sequence, or None before the first batch."""
        sequences = [
            seq
            for obj in self.client.list_objects(self.bucket, prefix=self.prefix)
            if obj.object_name and (seq := manifest_sequence(obj.object_name)) is not None
        ]
        if not sequences:
            return None
        _, name = batch_names(self.prefix, max(sequences))
        response = self.client.get_object(self.bucket, name)
        try:
            manifest: dict[str, Any] = json.loads(response.read())
        finally:
            response.close()
            response.release_conn()
        return manifest

    def write(self, sequence: int, parquet: bytes, manifest: dict[str, Any]) -> None:
        """Parquet first, manifest second: the batch exists once the manifest does."""
        parquet_name, manifest_name = batch_names(self.prefix, sequence)
        self.client.put_object(
            self.bucket,
            parquet_name,
            io.BytesIO(parquet),
            len(parquet),
            content_type="application/vnd.apache.parquet",
        )
        body = manifest_json(manifest)
        self.client.put_object(
            self.bucket, manifest_name, io.BytesIO(body), len(body), content_type="application/json"
        )

    def write_report(self, body: bytes) -> None:
        """The device report beside the batches (nidc/collector/report.py)."""
        self.client.put_object(
            self.bucket,
            report_key(self.prefix),
            io.BytesIO(body),
            len(body),
            content_type="application/json",
        )
