"""Reconcile a DataProduct: typed model, validate (pure), dereference inputs and runs (I/O),
plan (pure), cancel/record/prune the transform runs, then the classify run and the quality run
of the newest version (operators/runs/owner.py), status (pure), quality and grade events.

A classify run (operators/runs/classify_plan.py) grades the product's table once a
classification policy applies; the product's status.grade is then the computed grade, never
below the declared one. Transform and classify runs never run at once: both write the table.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from nidc.api.addressing import TenantNames, delta_log_key
from nidc.api.data_product import DataProduct
from nidc.api.quality_rules import CheckKind
from nidc.api.schema import API_VERSION
from nidc.governance.quality_floor import mostly_floor
from nidc.kube import get
from operators.clients.context import OperatorContext
from operators.dataproduct.build import (
    build_job,
    build_quality_job,
    build_run,
    build_status,
    plan_runs,
    validate,
)
from operators.dataproduct.quality_gate import (
    quality_events,
    quality_run_due,
    quality_runs_to_prune,
    split_runs,
)
from operators.reconciling.conditions import (
    Problem,
    invalid_spec_status,
)
from operators.reconciling.events import post_event
from operators.reconciling.metrics import record_product_health
from operators.runs.classify_owner import (
    add_classification_status,
    carry_out_classify,
    hold_writer,
    plan_owner_classify,
)
from operators.runs.classify_plan import split_runs as split_classify_runs
from operators.runs.owner import carry_out, observe_runs
from operators.runs.plan import Plan, RunHistory
from operators.runs.record import RecordedRun


@dataclass(frozen=True)
class Observed:
    """What the product refers to, as found in the cluster and the object store."""

    input_tables: list[str]
    pinned: dict[str, int]
    problems: list[Problem]
    waiting_for_input: str
    history: RunHistory
    classify: RunHistory
    quality_runs: list[RecordedRun]
    reference_tables: dict[str, str]
    floor: float


def observe(product: DataProduct, ctx: OperatorContext) -> Observed:
    """Dereference: input objects, whether their tables hold data and which version of a
    product input passed its gate, referenced products' tables, recorded runs, the floor."""
    namespace = product.namespace
    bucket = TenantNames(namespace).bucket
    tables, missing, empty, held = [], [], [], []
    pinned: dict[str, int] = {}
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
        elif ref.kind == "DataProduct" and found["spec"].get("qualityRules"):
            # A gated input is read at the version its gate passed, never past it.
            good = (found.get("status") or {}).get("lastGoodVersion")
            if good is None:
                held.append(table)
            else:
                pinned[table] = int(good)
    problems = (
        [Problem("InputNotFound", f"inputs not found: {', '.join(missing)}")] if missing else []
    )
    waiting = [f"waiting for data in {', '.join(empty)}"] if empty else []
    if held:
        waiting.append(f"waiting for a version of {', '.join(held)} that passed its quality gate")
    others, classify = split_classify_runs(observe_runs(ctx, product))
    transforms, quality_runs = split_runs(others)
    return Observed(
        input_tables=tables,
        pinned=pinned,
        problems=problems,
        waiting_for_input="; ".join(waiting),
        history=transforms,
        classify=classify,
        quality_runs=quality_runs,
        reference_tables=referenced_tables(product, ctx),
        # The effective grade's floor: the computed grade once classified, never below declared.
        floor=mostly_floor(effective_grade(product)) if product.spec.quality_rules else 1.0,
    )


def effective_grade(product: DataProduct) -> int:
    """The grade the product is held to now: its status grade (computed once classified),
    never below the declared one."""
    computed = product.status.get("grade")
    return max(int(computed) if computed is not None else 1, product.spec.grade or 1)


def referenced_tables(product: DataProduct, ctx: OperatorContext) -> dict[str, str]:
    """Referenced product name -> its target table, for referential rules (missing: left out,
    and the rule fails in the job)."""
    tables: dict[str, str] = {}
    for rule in product.spec.quality_rules:
        if rule.check != CheckKind.REFERENTIAL or rule.reference is None:
            continue
        name = rule.reference.product
        found = get(ctx.api, API_VERSION, "DataProduct", name, product.namespace)
        if found is not None:
            tables[name] = found["spec"]["targetTable"]
    return tables


def record_quality_run(
    ctx: OperatorContext,
    product: DataProduct,
    seen: Observed,
    history: RunHistory,
    now: dt.datetime,
) -> list[RecordedRun]:
    """Record the quality run of the newest version (create-or-adopt) and prune old ones."""
    due = quality_run_due(product, history, seen.quality_runs)
    plan = Plan(
        create=due, prune=quality_runs_to_prune(seen.quality_runs, product.spec.history_limit)
    )
    checked = history.last_succeeded
    # Only read when a run is due (quality_run_due wants a recorded version); a run that
    # succeeded without reporting one (a driver that returned no result) has nothing to check.
    written = checked.result("tableVersion") if checked is not None else None
    version = int(written) if written is not None else 0
    recorded = carry_out(
        ctx,
        product,
        plan,
        RunHistory(seen.quality_runs, product.generation),
        lambda: build_quality_job(
            product, version, seen.floor, seen.reference_tables, *(due or (0, 0))
        ),
        lambda job, generation, sequence: build_run(product, job, generation, sequence),
        "",
        now,
    )
    pruned = set(plan.prune)
    return [r for r in recorded.ordered if r.name not in pruned]


def reconcile(body: Mapping[str, Any], ctx: OperatorContext, now: dt.datetime) -> dict[str, Any]:
    """One level-based pass; returns the status to write."""
    try:
        product = DataProduct.from_body(body)
    except ValidationError as error:
        return invalid_spec_status(body, error, now)
    seen = observe(product, ctx)
    problems = validate(product, mostly_floor(product.spec.grade)) + seen.problems
    plan = plan_runs(product, seen.history, now)
    if problems or seen.waiting_for_input:
        plan.create = None  # no run before its inputs exist and hold data
    policies, classifying = plan_owner_classify(
        ctx, product, seen.history, seen.classify, bool(problems), now
    )
    held = hold_writer(plan, classifying, seen.classify)
    if held and plan.next_run is not None and plan.next_run <= now:
        plan.next_run = None  # a cron tick passed while held is taken when the classify run ends
    history = carry_out(
        ctx,
        product,
        plan,
        seen.history,
        lambda: build_job(product, seen.input_tables, *(plan.create or (0, 0)), seen.pinned),
        lambda job, generation, sequence: build_run(product, job, generation, sequence),
        "superseded by a newer spec (concurrencyPolicy Replace)",
        now,
    )
    classify = carry_out_classify(ctx, product, classifying, seen.classify, policies, now)
    quality_runs = record_quality_run(ctx, product, seen, history, now)
    status = build_status(
        product, history, plan, problems, seen.waiting_for_input, now, quality_runs
    )
    add_classification_status(ctx, dict(body), product, status, classify, policies, now)
    for event in quality_events(product, product.status, status, now):
        post_event(ctx.api, dict(body), event.reason, event.message, event.warning)
    record_product_health(product.namespace, product.name, status)
    return status
