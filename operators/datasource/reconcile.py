"""One level-based pass over a DataSource: collector, ingest runs, status.

observe (I/O) -> plan (pure, build.py) -> collector and run records (idempotent by name) ->
status. A run is recorded (PipelineRun, named from uid, generation and sequence) before anything
runs; the PipelineRun reconciler submits it. The collector is create-or-adopt by name.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from nidc.api.schema import API_VERSION
from nidc.collector.config import (
    DEVICE_PASSWORD_ENV,
    DEVICE_USERNAME_ENV,
    S3_ACCESS_KEY_ENV,
    S3_SECRET_KEY_ENV,
    ConfigError,
    LandingTarget,
    build_collector_config,
)
from nidc.crash_points import crash_point
from nidc.kube import list_objects
from operators.apply import record_run_in_trace
from operators.context import OperatorContext
from operators.datasource.build import (
    CollectorState,
    build_ingest_job,
    build_ingest_run,
    build_status,
    checkpoint_of,
    collector_name,
    is_device,
    plan_ingest,
)
from operators.runs.record import PARENT_UID
from operators.tenant.build import TenantNames


@dataclass(frozen=True)
class Observed:
    runs: list[dict[str, Any]]
    checkpoint: dict[str, Any]
    landed_beyond: bool


def observe(source: dict[str, Any], ctx: OperatorContext) -> Observed:
    """Dereference: recorded runs, the checkpoint, batches landed beyond it."""
    meta = source["metadata"]
    runs = list_objects(
        ctx.api,
        API_VERSION,
        "PipelineRun",
        namespace=meta["namespace"],
        label_selector=f"{PARENT_UID}={meta['uid']}",
    )
    checkpoint = checkpoint_of(runs, (source.get("status") or {}).get("checkpoint"))
    landed_beyond = False
    if is_device(source):
        prefix = f"landing/sources/{meta['namespace']}/{meta['name']}/"
        highest = ctx.store.highest_batch(TenantNames(meta["namespace"]).bucket, prefix)
        landed_beyond = highest > int(checkpoint.get("batchSequence") or 0)
    return Observed(runs=runs, checkpoint=checkpoint, landed_beyond=landed_beyond)


def device_environment(source: dict[str, Any], ctx: OperatorContext) -> dict[str, str]:
    """The collector's credentials, read from OpenBao now: the tenant's S3 user and the
    device login at spec.credentials.openBaoPath (keys username, password)."""
    tenant = source["metadata"]["namespace"]
    s3 = ctx.openbao.read_kv(TenantNames(tenant).s3_credentials_path)
    if s3 is None:
        raise RuntimeError(f"no S3 credentials for tenant {tenant} in OpenBao yet")
    env = {S3_ACCESS_KEY_ENV: s3["accessKey"], S3_SECRET_KEY_ENV: s3["secretKey"]}
    credentials = source["spec"].get("credentials")
    if credentials:
        login = ctx.read_source_login(credentials["openBaoPath"])
        env[DEVICE_USERNAME_ENV] = login.get("username", "")
        env[DEVICE_PASSWORD_ENV] = login.get("password", "")
    return env


def credentials_problem(source: dict[str, Any], ctx: OperatorContext) -> str:
    """Why the source's login cannot be read from OpenBao ('' when it can, or none is named)."""
    credentials = source["spec"].get("credentials")
    if not credentials:
        return ""
    try:
        ctx.read_source_login(credentials["openBaoPath"])
    except RuntimeError as error:
        return f"{error}: store the login there (keys username, password)"
    return ""


def ensure_collector(source: dict[str, Any], ctx: OperatorContext) -> CollectorState:
    """Create or adopt the source's collector (device sources only)."""
    needed = is_device(source) and bool(source["spec"].get("continuous"))
    problem = credentials_problem(source, ctx)
    if problem:
        # Nothing runs without its login; the status says where it is missing.
        return CollectorState(
            needed=needed, running=False, problem=problem, reason="CredentialsNotFound"
        )
    if not needed:
        return CollectorState(needed=False, running=False)
    name = collector_name(source)
    cluster = ctx.cluster_collectors
    landing = LandingTarget(
        endpoint=ctx.settings.s3_endpoint,
        bucket=TenantNames(source["metadata"]["namespace"]).bucket,
        # In a pod the image trusts the platform CA; locally the CA file is on this machine.
        ca_file=None if cluster else str(ctx.settings.ca_file),
        region=ctx.settings.s3_region,
    )
    try:
        config = build_collector_config(
            source,
            landing,
            collector_id=name,
            heartbeat_file=str(ctx.collectors.folder(name) / "heartbeat"),
        )
    except ConfigError as error:
        return CollectorState(needed=True, running=False, problem=str(error))
    if cluster is not None:
        cluster.ensure_for(source, name, config.model_dump(mode="json"))
        crash_point("datasource:after-collector-start")
        return CollectorState(needed=True, running=cluster.running(source, name))
    try:
        environment = device_environment(source, ctx)
    except RuntimeError as error:
        return CollectorState(
            needed=True, running=False, problem=str(error), reason="CredentialsNotFound"
        )
    ctx.collectors.ensure(name, config.model_dump(mode="json"), environment)
    crash_point("datasource:after-collector-start")
    return CollectorState(needed=True, running=ctx.collectors.pid(name) is not None)


def reconcile(source: dict[str, Any], ctx: OperatorContext, now: dt.datetime) -> dict[str, Any]:
    """One pass; returns the status to write."""
    collector = ensure_collector(source, ctx)
    seen = observe(source, ctx)
    plan = plan_ingest(source, seen.runs, seen.landed_beyond, now)
    runs = list(seen.runs)
    if plan.create and not collector.problem:
        generation, sequence = plan.create
        live = record_run_in_trace(
            ctx.api,
            source,
            build_ingest_job(source, seen.checkpoint),
            lambda job: build_ingest_run(source, job, generation, sequence),
            "datasource",
            generation,
            sequence,
        )
        if live is not None:
            runs.append(live)
    return build_status(source, runs, plan, collector, seen.checkpoint)


def clean_up(source: dict[str, Any], ctx: OperatorContext) -> str:
    """Stop the source's collector (its runs go with it through owner references)."""
    if is_device(source) and ctx.cluster_collectors is not None:
        ctx.cluster_collectors.stop_for(source, collector_name(source))
    elif is_device(source):
        ctx.collectors.stop(collector_name(source))
    return f"collector of {source['metadata']['name']} stopped"
