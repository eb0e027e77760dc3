"""A job run's OpenLineage events: START before the work, COMPLETE or FAIL after it.

The events are built from the typed job spec (nidc/lineage/events.py) and sent to the receiver
the runtime names (`lineage`, None: off) by nidc/lineage/emitter.py, which never raises: a
lineage outage is logged and counted and the job's own outcome stands. At COMPLETE the job's
Spark session is asked for the written table's schema and, for a SQL transform, the input views'
columns, from which the columnLineage facet is derived (nidc/lineage/column_lineage.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from openlineage.client.event_v2 import RunState
from pyspark.sql import SparkSession

from nidc.api.job_runtime import JobRuntime
from nidc.api.job_specs import AnyJob, TransformJob
from nidc.lineage.column_lineage import column_lineage_facet
from nidc.lineage.emitter import LineageEmitter
from nidc.lineage.events import Observed, build_event, job_datasets
from nidc.lineage.naming import DatasetName, object_dataset
from spark_jobs import delta_log

LOG = logging.getLogger(__name__)
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class JobLineage:
    """The lineage of one job run; `run(work, spark)` wraps the work in START and COMPLETE/FAIL."""

    def __init__(self, job: AnyJob, runtime: JobRuntime, clock: Clock = utc_now) -> None:
        self.job = job
        self.runtime = runtime
        self.clock = clock
        self.emitter = LineageEmitter.to(runtime.lineage)

    @property
    def enabled(self) -> bool:
        return self.emitter.client is not None

    def run(
        self,
        work: Callable[[], dict[str, Any]],
        spark: SparkSession | None = None,
        reason: Callable[[BaseException], str] = str,
        observe: Callable[[], Observed] | None = None,
    ) -> dict[str, Any]:
        """Run the job's work between its START and its COMPLETE (or FAIL) event; `reason` is
        the one line the FAIL event gives (the run's status gives the same). `observe` reads the
        written tables' schemas where no Spark session does (the native writer)."""
        self._send(RunState.START)
        try:
            result = work()
        except Exception as error:
            self._send(RunState.FAIL, error=reason(error)[:500])
            self.emitter.close()
            raise
        observed = self.observe(spark) if observe is None else self.observe_with(observe)
        self._send(RunState.COMPLETE, result=result, observed=observed)
        self.emitter.close()
        if self.emitter.failures:
            LOG.warning(
                "lineage: %d of %d events of run %s not delivered",
                self.emitter.failures,
                self.emitter.failures + self.emitter.sent,
                self.runtime.run,
            )
        return result

    def _send(self, state: RunState, **details: Any) -> None:
        if not self.enabled:
            return
        try:
            event = build_event(self.job, self.runtime, state, self.clock(), **details)
        except Exception as error:  # an event we cannot build is a lineage fault, not the job's
            self.emitter.failures += 1
            LOG.warning("lineage event %s not built: %s", state.value, error)
            return
        self.emitter.emit(event)

    def observe_with(self, observe: Callable[[], Observed]) -> Observed:
        if not self.enabled:
            return Observed()
        try:
            return observe()
        except Exception as error:  # facets are extras: the event goes without them
            LOG.warning("lineage facets not observed: %s", type(error).__name__)
            return Observed()

    def observe(self, spark: SparkSession | None) -> Observed:
        """Schemas of what the job wrote (and a SQL transform's inputs) and column lineage."""
        if spark is None or not self.enabled:
            return Observed()
        try:
            return observe_tables(spark, self.job)
        except Exception as error:  # facets are extras: the event goes without them
            LOG.warning("lineage facets not observed: %s", type(error).__name__)
            return Observed()


def observe_tables(spark: SparkSession, job: AnyJob) -> Observed:
    """Read the Delta schemas the facets need (the logs only, no data)."""
    datasets = job_datasets(job)
    paths: dict[DatasetName, str] = {}
    if isinstance(job, TransformJob):
        paths.update({object_dataset(i.path): i.path for i in job.inputs})
    target = getattr(job, "target", None)
    if isinstance(target, str) and datasets.primary_output is not None:
        paths[datasets.primary_output] = target
    schemas: dict[DatasetName, list[tuple[str, str]]] = {}
    for name, path in paths.items():
        columns = delta_log.table_columns(spark, path)
        if columns:
            schemas[name] = list(columns.items())
    facet = None
    if isinstance(job, TransformJob) and job.sql and datasets.primary_output in schemas:
        views = {i.view: object_dataset(i.path) for i in job.inputs}
        view_columns = {view: [c for c, _ in schemas.get(name, [])] for view, name in views.items()}
        output = [c for c, _ in schemas[datasets.primary_output]]
        facet = column_lineage_facet(job.sql, views, view_columns, output)
    return Observed(schemas=schemas, column_lineage=facet)
