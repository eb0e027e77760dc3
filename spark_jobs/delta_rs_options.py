"""How a job that writes with delta-rs reaches the tenant's object store: object_store's AWS_*
options from the run's `Storage`, with the keys from the environment only (as for Spark)."""

from __future__ import annotations

import os

from nidc.api.job_specs import S3_ACCESS_KEY_ENV, S3_SECRET_KEY_ENV, Storage


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
