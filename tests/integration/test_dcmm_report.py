"""The DCMM self-assessment on the local platform (issue 18, must-show 3): all 28 process areas
with a level and evidence, read from the real API server; adding quality rules to a product
moves the quality-requirements score; the report prints to PDF in real headless Chromium."""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path
from typing import Any

from nidc.cli import main as cli_main
from nidc.dcmm.observe import read_snapshot
from nidc.dcmm.report import assess
from nidc.kube import apply, delete, get

TENANT = "equipment-maker"
SUFFIX = uuid.uuid4().hex[:5]
SELECTOR = f"nidc.io/dcmm-probe={SUFFIX}"
OWNER = {"name": "Li Na", "email": "li.na@equipment.example.cn"}
RULE = {"name": "model-present", "check": "notNull", "column": "machine_model"}


def probe(name: str, rules: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A product waiting for an input that does not exist: reconciled, never run (no Spark)."""
    spec: dict[str, Any] = {
        "inputs": [{"kind": "DataSource", "name": f"absent-{SUFFIX}"}],
        "transform": {"sql": "SELECT 1 AS one"},
        "owner": OWNER,
        "targetTable": f"silver.{name.replace('-', '_')}",
    }
    if rules:
        spec["qualityRules"] = rules
    return {
        "apiVersion": "nidc.io/v1alpha1",
        "kind": "DataProduct",
        "metadata": {"name": name, "namespace": TENANT, "labels": {"nidc.io/dcmm-probe": SUFFIX}},
        "spec": spec,
    }


def levels(env: dict[str, Any]) -> tuple[dict[str, int], dict[str, Any]]:
    """Scores once the catalog indexes both probes (it sweeps every few seconds: a probe
    indexed between two snapshots would move the catalog's score, not the test's change)."""
    deadline = time.monotonic() + 60
    while True:
        scores, evidence = assess(read_snapshot(env, TENANT, SELECTOR))
        if evidence["catalog.coverage"].value == 1.0:
            return {s.process_area.id: s.level for s in scores}, evidence
        assert time.monotonic() < deadline, evidence["catalog.coverage"]
        time.sleep(1)


def reconciled(api: Any, names: list[str]) -> None:
    """Wait until the operator has written the status of each product's generation (its
    lineage, conditions), so only the test's change moves the evidence."""
    deadline = time.monotonic() + 90
    while True:
        found = [get(api, "nidc.io/v1alpha1", "DataProduct", name, TENANT) for name in names]
        if all(
            f and (f.get("status") or {}).get("observedGeneration") == f["metadata"]["generation"]
            for f in found
        ):
            return
        assert time.monotonic() < deadline, [f and f.get("status") for f in found]
        time.sleep(1)


def test_adding_quality_rules_moves_the_quality_requirements_score(
    tenants: Any, operator: Any, platform_env: dict[str, Any], tmp_path: Path
) -> None:
    names = [f"dcmm-probe-a-{SUFFIX}", f"dcmm-probe-b-{SUFFIX}"]
    try:
        for name in names:
            apply(tenants, probe(name))
        reconciled(tenants, names)
        before, evidence = levels(platform_env)
        assert evidence["products.count"].value == 2
        assert evidence["quality.rule_coverage"].value == 0.0
        assert before["quality-requirements"] == 1

        apply(tenants, probe(names[0], [RULE]))
        reconciled(tenants, names)
        after, evidence = levels(platform_env)
        assert evidence["quality.rule_coverage"].value == 0.5
        assert after["quality-requirements"] == 3  # 0.5 coverage: level 3 (policies/dcmm)
        moved = {pa for pa in before if before[pa] != after[pa]}
        assert "quality-requirements" in moved
        # Only process areas whose requirements read quality rule coverage may move.
        assert moved <= {"quality-requirements", "quality-improvement", "lifecycle-requirements"}

        # The command: HTML with the 28 process areas, and the PDF from real Chromium.
        html, pdf = tmp_path / "dcmm.html", tmp_path / "dcmm.pdf"
        code = cli_main(
            ["dcmm", "report", "--html", str(html), "--pdf", str(pdf),
             "--namespace", TENANT, "--selector", SELECTOR]
        )  # fmt: skip
        assert code == 0
        page = html.read_text(encoding="utf-8")
        assert len(re.findall(r'data-level="[1-5]"', page)) == 28
        assert 'id="quality-requirements"' in page and "数据质量需求" in page
        assert pdf.read_bytes().startswith(b"%PDF-") and pdf.stat().st_size > 10_000
    finally:
        for name in names:
            delete(tenants, "nidc.io/v1alpha1", "DataProduct", name, TENANT)
