"""The operator process: kopf settings, start-up, liveness, and every kind's registration module.

Run with `nidc operator run` (locally) or as the Deployment the stacks create. Replicas coordinate
through kopf peering (operators/replicas/peering.py): one is active, the others stand by.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
from concurrent.futures import Executor
from typing import Any

import kopf

from nidc.api.schema import GROUP
from nidc.kube import apply, get
from nidc.telemetry.logs import add_trace_ids_to_root_handlers, setup_log_export
from nidc.telemetry.metrics import setup_metrics
from nidc.telemetry.tracing import setup_tracing
from operators.classificationpolicy import register as classificationpolicy_register
from operators.clients.context import OperatorContext
from operators.clients.settings import OperatorSettings
from operators.clusterclassificationpolicy import register as clusterclassificationpolicy_register
from operators.datagrant import register as datagrant_register
from operators.dataproduct import register as dataproduct_register
from operators.datareplication import register as datareplication_register
from operators.datashare import register as datashare_register
from operators.datasource import register as datasource_register
from operators.exportapproval import register as exportapproval_register
from operators.pipelinerun import register as pipelinerun_register
from operators.replicas.liveness import (
    HEARTBEAT_LABEL,
    HEARTBEAT_SECONDS,
    Heartbeat,
    build_heartbeat_lease,
    now_utc,
    watch_is_live,
    watch_silence,
)
from operators.replicas.peering import PEERING_GROUP, PEERING_NAME, active_peer_above
from operators.tenant import register as tenant_register

REGISTERED = (
    tenant_register,
    datasource_register,
    dataproduct_register,
    datareplication_register,
    datagrant_register,
    datashare_register,
    exportapproval_register,
    pipelinerun_register,
    classificationpolicy_register,
    clusterclassificationpolicy_register,
)
LOGGER = logging.getLogger(__name__)


@kopf.on.startup()
async def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    # kopf's own bookkeeping stays out of status: progress and diff-base in annotations under
    # our prefix, and our own finalizer name (STYLE 7; kopf#574).
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=GROUP, key="last-handled-configuration"
    )
    settings.persistence.finalizer = f"{GROUP}/finalizer"
    # Warnings become Kubernetes events; kopf's INFO lines ("Handler ... succeeded") would be
    # two event writes per handler call. Our own transitions post their events themselves.
    settings.posting.level = logging.WARNING
    # Handlers are sync and wait on the network: kopf's default pool (cores + 4 threads) keeps
    # hundreds of runs queued behind a few requests in flight.
    settings.execution.max_workers = int(os.environ.get("NIDC_OPERATOR_WORKERS", "32"))
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    operator_settings = OperatorSettings.from_env()
    settings.peering.lifetime = operator_settings.peering_lifetime_seconds
    service = os.environ.get("OTEL_SERVICE_NAME", "nidc-operator")
    setup_tracing(service)
    setup_metrics(service)
    setup_log_export(service)
    add_trace_ids_to_root_handlers()
    memo.settings = operator_settings
    memo.context = OperatorContext.create(operator_settings)
    memo.heartbeat = Heartbeat(identity=os.environ.get("NIDC_OPERATOR_IDENTITY", "nidc-operator"))
    loop = asyncio.get_running_loop()
    memo.heartbeat_task = loop.create_task(send_heartbeats(memo))
    memo.sweep_tasks = start_sweeps(memo, settings.execution.executor)


def start_sweeps(memo: kopf.Memo, executor: Executor) -> list[asyncio.Task[None]]:
    """One sweep per kind (docs/decisions/0090); it acts only while this replica's watches
    deliver (its own heartbeat comes back), so a replica paused by peering leaves the work to
    the active one."""
    context: OperatorContext = memo.context
    heartbeat: Heartbeat = memo.heartbeat

    def active() -> bool:
        return watch_is_live(heartbeat, now_utc())

    loop = asyncio.get_running_loop()
    tasks = []
    for module in REGISTERED:
        sweep = context.sweeps.add(module.make_sweep(context))
        tasks.append(loop.create_task(sweep.run(executor, active), name=f"sweep {sweep.kind}"))
    return tasks


@kopf.on.cleanup()
async def stop_heartbeats(memo: kopf.Memo, **_: Any) -> None:
    tasks = [memo.heartbeat_task, *memo.sweep_tasks]
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def send_heartbeats(memo: kopf.Memo) -> None:
    """Renew this replica's heartbeat Lease forever (also while standing by)."""
    heartbeat: Heartbeat = memo.heartbeat
    api = memo.context.api
    while True:
        try:
            now = now_utc()
            await asyncio.to_thread(apply, api, build_heartbeat_lease(heartbeat, now))
            heartbeat.sent_at = now
        except Exception as error:  # the probe reports it; the loop must go on
            LOGGER.warning("heartbeat not renewed: %s", type(error).__name__)
        await asyncio.sleep(HEARTBEAT_SECONDS)


@kopf.on.event("coordination.k8s.io", "v1", "leases", labels=HEARTBEAT_LABEL)
def heartbeat_seen(name: str, memo: kopf.Memo, **_: Any) -> None:
    heartbeat: Heartbeat = memo.heartbeat
    if name == heartbeat.lease_name:
        heartbeat.seen_at = now_utc()


@kopf.on.probe(id="watch")
async def watch_is_alive(memo: kopf.Memo, settings: kopf.OperatorSettings, **_: Any) -> str:
    """Fails (HTTP 500 on the liveness endpoint) when an active replica's watch went silent.

    Async on purpose: with the API server hung, kopf's worker threads may all be stuck in
    requests, and a probe that needs a thread would hang instead of failing.
    """
    heartbeat: Heartbeat = memo.heartbeat
    now = now_utc()
    max_silence = dt.timedelta(seconds=memo.settings.watch_max_silence_seconds)
    silence = watch_silence(heartbeat, now, max_silence)
    if not silence:
        return "watching"
    try:
        peering = await asyncio.wait_for(
            asyncio.to_thread(
                get,
                memo.context.api,
                f"{PEERING_GROUP}/v1",
                "ClusterKopfPeering",
                PEERING_NAME,
                None,
                5,
            ),
            timeout=5,
        )
    except Exception as error:
        raise kopf.PermanentError(
            f"{silence}; peering unreadable: {type(error).__name__}"
        ) from None
    above = active_peer_above(
        (peering or {}).get("status") or {}, heartbeat.identity, settings.peering.priority, now
    )
    if above:
        return f"standby behind {above}"
    raise kopf.PermanentError(silence)
