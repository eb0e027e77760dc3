"""How a job that uses delta-rs names and reaches its tables: s3:// paths, and object_store's AWS_*
options from the run's `Storage`, with the keys from the environment only (as for Spark)."""

from __future__ import annotations

import os

from nidc.api.job_environment import S3_ACCESS_KEY_ENV, S3_SECRET_KEY_ENV
from nidc.api.job_runtime import Storage


def delta_uri(path: str) -> str:
    """A job spec's s3a:// path as delta-rs names it (s3://); other paths as they are."""
    return "s3://" + path.removeprefix("s3a://") if path.startswith("s3a://") else path


def delta_rs_options(storage: Storage) -> dict[str, str]:
    """delta-rs storage options for `storage`; trusts its CA process-wide (rustls reads its
    roots only from the file SSL_CERT_FILE names)."""
    access = os.environ.get(S3_ACCESS_KEY_ENV, "")
    secret = os.environ.get(S3_SECRET_KEY_ENV, "")
    if not access or not secret:
        raise RuntimeError(f"{S3_ACCESS_KEY_ENV} and {S3_SECRET_KEY_ENV} must be set")
    if storage.ca_file:
        os.environ["SSL_CERT_FILE"] = storage.ca_file
    return {
        "AWS_ENDPOINT_URL": storage.endpoint,
        "AWS_ACCESS_KEY_ID": access,
        "AWS_SECRET_ACCESS_KEY": secret,
        "AWS_REGION": storage.region,
        "AWS_FORCE_PATH_STYLE": "true",
        # Commit files are created with If-None-Match (MinIO honours it): two writers of one
        # version cannot both win, with no lock table beside the store.
        "AWS_CONDITIONAL_PUT": "etag",
    }
