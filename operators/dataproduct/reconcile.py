"""Reconcile a DataProduct: typed model, validate (pure), dereference inputs and runs (I/O),
plan (pure), cancel/record/prune (operators/runs/owner.py), status (pure)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from nidc.api.addressing import TenantNames, delta_log_key
from nidc.api.data_product import DataProduct
from nidc.api.schema import API_VERSION
from nidc.kube import get
from operators.clients.context import OperatorContext
from operators.dataproduct.build import build_job, build_run, build_status, plan_runs, validate
from operators.reconciling.conditions import Problem, invalid_spec_status
from operators.runs.owner import carry_out, observe_runs
from operators.runs.plan import RunHistory


@dataclass(frozen=True)
class Observed:
    """What the product refers to, as found in the cluster and the object store."""

    input_tables: list[str]
    problems: list[Problem]
    waiting_for_input: str
    history: RunHistory


def observe(product: DataProduct, ctx: OperatorContext) -> Observed:
    """Dereference: input objects, whether their tables hold data, recorded runs."""
    namespace = product.namespace
    bucket = TenantNames(namespace).bucket
    tables, missing, empty = [], [], []
    for ref in product.spec.inputs:
        # One GET by name: listing the kind would make each reconcile O(products).
        found = get(ctx.api, API_VERSION, str(ref.kind), ref.name, namespace)
        if found is None:
            missing.append(f"{ref.kind} {ref.name}")
            continue
        table = found["spec"]["targetTable"]
        tables.append(table)
        if not ctx.store.has_prefix(bucket, delta_log_key(table)):
            empty.append(table)
    problems = (
        [Problem("InputNotFound", f"inputs not found: {', '.join(missing)}")] if missing else []
    )
    return Observed(
        input_tables=tables,
        problems=problems,
        waiting_for_input=f"waiting for data in {', '.join(empty)}" if empty else "",
        history=observe_runs(ctx, product),
    )


def reconcile(body: Mapping[str, Any], ctx: OperatorContext, now: dt.datetime) -> dict[str, Any]:
    """One level-based pass; returns the status to write."""
    try:
        product = DataProduct.from_body(body)
    except ValidationError as error:
        return invalid_spec_status(body, error, now)
    seen = observe(product, ctx)
    problems = validate(product) + seen.problems
    plan = plan_runs(product, seen.history, now)
    if problems or seen.waiting_for_input:
        plan.create = None  # no run before its inputs exist and hold data
    history = carry_out(
        ctx,
        product,
        plan,
        seen.history,
        lambda: build_job(product, seen.input_tables, *(plan.create or (0, 0))),
        lambda job, generation, sequence: build_run(product, job, generation, sequence),
        "superseded by a newer spec (concurrencyPolicy Replace)",
        now,
    )
    return build_status(product, history, plan, problems, seen.waiting_for_input, now)
