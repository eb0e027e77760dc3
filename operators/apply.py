"""Apply desired children with server-side apply, owned by the resource they belong to."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nidc.crash_points import crash_point
from nidc.kube import ApiClient, ApiException, apply
from nidc.telemetry.tracing import current_traceparent, tracer

TRACER = tracer(__name__)

FIELD_MANAGER = "nidc-operator"


def owner_reference(owner: dict[str, Any]) -> dict[str, Any]:
    """An ownerReference to `owner` (so garbage collection follows it)."""
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": False,
    }


def with_owner(child: dict[str, Any], owner: dict[str, Any]) -> dict[str, Any]:
    """A copy of `child` carrying the owner reference."""
    metadata = {**child["metadata"], "ownerReferences": [owner_reference(owner)]}
    return {**child, "metadata": metadata}


def apply_all(
    api: ApiClient, children: list[dict[str, Any]], owner: dict[str, Any]
) -> list[dict[str, Any]]:
    """Server-side apply every child under one field manager, in order."""
    return [apply(api, with_owner(child, owner), field_manager=FIELD_MANAGER) for child in children]


def record_run(
    api: ApiClient, run: dict[str, Any], owner: dict[str, Any], kind: str
) -> dict[str, Any] | None:
    """Create or adopt a run's PipelineRun, owned by its parent, before anything runs.

    Returns the live record, or None when it existed already (its spec is immutable, so the
    server answers 422 to a different one: the record is adopted as it is). `kind` names the
    reconciler's crash points (`<kind>:before-run-record`, `<kind>:after-run-record`).
    """
    owned = with_owner(run, owner)
    crash_point(f"{kind}:before-run-record")
    try:
        live: dict[str, Any] | None = apply(api, owned, field_manager=FIELD_MANAGER)
    except ApiException as error:
        if error.status != 422:
            raise
        live = None
    crash_point(f"{kind}:after-run-record")
    return live


def record_run_in_trace(
    api: ApiClient,
    parent: dict[str, Any],
    job: dict[str, Any],
    build_run: Callable[[dict[str, Any]], dict[str, Any]],
    kind: str,
    generation: int,
    sequence: int,
) -> dict[str, Any] | None:
    """record_run inside the span that starts the run's trace (`reconcile <Kind>`).

    The job carries the span's traceparent, so the run's steps and the job's own spans join the
    trace of the reconcile that recorded it.
    """
    meta = parent["metadata"]
    with TRACER.start_as_current_span(
        f"reconcile {parent['kind']}",
        attributes={
            "nidc.namespace": meta["namespace"],
            f"nidc.{parent['kind'].lower()}": meta["name"],
            "nidc.generation": generation,
            "nidc.sequence": sequence,
        },
    ):
        traced = {**job, "traceparent": current_traceparent()}
        return record_run(api, build_run(traced), parent, kind)
