"""The one interface every runner satisfies (local processes, Kubernetes pods).

A runner makes a run's job exist at most once per attempt (create-or-adopt by the run's name),
reports what it sees of it, and stops it. The state machine decides; the runner only acts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Protocol

from nidc.api.job_runtime import parse_run_spec
from nidc.api.job_specs import JobSpecError
from nidc.api.pipeline_run import PipelineRun
from operators.runs.state_machine import Observation

# The module a run's process runs, by the job's engine (JobSpecBase.engine_name): Spark's
# entry point, or the native bronze writer with no JVM (decision 0250).
ENTRY_MODULES = {"spark": "spark_jobs.run", "native": "spark_jobs.ingest.native"}


def job_module(spec: dict[str, Any]) -> str:
    """`python -m <this> <run-dir>` runs the job of a run's spec.json (pure). A spec that does
    not parse goes to spark_jobs.run, which fails the run with the reason naming the field."""
    try:
        job, _ = parse_run_spec(spec)
    except JobSpecError:
        return ENTRY_MODULES["spark"]
    return ENTRY_MODULES[job.engine_name]


@dataclass(frozen=True)
class RunRef:
    """What a runner needs to know of a PipelineRun: where it lives, who owns its job, its pool.

    The local runner only uses the name; the Kubernetes runner puts the job in the run's
    namespace, owned by the run (uid) so that deleting the run deletes its pods.
    """

    namespace: str
    name: str
    uid: str
    pool: str = "cpu"

    @classmethod
    def of(cls, body: dict[str, Any]) -> RunRef:
        """The reference of a PipelineRun object (as kopf or the API hands it over)."""
        run = PipelineRun.from_body(body)
        return cls(namespace=run.namespace, name=run.name, uid=run.uid, pool=run.spec.pool)


class Runner(Protocol):
    """observe / submit / cancel, all idempotent and keyed by the run."""

    # How often a live run is observed when no watch event brought news of its job.
    poll: dt.timedelta

    def log_location(self, run: RunRef, attempt: int) -> str:
        """Where the log of an attempt is (a path, or a pod to ask for)."""
        ...

    def observe(self, run: RunRef) -> Observation:
        """What the runner sees of the run's latest attempt."""
        ...

    def submit(self, run: RunRef, attempt: int, spec: dict[str, Any], env: dict[str, str]) -> str:
        """Start the attempt's job unless it exists already; returns the log location.

        `env` holds what the job's process needs in its environment (credentials among them):
        a runner that cannot pass it privately must drop the secret parts and say how the job
        gets them instead.
        """
        ...

    def cancel(self, run: RunRef) -> None:
        """Stop the run's job if one runs."""
        ...
