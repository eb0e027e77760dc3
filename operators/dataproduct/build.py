"""Pure decisions for a DataProduct: its problems, its transform job, which runs to create,
cancel or prune, and its status."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import ValidationError

from nidc.api.addressing import (
    quality_history_path,
    quality_quarantine_path,
    table_path,
    view_name,
)
from nidc.api.analytics import AnalyticsParameters, analytic_parameters
from nidc.api.data_product import ConcurrencyPolicy, DataProduct
from nidc.api.job_specs import JobSpecBase, QualityJob, TransformInput, TransformJob, describe
from nidc.api.quality_rules import looser_than_floor
from operators.dataproduct.quality_gate import (
    QUALITY_ROLE,
    decide,
    gate_message,
    last_good_version,
    quality_run_for,
    waived_rule_names,
)
from operators.reconciling.conditions import (
    Outcome,
    Problem,
    build_conditions,
    problem_outcome,
    rfc3339,
)
from operators.runs.gpu_quota import WAITING_REASON
from operators.runs.plan import (
    Plan,
    RunHistory,
    failure_message,
    live_message,
    next_scheduled,
    run_status_fields,
)
from operators.runs.record import RecordedRun, build_run_record


def txn_version(generation: int, sequence: int) -> int:
    """Strictly increasing over (generation, sequence): Delta's idempotency key per run."""
    return generation * 1_000_000 + sequence


def validate(product: DataProduct, floor: float | None = None) -> list[Problem]:
    """What keeps the product from running as asked, before looking at anything (pure).

    `floor` is the grade bundle's `quality.mostly` for the declared grade: a rule may tighten it,
    never loosen it (a grade the platform computes later holds every rule to its own floor in
    the job, without stopping the product).
    """
    problems = []
    looser = looser_than_floor(list(product.spec.quality_rules), floor) if floor else []
    if looser:
        problems.append(
            Problem(
                "QualityThresholdBelowFloor",
                f"spec.qualityRules {', '.join(looser)}: mostly is below {floor}, the floor of "
                f"grade {product.spec.grade or 1}; a rule may only tighten it",
            )
        )
    transform = product.spec.transform
    if transform.job is None:
        return problems
    try:
        analytic_parameters(transform.job, transform.parameters)
    except ValidationError as error:
        # Admission refuses these; an object stored before the analytic changed may still hold one.
        problems.append(
            Problem("InvalidAnalyticParameters", f"spec.transform.parameters: {describe(error)}")
        )
    return problems


def build_job(
    product: DataProduct,
    input_tables: list[str],
    generation: int,
    sequence: int,
    pinned: dict[str, int] | None = None,
) -> TransformJob:
    """The transform job of one run (no credentials, no runtime details).

    `pinned`: input table -> the version to read (a product input's lastGoodVersion), so a
    version held back by its quality gate never reaches downstream.
    """
    pins = pinned or {}
    namespace = product.namespace
    transform = product.spec.transform
    analytic: dict[str, Any] = {}
    if transform.job is not None:
        # The analytic's own model fills in its defaults; the job gets them all, written out.
        typed = analytic_parameters(transform.job, transform.parameters)
        analytic = {
            "analytic": transform.job,
            "parameters": AnalyticsParameters.model_validate(typed.model_dump(by_alias=True)),
        }
    return TransformJob(
        tenant=namespace,
        inputs=[
            TransformInput(view=view_name(t), path=table_path(namespace, t), version=pins.get(t))
            for t in input_tables
        ],
        sql=transform.sql,
        target=table_path(namespace, product.spec.target_table),
        txn_app_id=product.uid,
        txn_version=txn_version(generation, sequence),
        pool=product.spec.pool,
        **analytic,
    )


def build_quality_job(
    product: DataProduct,
    version: int,
    floor: float,
    reference_tables: dict[str, str],
    generation: int,
    sequence: int,
) -> QualityJob:
    """The quality job checking one version of the product's table (issue 20), recorded under
    the transform run's (generation, sequence). `reference_tables`: referenced product name ->
    its target table."""
    namespace = product.namespace
    target = product.spec.target_table
    return QualityJob(
        resource=f"DataProduct/{namespace}/{product.name}",
        table_name=target,
        table=table_path(namespace, target),
        version=version,
        rules=list(product.spec.quality_rules),
        floor=floor,
        references={name: table_path(namespace, t) for name, t in reference_tables.items()},
        history=quality_history_path(namespace),
        quarantine=quality_quarantine_path(namespace, target),
        txn_app_id=f"{product.uid}-quality",
        txn_version=txn_version(generation, sequence),
    )


def build_run(
    product: DataProduct, job: JobSpecBase, generation: int, sequence: int
) -> dict[str, Any]:
    """The PipelineRun recording one run, owned by the product (a quality run named apart)."""
    return build_run_record(
        product,
        job,
        generation,
        sequence,
        pool=str(product.spec.pool),
        max_attempts=product.spec.max_attempts,
        role=QUALITY_ROLE if isinstance(job, QualityJob) else "",
    )


