"""The audit trail on the real object store and OpenBao transit (issue 22's audit bullet).

Records are appended to MinIO (one object each, created only if absent), checkpoints are signed
by the transit key `nidc-audit`; `nidc audit verify` passes, then fails naming the record a test
changed straight in MinIO, and the checkpoint another key signed. The operator writes a run's
started and finished records; OpenBao's own audit device records requests.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from minio import Minio

from nidc.audit import AuditTrail, Resource
from nidc.audit.checkpoint import sign_checkpoint
from nidc.audit.reading import clients, read_records
from nidc.audit.record import AuditRecord
from nidc.audit.store import CHECKPOINTS, DEFAULT_CENTER, RECORDS, number_of, object_name
from nidc.audit.transit import TransitSigner
from nidc.audit.witness import KvWitness
from nidc.kube import apply, delete
from tests.operator_process import OperatorProcess

pytestmark = pytest.mark.integration

CANARY = f"canary-{uuid.uuid4().hex}"
TENANT = "steel-plant"


def nidc(env: dict[str, Any], *args: str) -> subprocess.CompletedProcess[str]:
    """`nidc ...` as a user runs it, on this session's platform."""
    return subprocess.run(
        [sys.executable, "-m", "nidc.cli", *args],
        env={**os.environ, "NIDC_STATE_DIR": env["state_dir"]},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def append_some(trail: AuditTrail, count: int) -> list[AuditRecord]:
    return [
        trail.append(
            actor="tests",
            action="grant.issued",
            resource=Resource(kind="DataGrant", namespace="plant-a", name=f"grant-{n}"),
            decision="allowed",
            reason=f"test record {n}",
            trace_id=f"{n:032x}",
            details={"columns": ["a", "b"], "password": CANARY, "n": n},
            record_id=f"test/grant-{n}",
        )
        for n in range(count)
    ]


def test_append_verify_tamper_and_adopt(platform_env: dict[str, Any]) -> None:
    center = f"it-{uuid.uuid4().hex[:8]}"
    store, signer = clients(platform_env)
    trail = AuditTrail(store, signer, center, witness=KvWitness(signer.client, center))
    records = append_some(trail, 5)
    assert [r.sequence for r in records] == list(range(5))

    # The transit key was created as ed25519; the bucket keeps versions of every object.
    key = signer.client.secrets.transit.read_key(name="nidc-audit", mount_point="transit")
    assert key["data"]["type"] == "ed25519"
    assert store.s3.get_bucket_versioning(store.bucket).status == "Enabled"

    # Secrets never reach the store: the canary was redacted before the record was built.
    for n in range(5):
        data = store.get(object_name(center, RECORDS, n))
        assert data is not None and CANARY.encode() not in data
        assert AuditRecord.from_bytes(data).details["password"] == "[REDACTED]"

    verified = nidc(platform_env, "audit", "verify", "--center", center)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "5 records, 5 checkpoints, signed up to tree size 5: OK" in verified.stdout

    # A writer started afresh (an operator after a kill) adopts a retried append by its id and
    # resumes after the highest sequence.
    restarted = AuditTrail(store, signer, center)
    again = restarted.append(
        actor="tests",
        action="grant.issued",
        resource=records[2].resource,
        decision="allowed",
        record_id="test/grant-2",
    )
    assert again == records[2]
    assert store.get(object_name(center, RECORDS, 5)) is None
    # Two writers at the same head: the second one's sequence 5 is taken, it writes 6.
    first = trail.append(
        actor="tests", action="x", resource=records[0].resource, decision="ok", record_id="w1"
    )
    second = restarted.append(
        actor="tests", action="x", resource=records[0].resource, decision="ok", record_id="w2"
    )
    assert (first.sequence, second.sequence) == (5, 6)
    assert [r.id for r in read_records(store, center)][5:] == ["w1", "w2"]

    # Tampered with straight in MinIO: verify fails and names the record.
    name = object_name(center, RECORDS, 3)
    original = AuditRecord.from_bytes(store.get(name) or b"")
    forged = original.model_copy(update={"decision": "refused"}).canonical_bytes()
    store.s3.put_object(store.bucket, name, io.BytesIO(forged), len(forged))
    failed = nidc(platform_env, "audit", "verify", "--center", center)
    assert failed.returncode == 1, failed.stdout
    assert f"record 3 ({name}) is not what this checkpoint signed" in failed.stdout
    # The earlier version is kept (versioning): the record can be restored.
    versions = list(store.s3.list_objects(store.bucket, prefix=name, include_version=True))
    assert len(versions) == 2


def test_concurrent_appends_share_signatures_and_every_record_is_covered(
    platform_env: dict[str, Any],
) -> None:
    """Group commit: 40 appends from 8 threads; each returns once a signed checkpoint covers
    it, the log verifies, and the appends that overlapped shared a signature."""
    center = f"it-{uuid.uuid4().hex[:8]}"
    store, signer = clients(platform_env)
    trail = AuditTrail(store, signer, center, witness=KvWitness(signer.client, center))
    covered: list[bool] = []

    def one(n: int) -> None:
        record = trail.append(
            actor="tests",
            action="run.started",
            resource=Resource(kind="PipelineRun", namespace="plant-a", name=f"run-{n}"),
            decision="allowed",
            record_id=f"test/run-{n}",
        )
        # Signed before the append returned: some checkpoint of at least its size exists.
        prefix = f"{center}/{CHECKPOINTS}/"
        signed = store.s3.list_objects(store.bucket, prefix=prefix, recursive=True)
        sizes = [number_of(o.object_name) or 0 for o in signed]
        covered.append(max(sizes, default=0) >= record.sequence + 1)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(one, range(40)))
    assert len(covered) == 40 and all(covered)
    verified = nidc(platform_env, "audit", "verify", "--center", center)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "40 records," in verified.stdout and "signed up to tree size 40: OK" in verified.stdout
    checkpoints = int(verified.stdout.split("40 records, ")[1].split(" checkpoints")[0])
    assert checkpoints < 40, verified.stdout  # overlapping appends shared signatures


