"""The stack's MinIO: a KMS key in the root Secret turns on SSE-S3 for every bucket."""

from __future__ import annotations

import json
from typing import Any

import pytest

from stacks.components.object_store import (
    PROVISION_SCRIPT,
    Bucket,
    ObjectStoreArgs,
    build_object_store,
)
from tests.unit.stacks.conftest import TLS

pytestmark = pytest.mark.unit
KMS = "nidc-sse:" + "A" * 43 + "="


def objects(kms: str) -> dict[str, dict[str, Any]]:
    args = ObjectStoreArgs(
        center="region-east",
        region="east",
        image="r/minio:1",
        client_image="r/mc:1",
        root_password="pw",
        kms_secret_key=kms,
        tls=TLS,
        buckets=(Bucket("east-core", grade=3), Bucket("east-shared", grade=1)),
    )
    return {o["kind"] + "/" + o["metadata"]["name"]: o for o in build_object_store(args)}


def server_env(found: dict[str, dict[str, Any]]) -> dict[str, Any]:
    pod = found["StatefulSet/minio"]["spec"]["template"]["spec"]
    server = next(c for c in pod["containers"] if c["name"] == "minio")
    return {e["name"]: e for e in server["env"]}


def test_with_a_kms_key_every_bucket_is_encrypted_and_the_key_stays_in_the_secret() -> None:
    found = objects(KMS)
    assert found["Secret/minio-root"]["stringData"]["kms"] == KMS
    env = server_env(found)
    assert env["MINIO_KMS_SECRET_KEY"]["valueFrom"]["secretKeyRef"] == {
        "name": "minio-root",
        "key": "kms",
    }
    buckets = json.loads(found["ConfigMap/minio-buckets"]["data"]["buckets.json"])
    assert {b["name"]: b["encryption"] for b in buckets} == {
        "east-core": "sse-s3",
        "east-shared": "sse-s3",
    }
    assert "mc encrypt set sse-s3" in PROVISION_SCRIPT
    rendered = json.dumps({k: v for k, v in found.items() if k != "Secret/minio-root"})
    assert KMS not in rendered


def test_without_a_kms_key_nothing_claims_encryption() -> None:
    found = objects("")
    assert "kms" not in found["Secret/minio-root"]["stringData"]
    assert "MINIO_KMS_SECRET_KEY" not in server_env(found)
    buckets = json.loads(found["ConfigMap/minio-buckets"]["data"]["buckets.json"])
    assert {b["encryption"] for b in buckets} == {"none"}
