"""Replication between two centers on the local platform, by grade.

This platform plays the east regional center (the demo tenants' home region is east); the
national center's object store is a second, real MinIO server (tests/peer_center.py). The
platform engineer's part is done as on a cluster: the peer's login goes into OpenBao and the peer
list into the ConfigMap the stacks publish (nidc-sharing/nidc-replication).

Shown: a grade-1 table arrives with identical checksums (every file, read back from both
servers) and a second version is copied incrementally; Spark reads the replica as the same
table; a grade-3 table is refused with its reason, and nothing of it reaches the peer.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hvac
import pytest
from minio import Minio

from nidc.kube import apply, delete, get, list_objects
from tests.cluster import condition
from tests.operator_process import OperatorProcess
from tests.peer_center import PEER_BUCKETS, PeerObjectStore

pytestmark = pytest.mark.integration

TENANT = "steel-plant"
SUFFIX = uuid.uuid4().hex[:5]


def openbao_admin(platform_env: dict[str, Any]) -> hvac.Client:
    """OpenBao with the platform's root token (the test acts as the platform engineer)."""
    bao = platform_env["servers"]["openbao"]
    return hvac.Client(
        url=bao["url"],
        token=Path(bao["root_token_file"]).read_text().strip(),
        verify=platform_env["ca_file"],
    )


def tenant_login(platform_env: dict[str, Any]) -> dict[str, str]:
    """The tenant's own S3 login, as its jobs get it."""
    found = openbao_admin(platform_env).secrets.kv.v2.read_secret_version(
        path=f"tenants/{TENANT}/s3", raise_on_deleted_version=True
    )
    return dict(found["data"]["data"])


def product(name: str, grade: int, sql: str) -> dict[str, Any]:
    return {
        "apiVersion": "nidc.io/v1alpha1",
        "kind": "DataProduct",
        "metadata": {"name": name, "namespace": TENANT},
        "spec": {
            "inputs": [{"kind": "DataSource", "name": "line-sensors"}],
            "transform": {"sql": sql},
            "maxAttempts": 1,
            "owner": {"name": "Wang Li", "email": "wang.li@steel.example.cn"},
            "grade": grade,
            "targetTable": f"silver.{name.replace('-', '_')}",
        },
    }


def replication(name: str, table: str) -> dict[str, Any]:
    return {
        "apiVersion": "nidc.io/v1alpha1",
        "kind": "DataReplication",
        "metadata": {"name": name, "namespace": TENANT},
        "spec": {"table": {"kind": "DataProduct", "name": table}, "destination": "national"},
    }