def plan_runs(product: DataProduct, history: RunHistory, now: dt.datetime) -> Plan:
    """Decide new, cancelled and pruned runs from the product and its recorded runs."""
    spec = product.spec
    current = history.current
    older_live = history.older_live
    plan = Plan()
    if not current:
        if older_live and spec.concurrency_policy == ConcurrencyPolicy.FORBID.value:
            plan.waiting = f"waiting for run {older_live[-1].name} to finish"
        else:
            plan.cancel = older_live
            plan.create = history.next_key()
    elif spec.schedule:
        latest = current[-1]
        plan.next_run = next_scheduled(spec.schedule, latest.started_at or now)
        if latest.terminal and now >= plan.next_run:
            plan.create = history.next_key()
    plan.prune = history.to_prune(spec.history_limit)
    return plan


def build_status(
    product: DataProduct,
    history: RunHistory,
    plan: Plan,
    problems: list[Problem],
    waiting_for_input: str,
    now: dt.datetime,
    quality_runs: list[RecordedRun] | None = None,
) -> dict[str, Any]:
    """DataProduct.status from its runs: last good table, last run, quality gate, conditions
    (pure). `history` holds the transform runs, `quality_runs` the quality runs."""
    quality_runs = quality_runs or []
    generation = product.generation
    finished_current = [r for r in history.current if r.terminal]
    live = bool(history.live)
    good = history.last_succeeded
    status: dict[str, Any] = {"observedGeneration": generation}
    if good is not None:
        status["tableVersion"] = good.result("tableVersion")
        status["rows"] = good.result("rows")
    status.update(run_status_fields(history, plan.next_run))
    if product.spec.grade is not None:
        status["grade"] = product.spec.grade
    status["lineage"] = [f"{i.kind}/{i.name}" for i in product.spec.inputs]
    status["lastGoodVersion"] = last_good_version(product, history, quality_runs, now)
    checked = [r for r in quality_runs if r.succeeded and r.result("quality")]
    if checked:
        status["quality"] = checked[-1].result("quality")
    waived = waived_rule_names(product, now)
    gate = decide(status.get("quality") or {}, waived) if checked else None
    status["waivedRules"] = gate.waived if gate is not None else []

    last_good = f"; serving table version {status['tableVersion']}" if good is not None else ""
    if problems:
        outcome = problem_outcome(problems)
    elif waiting_for_input:
        outcome = Outcome(False, "WaitingForInput", waiting_for_input, progressing=True)
    elif finished_current and finished_current[-1].failed:
        outcome = Outcome(
            False,
            "RunFailed",
            failure_message(finished_current[-1]) + last_good,
            degraded=True,
            progressing=live,
        )
    elif finished_current and finished_current[-1].succeeded and product.spec.quality_rules:
        outcome = quality_outcome(product, finished_current[-1], quality_runs, status, live, now)
    elif finished_current and finished_current[-1].succeeded:
        outcome = Outcome(
            True,
            "Succeeded",
            f"table version {status.get('tableVersion')} with {status.get('rows')} rows"
            + (f"; {good.result('computeNote')}" if good and good.result("computeNote") else ""),
            progressing=live,
        )
    elif gpu_wait := waiting_for_gpus(history):
        outcome = Outcome(False, WAITING_REASON, gpu_wait + last_good, progressing=True)
    else:
        message = plan.waiting or live_message(history) or "starting a run"
        outcome = Outcome(False, "Running", message + last_good, progressing=True)
    status["conditions"] = build_conditions(
        product.previous_conditions, outcome, generation, rfc3339(now)
    )
    return status


def waiting_for_gpus(history: RunHistory) -> str:
    """'run <name> waits: needs 2 GPUs; ...' when the newest live run waits for the tenant's
    GPU quota (operators/runs/gpu_quota.py), else ''."""
    live = history.live
    if not live or not live[-1].reason.startswith(WAITING_REASON):
        return ""
    return f"run {live[-1].name} waits: {live[-1].reason.removeprefix(WAITING_REASON + ': ')}"


def quality_outcome(
    product: DataProduct,
    latest: RecordedRun,
    quality_runs: list[RecordedRun],
    status: dict[str, Any],
    live: bool,
    now: dt.datetime,
) -> Outcome:
    """Ready/Degraded of a product whose newest run succeeded, from the gate on its version."""
    version = latest.result("tableVersion")
    last_good = status.get("lastGoodVersion")
    check = quality_run_for(latest, quality_runs)
    if check is None or not check.terminal:
        return Outcome(
            False,
            "CheckingQuality",
            f"checking the quality of table version {version}; downstream reads {last_good}",
            progressing=True,
        )
    if check.failed:
        return Outcome(
            False,
            "QualityRunFailed",
            failure_message(check, "quality run") + f"; downstream reads version {last_good}",
            degraded=True,
            progressing=live,
        )
    gate = decide(check.result("quality") or {}, waived_rule_names(product, now))
    if not gate.passed:
        return Outcome(
            False,
            "QualityGateFailed",
            gate_message(product, gate, last_good),
            degraded=True,
            progressing=live,
        )
    waived = f"; waived: {', '.join(gate.waived)}" if gate.waived else ""
    return Outcome(
        True,
        "Succeeded",
        f"table version {version} with {status.get('rows')} rows passed its quality gate" + waived,
        progressing=live,
    )
