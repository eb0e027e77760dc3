"""Reconcile a DataProduct: dereference inputs and runs, plan (pure), record runs, status."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from nidc.api.schema import API_VERSION
from nidc.kube import delete, get, list_objects
from operators.apply import record_run_in_trace
from operators.context import OperatorContext
from operators.dataproduct.build import (
    PARENT_UID,
    build_job,
    build_run,
    build_status,
    plan_runs,
)
from operators.pipelinerun.reconcile import cancel_run
from operators.tenant.build import TenantNames


@dataclass(frozen=True)
class Observed:
    """What the product refers to, as found in the cluster and the object store."""

    input_tables: list[str]
    problem: str
    waiting_for_input: str
    runs: list[dict[str, Any]]


def observe(product: dict[str, Any], ctx: OperatorContext) -> Observed:
    """Dereference: input objects, whether their tables hold data, recorded runs."""
    namespace = product["metadata"]["namespace"]
    tables, missing, empty = [], [], []
    for ref in product["spec"]["inputs"]:
        # One GET by name: listing the kind would make each reconcile O(products).
        found = get(ctx.api, API_VERSION, ref["kind"], ref["name"], namespace)
        if found is None:
            missing.append(f"{ref['kind']} {ref['name']}")
            continue
        table = found["spec"]["targetTable"]
        tables.append(table)
        layer, name = table.split(".", 1)
        if not ctx.store.has_prefix(TenantNames(namespace).bucket, f"{layer}/{name}/_delta_log/"):
            empty.append(table)
    runs = list_objects(
        ctx.api,
        API_VERSION,
        "PipelineRun",
        namespace=namespace,
        label_selector=f"{PARENT_UID}={product['metadata']['uid']}",
    )
    return Observed(
        input_tables=tables,
        problem=f"inputs not found: {', '.join(missing)}" if missing else "",
        waiting_for_input=f"waiting for data in {', '.join(empty)}" if empty else "",
        runs=runs,
    )


def reconcile(product: dict[str, Any], ctx: OperatorContext, now: dt.datetime) -> dict[str, Any]:
    """One level-based pass; returns the status to write."""
    seen = observe(product, ctx)
    plan = plan_runs(product, seen.runs, now)
    ready_to_run = not seen.problem and not seen.waiting_for_input
    runs = list(seen.runs)
    # No more mutating operations after this point except the run records and status.
    for run in plan.cancel:
        cancel_run(run, ctx, "superseded by a newer spec (concurrencyPolicy Replace)", now)
    if plan.create and ready_to_run:
        generation, sequence = plan.create
        live = record_run_in_trace(
            ctx.api,
            product,
            build_job(product, seen.input_tables, generation, sequence),
            lambda job: build_run(product, job, generation, sequence),
            "dataproduct",
            generation,
            sequence,
        )
        if live is not None:
            runs.append(live)
    for name in plan.prune:
        delete(ctx.api, API_VERSION, "PipelineRun", name, product["metadata"]["namespace"])
    return build_status(product, runs, plan, seen.problem, seen.waiting_for_input)
