"""Runs jobs on Kubernetes: one driver Job per attempt, in the run's namespace, owned by the run.

Create-or-adopt by name: an attempt's ConfigMap and Job are named from (run, attempt); submit
reads them first and applies only what is missing, so a restarted operator (or a second submit
within the grace period, whose trace context differs) adopts the job it already made instead of
making or changing one. The outcome comes back through the driver container's termination
message (see build_driver_script), read by observe().
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Sequence
from typing import Any

from nidc.kube import ApiClient, apply, create_if_absent, delete, list_objects
from operators.runs.due import KUBERNETES_POLL, JobReport
from operators.runs.kubernetes_build import (
    ATTEMPT_LABEL,
    COMPONENT_LABEL,
    DRIVER_COMPONENT,
    DRIVER_CONTAINER,
    RUN_LABEL,
    KubernetesJobSettings,
    attempt_name,
    build_driver_identity,
    build_driver_job,
    build_driver_pod,
    build_job_config_map,
)
from operators.runs.runner import RunRef, job_module
from operators.runs.state_machine import Observation, Observed

FIELD_MANAGER = "nidc-operator"
REASON_LIMIT = 500
# The driver identity of a namespace is applied again after this long (someone may have
# deleted it), not on every submit: three writes per run saved.
IDENTITY_REFRESH_SECONDS = 300.0


def _condition(job: dict[str, Any], type_: str) -> dict[str, Any] | None:
    for item in (job.get("status") or {}).get("conditions") or []:
        if item.get("type") == type_ and item.get("status") == "True":
            return dict(item)
    return None


def _terminated(pod: dict[str, Any]) -> dict[str, Any]:
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        if status.get("name") == DRIVER_CONTAINER:
            return dict((status.get("state") or {}).get("terminated") or {})
    return {}


def read_outcome(pod: dict[str, Any]) -> dict[str, Any]:
    """The driver's termination message as data ({"result": ...} or {"failure": ...})."""
    message = _terminated(pod).get("message") or ""
    try:
        outcome = json.loads(message) if message else {}
    except json.JSONDecodeError:
        return {}
    return outcome if isinstance(outcome, dict) else {}


def _failure_reason(pod: dict[str, Any] | None, job: dict[str, Any]) -> str:
    if pod is not None:
        failure = read_outcome(pod).get("failure")
        if isinstance(failure, dict) and failure.get("reason"):
            return str(failure["reason"])[:REASON_LIMIT]
        terminated = _terminated(pod)
        if terminated:
            return (
                f"driver pod {pod['metadata']['name']} ended: "
                f"{terminated.get('reason') or 'Error'} (exit code {terminated.get('exitCode')})"
            )[:REASON_LIMIT]
        status = pod.get("status") or {}
        if status.get("reason"):
            return f"driver pod {pod['metadata']['name']}: {status['reason']}"[:REASON_LIMIT]
    failed = _condition(job, "Failed") or {}
    return (
        f"driver job {job['metadata']['name']} failed: "
        f"{failed.get('reason') or 'unknown'} {failed.get('message') or ''}".strip()
    )[:REASON_LIMIT]


def read_observation(job: dict[str, Any] | None, pods: Sequence[dict[str, Any]]) -> Observation:
    """What a run's latest attempt looks like from its Job and driver pods (pure).

    absent Job -> ABSENT; a Succeeded pod or a Complete Job -> SUCCEEDED (result from the
    termination message); a Failed pod or a Failed Job -> FAILED with a reason; anything else
    (no pod yet, Pending, Running, Unknown) -> RUNNING: the job was accepted.
    """
    if job is None:
        return Observation(Observed.ABSENT)
    by_phase: dict[str, dict[str, Any]] = {}
    for pod in pods:
        by_phase.setdefault((pod.get("status") or {}).get("phase") or "Pending", pod)
    succeeded = by_phase.get("Succeeded")
    if succeeded is not None or _condition(job, "Complete"):
        outcome = read_outcome(succeeded) if succeeded is not None else {}
        result = outcome.get("result")
        return Observation(Observed.SUCCEEDED, result=result if isinstance(result, dict) else {})
    failed = by_phase.get("Failed")
    if failed is not None or _condition(job, "Failed"):
        return Observation(Observed.FAILED, reason=_failure_reason(failed, job))
    return Observation(Observed.RUNNING)


def _attempt_of(obj: dict[str, Any]) -> int | None:
    try:
        return int(((obj.get("metadata") or {}).get("labels") or {})[ATTEMPT_LABEL])
    except (KeyError, TypeError, ValueError):
        return None


def report_from_pod(pod: dict[str, Any]) -> JobReport | None:
    """A driver pod's watch event as a report on its attempt, once the pod has ended (pure).

    The pod ends seconds before its Job is marked Complete, and its termination message holds
    the result, so the run needs no LIST to finish.
    """
    attempt = _attempt_of(pod)
    phase = (pod.get("status") or {}).get("phase")
    if attempt is None or phase not in ("Succeeded", "Failed"):
        return None
    return JobReport(attempt, read_observation({"metadata": pod["metadata"]}, [pod]))


