"""Clients of the local platform's S3 server and OpenBao as their root users.

For what a platform engineer does by hand (the demo's provisions, the audit verifier, peer
centers, benchmarks and tests). The environment is what `nidc local env --json` prints; both
clients trust the platform CA only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hvac
import urllib3
from minio import Minio


def root_minio(env: dict[str, Any]) -> Minio:
    """The S3 server as its root user."""
    s3 = env["servers"]["minio"]
    return Minio(
        s3["url"].split("://", 1)[1],
        access_key=s3["access_key"],
        secret_key=Path(s3["secret_key_file"]).read_text().strip(),
        secure=s3["url"].startswith("https://"),
        region=s3.get("region", "us-east-1"),
        http_client=urllib3.PoolManager(cert_reqs="CERT_REQUIRED", ca_certs=str(env["ca_file"])),
    )


def root_openbao(env: dict[str, Any]) -> hvac.Client:
    """OpenBao with its root token."""
    bao = env["servers"]["openbao"]
    return hvac.Client(
        url=bao["url"],
        token=Path(bao["root_token_file"]).read_text().strip(),
        verify=str(env["ca_file"]),
    )
