"""A job's OpenLineage run events, built from its typed spec (pure).

Every job kind of nidc/api/job_specs.py maps to a job identity and its input and output datasets
(naming.py); `build_event` adds the run's state and what the job observed at its end (schemas,
rows, the table version, a SQL transform's column lineage). The run id is derived from the run's
name and attempt, so a job restarted mid-way reports the same run, and the receiver stores each
event once. Nothing here reads a credential: the specs carry none, and the dataset names refuse a
URL with a login.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import attr
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    DatasetFacet,
    JobFacet,
    OutputDatasetFacet,
    RunFacet,
    column_lineage_dataset,
    dataset_version_dataset,
    datasource_dataset,
    error_message_run,
    job_type_job,
    output_statistics_output_dataset,
    schema_dataset,
    sql_job,
)

from nidc.api.job_runtime import JobRuntime
from nidc.api.job_specs import (
    AnyJob,
    ClassifyJob,
    GovernedCopyJob,
    IngestJob,
    MaintenanceJob,
    QualityJob,
    ReplicateJob,
    TransformJob,
)
from nidc.lineage.naming import DatasetName, jdbc_dataset, object_dataset

PRODUCER = "https://nidc.io/lineage/spark_jobs"
# uuid5 namespace of run ids: the same (run, attempt) is the same OpenLineage run.
RUN_ID_NAMESPACE = uuid.UUID("6f1d2a53-3c4b-5e8f-9a0b-1c2d3e4f5a6b")
NIDC_SCHEMA = "https://nidc.io/lineage/facets/1-0-0/"


@attr.define
class NidcRunRunFacet(RunFacet):
    """Which PipelineRun and attempt this OpenLineage run is (a custom facet, `nidc_run`)."""

    pipelineRun: str  # noqa: N815 (OpenLineage's camelCase)
    attempt: int

    @staticmethod
    def _get_schema() -> str:
        return NIDC_SCHEMA + "NidcRunRunFacet.json"


@attr.define
class NidcSourceDatasetFacet(DatasetFacet):
    """The DataSource whose equipment or system a landing folder or source table holds
    (`nidc_source`): the device end of a gold table's lineage."""

    namespace: str
    name: str
    type: str

    @staticmethod
    def _get_schema() -> str:
        return NIDC_SCHEMA + "NidcSourceDatasetFacet.json"


@dataclass(frozen=True)
class DatasetRef:
    """A dataset of a job, with the facets known from the spec alone."""

    name: DatasetName
    facets: Mapping[str, DatasetFacet] = field(default_factory=dict)
    version: int | None = None  # the Delta version read (inputs) where the spec pins one


@dataclass(frozen=True)
class JobDatasets:
    """A job's identity and what it reads and writes."""

    namespace: str
    name: str
    kind: str
    inputs: Sequence[DatasetRef]
    outputs: Sequence[DatasetRef]
    primary_output: DatasetName | None  # where the result's rows and table version belong
    sql: str | None = None


@dataclass(frozen=True)
class Observed:
    """What the job saw at its end (spark_jobs/lineage.py): schemas as (column, type) lists and
    the column lineage of its primary output."""

    schemas: Mapping[DatasetName, Sequence[tuple[str, str]]] = field(default_factory=dict)
    column_lineage: column_lineage_dataset.ColumnLineageDatasetFacet | None = None


def run_id(runtime: JobRuntime) -> str:
    """The OpenLineage run id of one attempt of one PipelineRun (deterministic)."""
    return str(uuid.uuid5(RUN_ID_NAMESPACE, f"{runtime.run}/{runtime.attempt}"))


def _table_key(path: str) -> str:
    return object_dataset(path).name


def job_datasets(job: AnyJob) -> JobDatasets:
    """The job's identity (namespace: the tenant; name: kind and table) and its datasets."""
    if isinstance(job, IngestJob):
        return _ingest(job)
    if isinstance(job, TransformJob):
        target = object_dataset(job.target)
        inputs = [DatasetRef(object_dataset(i.path), version=i.version) for i in job.inputs]
        return JobDatasets(
            job.tenant,
            f"transform.{target.name}",
            "transform",
            inputs,
            [DatasetRef(target)],
            target,
            sql=job.sql,
        )
    if isinstance(job, QualityJob):
        namespace = job.resource.split("/")[1] if job.resource.count("/") == 2 else "unknown"
        checked = DatasetRef(object_dataset(job.table), version=job.version)
        references = [DatasetRef(object_dataset(p)) for _, p in sorted(job.references.items())]
        outputs = [
            DatasetRef(object_dataset(job.history)),
            DatasetRef(object_dataset(job.quarantine)),
        ]
        return JobDatasets(
            namespace, f"quality.{job.table_name}", "quality", [checked, *references], outputs, None
        )
    if isinstance(job, ClassifyJob):
        # Classification commits table properties only, no data: no output in the data's lineage.
        return JobDatasets(
            job.tenant,
            f"classify.{job.table}",
            "classify",
            [DatasetRef(object_dataset(job.path))],
            [],
            None,
        )
    if isinstance(job, GovernedCopyJob):
        target = object_dataset(job.target)
        source = DatasetRef(object_dataset(job.source), version=job.source_version)
        return JobDatasets(
            job.tenant,
            f"governed-copy.{target.name}",
            "governed-copy",
            [source],
            [DatasetRef(target)],
            target,
        )
    if isinstance(job, MaintenanceJob):
        # Compaction rewrites files with dataChange false and vacuum deletes unreferenced ones:
        # the tables' data do not change, so they are inputs only (as for classify).
        return JobDatasets(
            job.namespace,
            f"maintenance.{object_dataset(job.tables[0]).name}",
            "maintenance",
            [DatasetRef(object_dataset(t)) for t in job.tables],
            [],
            None,
        )
    if isinstance(job, ReplicateJob):
        destination = job.destination
        replica = DatasetRef(
            object_dataset(destination.path),
            {
                # The peer center and its store's address (no login: refused by naming.py).
                "datasource": datasource_dataset.DatasourceDatasetFacet(
                    name=f"center/{destination.center}", uri=_without_login(destination.endpoint)
                )
            },
        )
        return JobDatasets(
            job.tenant,
            f"replicate.{job.source.table}.to.{destination.center}",
            "replicate",
            [DatasetRef(object_dataset(job.source.path), version=job.until_version)],
            [replica],
            replica.name,
        )
    raise TypeError(f"no lineage for job {type(job).__name__}")