def wait_for(
    api: Any, kind: str, name: str, check: Callable[[dict[str, Any]], bool], timeout: float = 300
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    found: dict[str, Any] | None = None
    while time.monotonic() < deadline:
        found = get(api, "nidc.io/v1alpha1", kind, name, TENANT)
        if found and check(found):
            return found
        time.sleep(2)
    raise AssertionError(f"timed out waiting for {kind} {name}: {found and found.get('status')}")


def ready(obj: dict[str, Any]) -> bool:
    return condition(obj, "Ready").get("status") == "True"


def object_sums(client: Minio, bucket: str, prefix: str) -> dict[str, str]:
    """sha256 of every object under the prefix, keyed by the path relative to it."""
    sums = {}
    for obj in client.list_objects(bucket, prefix=prefix + "/", recursive=True):
        name = obj.object_name or ""
        response = client.get_object(bucket, name)
        try:
            sums[name[len(prefix) + 1 :]] = hashlib.sha256(response.read()).hexdigest()
        finally:
            response.close()
            response.release_conn()
    return sums


def tenant_store(platform_env: dict[str, Any]) -> Minio:
    """The tenant's own S3 login, as its jobs have it."""
    import urllib3

    creds = tenant_login(platform_env)
    return Minio(
        platform_env["servers"]["minio"]["url"].split("://", 1)[1],
        access_key=creds["accessKey"],
        secret_key=creds["secretKey"],
        secure=True,
        http_client=urllib3.PoolManager(
            cert_reqs="CERT_REQUIRED", ca_certs=platform_env["ca_file"]
        ),
    )


def delta_files(sums: dict[str, str]) -> dict[str, str]:
    """Only what the replica promises to hold: log commits, their sidecars and data files."""
    return {
        path: digest
        for path, digest in sums.items()
        if not path.startswith("_nidc_replication/") and not path.endswith("_last_checkpoint")
    }


def test_grade_1_arrives_with_identical_checksums_and_grade_3_stays(
    tenants: Any,
    tenant_spark: Any,
    line_sensors: str,
    platform_env: dict[str, Any],
    operator: OperatorProcess,
    national: PeerObjectStore,
) -> None:
    api = tenants
    general, core = f"repl-general-{SUFFIX}", f"repl-core-{SUFFIX}"
    try:
        check_replication(api, tenant_spark, platform_env, national, general, core)
    finally:
        # Leave no timers behind for the tests that share this platform.
        for kind, name in (
            ("DataReplication", f"{general}-to-national"),
            ("DataReplication", f"{core}-to-national"),
            ("DataProduct", general),
            ("DataProduct", core),
        ):
            delete(api, "nidc.io/v1alpha1", kind, name, TENANT)


def check_replication(
    api: Any,
    tenant_spark: Any,
    platform_env: dict[str, Any],
    national: PeerObjectStore,
    general: str,
    core: str,
) -> None:
    """The steps of the test above."""
    apply(
        api, product(general, 1, "SELECT line, count(*) AS samples FROM line_sensors GROUP BY line")
    )
    apply(api, product(core, 3, "SELECT line, avg(value) AS mean FROM line_sensors GROUP BY line"))
    apply(api, replication(f"{general}-to-national", general))
    apply(api, replication(f"{core}-to-national", core))

    # Grade 3: refused with the reason, no run recorded, a warning event, nothing at the peer.
    refused = wait_for(
        api,
        "DataReplication",
        f"{core}-to-national",
        lambda r: condition(r, "Ready").get("reason") == "CoreDataStaysInRegion",
        timeout=120,
    )
    message = condition(refused, "Ready")["message"]
    assert "grade 3 (core)" in message and "stays in region east" in message, message
    assert condition(refused, "Degraded")["status"] == "True"

    # Grade 1: copied, Ready with the checksum of what arrived.
    source = wait_for(api, "DataProduct", general, ready)
    done = wait_for(
        api,
        "DataReplication",
        f"{general}-to-national",
        lambda r: (
            ready(r) and r["status"].get("replicatedVersion") == source["status"]["tableVersion"]
        ),
    )
    status = done["status"]
    assert status["grade"] == 1 and status["destinationRegion"] == "national"
    table = general.replace("-", "_")
    dest_prefix = f"region-east/{TENANT}/silver/{table}"
    assert status["destinationPath"] == f"s3a://replica-grade1/{dest_prefix}"

    peer = national.client()
    copied = object_sums(peer, "replica-grade1", dest_prefix)
    original = object_sums(tenant_store(platform_env), f"tenant-{TENANT}", f"silver/{table}")
    replica = delta_files(copied)
    assert replica, "nothing arrived"
    assert any(p.endswith(".parquet") and not p.startswith("_delta_log") for p in replica)
    # Every file of the replica is byte-identical to the source's file of the same name.
    assert {p: original.get(p) for p in replica} == replica
    # And every file the source's log holds arrived.
    assert {p for p in original if p.startswith("_delta_log/") and p.endswith(".json")} <= set(
        replica
    )
    expected = hashlib.sha256(
        "".join(f"{p} {replica[p]}\n" for p in sorted(replica)).encode()
    ).hexdigest()
    assert status["checksum"] == expected

    # A real Delta reader sees the same table at the peer.
    conf = tenant_spark.sparkContext._jsc.hadoopConfiguration()
    for key, value in {
        "endpoint": national.endpoint,
        "access.key": national.access_key,
        "secret.key": national.secret_key,
        "path.style.access": "true",
        # The session's own provider reads the tenant's login from the environment.
        "aws.credentials.provider": "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
    }.items():
        conf.set(f"fs.s3a.bucket.replica-grade1.{key}", value)
    at_peer = tenant_spark.read.format("delta").load(f"s3a://replica-grade1/{dest_prefix}")
    at_home = tenant_spark.read.format("delta").load(f"s3a://tenant-{TENANT}/silver/{table}")
    assert at_peer.count() == source["status"]["rows"] == 2
    assert at_peer.exceptAll(at_home).count() == 0 and at_home.exceptAll(at_peer).count() == 0

    # A new version of the table: the next copy takes only what is new.
    first_files = len(replica)
    apply(
        api, product(general, 1, "SELECT line, max(value) AS peak FROM line_sensors GROUP BY line")
    )
    newer = wait_for(
        api, "DataProduct", general, lambda p: ready(p) and p["status"]["tableVersion"] == 1
    )
    again = wait_for(
        api,
        "DataReplication",
        f"{general}-to-national",
        lambda r: ready(r) and r["status"].get("replicatedVersion") == 1,
    )
    replica_after = delta_files(object_sums(peer, "replica-grade1", dest_prefix))
    runs = sorted(
        list_objects(
            api,
            "nidc.io/v1alpha1",
            "PipelineRun",
            namespace=TENANT,
            label_selector=f"nidc.io/parent-uid={again['metadata']['uid']}",
        ),
        key=lambda r: r["spec"]["sequence"],
    )
    assert [r["status"]["phase"] for r in runs] == ["Succeeded", "Succeeded"]
    assert runs[0]["status"]["files"] == first_files
    assert runs[1]["status"]["files"] == len(replica_after) - first_files
    assert runs[1]["spec"]["job"]["untilVersion"] == newer["status"]["tableVersion"]
    assert again["status"]["checksum"] != status["checksum"]
    assert {
        p: original_digest
        for p, original_digest in object_sums(
            tenant_store(platform_env), f"tenant-{TENANT}", f"silver/{table}"
        ).items()
        if p in replica_after
    } == replica_after

    # Still refused, never copied: the core table has no run and no object at the peer.
    core_runs = list_objects(
        api,
        "nidc.io/v1alpha1",
        "PipelineRun",
        namespace=TENANT,
        label_selector=f"nidc.io/parent-uid={refused['metadata']['uid']}",
    )
    assert core_runs == []
    core_table = core.replace("-", "_")
    for bucket in PEER_BUCKETS.values():
        assert not list(
            peer.list_objects(bucket, prefix=f"region-east/{TENANT}/silver/{core_table}")
        )
    events = [
        e
        for e in list_objects(api, "v1", "Event", namespace=TENANT)
        if e["involvedObject"]["name"] == f"{core}-to-national"
    ]
    assert any(e["reason"] == "CoreDataStaysInRegion" and e["type"] == "Warning" for e in events)


def run_copy_job(folder: Path, env: dict[str, str], crash_at: str | None) -> int:
    """One attempt of the copy job, as the local runner starts it; returns its exit status."""
    import os
    import subprocess
    import sys

    child_env = {**os.environ, **env}
    child_env.pop("NIDC_CRASH_AT", None)
    if crash_at:
        child_env["NIDC_CRASH_AT"] = crash_at
    (folder / "failure.json").unlink(missing_ok=True)
    return subprocess.run(
        [sys.executable, "-m", "spark_jobs.run", str(folder)],
        env=child_env,
        cwd=folder,
        capture_output=True,
        timeout=120,
        check=False,
    ).returncode


def replica_is_whole(peer: Minio, bucket: str, prefix: str, source: dict[str, str]) -> int:
    """Every commit the replica holds has all its files, byte-identical; returns its version."""
    from spark_jobs.replicate import files_of_commit

    held = delta_files(object_sums(peer, bucket, prefix))
    commits = sorted(p for p in held if p.startswith("_delta_log/") and p.endswith(".json"))
    for commit in commits:
        response = peer.get_object(bucket, f"{prefix}/{commit}")
        try:
            text = response.read().decode()
        finally:
            response.close()
            response.release_conn()
        for path in files_of_commit(text):
            assert held.get(path) == source[path], f"{commit} refers to {path}, missing or changed"
    return len(commits) - 1


def test_a_killed_copy_resumes_without_loss_or_a_torn_version(
    tenants: Any,
    tenant_spark: Any,
    platform_env: dict[str, Any],
    national: PeerObjectStore,
    tmp_path: Path,
) -> None:
    """kill -9 of the copy job before and after each commit: the replica is whole after every
    kill, each attempt goes on where the last stopped, and the end is identical to the source."""
    table = f"repl_crash_{SUFFIX}"
    source_path = f"s3a://tenant-{TENANT}/silver/{table}"
    versions = 4
    for v in range(versions):
        rows = [(v, i, float(i * v)) for i in range(200)]
        tenant_spark.createDataFrame(rows, "v int, i int, x double").write.format("delta").mode(
            "append"
        ).save(source_path)
    store = tenant_store(platform_env)
    source = object_sums(store, f"tenant-{TENANT}", f"silver/{table}")
    dest_prefix = f"crash-test/{TENANT}/silver/{table}"
    folder = tmp_path / "copy-run"
    folder.mkdir()
    (folder / "spec.json").write_text(
        json.dumps(
            {
                "job": "replicate",
                "run": "copy-run",
                "storage": {
                    "endpoint": platform_env["servers"]["minio"]["url"],
                    "region": "us-east-1",
                    "caFile": platform_env["ca_file"],
                },
                # A ReplicateJob (nidc/api/job_specs.py) plus the runner's runtime keys.
                "tenant": TENANT,
                "source": {"path": source_path, "table": f"silver.{table}"},
                "destination": {
                    "center": "national",
                    "region": "national",
                    "endpoint": national.endpoint,
                    "path": f"s3a://replica-grade1/{dest_prefix}",
                },
                "untilVersion": versions - 1,
            }
        )
    )
    creds = tenant_login(platform_env)
    env = {
        "AWS_ACCESS_KEY_ID": creds["accessKey"],
        "AWS_SECRET_ACCESS_KEY": creds["secretKey"],
        "NIDC_DEST_ACCESS_KEY": national.access_key,
        "NIDC_DEST_SECRET_KEY": national.secret_key,
    }
    peer = national.client()
    held, kills = -1, 0
    while held < versions - 1:
        # Killed with a version's files copied but not its commit: no progress, nothing torn.
        assert run_copy_job(folder, env, "replicate:before-commit") == -9
        assert replica_is_whole(peer, "replica-grade1", dest_prefix, source) == held
        # Killed right after the next commit: exactly one version further.
        assert run_copy_job(folder, env, "replicate:after-commit") == -9
        kills += 2
        now = replica_is_whole(peer, "replica-grade1", dest_prefix, source)
        assert now == held + 1
        held = now
    assert not (folder / "result.json").exists()
    assert run_copy_job(folder, env, None) == 0
    result = json.loads((folder / "result.json").read_text())
    assert result["files"] == 0  # everything was there already: nothing copied twice
    replica = delta_files(object_sums(peer, "replica-grade1", dest_prefix))
    assert replica == {p: source[p] for p in replica}
    assert {p for p in source if p.startswith("_delta_log/") and p.endswith(".json")} <= set(
        replica
    )
    expected = hashlib.sha256(
        "".join(f"{p} {replica[p]}\n" for p in sorted(replica)).encode()
    ).hexdigest()
    assert result["checksum"] == expected
    assert kills == 2 * versions
