"""What `nidc audit verify` and `nidc audit show` do, given the platform's endpoints.

Verifying reads the log straight from the object store and the trusted key's public keys from
OpenBao transit (read access only), and checks them with nidc/audit/verify.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import hvac
import hvac.exceptions
import requests
import urllib3
from minio.error import MinioException

from nidc.audit.record import AuditRecord, Resource
from nidc.audit.store import CHECKPOINTS, DEFAULT_BUCKET, RECORDS, AuditStore
from nidc.audit.transit import DEFAULT_KEY, TransitSigner
from nidc.audit.verify import VerifyReport, verify_log
from nidc.audit.witness import DEFAULT_KV_MOUNT, KvWitness
from nidc.local.root_clients import root_minio, root_openbao

# What an object store or OpenBao that cannot be reached (or answers 5xx) raises.
UNREACHABLE = (
    urllib3.exceptions.HTTPError,
    requests.exceptions.RequestException,
    MinioException,
    hvac.exceptions.VaultError,
)


def unreachable(error: BaseException) -> str:
    """One line for a user: what failed, not a traceback (`nidc local status` shows why)."""
    return (
        f"the object store or OpenBao did not answer ({type(error).__name__}); "
        "is the platform up? (`nidc local status`)"
    )


def clients(
    env: dict[str, Any], bucket: str = DEFAULT_BUCKET, key: str = DEFAULT_KEY
) -> tuple[AuditStore, TransitSigner]:
    """The audit bucket and the transit key of the platform `nidc local env --json` describes."""
    mount = str(env["servers"]["openbao"].get("transit_mount", "transit"))
    return AuditStore(root_minio(env), bucket), TransitSigner(root_openbao(env), key, mount)


def verify_center(
    store: AuditStore, signer: TransitSigner, center: str, kv_mount: str = DEFAULT_KV_MOUNT
) -> VerifyReport:
    """Every problem of one center's log, against the transit key's public keys and the head
    witnessed in OpenBao KV.

    Read newest-first (the witness, the checkpoints, then the records): a writer stores a record
    before it signs a checkpoint over it and publishes that before the witness, so a log read
    while an operator appends never shows a checkpoint past the records read (reading the
    records first did, when an append landed between the two reads).
    """
    witnessed = KvWitness(signer.client, center, kv_mount).latest()
    checkpoints = store.read_all(center, CHECKPOINTS)
    records = store.read_all(center, RECORDS)
    return verify_log(center, records, checkpoints, signer.public_keys(), witnessed)


def format_report(report: VerifyReport) -> str:
    lines = [str(problem) for problem in report.problems]
    return "\n".join([*lines, report.summary()])


def parse_time(text: str) -> dt.datetime:
    """ISO 8601; a time without a zone is UTC."""
    value = dt.datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def select(
    records: Iterable[AuditRecord],
    resource: Resource | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> list[AuditRecord]:
    """The records about `resource` (if given) with since <= time < until (pure)."""
    return [
        r
        for r in records
        if (resource is None or r.resource == resource)
        and (since is None or r.time >= since)
        and (until is None or r.time < until)
    ]


def format_records(records: Sequence[AuditRecord]) -> str:
    """One line a record: sequence, time, action, resource, decision, actor, reason, trace."""
    lines = [f"{'SEQ':>6}  {'TIME':<25} {'ACTION':<30} {'RESOURCE':<48} {'DECISION':<10} REASON"]
    for r in records:
        time = r.time.isoformat(timespec="seconds")
        lines.append(
            f"{r.sequence:>6}  {time:<25} {r.action:<30} {r.resource.text:<48} "
            f"{r.decision:<10} {r.reason}  (actor {r.actor}; trace {r.trace_id or '-'})"
        )
    return "\n".join(lines)


def read_records(store: AuditStore, center: str) -> list[AuditRecord]:
    return [AuditRecord.from_bytes(o.data) for o in store.read_all(center, RECORDS)]