def report_from_job(job: dict[str, Any], deleted: bool) -> JobReport | None:
    """A driver Job's watch event as a report: Failed (or deleted) says so; a Complete Job
    says nothing the pod did not (the result is in the pod), so the run is observed instead
    (None with `deleted` False and no Failed condition)."""
    attempt = _attempt_of(job)
    if attempt is None:
        return None
    if deleted:
        return JobReport(attempt, Observation(Observed.ABSENT))
    if _condition(job, "Failed"):
        return JobReport(attempt, read_observation(job, []))
    return None


class KubernetesRunner:
    """The Runner of a cluster: Jobs in tenant namespaces, executors made by Spark."""

    poll: dt.timedelta = KUBERNETES_POLL

    def __init__(self, api: ApiClient, settings: KubernetesJobSettings) -> None:
        self.api = api
        self.settings = settings
        self._identities: dict[str, float] = {}
        self._identities_lock = threading.Lock()

    def _identity_is_fresh(self, namespace: str) -> bool:
        with self._identities_lock:
            applied = self._identities.get(namespace)
        return applied is not None and time.monotonic() - applied < IDENTITY_REFRESH_SECONDS

    def log_location(self, run: RunRef, attempt: int) -> str:
        """`kubectl -n <namespace> logs job/<name>` reads it."""
        return f"k8s://{run.namespace}/jobs/{attempt_name(run, attempt)}"

    def _jobs(self, run: RunRef) -> list[dict[str, Any]]:
        return list_objects(
            self.api, "batch/v1", "Job", run.namespace, label_selector=f"{RUN_LABEL}={run.name}"
        )

    def observe(self, run: RunRef) -> Observation:
        """The latest attempt's Job and driver pod, mapped by read_observation."""
        jobs = self._jobs(run)
        if not jobs:
            return Observation(Observed.ABSENT)
        job = max(jobs, key=lambda j: int(j["metadata"]["labels"].get(ATTEMPT_LABEL, "0")))
        attempt = job["metadata"]["labels"].get(ATTEMPT_LABEL, "0")
        pods = list_objects(
            self.api,
            "v1",
            "Pod",
            run.namespace,
            label_selector=(
                f"{RUN_LABEL}={run.name},{ATTEMPT_LABEL}={attempt},"
                f"{COMPONENT_LABEL}={DRIVER_COMPONENT}"
            ),
        )
        return read_observation(job, pods)

    def manifests(
        self, run: RunRef, attempt: int, spec: dict[str, Any], traceparent: str = ""
    ) -> list[dict[str, Any]]:
        """Everything submit applies, in order (the integration test dry-runs these)."""
        pool = self.settings.pool(run)
        pod = build_driver_pod(run, attempt, pool, self.settings, traceparent, job_module(spec))
        return [
            *build_driver_identity(run.namespace, self.settings),
            build_job_config_map(run, attempt, spec, pool, self.settings),
            build_driver_job(run, attempt, pod),
        ]

    def submit(self, run: RunRef, attempt: int, spec: dict[str, Any], env: dict[str, str]) -> str:
        """Create the attempt's ConfigMap and Job unless they exist (then adopt them).

        Of `env` only TRACEPARENT reaches the pod (a plain value); the credentials in it are
        dropped on purpose: the pods get them from OpenBao or a Secret reference instead.
        """
        traceparent = env.get("TRACEPARENT", "")
        fresh_identity = self._identity_is_fresh(run.namespace)
        for manifest in self.manifests(run, attempt, spec, traceparent):
            if fresh_identity and manifest["kind"] not in ("ConfigMap", "Job"):
                continue  # the namespace's driver identity, applied a moment ago
            if manifest["kind"] in ("ConfigMap", "Job"):
                # Created or adopted as it is: an attempt's inputs and pod template are immutable.
                create_if_absent(self.api, manifest, field_manager=FIELD_MANAGER)
                continue
            apply(self.api, manifest, field_manager=FIELD_MANAGER)
            with self._identities_lock:
                self._identities[run.namespace] = time.monotonic()
        return self.log_location(run, attempt)

    def cancel(self, run: RunRef) -> None:
        """Delete the run's unfinished Jobs with their driver pods (whose executors Spark owns
        by them).

        An attempt is finished once its driver pod has ended, which is seconds before the Job
        controller marks the Job Complete: such a Job is kept, or a cancel right after a success
        would delete the attempt that holds the run's result.
        """
        jobs = self._jobs(run)
        if not jobs:
            return
        ended = {
            _attempt_of(pod)
            for pod in list_objects(
                self.api,
                "v1",
                "Pod",
                run.namespace,
                label_selector=f"{RUN_LABEL}={run.name},{COMPONENT_LABEL}={DRIVER_COMPONENT}",
            )
            if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")
        }
        for job in jobs:
            if _condition(job, "Complete") or _condition(job, "Failed"):
                continue
            if _attempt_of(job) in ended:
                continue
            delete(
                self.api,
                "batch/v1",
                "Job",
                job["metadata"]["name"],
                run.namespace,
                propagation_policy="Background",
            )