def test_a_checkpoint_signed_with_another_transit_key_fails(platform_env: dict[str, Any]) -> None:
    center = f"it-{uuid.uuid4().hex[:8]}"
    store, signer = clients(platform_env)
    trail = AuditTrail(store, signer, center)
    append_some(trail, 3)
    intruder = TransitSigner(signer.client, f"intruder-{uuid.uuid4().hex[:6]}", signer.mount)
    intruder.ensure_key()
    # The intruder signs the very same head; only the key differs.
    genuine = json.loads(store.get(object_name(center, CHECKPOINTS, 3)) or b"{}")
    forged = sign_checkpoint(
        intruder, center, 3, bytes.fromhex(genuine["root_hash"]), dt.datetime.now(dt.UTC)
    ).to_bytes()
    name = object_name(center, CHECKPOINTS, 3)
    store.s3.put_object(store.bucket, name, io.BytesIO(forged), len(forged))
    failed = nidc(platform_env, "audit", "verify", "--center", center)
    assert failed.returncode == 1, failed.stdout
    assert f"{name}: signature does not verify" in failed.stdout


def test_a_log_cut_with_its_checkpoints_fails_against_the_witness(
    platform_env: dict[str, Any],
) -> None:
    center = f"it-{uuid.uuid4().hex[:8]}"
    store, signer = clients(platform_env)
    append_some(AuditTrail(store, signer, center, witness=KvWitness(signer.client, center)), 4)
    witnessed = KvWitness(signer.client, center).latest()
    assert witnessed is not None and witnessed.tree_size == 4
    # The newest record and its checkpoint deleted: the bucket alone is a consistent log of 3.
    store.remove(object_name(center, RECORDS, 3))
    store.remove(object_name(center, CHECKPOINTS, 4))
    failed = nidc(platform_env, "audit", "verify", "--center", center)
    assert failed.returncode == 1, failed.stdout
    assert "witness (tree size 4): signed 4 records but only 3 are in sequence" in failed.stdout


def test_openbao_audit_device_records_requests(platform_env: dict[str, Any]) -> None:
    """OpenBao's own audit device (declared in its config) writes every request to its log."""
    _, signer = clients(platform_env)
    probe = f"audit-probe-{uuid.uuid4().hex}"
    signer.client.secrets.kv.v2.create_or_update_secret(path=probe, secret={"v": CANARY})
    log = Path(platform_env["servers"]["openbao"]["audit_log"])
    deadline = time.monotonic() + 30
    while probe not in log.read_text(errors="replace"):
        assert time.monotonic() < deadline, f"no request for {probe} in {log}"
        time.sleep(0.5)
    # OpenBao HMACs the values it logs: the secret itself is not in its audit log either.
    assert CANARY not in log.read_text(errors="replace")


def test_operator_records_runs_started_and_finished(
    tenants: Any, operator: OperatorProcess, platform_env: dict[str, Any]
) -> None:
    tag = uuid.uuid4().hex[:6]
    store, _ = clients(platform_env)
    admin: Minio = store.s3
    data = ("id,value\n" + "".join(f"{i},{i * 2}\n" for i in range(5))).encode()
    admin.put_object(
        f"tenant-{TENANT}", f"landing/audit/{tag}/rows.csv", io.BytesIO(data), len(data)
    )
    name = f"audit-rows-{tag}"
    apply(
        tenants,
        {
            "apiVersion": "nidc.io/v1alpha1",
            "kind": "DataSource",
            "metadata": {"name": name, "namespace": TENANT},
            "spec": {
                "type": "files",
                "endpoint": f"s3://tenant-{TENANT}",
                "continuous": True,
                "domain": "production-operation",
                "enterprisePrefix": "88.118.8",
                "targetTable": f"bronze.{name.replace('-', '_')}",
                "files": {"format": "csv", "prefix": f"audit/{tag}/"},
            },
        },
    )
    try:
        deadline = time.monotonic() + 400
        mine: list[AuditRecord] = []
        while time.monotonic() < deadline:
            mine = [
                r
                for r in read_records(store, DEFAULT_CENTER)
                if r.details.get("parent") == f"DataSource/{name}"
            ]
            if any(r.action == "run.finished" for r in mine):
                break
            time.sleep(3)
        actions = [(r.action, r.decision) for r in mine]
        assert ("run.started", "submitted") in actions, actions
        assert ("run.finished", "succeeded") in actions, actions
        started = next(r for r in mine if r.action == "run.started")
        assert started.actor == "system:serviceaccount:nidc-system:nidc-operator"
        assert started.resource.kind == "PipelineRun" and started.resource.namespace == TENANT
        assert len(started.trace_id) == 32
        # Each transition once, however often the operator stepped the run.
        assert len({r.id for r in mine}) == len(mine)
        shown = nidc(platform_env, "audit", "show", "--resource", started.resource.text)
        assert shown.returncode == 0 and "run.finished" in shown.stdout, shown.stdout
        verified = nidc(platform_env, "audit", "verify")
        assert verified.returncode == 0, verified.stdout + verified.stderr
    finally:
        delete(tenants, "nidc.io/v1alpha1", "DataSource", name, TENANT)
