"""One level-based pass over a DataSource: collector, ingest runs, maintenance runs, status.

typed model -> validate (pure) -> collector (create-or-adopt by name) -> observe runs and
landed batches (I/O) -> plan (pure, build.py, maintenance.py) -> cancel/record/prune
(operators/runs/owner.py) -> status (pure). A run is recorded before anything runs; the
PipelineRun reconciler submits it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from nidc.api.addressing import LANDING, TenantNames, source_landing_key
from nidc.api.data_source import DataSource, SourceType
from nidc.api.job_specs import ColumnEncryption, FilesInput
from nidc.collector.config import (
    DEVICE_PASSWORD_ENV,
    DEVICE_USERNAME_ENV,
    S3_ACCESS_KEY_ENV,
    S3_SECRET_KEY_ENV,
    ConfigError,
    LandingTarget,
    build_collector_config,
)
from nidc.collector.report import DeviceReport, report_key
from nidc.crash_points import crash_point
from operators.clients.context import OperatorContext
from operators.datasource.build import (
    CollectorState,
    build_column_encryption,
    build_ingest_job,
    build_ingest_run,
    build_status,
    checkpoint_of,
    collector_name,
    device_problem,
    files_landed_since_last_run,
    is_device,
    plan_ingest,
    validate,
)
from operators.datasource.maintenance import (
    build_maintenance_job,
    build_maintenance_run,
    maintenance_event,
    maintenance_outcome,
    maintenance_status,
    plan_maintenance,
    split_maintenance,
)
from operators.reconciling.conditions import (
    Problem,
    build_conditions,
    invalid_spec_status,
    rfc3339,
)
from operators.reconciling.events import post_event
from operators.runs.classify_owner import (
    add_classification_status,
    carry_out_classify,
    hold_writer,
    observe_policies,
    plan_owner_classify,
)
from operators.runs.classify_plan import split_runs
from operators.runs.owner import carry_out, observe_runs
from operators.runs.plan import RunHistory


@dataclass(frozen=True)
class Observed:
    history: RunHistory
    classify: RunHistory
    maintenance: RunHistory
    checkpoint: dict[str, Any]
    landed_beyond: bool
    device: DeviceReport | None = None


def ingest_encryption(source: DataSource, ctx: OperatorContext) -> ColumnEncryption | None:
    """Observe the policies the ingest job grades with (only when a run is being recorded)."""
    if is_device(source):
        return None
    seen = observe_policies(source, ctx)
    return build_column_encryption(source, seen.policies, seen.approvals)


def observe(source: DataSource, ctx: OperatorContext) -> Observed:
    """Dereference: recorded runs (ingest and classify), the checkpoint, what landed beyond it
    (device batches; files since the last run: one listing, no Spark) and the device report."""
    others, classify = split_runs(observe_runs(ctx, source))
    history, maintenance = split_maintenance(others)
    checkpoint = checkpoint_of(history, source.status.get("checkpoint"))
    landed_beyond = False
    device = None
    bucket = TenantNames(source.namespace).bucket
    if is_device(source):
        prefix = source_landing_key(source.namespace, source.name)
        landed_beyond = ctx.store.highest_batch(bucket, prefix) > int(
            checkpoint.get("batchSequence") or 0
        )
        device = read_report(ctx, bucket, report_key(prefix))
    elif str(source.spec.type) == SourceType.FILES.value and source.spec.files is not None:
        modified = ctx.store.modified_times(bucket, f"{LANDING}/{source.spec.files.prefix}")
        max_files = FilesInput.model_fields["max_files"].default
        landed_beyond = files_landed_since_last_run(modified, history, max_files)
    return Observed(
        history=history,
        classify=classify,
        maintenance=maintenance,
        checkpoint=checkpoint,
        landed_beyond=landed_beyond,
        device=device,
    )


def read_report(ctx: OperatorContext, bucket: str, key: str) -> DeviceReport | None:
    """The collector's device report; an unreadable one counts as none (it is rewritten)."""
    found = ctx.store.read_json(bucket, key)
    if found is None:
        return None
    try:
        return DeviceReport.model_validate(found)
    except ValidationError:
        return None


def device_environment(source: DataSource, ctx: OperatorContext) -> dict[str, str]:
    """The collector's credentials, read from OpenBao now: the tenant's S3 user and the
    device login at spec.credentials.openBaoPath (keys username, password)."""
    s3 = ctx.openbao.read_kv(TenantNames(source.namespace).s3_credentials_path)
    if s3 is None:
        raise RuntimeError(f"no S3 credentials for tenant {source.namespace} in OpenBao yet")
    env = {S3_ACCESS_KEY_ENV: s3["accessKey"], S3_SECRET_KEY_ENV: s3["secretKey"]}
    if source.spec.credentials:
        login = ctx.read_source_login(source.spec.credentials.open_bao_path)
        env[DEVICE_USERNAME_ENV] = login.get("username", "")
        env[DEVICE_PASSWORD_ENV] = login.get("password", "")
    return env


def credentials_problem(source: DataSource, ctx: OperatorContext) -> Problem | None:
    """Why the source's login cannot be read from OpenBao (None when it can, or none is named)."""
    if not source.spec.credentials:
        return None
    try:
        ctx.read_source_login(source.spec.credentials.open_bao_path)
    except RuntimeError as error:
        return Problem(
            "CredentialsNotFound", f"{error}: store the login there (keys username, password)"
        )
    return None


