"""DCMM self-assessment (issue 18): the 28 process areas as data, scored from evidence."""

from __future__ import annotations

import datetime as dt
import html
import re
from pathlib import Path
from typing import Any

import pytest

from nidc.dcmm.evidence import AuditSummary, PlatformSnapshot, collect_evidence
from nidc.dcmm.observe import policy_files
from nidc.dcmm.process_areas import ModelError, load_areas
from nidc.dcmm.report import assess, render_html

NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
READY = {"conditions": [{"type": "Ready", "status": "True"}]}
OWNER = {"name": "Wang Li", "email": "wang.li@steel.example.cn"}


def source(name: str, **status: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "steel-plant"},
        "spec": {"type": "files", "domain": "production-operation"},
        "status": status,
    }


def product(name: str, rules: list[dict[str, Any]] | None = None, **status: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"owner": OWNER, "transform": {"sql": "SELECT 1"}}
    if rules:
        spec["qualityRules"] = rules
    return {"metadata": {"name": name, "namespace": "steel-plant"}, "spec": spec, "status": status}


def factory(**changes: Any) -> PlatformSnapshot:
    """A small factory: two tenants, two sources, four products, runs, one grant."""
    fields: dict[str, Any] = {
        "now": NOW,
        "tenants": [{"metadata": {"name": t}, "status": READY} for t in ("a", "b")],
        "sources": [source("s1", computedGrade=2), source("s2")],
        "products": [
            product(f"p{i}", lineage=["DataSource/s1"], computedGrade=1) for i in range(4)
        ],
        "runs": [{"status": {"phase": "Succeeded"}}] * 9 + [{"status": {"phase": "Failed"}}],
        "grants": [
            {
                "metadata": {"creationTimestamp": "2026-11-01T00:00:00Z"},
                "spec": {"expiresAt": "2027-01-01T00:00:00Z"},
            }
        ],
        "audit": AuditSummary(12, True, "center national: 12 records: OK"),
        "policy_files": policy_files(),
        "alert_rules": 6,
        "onemap_indicators": 5,
        "onemap_warning_rules": 5,
    }
    fields.update(changes)
    return PlatformSnapshot(**fields)


def levels(snapshot: PlatformSnapshot) -> dict[str, int]:
    scores, _ = assess(snapshot)
    return {s.process_area.id: s.level for s in scores}


def test_the_model_has_the_standards_8_areas_and_28_process_areas_with_known_evidence() -> None:
    evidence = collect_evidence(factory())
    areas = load_areas(known_evidence=set(evidence))
    assert len(areas) == 8
    assert sum(len(a.process_areas) for a in areas) == 28
    assert {a.area.zh for a in areas} == {
        "数据战略", "数据治理", "数据架构", "数据应用",
        "数据安全", "数据质量", "数据标准", "数据生存周期",
    }  # fmt: skip


def test_a_model_folder_that_is_not_the_standard_is_refused(tmp_path: Path) -> None:
    (tmp_path / "one.yaml").write_text(
        "area: {id: xx, zh: 甲, en: X}\nprocessAreas:\n  - id: yy\n    zh: 乙\n    en: Y\n"
        "    levels: {2: {tenants.count: 1}, 3: {}, 4: {}, 5: {}}\n"
    )
    with pytest.raises(ModelError, match="1 capability areas and 1 process areas"):
        load_areas(tmp_path)
    (tmp_path / "one.yaml").write_text(
        "area: {id: xx, zh: 甲, en: X}\nprocessAreas:\n  - id: yy\n    zh: 乙\n    en: Y\n"
        "    levels: {2: {}, 3: {}}\n"
    )
    with pytest.raises(ModelError, match="exactly 2, 3, 4 and 5"):
        load_areas(tmp_path)


def test_adding_quality_rules_raises_the_quality_requirements_score_and_no_unrelated_one() -> None:
    before = levels(factory())
    ruled = [
        product(f"p{i}", [{"name": "n", "check": "notNull", "column": "c"}], lineage=["x"])
        for i in range(3)
    ] + [product("p3", lineage=["x"])]
    after = levels(factory(products=ruled))
    assert before["quality-requirements"] == 1  # no table has a rule
    # 3 of 6 tables have rules: 0.5 coverage is level 3.
    assert after["quality-requirements"] == 3
    changed = {k for k in before if before[k] != after[k]}
    assert changed <= {
        "quality-requirements", "quality-improvement", "quality-checking", "quality-analysis",
        "lifecycle-requirements", "architecture-metadata", "standards-data-elements",
        "security-management",
    }, changed  # fmt: skip


def test_checked_and_passing_quality_moves_checking_and_analysis() -> None:
    rule = [{"name": "n", "check": "notNull", "column": "c"}]
    unchecked = [product(f"p{i}", rule) for i in range(4)]
    passing = {"score": 1.0, "blockingFailures": [], "failingChecks": []}
    checked = [product(f"p{i}", rule, quality=passing) for i in range(4)]
    low, high = levels(factory(products=unchecked)), levels(factory(products=checked))
    assert low["quality-checking"] == 1 and high["quality-checking"] >= 4
    assert low["quality-analysis"] == 1 and high["quality-analysis"] >= 4


def test_missing_evidence_holds_a_process_area_at_level_1_and_says_what_is_missing() -> None:
    scores, evidence = assess(factory(audit=None, audit_problem="no audit signing key yet"))
    audit = next(s for s in scores if s.process_area.id == "security-audit")
    assert audit.level == 1
    assert evidence["audit.records"].missing == "no audit signing key yet"
    assert any("missing (no audit signing key yet)" in f.describe() for f in audit.to_raise)
    metadata = next(s for s in scores if s.process_area.id == "architecture-metadata")
    assert metadata.level == 1  # the catalog was not read in this snapshot
    assert "catalog" in metadata.to_raise[0].describe()
    with_audit = next(s for s in assess(factory())[0] if s.process_area.id == "security-audit")
    assert (
        with_audit.level == 3
        and "audit.records ≥ 100 (now 12)" in with_audit.to_raise[0].describe()
    )


def test_a_grant_longer_than_a_year_is_not_bounded() -> None:
    endless = {
        "metadata": {"creationTimestamp": "2026-01-01T00:00:00Z"},
        "spec": {"expiresAt": "2036-01-01T00:00:00Z"},
    }
    assert collect_evidence(factory())["grants.bounded_share"].value == 1.0
    assert collect_evidence(factory(grants=[endless]))["grants.bounded_share"].value == 0.0


def test_the_html_report_has_every_process_area_with_level_and_evidence() -> None:
    scores, _ = assess(factory())
    page = render_html(scores, "national", NOW)
    for score in scores:
        assert f'id="{score.process_area.id}"' in page
        assert html.escape(score.process_area.zh) in page
    assert len(re.findall(r'data-level="[1-5]"', page)) == 28
    assert "http://" not in page and "https://" not in page  # nothing fetched from outside
    assert "missing: the asset catalog was not read" in page


def test_the_catalog_indexing_more_tables_raises_catalog_coverage() -> None:
    none = collect_evidence(factory(catalog_tables=None, catalog_problem="catalog down"))
    assert none["catalog.coverage"].missing == "catalog down"
    half = collect_evidence(factory(catalog_tables=3))["catalog.coverage"]
    full = collect_evidence(factory(catalog_tables=6))["catalog.coverage"]
    assert half.value == 0.5 and full.value == 1.0
    assert "6 of 6 tables" in full.detail
