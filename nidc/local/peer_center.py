"""A second center's object store: a real MinIO server of its own.

It runs the platform's MinIO binary on another loopback port, with its own data folder and root
login, serving TLS with the platform's server certificate (so the platform CA verifies it, as a
national PKI would for real centers). Replication tests start one per session; `nidc demo` keeps
one running as the national center its example replicates to.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import requests
import urllib3
from minio import Minio

from nidc.kube import apply
from nidc.local.ports import free_port
from nidc.local.root_clients import root_openbao
from nidc.local.tools.manifest import binary_path

# The peer's buckets by grade it may receive (grade 3, core data, stays in its region).
PEER_BUCKETS = {"1": "replica-grade1", "2": "replica-grade2"}


class PeerObjectStore:
    """MinIO for a peer center, started and stopped by a test."""

    def __init__(
        self,
        platform_root: Path,
        folder: Path,
        ca_file: str,
        port: int | None = None,
        secret_key: str | None = None,
    ) -> None:
        self.certs = platform_root / "data" / "minio-certs"
        self.folder = folder
        self.ca_file = ca_file
        self.port = port or free_port()
        self.access_key = "peer-root"
        self.secret_key = secret_key or secrets.token_urlsafe(24)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def client(self) -> Minio:
        """An SDK client with the peer's root login."""
        http = urllib3.PoolManager(cert_reqs="CERT_REQUIRED", ca_certs=self.ca_file)
        return Minio(
            f"127.0.0.1:{self.port}",
            access_key=self.access_key,
            secret_key=self.secret_key,
            secure=True,
            http_client=http,
        )

    def command(self) -> list[str]:
        """The server's command line (pure)."""
        return [
            str(binary_path("minio")),
            "server",
            f"--address=127.0.0.1:{self.port}",
            f"--console-address=127.0.0.1:{free_port()}",
            f"--certs-dir={self.certs}",
            "--quiet",
            str(self.folder / "data"),
        ]

    def environment(self) -> dict[str, str]:
        """Its root login and quiet settings, as the only environment it gets."""
        return {
            "MINIO_ROOT_USER": self.access_key,
            "MINIO_ROOT_PASSWORD": self.secret_key,
            "MINIO_BROWSER": "off",
            "MINIO_UPDATE": "off",
            "PATH": "/usr/bin:/bin",
        }

    def live(self) -> bool:
        try:
            answer = requests.get(
                f"{self.endpoint}/minio/health/live", verify=self.ca_file, timeout=2
            )
        except requests.RequestException:
            return False
        return answer.status_code == 200

    def make_buckets(self) -> None:
        """The buckets the peer receives replicas in, by grade (none for grade 3)."""
        client = self.client()
        for bucket in PEER_BUCKETS.values():
            if not client.bucket_exists(bucket):
                client.make_bucket(bucket)

    def __enter__(self) -> PeerObjectStore:
        (self.folder / "data").mkdir(parents=True, exist_ok=True)
        log = (self.folder / "minio.log").open("ab")
        self.process = subprocess.Popen(
            self.command(), env=self.environment(), stdout=log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 60
        while not self.live():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"peer MinIO did not start; see {self.folder / 'minio.log'}")
            time.sleep(0.5)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def publish_peer(
    store: PeerObjectStore,
    center: str,
    platform_env: dict[str, Any],
    api: Any,
    sender: tuple[str, str] = ("region-east", "east"),
) -> None:
    """Make the peer known as a platform engineer does: its buckets, its login in OpenBao and
    the peer list in the ConfigMap the stacks publish (nidc-sharing/nidc-replication).
    `sender` is this center's (name, region)."""

    store.make_buckets()
    root_openbao(platform_env).secrets.kv.v2.create_or_update_secret(
        path=f"centers/{center}/s3",
        secret={"accessKey": store.access_key, "secretKey": store.secret_key},
    )
    apply(api, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "nidc-sharing"}})
    config = {
        "center": sender[0],
        "region": sender[1],
        "peers": [
            {
                "center": center,
                "region": center,
                "endpoint": store.endpoint,
                "buckets": PEER_BUCKETS,
                "credentialsPath": f"secret/data/centers/{center}/s3",
            }
        ],
        "checksums": "sha256",
    }
    apply(
        api,
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "nidc-replication", "namespace": "nidc-sharing"},
            "data": {"replication.json": json.dumps(config)},
        },
    )
