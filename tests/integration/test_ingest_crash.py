"""kill -9 of the ingest job mid-write, 5 times (20 under `soak`, outside CI).

The job runs as the runner starts it (`python -m spark_jobs.run <run-dir>`, its own JVM, the
tenant's S3 keys in its environment). Every kill is a real SIGKILL of a fresh attempt, with its
whole process group (Python driver and JVM, as a container kill would), a random 0-3 s after
the attempt's first new Delta commit: alternately a quarantine commit (the kill then lands in
the same batch's bronze MERGE, one table committed and the other not) and a bronze commit (it
lands in the next batch's writes). After every kill both tables must read (by delta-rs, an
independent reader, so no second Spark JVM runs beside the job), no batch may have more than one
commit in either, and no (source, point, ts) key may appear twice in bronze. Batches land as the
attempts use them up (3 pending at each start, as a collector would keep landing), so each
attempt's first pass over the pending batches stays short. A last attempt runs to the end; then
the rows per key equal the ground truth exactly and every batch has exactly one commit in each
table.

Where an attempt's time goes (spans of one job, load ~5-9): Spark session start ~22 s, the first
pass ~13 s, ~17-32 s per batch; the test itself (listing the log, delta-rs reads) under 0.5 s per
kill. The next attempt starts as soon as the checks pass. Measured: the 20-kill variant passed
in 1779 s (20 kills in 1691 s, 12 batches, last attempt 70 s); attempts took 102-260 s at load
11-29 and 31-76 s at load 3-8.
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from minio import Minio

from nidc.local.pki import TRUSTSTORE_PASSWORD
from nidc.local.platform import LocalPlatform
from tests.delta_reader import delta_rows as read_delta
from tests.landing import LandingWriter, admin_store, sample, txn_commits

pytestmark = pytest.mark.integration

BUCKET = "tenant-steel-plant"
AHEAD = 3  # landing batches pending at every attempt's start
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


def land_batches(writer: LandingWriter, first: int, last: int) -> set[tuple[str, str]]:
    """Batches `first`..`last` of 2 points x 120 s, each overlapping the one before by 20 s;
    returns the keys (point, ts) that must land."""
    truth: set[tuple[str, str]] = set()
    for sequence in range(first, last + 1):
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


def delta_rows(
    platform_env: dict[str, Any],
    path: str,
    columns: tuple[str, ...] | list[str] = ("source", "point", "ts", "batch_sequence"),
) -> list[dict[str, Any]]:
    """Read the table with delta-rs (raises if the table cannot be read)."""
    return read_delta(platform_env, path, columns)


def commit_count(store: Minio, prefix: str) -> int:
    return sum(
        1
        for o in store.list_objects(BUCKET, f"{prefix}/_delta_log/")
        if (o.object_name or "").endswith(".json")
    )


@dataclass(frozen=True)
class Engine:
    """How a run of one engine is started and where its kill lands."""

    module: str
    ahead: int  # landing batches pending at every attempt's start
    kill_within: float  # seconds after the watched commit
    poll: float  # seconds between looks at the log


ENGINES = {
    "spark": Engine("spark_jobs.run", AHEAD, 3.0, 0.2),
    # A native batch commits in tens of milliseconds: more batches ahead and a kill within
    # 0.3 s keep the kill inside the run (quarantine commit -> bronze commit is one write).
    "native": Engine("spark_jobs.ingest.native", 25, 0.3, 0.02),
}


def crash_and_recover(
    platform: LocalPlatform,
    platform_env: dict[str, Any],
    tenant_keys: dict[str, str],
    tmp_path: Path,
    kills: int,
    engine: str = "spark",
) -> None:
    how = ENGINES[engine]
    store = admin_store(platform_env)
    tag = uuid.uuid4().hex[:8]
    uid = str(uuid.uuid4())
    writer = LandingWriter(store, BUCKET, NAMESPACE, f"cnc-crash-{tag}", uid)
    # Batches land as the attempts use them up, as a collector's would: a few pending at each
    # start keep the job's first pass (it reads every pending batch's schema before any
    # commit) short, and the kill always finds work left.
    batches = how.ahead
    truth = land_batches(writer, 1, batches)
    target_prefix = f"it-{tag}/bronze/cnc"
    quarantine_prefix = f"it-{tag}/quarantine/cnc"
    spec = {
        "job": "ingest",
        "type": "opcua",
        "engine": engine,
        "source": writer.source,
        "namespace": NAMESPACE,
        "sourceUid": uid,
        "points": POINTS,
        "target": f"s3a://{BUCKET}/{target_prefix}",
        "quarantine": f"s3a://{BUCKET}/{quarantine_prefix}",
        "landing": {"prefix": writer.prefix},
        "run": f"ingest-crash-{tag}",
        "storage": {
            "endpoint": platform_env["servers"]["minio"]["url"],
            "region": "us-east-1",
            "truststore": str(platform.ca.java_truststore()),
            "truststorePassword": TRUSTSTORE_PASSWORD,
            "caFile": platform_env["ca_file"],
        },
        "jars": platform_env["spark_jars"],
        "jvmOptions": platform_env["spark_jvm_options"],  # as the local runner starts it
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
            [sys.executable, "-m", how.module, str(run_dir)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
        live.append(job)
        return job

    def check_invariants() -> int:
        """After a kill: both logs hold at most one commit per batch and both tables read;
        no key twice in bronze. Returns the bronze batches committed."""
        quarantined = txn_commits(store, BUCKET, quarantine_prefix, uid)
        assert all(n == 1 for n in quarantined.values()), f"quarantined twice: {quarantined}"
        if quarantined:
            delta_rows(platform_env, spec["quarantine"], ["batch_sequence"])
        commits = txn_commits(store, BUCKET, target_prefix, uid)
        assert all(n == 1 for n in commits.values()), f"a batch committed twice: {commits}"
        if not commits:
            return 0
        rows = delta_rows(platform_env, spec["target"])  # readable after the kill
        keys = Counter((r["point"], r["ts"]) for r in rows)
        assert not keys or max(keys.values()) == 1, "a (source, point, ts) key landed twice"
        return len(commits)

    try:
        killed = committed = 0
        started = time.monotonic()
        while killed < kills:
            if batches < committed + how.ahead:
                truth |= land_batches(writer, batches + 1, committed + how.ahead)
                batches = committed + how.ahead
            # Alternate the table whose new commit the kill follows: after a quarantine commit
            # the kill lands in the same batch's bronze write (one table committed, the other
            # not), after a bronze commit in the next batch's writes.
            watched = quarantine_prefix if killed % 2 == 0 else target_prefix
            before = commit_count(store, watched)
            attempt_started = time.monotonic()
            job = start()
            # A hang detector only: at load 20 on two cores one attempt took over 240 s to its
            # first bronze commit (JVM, lease, first pass, the MERGE).
            deadline = time.monotonic() + 600
            while commit_count(store, watched) == before and job.poll() is None:
                assert time.monotonic() < deadline, f"no commit within 600 s; see {run_dir}/job.log"
                time.sleep(how.poll)
            assert job.poll() is None, f"the job ended before kill {killed + 1}; see {run_dir}"
            time.sleep(chance.uniform(0.0, how.kill_within))  # somewhere inside the next writes
            os.killpg(job.pid, signal.SIGKILL)
            job.wait()
            killed += 1
            committed = check_invariants()
            print(
                f"kill {killed} after a {watched.rsplit('/', 2)[-2]} commit: {committed} of "
                f"{batches} batches in bronze; attempt {time.monotonic() - attempt_started:.0f} s"
            )
        print(f"{killed} kills in {time.monotonic() - started:.0f} s")

        (run_dir / "failure.json").unlink(missing_ok=True)
        final_started = time.monotonic()
        final = start()
        assert final.wait(timeout=480) == 0, f"the last attempt failed; see {run_dir}/job.log"
        print(f"last attempt {time.monotonic() - final_started:.0f} s")
        result = json.loads((run_dir / "result.json").read_text())
        assert result["checkpoint"] == {"batchSequence": batches}
        commits = txn_commits(store, BUCKET, target_prefix, uid)
        assert commits == dict.fromkeys(range(1, batches + 1), 1)
        rows = delta_rows(platform_env, spec["target"])
        landed = Counter((r["point"], r["ts"].isoformat()) for r in rows)
        assert set(landed) == truth and max(landed.values()) == 1
        assert result["rows"] == len(truth)
        assert result["quarantinedRows"] == batches  # one out-of-range sample per batch, once
        assert txn_commits(store, BUCKET, quarantine_prefix, uid) == dict.fromkeys(
            range(1, batches + 1), 1
        )

    finally:
        # A failing or timed-out test must not leave a job (and its JVM) behind.
        for job in live:
            if job.poll() is None:
                os.killpg(job.pid, signal.SIGKILL)
                job.wait()


# 5 kills in every run (CI included); the full 20 under `soak`, outside CI (docs/testing.md).
INGEST_KILLS = [
    pytest.param(5, marks=pytest.mark.timeout(1800), id="5-kills"),
    # 1779 s at load 3-29 on two shared cores: 31-260 s per kill
    pytest.param(20, marks=[pytest.mark.soak, pytest.mark.timeout(5400)], id="20-kills"),
]


@pytest.mark.parametrize("kills", INGEST_KILLS)
def test_kill_ingest_job_mid_write(
    platform: LocalPlatform,
    platform_env: dict[str, Any],
    tenant_keys: dict[str, str],
    tmp_path: Path,
    kills: int,
) -> None:
    crash_and_recover(platform, platform_env, tenant_keys, tmp_path, kills=kills)


# The native writer (decision 0250): the same loop and checks, its own process (no JVM).
NATIVE_KILLS = [
    pytest.param(5, marks=pytest.mark.timeout(600), id="5-kills"),
    pytest.param(20, marks=[pytest.mark.soak, pytest.mark.timeout(1800)], id="20-kills"),
]


@pytest.mark.parametrize("kills", NATIVE_KILLS)
def test_kill_native_ingest_mid_write(
    platform: LocalPlatform,
    platform_env: dict[str, Any],
    tenant_keys: dict[str, str],
    tmp_path: Path,
    kills: int,
) -> None:
    crash_and_recover(platform, platform_env, tenant_keys, tmp_path, kills=kills, engine="native")
