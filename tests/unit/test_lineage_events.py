"""OpenLineage events of every job kind, built from what the reconcilers really record.

The jobs come from the reconcilers' own builders (tests/unit/test_job_specs.py BUILDERS) and
reach the job as the operator hands them over, with the lineage target the operator's
settings name; each event is serialised by openlineage-python and read back by the receiver's
validation, as it would travel.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from openlineage.client.event_v2 import RunState
from openlineage.client.serde import Serde

from nidc.api.job_runtime import JobRuntime, LineageTarget, Storage, parse_run_spec
from nidc.api.spark_pool import default_pools
from nidc.lineage.emitter import LineageEmitter
from nidc.lineage.events import Observed, build_event, run_id
from nidc.lineage.naming import DatasetName, DatasetNameError, jdbc_dataset, parse_dataset
from nidc.lineage.validation import InvalidEventError, validate_event
from nidc.local.ports import free_port
from operators.clients.context import OperatorContext
from operators.runs.kubernetes_build import KubernetesJobSettings, build_pod_spec_json
from tests.unit.test_job_specs import BUILDERS, operator_context

NOW = datetime(2026, 11, 30, 11, 0, tzinfo=UTC)
LINEAGE_URL = "https://127.0.0.1:7443"
TENANT = "s3://tenant-steel-plant"

# What each job reads and writes, as OpenLineage datasets.
EXPECTED: dict[str, tuple[set[str], set[str]]] = {
    # Compaction and vacuum change no data: the tables are inputs only.
    "maintenance": (
        {f"{TENANT}/bronze/cnc_spindle", f"{TENANT}/quarantine/cnc_spindle"},
        set(),
    ),
    "ingest-device": (
        {f"{TENANT}/landing/sources/steel-plant/cnc"},
        {f"{TENANT}/bronze/cnc_spindle", f"{TENANT}/quarantine/cnc_spindle"},
    ),
    # A run that follows its landing reads and writes the same datasets (decision 0290).
    "ingest-device-following": (
        {f"{TENANT}/landing/sources/steel-plant/cnc"},
        {f"{TENANT}/bronze/cnc_spindle", f"{TENANT}/quarantine/cnc_spindle"},
    ),
    "ingest-jdbc": (
        {"postgres://mes:5432/mes.mes.work_orders"},
        {f"{TENANT}/bronze/cnc_spindle", f"{TENANT}/quarantine/cnc_spindle"},
    ),
    "ingest-files": (
        {f"{TENANT}/landing/erp/orders"},
        {f"{TENANT}/bronze/cnc_spindle", f"{TENANT}/quarantine/cnc_spindle"},
    ),
    "transform": ({f"{TENANT}/bronze/cnc_spindle"}, {f"{TENANT}/silver/kpis"}),
    "quality": (
        {f"{TENANT}/silver/lots", f"{TENANT}/silver/orders"},
        {f"{TENANT}/quality/history", f"{TENANT}/quarantine/lots_quality"},
    ),
    "classify": ({f"{TENANT}/bronze/cnc_spindle"}, set()),
    "governed-copy": (
        {"s3://steel-plant/silver/lots"},
        {"s3://steel-plant/governed/analysts/lots"},
    ),
    "replicate": ({f"{TENANT}/silver/kpis"}, {"s3://replica/region-east/steel-plant/silver/kpis"}),
}


def lineage_context() -> OperatorContext:
    context = operator_context()
    context.settings = replace(context.settings, lineage_url=LINEAGE_URL)
    return context


def handed_over(record: dict[str, Any]) -> dict[str, Any]:
    return {**lineage_context().job_spec(record), "attempt": 1}


def names(datasets: Any) -> set[str]:
    return {f"{d.namespace}/{d.name}" for d in datasets}


def test_every_job_kind_has_its_expected_datasets() -> None:
    assert set(EXPECTED) == set(BUILDERS)


@pytest.mark.parametrize("case", sorted(BUILDERS))
def test_start_event_names_what_the_job_reads_and_writes(case: str) -> None:
    _, record = BUILDERS[case]()
    job, runtime = parse_run_spec(handed_over(record))
    assert runtime.lineage == LineageTarget(url=LINEAGE_URL, ca_file="/state/pki/ca.crt")
    event = build_event(job, runtime, RunState.START, NOW)
    assert (names(event.inputs), names(event.outputs)) == EXPECTED[case]
    assert event.job.namespace == "nidc/steel-plant"
    body = json.loads(Serde.to_json(event))
    valid = validate_event(body)  # what the receiver would take
    assert valid.event_type == "START" and str(valid.run_id) == run_id(runtime)
    assert body["run"]["facets"]["nidc_run"]["pipelineRun"] == record["metadata"]["name"]
    # The OpenBao paths of logins stay with the runner: no event names one.
    assert "secret/data" not in json.dumps(body)


def test_ingest_names_its_datasource_on_the_source_dataset() -> None:
    job, runtime = parse_run_spec(handed_over(BUILDERS["ingest-device"]()[1]))
    body = json.loads(Serde.to_json(build_event(job, runtime, RunState.START, NOW)))
    facet = body["inputs"][0]["facets"]["nidc_source"]
    assert (facet["namespace"], facet["name"], facet["type"]) == ("steel-plant", "cnc", "opcua")


def test_complete_carries_rows_version_schema_and_column_lineage() -> None:
    from nidc.lineage.column_lineage import column_lineage_facet

    job, runtime = parse_run_spec(handed_over(BUILDERS["transform"]()[1]))
    bronze = DatasetName(TENANT, "bronze/cnc_spindle")
    silver = DatasetName(TENANT, "silver/kpis")
    facet = column_lineage_facet(
        "SELECT * FROM cnc_spindle", {"cnc_spindle": bronze}, {"cnc_spindle": ["temp"]}, ["temp"]
    )
    observed = Observed({bronze: [("temp", "double")], silver: [("temp", "double")]}, facet)
    event = build_event(
        job,
        runtime,
        RunState.COMPLETE,
        NOW,
        result={"rows": 42, "tableVersion": 3},
        observed=observed,
    )
    body = json.loads(Serde.to_json(event))
    output = body["outputs"][0]
    assert output["outputFacets"]["outputStatistics"]["rowCount"] == 42
    assert output["facets"]["version"]["datasetVersion"] == "3"
    schema = output["facets"]["schema"]["fields"]
    assert [(f["name"], f["type"]) for f in schema] == [("temp", "double")]
    lineage = output["facets"]["columnLineage"]["fields"]["temp"]["inputFields"]
    assert [(f["name"], f["field"]) for f in lineage] == [("bronze/cnc_spindle", "temp")]
    assert body["inputs"][0]["facets"]["schema"]["fields"][0]["name"] == "temp"
    assert body["job"]["facets"]["sql"]["query"] == "SELECT * FROM cnc_spindle"


def test_fail_carries_the_reason() -> None:
    job, runtime = parse_run_spec(handed_over(BUILDERS["quality"]()[1]))
    event = build_event(job, runtime, RunState.FAIL, NOW, error="AnalysisException: no column x")
    body = json.loads(Serde.to_json(event))
    assert body["eventType"] == "FAIL"
    assert body["run"]["facets"]["errorMessage"]["message"] == "AnalysisException: no column x"


def test_run_id_is_one_per_run_and_attempt() -> None:
    storage = Storage(endpoint="https://s3")
    first = JobRuntime(run="kpis-g1-0-abc", storage=storage)
    assert run_id(first) == run_id(JobRuntime(run="kpis-g1-0-abc", storage=storage))
    assert run_id(first) != run_id(JobRuntime(run="kpis-g1-0-abc", storage=storage, attempt=2))
    assert run_id(first) != run_id(JobRuntime(run="kpis-g1-1-abc", storage=storage))


def test_lineage_is_off_unless_the_operator_names_a_receiver() -> None:
    _, record = BUILDERS["transform"]()
    _, runtime = parse_run_spec({**operator_context().job_spec(record), "attempt": 1})
    assert runtime.lineage is None
    assert LineageEmitter.to(None).client is None


def test_the_pod_gets_the_url_without_the_operators_file_paths() -> None:
    settings = KubernetesJobSettings(image="registry.example/spark:1", pools=default_pools())
    spec = json.loads(build_pod_spec_json(handed_over(BUILDERS["transform"]()[1]), 1, settings))
    assert spec["lineage"] == {"url": LINEAGE_URL, "caFile": "", "clientCert": "", "clientKey": ""}


def test_a_lineage_url_with_a_login_is_refused() -> None:
    with pytest.raises(ValueError, match="url"):
        LineageTarget.model_validate({"url": "https://user:pw@lineage:443"})


def test_an_unreachable_receiver_is_counted_not_raised() -> None:
    port = free_port()  # nothing listens there
    emitter = LineageEmitter.to(LineageTarget(url=f"http://127.0.0.1:{port}"))
    job, runtime = parse_run_spec(handed_over(BUILDERS["transform"]()[1]))
    assert emitter.emit(build_event(job, runtime, RunState.START, NOW)) is False
    assert (emitter.sent, emitter.failures) == (0, 1)


def test_dataset_names() -> None:
    assert parse_dataset("steel-plant/gold.line_health") == DatasetName(TENANT, "gold/line_health")
    assert parse_dataset("s3a://tenant-x/silver/a/") == DatasetName("s3://tenant-x", "silver/a")
    assert parse_dataset("file:///tmp/t") == DatasetName("file", "/tmp/t")
    assert jdbc_dataset("jdbc:postgresql://db/mes", "orders") == DatasetName(
        "postgres://db:5432", "mes.public.orders"
    )
    for bad in ("gold.line_health", "s3a://u:p@bucket/t", "ftp://x/y"):
        with pytest.raises(DatasetNameError):
            parse_dataset(bad)


def valid_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "eventType": "COMPLETE",
        "eventTime": "2026-11-30T11:00:00+00:00",
        "run": {"runId": "6f1d2a53-3c4b-5e8f-9a0b-1c2d3e4f5a6b"},
        "job": {"namespace": "nidc/steel-plant", "name": "transform.silver/kpis"},
        "inputs": [{"namespace": TENANT, "name": "bronze/a"}],
        "outputs": [{"namespace": TENANT, "name": "silver/kpis"}],
        "producer": "test",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    }
    body.update(changes)
    return body


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"run": {"runId": "not-a-uuid"}}, "run.runId"),
        ({"eventType": "DONE"}, "eventType"),
        ({"eventTime": "2026-11-30T11:00:00"}, "eventTime"),
        ({"job": {"namespace": "nidc/x"}}, "job.name"),
        ({"inputs": [{"namespace": "s3://u:p@bucket", "name": "t"}]}, "inputs.0.namespace"),
        (
            {"outputs": [{"namespace": TENANT, "name": "t", "facets": {"x": {"password": "p"}}}]},
            "event.outputs[0].facets.x.password",
        ),
    ],
)
def test_the_receiver_refuses_a_bad_event_naming_the_field(
    changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidEventError, match=field.replace("[", r"\[").replace("]", r"\]")):
        validate_event(valid_body(**changes))
    assert validate_event(valid_body()).event_type == "COMPLETE"


def test_the_operator_learns_the_receiver_from_the_catalog_api_endpoint() -> None:
    from nidc.local.operator_access import lineage_url

    assert lineage_url({"servers": {}}) == ""
    catalog = {
        "catalog-api": {"url": "https://127.0.0.1:7443", "api": "https://127.0.0.1:7443/api/v1"}
    }
    assert lineage_url({"servers": catalog}) == "https://127.0.0.1:7443"


def test_the_cli_builds_the_storedsn_from_endpoint_the_published_database(tmp_path: Any) -> None:
    from nidc.lineage.cli import dsn_from_endpoint

    password = tmp_path / "pw"
    password.write_text("s3cr3t\n")
    database = {"host": "127.0.0.1", "port": 5544, "database": "postgres", "user": "postgres"}
    dsn = dsn_from_endpoint({**database, "password_file": str(password)})
    assert "port=5544" in dsn and "password=s3cr3t" in dsn and "dbname=postgres" in dsn
