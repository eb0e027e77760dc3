"""Issue 14, must-show 2 for products: a DataProduct's grade is computed from its own table.

A product declared grade 1 whose SQL derives a column of resident ID numbers (under a name that
says nothing) is classified after its transform run: status.grade and computedGrade rise to 2,
status.classification names the column, a GradeChanged event says why, and the transform and
classify runs are two PipelineRuns of the product that never overlapped (both write the table).
Real servers: the operator records both runs, Spark runs them (local runner).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from nidc.kube import apply, delete, get, list_objects
from tests.cluster import condition
from tests.operator_process import OperatorProcess

pytestmark = pytest.mark.integration

TENANT = "steel-plant"
API = "nidc.io/v1alpha1"
# The SQL picks one of three resident ID numbers with valid GB 11643 check digits per line.


def wait_for(what: str, probe: Callable[[], Any], timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(2)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_product_deriving_resident_ids_is_graded_from_its_own_table(
    tenants: Any,
    operator: OperatorProcess,
    line_sensors: str,
    national_baseline: dict[str, Any],
) -> None:
    name = f"line-owners-{uuid.uuid4().hex[:5]}"
    # One row per reading (180), each with one of the three numbers: a classify sample of many
    # values, as a real table gives (two aggregated rows were graded 1 in CI).
    sql = (
        "SELECT line, value AS peak, element_at(array('11010519491231002X', "
        "'110101198001010037', '440524198801010011'), CAST(pmod(hash(line, ts), 3) AS INT) + 1) "
        "AS col_q9 FROM line_sensors"
    )
    apply(
        tenants,
        {
            "apiVersion": API,
            "kind": "DataProduct",
            "metadata": {"name": name, "namespace": TENANT},
            "spec": {
                "inputs": [{"kind": "DataSource", "name": "line-sensors"}],
                "transform": {"sql": sql},
                "maxAttempts": 1,
                "owner": {"name": "Wang Li", "email": "wang.li@steel.example.cn"},
                "grade": 1,
                "targetTable": f"silver.{name.replace('-', '_')}",
            },
        },
    )
    try:

        def graded() -> dict[str, Any] | None:
            found = get(tenants, API, "DataProduct", name, TENANT) or {}
            status = dict(found.get("status") or {})
            return found if status.get("computedGrade") is not None else None

        found = wait_for("the product's classify pass", graded, 600)
        status = found["status"]
        assert status["grade"] == status["computedGrade"] == 2, status
        columns = {c["name"]: c for c in status["classification"]["columns"]}
        assert columns["col_q9"]["grade"] == 2, columns["col_q9"]
        assert columns["col_q9"]["category"] == "personal-identity", columns["col_q9"]
        assert columns["line"]["grade"] == 1 and columns["peak"]["grade"] == 1, columns
        assert condition(found, "Ready")["status"] == "True", status["conditions"]

        runs = list_objects(
            tenants,
            API,
            "PipelineRun",
            namespace=TENANT,
            label_selector=f"nidc.io/parent-uid={found['metadata']['uid']}",
        )
        by_type: dict[str, list[dict[str, Any]]] = {}
        for run in runs:
            by_type.setdefault(run["spec"]["jobType"], []).append(run)
        (transform,) = by_type["transform"]
        (classify,) = by_type["classify"]
        assert classify["metadata"]["name"] == status["classification"]["run"]
        # One writer at a time: the classify run started after the transform run ended.
        assert classify["status"]["startedAt"] >= transform["status"]["finishedAt"], (
            transform["status"],
            classify["status"],
        )
        events = [
            e
            for e in list_objects(tenants, "v1", "Event", namespace=TENANT)
            if e["involvedObject"]["name"] == name and e["reason"] == "GradeChanged"
        ]
        assert any("grade 1 -> 2" in e["message"] and "col_q9" in e["message"] for e in events), [
            e["message"] for e in events
        ]
    finally:
        delete(tenants, API, "DataProduct", name, TENANT)