def ensure_collector(source: DataSource, ctx: OperatorContext) -> CollectorState:
    """Create or adopt the source's collector (continuous device sources only)."""
    needed = is_device(source) and bool(source.spec.continuous)
    problem = credentials_problem(source, ctx)
    if problem is not None:
        # Nothing runs without its login; the status says where it is missing.
        return CollectorState(needed=needed, running=False, problem=problem)
    if not needed:
        return CollectorState(needed=False, running=False)
    name = collector_name(source)
    cluster = ctx.cluster_collectors
    landing = LandingTarget(
        endpoint=ctx.settings.s3_endpoint,
        bucket=TenantNames(source.namespace).bucket,
        # In a pod the image trusts the platform CA; locally the CA file is on this machine.
        ca_file=None if cluster else str(ctx.settings.ca_file),
        region=ctx.settings.s3_region,
    )
    try:
        config = build_collector_config(
            source.to_body(),
            landing,
            collector_id=name,
            heartbeat_file=str(ctx.collectors.folder(name) / "heartbeat"),
        )
    except ConfigError as error:
        return CollectorState(True, False, Problem("CollectorFailed", str(error)))
    if cluster is not None:
        cluster.ensure_for(source, name, config.model_dump(mode="json"))
        crash_point("datasource:after-collector-start")
        return CollectorState(needed=True, running=cluster.running(source, name))
    try:
        environment = device_environment(source, ctx)
    except RuntimeError as error:
        return CollectorState(True, False, Problem("CredentialsNotFound", str(error)))
    ctx.collectors.ensure(name, config.model_dump(mode="json"), environment)
    crash_point("datasource:after-collector-start")
    return CollectorState(needed=True, running=ctx.collectors.pid(name) is not None)


def reconcile(body: Mapping[str, Any], ctx: OperatorContext, now: dt.datetime) -> dict[str, Any]:
    """One pass; returns the status to write."""
    try:
        source = DataSource.from_body(body)
    except ValidationError as error:
        return invalid_spec_status(body, error, now)
    problems = validate(source)
    collector = (
        ensure_collector(source, ctx)
        if not problems
        else CollectorState(needed=False, running=False)
    )
    seen = observe(source, ctx)
    plan = plan_ingest(source, seen.history, seen.landed_beyond, now)
    policies, classifying = plan_owner_classify(
        ctx, source, seen.history, seen.classify, bool(problems), now
    )
    hold_writer(plan, classifying, seen.classify)
    if problems or collector.problem is not None:
        plan.create = None  # nothing runs while the source cannot be served as asked
    history = carry_out(
        ctx,
        source,
        plan,
        seen.history,
        lambda: build_ingest_job(source, seen.checkpoint, ingest_encryption(source, ctx)),
        lambda job, generation, sequence: build_ingest_run(source, job, generation, sequence),
        "superseded",
        now,
    )
    classify = carry_out_classify(ctx, source, classifying, seen.classify, policies, now)
    maintenance = maintain(ctx, source, seen, bool(classify.live), bool(problems), now)
    status = build_status(
        source, history, plan, collector, seen.checkpoint, problems, now, seen.device
    )
    refusing = device_problem(seen.device, now)
    was = next((c for c in source.previous_conditions if c.get("type") == "Degraded"), {})
    if refusing is not None and was.get("reason") != refusing.reason:
        post_event(ctx.api, dict(body), refusing.reason, refusing.message, warning=True)
    add_classification_status(ctx, dict(body), source, status, classify, policies, now)
    add_maintenance_status(ctx, dict(body), source, status, maintenance, now)
    return status


def maintain(
    ctx: OperatorContext,
    source: DataSource,
    seen: Observed,
    classifying: bool,
    blocked: bool,
    now: dt.datetime,
) -> RunHistory:
    """Record the due maintenance run (create-or-adopt by its slot's name) and prune old ones.
    Nothing new is recorded while a classify run is live or the spec has a problem."""
    planned = plan_maintenance(source, seen.history, seen.maintenance, classifying, now)
    slot = planned.slot
    if slot is None or blocked:
        planned.plan.create = None
    return carry_out(
        ctx,
        source,
        planned.plan,
        seen.maintenance,
        lambda: build_maintenance_job(source, slot or now),
        lambda job, generation, sequence: build_maintenance_run(
            source, job, slot or now, generation, sequence
        ),
        "superseded",
        now,
    )


def add_maintenance_status(
    ctx: OperatorContext,
    body: dict[str, Any],
    source: DataSource,
    status: dict[str, Any],
    maintenance: RunHistory,
    now: dt.datetime,
) -> None:
    """status.lastMaintenance; Degraded (still Ready) when the newest maintenance run failed;
    an event for each finished run the status did not show yet."""
    last = maintenance_status(maintenance)
    if last is None:
        return
    status["lastMaintenance"] = last
    ready: dict[str, Any] = next((c for c in status["conditions"] if c["type"] == "Ready"), {})
    degraded = maintenance_outcome(ready, maintenance)
    if degraded is not None:
        status["conditions"] = build_conditions(
            source.previous_conditions, degraded, source.generation, rfc3339(now)
        )
    event = maintenance_event(source.status.get("lastMaintenance"), last)
    if event is not None:
        reason, message, warning = event
        post_event(ctx.api, body, reason, message, warning=warning)


def clean_up(body: Mapping[str, Any], ctx: OperatorContext) -> str:
    """Stop the source's collector (its runs go with it through owner references)."""
    source = DataSource.from_body(body)
    if is_device(source) and ctx.cluster_collectors is not None:
        ctx.cluster_collectors.stop_for(source, collector_name(source))
    elif is_device(source):
        ctx.collectors.stop(collector_name(source))
    return f"collector of {source.name} stopped"
