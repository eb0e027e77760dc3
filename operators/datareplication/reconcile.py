"""One level-based pass over a DataReplication.

observe (the peers' configuration, the table's resource, the tenant's region, the approval, the
recorded copy runs) -> decide by grade (nidc/governance/replication.py) -> plan (pure, build.py)
-> run records (idempotent by name) -> status. The PipelineRun reconciler submits the copies.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from nidc.api.schema import API_VERSION
from nidc.governance.replication import (
    Decision,
    ReplicationConfig,
    ReplicationConfigError,
    decide,
    parse_config,
)
from nidc.kube import delete, get, list_objects
from operators.apply import record_run_in_trace
from operators.context import OperatorContext
from operators.datareplication.build import (
    Problem,
    Target,
    build_copy_run,
    build_replicate_job,
    build_status,
    plan_copies,
)
from operators.pipelinerun.reconcile import cancel_run
from operators.runs.record import PARENT_UID

CONFIG_KEY = "replication.json"


@dataclass(frozen=True)
class Observed:
    """What the replication refers to, as found now."""

    target: Target | None
    decision: Decision | None
    problem: Problem | None
    schedule: str | None
    runs: list[dict[str, Any]]


def read_config(ctx: OperatorContext) -> ReplicationConfig | Problem:
    """The center's replication configuration, or why there is none."""
    namespace, _, name = ctx.settings.replication_config.partition("/")
    found = get(ctx.api, "v1", "ConfigMap", name, namespace)
    if found is None or CONFIG_KEY not in (found.get("data") or {}):
        return Problem(
            "ReplicationNotConfigured",
            f"this center has no replication configuration (ConfigMap {namespace}/{name}, key "
            f"{CONFIG_KEY}): its stack's nidc:replication section names the peers",
        )
    try:
        return parse_config(json.loads(found["data"][CONFIG_KEY]))
    except (ReplicationConfigError, ValueError) as error:
        return Problem("ReplicationNotConfigured", f"ConfigMap {namespace}/{name}: {error}")


def observe(replication: dict[str, Any], ctx: OperatorContext, now: dt.datetime) -> Observed:
    """Dereference everything the decision needs; a missing piece becomes a Problem."""
    meta, spec = replication["metadata"], replication["spec"]
    namespace = meta["namespace"]
    runs = list_objects(
        ctx.api,
        API_VERSION,
        "PipelineRun",
        namespace=namespace,
        label_selector=f"{PARENT_UID}={meta['uid']}",
    )

    def problem(reason: str, message: str, schedule: str | None = None) -> Observed:
        return Observed(None, None, Problem(reason, message), schedule, runs)

    config = read_config(ctx)
    if isinstance(config, Problem):
        return Observed(None, None, config, None, runs)
    peer = config.peer(spec["destination"])
    if peer is None:
        known = ", ".join(p.center for p in config.peers) or "none"
        return problem(
            "DestinationUnknown",
            f"spec.destination: center {spec['destination']} is not a peer of {config.center} "
            f"(peers: {known})",
        )
    ref = spec["table"]
    table_kind = ref.get("kind", "DataProduct")
    resource = get(ctx.api, API_VERSION, table_kind, ref["name"], namespace)
    if resource is None:
        return problem("TableNotFound", f"spec.table: {table_kind} {ref['name']} not found")
    tenant = get(ctx.api, API_VERSION, "Tenant", namespace)
    if tenant is None:
        return problem("TenantNotFound", f"no Tenant {namespace} holds this namespace")
    resource_status = resource.get("status") or {}
    grade = resource_status.get("grade") or resource["spec"].get("grade")
    target = Target(
        table=resource["spec"]["targetTable"],
        source_version=resource_status.get("tableVersion"),
        grade=int(grade) if grade is not None else None,
        peer=peer,
        center=config.center,
    )
    approval_ref = spec.get("exportApproval")
    approval = (
        get(ctx.api, API_VERSION, "ExportApproval", approval_ref["name"], namespace)
        if approval_ref
        else None
    )
    decision = decide(ref["name"], target.grade, tenant["spec"]["region"], peer, approval, now)
    schedule = spec.get("schedule") or config.schedule
    if decision.allowed:
        try:
            ctx.read_center_login(peer.credentials_path)
        except RuntimeError as error:
            return Observed(
                target,
                decision,
                Problem(
                    "CredentialsNotFound",
                    f"{error}: store the login of {peer.center}'s object store there "
                    "(keys accessKey, secretKey)",
                ),
                schedule,
                runs,
            )
    return Observed(target, decision, None, schedule, runs)


def reconcile(
    replication: dict[str, Any], ctx: OperatorContext, now: dt.datetime
) -> dict[str, Any]:
    """One pass; returns the status to write."""
    seen = observe(replication, ctx, now)
    allowed = seen.problem is None and seen.decision is not None and seen.decision.allowed
    plan = plan_copies(
        replication,
        seen.runs,
        seen.target.source_version if seen.target else None,
        allowed,
        seen.schedule,
        now,
    )
    runs = list(seen.runs)
    for run in plan.cancel:
        reason = (
            seen.decision.message
            if seen.decision is not None and not seen.decision.allowed
            else "superseded by a newer spec"
        )
        cancel_run(run, ctx, reason, now)
    if plan.create and allowed and seen.target is not None:
        generation, sequence = plan.create
        live = record_run_in_trace(
            ctx.api,
            replication,
            build_replicate_job(replication, seen.target),
            lambda job: build_copy_run(replication, job, generation, sequence),
            "datareplication",
            generation,
            sequence,
        )
        if live is not None:
            runs.append(live)
    for name in plan.prune:
        delete(ctx.api, API_VERSION, "PipelineRun", name, replication["metadata"]["namespace"])
    return build_status(replication, runs, plan, seen.target, seen.decision, seen.problem)
