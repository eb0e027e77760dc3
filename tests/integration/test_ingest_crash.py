"""kill -9 of the ingest job mid-write, 5 times (20 under `soak`).

The job runs as the runner starts it (`python -m spark_jobs.run <run-dir>`, its own JVM, the
tenant's S3 keys in its environment). Each attempt is SIGKILLed, with its whole process group
(Python driver and JVM, as a container kill would), a moment after its first new Delta commit:
while it writes the next batch. After every kill the table must be readable (by delta-rs, an
independent reader, so no second Spark JVM runs beside the job), no (source, point, ts) key may
appear twice and no batch may have more than one commit. A last attempt runs to the end; then
the rows per key equal the ground truth exactly and every batch has exactly one commit.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from minio import Minio

from nidc.local.pki import TRUSTSTORE_PASSWORD
from nidc.local.platform import LocalPlatform
from tests.landing import LandingWriter, admin_store, sample, txn_commits

pytestmark = pytest.mark.integration

BUCKET = "tenant-steel-plant"
NAMESPACE = "steel-plant"
POINTS = [
    {
        "name": "spindle_temp",
        "address": "ns=2;s=Spindle.Temp",
        "identifier": "88.118.8/CNC-07.spindle_temp",
        "unit": "Cel",
        "minimum": -20,
        "maximum": 200,
    },
    {
        "name": "spindle_load",
        "address": "ns=2;s=Spindle.Load",
        "identifier": "88.118.8/CNC-07.spindle_load",
        "unit": "%",
    },
]


@pytest.fixture(scope="module")
def tenant_keys(platform_env: dict[str, Any], tenants: Any) -> dict[str, str]:
    """steel-plant's S3 keys from OpenBao, as the runner hands them to a job."""
    import hvac

    bao = platform_env["servers"]["openbao"]
    vault = hvac.Client(
        url=bao["url"],
        token=Path(bao["root_token_file"]).read_text().strip(),
        verify=platform_env["ca_file"],
    )
    data = vault.secrets.kv.v2.read_secret_version(
        path="tenants/steel-plant/s3", raise_on_deleted_version=True
    )["data"]["data"]
    return {"AWS_ACCESS_KEY_ID": data["accessKey"], "AWS_SECRET_ACCESS_KEY": data["secretKey"]}


def land_batches(writer: LandingWriter, batches: int) -> set[tuple[str, str]]:
    """`batches` batches of 2 points x 120 s, each overlapping the last by 20 s; returns the keys
    (point, ts) that must land."""
    truth: set[tuple[str, str]] = set()
    for sequence in range(1, batches + 1):
        start = (sequence - 1) * 100
        rows = []
        for second in range(start, start + 120):
            rows.append(sample("spindle_temp", second, str(40 + second % 50)))
            rows.append(sample("spindle_load", second, f'{{"value": {second % 100}}}'))
        rows.append(sample("spindle_temp", start, "999"))  # out of range: quarantine
        writer.write(sequence, rows)
        for row in rows:
            if row["raw"] != "999":
                truth.add((row["point"], row["ts"].isoformat()))
    return truth


def delta_rows(platform_env: dict[str, Any], path: str) -> list[dict[str, Any]]:
    """Read the table with delta-rs (raises if the table cannot be read)."""
    os.environ["SSL_CERT_FILE"] = platform_env["ca_file"]
    from deltalake import DeltaTable

    s3 = platform_env["servers"]["minio"]
    options = {
        "AWS_ENDPOINT_URL": s3["url"],
        "AWS_ACCESS_KEY_ID": s3["access_key"],
        "AWS_SECRET_ACCESS_KEY": Path(s3["secret_key_file"]).read_text().strip(),
        "AWS_REGION": "us-east-1",
        "AWS_FORCE_PATH_STYLE": "true",
    }
    table = DeltaTable(path.replace("s3a://", "s3://"), storage_options=options)
    rows: list[dict[str, Any]] = table.to_pyarrow_table(
        columns=["source", "point", "ts", "batch_sequence"]
    ).to_pylist()
    return rows


def commit_count(store: Minio, prefix: str) -> int:
    return sum(
        1
        for o in store.list_objects(BUCKET, f"{prefix}/_delta_log/")
        if (o.object_name or "").endswith(".json")
    )


