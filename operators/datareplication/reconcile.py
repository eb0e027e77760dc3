"""One level-based pass over a DataReplication.

typed model -> observe (the peers' configuration, the table's resource, the tenant's region, the
approval, the recorded copy runs) -> decide by grade (nidc/governance/replication.py) -> plan
(pure, build.py) -> cancel/record/prune (operators/runs/owner.py) -> status (pure). The
PipelineRun reconciler submits the copies.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from pydantic import ValidationError

from nidc.api.data_replication import DataReplication
from nidc.api.job_specs import ReplicateJob
from nidc.api.schema import API_VERSION
from nidc.governance.replication import (
    Decision,
    ReplicationConfig,
    ReplicationConfigError,
    decide,
    parse_config,
)
from nidc.kube import get
from operators.clients.context import OperatorContext
from operators.datareplication.build import (
    Target,
    build_copy_run,
    build_replicate_job,
    build_status,
    plan_copies,
    table_grade,
)
from operators.reconciling.conditions import Problem, invalid_spec_status
from operators.runs.owner import carry_out, observe_runs
from operators.runs.plan import RunHistory

CONFIG_KEY = "replication.json"


@dataclass(frozen=True)
class Observed:
    """What the replication refers to, as found now."""

    target: Target | None
    decision: Decision | None
    problem: Problem | None
    schedule: str | None
    history: RunHistory


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


def observe(replication: DataReplication, ctx: OperatorContext, now: dt.datetime) -> Observed:
    """Dereference everything the decision needs; a missing piece becomes a Problem."""
    spec, namespace = replication.spec, replication.namespace
    history = observe_runs(ctx, replication)

    def problem(reason: str, message: str) -> Observed:
        return Observed(None, None, Problem(reason, message), None, history)

    config = read_config(ctx)
    if isinstance(config, Problem):
        return Observed(None, None, config, None, history)
    peer = config.peer(spec.destination)
    if peer is None:
        known = ", ".join(p.center for p in config.peers) or "none"
        return problem(
            "DestinationUnknown",
            f"spec.destination: center {spec.destination} is not a peer of {config.center} "
            f"(peers: {known})",
        )
    ref = spec.table
    resource = get(ctx.api, API_VERSION, ref.kind, ref.name, namespace)
    if resource is None:
        return problem("TableNotFound", f"spec.table: {ref.kind} {ref.name} not found")
    tenant = get(ctx.api, API_VERSION, "Tenant", namespace)
    if tenant is None:
        return problem("TenantNotFound", f"no Tenant {namespace} holds this namespace")
    resource_status = resource.get("status") or {}
    grade = table_grade(resource)
    target = Target(
        table=resource["spec"]["targetTable"],
        source_version=resource_status.get("tableVersion"),
        grade=grade.grade,
        peer=peer,
        center=config.center,
    )
    approval = (
        get(ctx.api, API_VERSION, "ExportApproval", spec.export_approval.name, namespace)
        if spec.export_approval
        else None
    )
    decision = decide(ref.name, target.grade, tenant["spec"]["region"], peer, approval, now)
    if not decision.allowed:
        decision = replace(decision, message=grade.explain(decision.message))
    schedule = spec.schedule or config.schedule
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
                history,
            )
    return Observed(target, decision, None, schedule, history)


def reconcile(body: Mapping[str, Any], ctx: OperatorContext, now: dt.datetime) -> dict[str, Any]:
    """One pass; returns the status to write."""
    try:
        replication = DataReplication.from_body(body)
    except ValidationError as error:
        return invalid_spec_status(body, error, now)
    seen = observe(replication, ctx, now)
    allowed = seen.problem is None and seen.decision is not None and seen.decision.allowed
    target = seen.target
    plan = plan_copies(
        replication,
        seen.history,
        target.source_version if target else None,
        allowed,
        seen.schedule,
        now,
    )
    if not allowed or target is None:
        plan.create = None
    reason = (
        seen.decision.message
        if seen.decision is not None and not seen.decision.allowed
        else "superseded by a newer spec"
    )

    def job() -> ReplicateJob:
        assert target is not None  # a copy is only planned once its target is resolved
        return build_replicate_job(replication, target)

    history = carry_out(
        ctx,
        replication,
        plan,
        seen.history,
        job,
        lambda job, generation, sequence: build_copy_run(replication, job, generation, sequence),
        reason,
        now,
    )
    return build_status(replication, history, plan, seen.target, seen.decision, seen.problem, now)
