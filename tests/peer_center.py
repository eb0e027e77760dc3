"""A second center's object store for replication tests: a real MinIO server of its own.

It runs the platform's MinIO binary on another loopback port, with its own data folder and root
login, serving TLS with the platform's server certificate (so the platform CA verifies it, as a
national PKI would for real centers).
"""

from __future__ import annotations

import secrets
import subprocess
import time
from pathlib import Path
from types import TracebackType

import requests
import urllib3
from minio import Minio

from nidc.local.state import free_port
from nidc.local.tools.manifest import binary_path


class PeerObjectStore:
    """MinIO for a peer center, started and stopped by a test."""

    def __init__(self, platform_root: Path, folder: Path, ca_file: str) -> None:
        self.certs = platform_root / "data" / "minio-certs"
        self.folder = folder
        self.ca_file = ca_file
        self.port = free_port()
        self.access_key = "peer-root"
        self.secret_key = secrets.token_urlsafe(24)
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

    def __enter__(self) -> PeerObjectStore:
        (self.folder / "data").mkdir(parents=True, exist_ok=True)
        log = (self.folder / "minio.log").open("ab")
        self.process = subprocess.Popen(
            [
                str(binary_path("minio")),
                "server",
                f"--address=127.0.0.1:{self.port}",
                f"--console-address=127.0.0.1:{free_port()}",
                f"--certs-dir={self.certs}",
                "--quiet",
                str(self.folder / "data"),
            ],
            env={
                "MINIO_ROOT_USER": self.access_key,
                "MINIO_ROOT_PASSWORD": self.secret_key,
                "MINIO_BROWSER": "off",
                "MINIO_UPDATE": "off",
                "PATH": "/usr/bin:/bin",
            },
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                live = requests.get(
                    f"{self.endpoint}/minio/health/live", verify=self.ca_file, timeout=2
                )
                if live.status_code == 200:
                    return self
            except requests.RequestException:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"peer MinIO did not start; see {self.folder / 'minio.log'}")
            time.sleep(0.5)

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