def crash_and_recover(
    platform: LocalPlatform,
    platform_env: dict[str, Any],
    tenant_keys: dict[str, str],
    tmp_path: Path,
    kills: int,
) -> None:
    store = admin_store(platform_env)
    tag = uuid.uuid4().hex[:8]
    uid = str(uuid.uuid4())
    writer = LandingWriter(store, BUCKET, NAMESPACE, f"cnc-crash-{tag}", uid)
    # Each kill lands after at least one new commit: enough batches that work remains.
    batches = kills + 7
    truth = land_batches(writer, batches)
    target_prefix = f"it-{tag}/bronze/cnc"
    spec = {
        "job": "ingest",
        "type": "opcua",
        "source": writer.source,
        "namespace": NAMESPACE,
        "sourceUid": uid,
        "points": POINTS,
        "target": f"s3a://{BUCKET}/{target_prefix}",
        "quarantine": f"s3a://{BUCKET}/it-{tag}/quarantine/cnc",
        "landing": {"prefix": writer.prefix},
        "run": f"ingest-crash-{tag}",
        "storage": {
            "endpoint": platform_env["servers"]["minio"]["url"],
            "region": "us-east-1",
            "truststore": str(platform.ca.java_truststore()),
            "truststorePassword": TRUSTSTORE_PASSWORD,
        },
        "jars": platform_env["spark_jars"],
    }
    run_dir = tmp_path / "runs" / spec["run"]
    run_dir.mkdir(parents=True)
    (run_dir / "spec.json").write_text(json.dumps(spec))
    env = {**os.environ, **tenant_keys, "NIDC_LOCAL_JOB_SLOTS": "1"}
    chance = random.Random(len(truth))  # noqa: S311 (kill timing, not secrets)

    live: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        log = (run_dir / "job.log").open("ab")
        job = subprocess.Popen(
            [sys.executable, "-m", "spark_jobs.run", str(run_dir)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
        live.append(job)
        return job

    def check_invariants() -> int:
        commits = txn_commits(store, BUCKET, target_prefix, uid)
        assert all(n == 1 for n in commits.values()), f"a batch committed twice: {commits}"
        if not commits:
            return 0
        rows = delta_rows(platform_env, spec["target"])  # readable after the kill
        keys = Counter((r["point"], r["ts"]) for r in rows)
        assert not keys or max(keys.values()) == 1, "a (source, point, ts) key landed twice"
        return len(commits)

    try:
        killed = 0
        while killed < kills:
            before = commit_count(store, target_prefix)
            job = start()
            deadline = time.monotonic() + 240
            while commit_count(store, target_prefix) == before and job.poll() is None:
                assert time.monotonic() < deadline, f"no commit within 240 s; see {run_dir}/job.log"
                time.sleep(0.2)
            if job.poll() is not None:
                break  # the job finished every batch before it could be killed: nothing left
            time.sleep(chance.uniform(0.0, 3.0))  # somewhere inside the next batch's writes
            os.killpg(job.pid, signal.SIGKILL)
            job.wait()
            killed += 1
            committed = check_invariants()
            print(f"kill {killed}: {committed} of {batches} batches committed")
            if committed == batches:
                break
        assert killed >= min(kills, 3), f"only {killed} kills landed mid-run; see {run_dir}"

        (run_dir / "failure.json").unlink(missing_ok=True)
        final = start()
        assert final.wait(timeout=480) == 0, f"the last attempt failed; see {run_dir}/job.log"
        result = json.loads((run_dir / "result.json").read_text())
        assert result["checkpoint"] == {"batchSequence": batches}
        commits = txn_commits(store, BUCKET, target_prefix, uid)
        assert commits == dict.fromkeys(range(1, batches + 1), 1)
        rows = delta_rows(platform_env, spec["target"])
        landed = Counter((r["point"], r["ts"].isoformat()) for r in rows)
        assert set(landed) == truth and max(landed.values()) == 1
        assert result["rows"] == len(truth)
        assert result["quarantinedRows"] == batches  # one out-of-range sample per batch, once
        assert txn_commits(store, BUCKET, f"it-{tag}/quarantine/cnc", uid) == dict.fromkeys(
            range(1, batches + 1), 1
        )

    finally:
        # A failing or timed-out test must not leave a job (and its JVM) behind.
        for job in live:
            if job.poll() is None:
                os.killpg(job.pid, signal.SIGKILL)
                job.wait()


@pytest.mark.timeout(1800)
def test_kill_ingest_job_mid_write(
    platform: LocalPlatform,
    platform_env: dict[str, Any],
    tenant_keys: dict[str, str],
    tmp_path: Path,
) -> None:
    crash_and_recover(platform, platform_env, tenant_keys, tmp_path, kills=5)


@pytest.mark.soak
@pytest.mark.timeout(5400)  # about 2 min per kill on two shared cores
def test_kill_ingest_job_mid_write_20_times(
    platform: LocalPlatform,
    platform_env: dict[str, Any],
    tenant_keys: dict[str, str],
    tmp_path: Path,
) -> None:
    crash_and_recover(platform, platform_env, tenant_keys, tmp_path, kills=20)