def _without_login(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    host, slash, path = rest.partition("/")
    return f"{scheme}{sep}{host.rpartition('@')[2]}{slash}{path}"


def _ingest(job: IngestJob) -> JobDatasets:
    origin = {"nidc_source": NidcSourceDatasetFacet(job.namespace, job.source, str(job.type))}
    if job.landing is not None:
        source = DatasetRef(object_dataset(job.landing.prefix), origin)
    elif job.files is not None:
        source = DatasetRef(object_dataset(job.files.prefix), origin)
    elif job.jdbc is not None:
        source = DatasetRef(jdbc_dataset(job.jdbc.url, job.jdbc.table), origin)
    else:  # the model refuses this; kept total for the type checker
        raise ValueError(f"ingest job of {job.source} has no input")
    target = object_dataset(job.target)
    outputs = [DatasetRef(target), DatasetRef(object_dataset(job.quarantine))]
    return JobDatasets(job.namespace, f"ingest.{job.source}", "ingest", [source], outputs, target)


def _schema_facet(columns: Sequence[tuple[str, str]]) -> schema_dataset.SchemaDatasetFacet:
    return schema_dataset.SchemaDatasetFacet(
        fields=[schema_dataset.SchemaDatasetFacetFields(name=n, type=t) for n, t in columns]
    )


def build_event(
    job: AnyJob,
    runtime: JobRuntime,
    state: RunState,
    now: datetime,
    *,
    result: Mapping[str, Any] | None = None,
    error: str | None = None,
    observed: Observed | None = None,
) -> RunEvent:
    """One run event (START, COMPLETE or FAIL) of a job (pure; the clock passed in)."""
    datasets = job_datasets(job)
    observed = observed or Observed()
    run_facets: dict[str, RunFacet] = {"nidc_run": NidcRunRunFacet(runtime.run, runtime.attempt)}
    if error is not None:
        run_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            message=error, programmingLanguage="PYTHON"
        )
    job_facets: dict[str, JobFacet] = {
        "jobType": job_type_job.JobTypeJobFacet(
            processingType="BATCH", integration="NIDC", jobType=datasets.kind.upper()
        )
    }
    if datasets.sql:
        job_facets["sql"] = sql_job.SQLJobFacet(query=datasets.sql, dialect="spark")
    inputs = [_input(ref, observed) for ref in datasets.inputs]
    outputs = [_output(ref, datasets, observed, result) for ref in datasets.outputs]
    return RunEvent(
        eventType=state,
        eventTime=now.isoformat(),
        run=Run(runId=run_id(runtime), facets=run_facets),
        job=Job(namespace=f"nidc/{datasets.namespace}", name=datasets.name, facets=job_facets),
        inputs=inputs,
        outputs=outputs,
        producer=PRODUCER,
    )


def _input(ref: DatasetRef, observed: Observed) -> InputDataset:
    facets: dict[str, DatasetFacet] = dict(ref.facets)
    if ref.version is not None:
        facets["version"] = dataset_version_dataset.DatasetVersionDatasetFacet(str(ref.version))
    schema = observed.schemas.get(ref.name)
    if schema:
        facets["schema"] = _schema_facet(schema)
    return InputDataset(namespace=ref.name.namespace, name=ref.name.name, facets=facets)


def _output(
    ref: DatasetRef, datasets: JobDatasets, observed: Observed, result: Mapping[str, Any] | None
) -> OutputDataset:
    facets: dict[str, DatasetFacet] = dict(ref.facets)
    output_facets: dict[str, OutputDatasetFacet] = {}
    schema = observed.schemas.get(ref.name)
    if schema:
        facets["schema"] = _schema_facet(schema)
    if ref.name == datasets.primary_output:
        if observed.column_lineage is not None:
            facets["columnLineage"] = observed.column_lineage
        if result and result.get("tableVersion") is not None:
            facets["version"] = dataset_version_dataset.DatasetVersionDatasetFacet(
                str(result["tableVersion"])
            )
        if result and result.get("rows") is not None:
            output_facets["outputStatistics"] = (
                output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
                    rowCount=int(result["rows"])
                )
            )
    return OutputDataset(
        namespace=ref.name.namespace, name=ref.name.name, facets=facets, outputFacets=output_facets
    )
