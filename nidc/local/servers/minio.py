"""MinIO: the S3 server, TLS with the platform CA, a root user whose password is kept 0600.

Server-side encryption: MinIO's built-in KMS with one static key (MINIO_KMS_SECRET_KEY), kept
0600 in the state folder's secrets and handed over in the server's environment only; buckets get
default encryption SSE-S3 (operators/clients/object_store.py), so every object is encrypted on
disk. A static key is the embedded platform's stand-in for an external KMS (docs/encryption.md).
"""

from __future__ import annotations

import base64
import secrets
import shutil
from typing import Any

from nidc.local.servers.base import LOOPBACK, Context, HealthError, Server

ROOT_USER = "nidc-root"
KMS_KEY_NAME = "nidc-local-sse"
KMS_SECRET = "minio-kms-key"  # noqa: S105 (the secret's file name, not a secret)


def build_kms_secret_key(name: str, key: bytes) -> str:
    """MINIO_KMS_SECRET_KEY's form: <key name>:<base64 of 32 random bytes>."""
    if len(key) != 32:
        raise ValueError("MinIO's static KMS key is 32 bytes")
    return f"{name}:{base64.b64encode(key).decode()}"


class Minio(Server):
    """A single-drive MinIO on loopback, objects in <state>/data/minio."""

    name = "minio"
    tool = "minio"
    startup_timeout = 180.0

    def ports(self) -> list[str]:
        return ["minio", "minio-console"]

    def prepare(self, ctx: Context) -> None:
        certs = ctx.state.root / "data" / "minio-certs"
        (certs / "CAs").mkdir(parents=True, exist_ok=True)
        server = ctx.server_cert()
        shutil.copy(server.cert, certs / "public.crt")
        shutil.copy(server.key, certs / "private.key")
        shutil.copy(ctx.ca.ensure().cert, certs / "CAs" / "nidc-ca.crt")
        if not ctx.state.secret("s3-root-password").exists():
            ctx.state.write_secret("s3-root-password", secrets.token_urlsafe(24))
        if not ctx.state.secret(KMS_SECRET).exists():
            # Never replaced once made: objects written under it would not decrypt any more.
            ctx.state.write_secret(
                KMS_SECRET, build_kms_secret_key(KMS_KEY_NAME, secrets.token_bytes(32))
            )

    def command(self, ctx: Context) -> list[str]:
        return [
            str(ctx.binary(self.tool)),
            "server",
            f"--address={LOOPBACK}:{ctx.state.port('minio')}",
            f"--console-address={LOOPBACK}:{ctx.state.port('minio-console')}",
            f"--certs-dir={ctx.state.root / 'data' / 'minio-certs'}",
            "--quiet",
            str(ctx.state.data(self.name)),
        ]

    def env(self, ctx: Context) -> dict[str, str]:
        return {
            "MINIO_ROOT_USER": ROOT_USER,
            "MINIO_ROOT_PASSWORD": ctx.state.read_secret("s3-root-password"),
            "MINIO_KMS_SECRET_KEY": ctx.state.read_secret(KMS_SECRET),
            "MINIO_BROWSER": "off",
            "MINIO_UPDATE": "off",
        }

    def check(self, ctx: Context) -> str:
        response = ctx.get(f"{ctx.url('minio')}/minio/health/live")
        if response.status_code != 200:
            raise HealthError(f"/minio/health/live answered {response.status_code}")
        return "live"

    def endpoints(self, ctx: Context) -> dict[str, Any]:
        return {
            "url": ctx.url("minio"),
            "access_key": ROOT_USER,
            "secret_key_file": str(ctx.state.secret("s3-root-password")),
            "region": "us-east-1",
        }
