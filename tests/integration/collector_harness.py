"""What the collector tests share: simulators and collectors as real processes, landed rows."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from minio import Minio

from nidc.collector.batch import manifest_sequence
from nidc.collector.config import BatchPolicy, LandingTarget, build_collector_config
from nidc.simulators.ground_truth import read_truth

REPO = Path(__file__).resolve().parents[2]


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.2)


def start_process(
    args: list[str], log: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    out = log.open("ab")
    return subprocess.Popen(
        [sys.executable, *args],
        stdout=out,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        cwd=REPO,
        env={**os.environ, **(env or {})},
        start_new_session=True,
    )


def stop_process(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def datasource(kind: str, endpoint: str, points: list[dict[str, Any]]) -> dict[str, Any]:
    """A DataSource as the API server returns it (what the reconciler hands the builder)."""
    name = f"it-{kind}-{uuid.uuid4().hex[:6]}"
    return {
        "apiVersion": "nidc.io/v1alpha1",
        "kind": "DataSource",
        "metadata": {"name": name, "namespace": "collector-it", "uid": str(uuid.uuid4())},
        "spec": {
            "type": kind,
            "endpoint": endpoint,
            "domain": "production-operation",
            "enterprisePrefix": "88.118.8",
            "continuous": True,
            "targetTable": f"bronze.{kind}_it",
            "points": points,
        },
    }


class CollectorRun:
    """One source's collector process (restartable), its config and its landing prefix."""

    def __init__(
        self,
        body: dict[str, Any],
        landing: LandingTarget,
        s3: Minio,
        creds: dict[str, str],
        workdir: Path,
        max_rows: int = 200,
        poll_seconds: float | None = 0.2,
    ) -> None:
        self.workdir = workdir
        self.config = build_collector_config(
            body,
            landing,
            collector_id=body["metadata"]["name"],
            batch=BatchPolicy(max_rows=max_rows, max_seconds=0.5),
            heartbeat_file=str(workdir / "heartbeat.json"),
            poll_seconds=poll_seconds,  # None: the spec's own rate
        )
        self.config_file = workdir / "collector.json"
        self.config_file.write_text(self.config.to_json())
        self.s3, self.creds = s3, creds
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = workdir / "collector.log"

    def start(self) -> None:
        self.proc = start_process(
            ["-m", "nidc.collector", str(self.config_file)], self.log, self.creds
        )

    def kill9(self) -> None:
        assert self.proc is not None and self.proc.poll() is None, f"collector died: {self.log}"
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)

    def manifests(self) -> dict[int, dict[str, Any]]:
        found = {}
        for obj in self.s3.list_objects(self.config.landing.bucket, prefix=self.config.prefix):
            seq = manifest_sequence(obj.object_name or "")
            if seq is not None:
                found[seq] = json.loads(self.read(obj.object_name or ""))
        return found

    def read(self, name: str) -> bytes:
        response = self.s3.get_object(self.config.landing.bucket, name)
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()

    def landed_rows(self) -> list[dict[str, Any]]:
        """Every row of every batch, after checking the manifests are gapless and match."""
        manifests = self.manifests()
        assert sorted(manifests) == list(range(1, len(manifests) + 1)), sorted(manifests)
        rows: list[dict[str, Any]] = []
        for seq, manifest in sorted(manifests.items()):
            data = self.read(f"{self.config.prefix}batch-{seq:012d}.parquet")
            assert hashlib.sha256(data).hexdigest() == manifest["sha256"], seq
            table = pq.read_table(io.BytesIO(data))
            assert table.num_rows == manifest["rows"], seq
            assert manifest["source"] == self.config.source
            assert manifest["sourceUid"] == self.config.source_uid
            rows.extend(table.to_pylist())
        return rows


def landing_s3(platform_env: dict[str, Any], bucket: str) -> tuple[Minio, Any, dict[str, str]]:
    """(admin client, landing target, collector env) for a test bucket on the platform's S3."""
    import urllib3

    from nidc.collector.config import LandingTarget

    server = platform_env["servers"]["minio"]
    secret = Path(server["secret_key_file"]).read_text().strip()
    client = Minio(
        server["url"].removeprefix("https://"),
        access_key=server["access_key"],
        secret_key=secret,
        secure=True,
        http_client=urllib3.PoolManager(
            cert_reqs="CERT_REQUIRED", ca_certs=platform_env["ca_file"]
        ),
    )
    if not client.bucket_exists(bucket):
        client.make_bucket(bucket)
    target = LandingTarget(endpoint=server["url"], bucket=bucket, ca_file=platform_env["ca_file"])
    creds = {"AWS_ACCESS_KEY_ID": server["access_key"], "AWS_SECRET_ACCESS_KEY": secret}
    return client, target, creds


def ts_text(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def landed_keys(rows: list[dict[str, Any]]) -> dict[tuple[str, str], str | None]:
    """(point, ts) -> raw, after dedup; a key landed twice must carry the same raw text."""
    keys: dict[tuple[str, str], str | None] = {}
    for row in rows:
        key = (row["point"], ts_text(row["ts"]))
        assert keys.setdefault(key, row["raw"]) == row["raw"], f"{key}: two different values"
    return keys


def truth_keys(truth: Path, point_of: Callable[[str], str]) -> dict[tuple[str, str], str]:
    samples, done = read_truth(truth)
    assert done is not None, "the simulator has not finished"
    keys = {(point_of(s["point"]), s["ts"]): s["raw"] for s in samples}
    assert len(keys) == done, "the simulator emitted a key twice"
    return keys


def truth_done(truth: Path) -> bool:
    return read_truth(truth)[1] is not None
