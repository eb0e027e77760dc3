"""The catalog's pure parts: resources -> rows, who sees what, search words, identities from
certificates, the text tables."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from nidc.api.quality_rules import Quality
from nidc.api.tenant import tenant_group
from nidc.catalog.access import ADMIN, Identity, Scope, scope_of
from nidc.catalog.assets import AccessVia, AssetKind
from nidc.catalog.auth import bearer_token, identity_of_certificate
from nidc.catalog.build import (
    Observed,
    build_rows,
    locations_to_read,
    same_location,
    status_part,
)
from nidc.catalog.formatting import format_asset, format_assets, width
from nidc.catalog.search_text import query_words, tsquery, words
from tests.catalog_examples import factory

pytestmark = pytest.mark.unit


def test_every_table_a_resource_makes_is_an_asset() -> None:
    kinds = {a.id: a.kind for a in build_rows(factory()).assets}
    assert kinds == {
        "steel-plant/bronze.cnc_spindles": AssetKind.SOURCE_TABLE,
        "steel-plant/quarantine.cnc_spindles": AssetKind.QUARANTINE,
        "steel-plant/gold.spindle_health": AssetKind.PRODUCT_TABLE,
        "steel-plant/governed.maker-reads-health": AssetKind.GOVERNED_COPY,
        "steel-plant/shared.health-share.west.spindle_health": AssetKind.SHARED_COPY,
        "steel-plant/replica.health-to-national": AssetKind.REPLICA,
    }


def test_source_table_has_owner_grade_quality_classification_and_log_facts() -> None:
    rows = build_rows(factory())
    bronze = next(a for a in rows.assets if a.id == "steel-plant/bronze.cnc_spindles")
    # A DataSource names no owner: the tenant's accountable person is.
    assert (bronze.owner_name, bronze.domain, bronze.grade) == (
        "Zhang Wei",
        "production-operation",
        2,
    )
    assert bronze.quality_score == 0.98 and bronze.failing_checks == ("speed-range",)
    # Highest grade first.
    assert bronze.categories == ("process-parameter", "operating-state")
    assert (bronze.version, bronze.versions, bronze.rows, bronze.size_bytes) == (3, 4, 90, 4096)
    speed = bronze.columns[0]
    assert (speed.name, speed.category, speed.category_title, speed.grade) == (
        "主轴转速",
        "operating-state",
        "工况状态",
        1,
    )
    assert speed.comment == "主轴的实时转速"
    # A column the classify pass did not name keeps its schema only.
    assert bronze.columns[2].name == "ts" and bronze.columns[2].category is None


def test_a_bronze_table_without_rules_scores_the_rows_its_ingest_accepted() -> None:
    observed = factory()
    source = observed.resources.sources[0]
    status = {k: v for k, v in source.status.items() if k != "quality"}
    no_rules = source.model_copy(update={"status": {**status, "rows": 90, "quarantinedRows": 10}})
    rows = build_rows(replace(observed, resources=replace(observed.resources, sources=(no_rules,))))
    bronze = next(a for a in rows.assets if a.id == "steel-plant/bronze.cnc_spindles")
    assert (bronze.quality_score, bronze.quality_basis) == (0.9, "ingest")
    ruled = next(a for a in build_rows(factory()).assets if a.id == bronze.id)
    assert (ruled.quality_score, ruled.quality_basis) == (0.98, "rules")


def test_product_owner_is_its_own_and_its_last_good_version_is_kept() -> None:
    rows = build_rows(factory())
    gold = next(a for a in rows.assets if a.id == "steel-plant/gold.spindle_health")
    assert gold.owner_email == "wang.li@steel.example.cn"
    assert (gold.version, gold.last_good_version, gold.quality_score) == (5, 4, 1.0)
    assert gold.grants == ("Tenant:equipment-maker",)
    assert gold.shares == ("equipment-maker", "west")


def test_edges_run_from_the_device_to_every_copy() -> None:
    edges = {(e.upstream, e.downstream) for e in build_rows(factory()).edges}
    assert edges == {
        ("source:steel-plant/cnc-spindles", "steel-plant/bronze.cnc_spindles"),
        ("source:steel-plant/cnc-spindles", "steel-plant/quarantine.cnc_spindles"),
        ("steel-plant/bronze.cnc_spindles", "steel-plant/gold.spindle_health"),
        ("steel-plant/gold.spindle_health", "steel-plant/governed.maker-reads-health"),
        ("steel-plant/gold.spindle_health", "steel-plant/shared.health-share.west.spindle_health"),
        ("steel-plant/gold.spindle_health", "steel-plant/replica.health-to-national"),
    }


def test_grantee_and_share_recipients_that_are_tenants_get_access_to_the_copy_only() -> None:
    access = {(x.asset_id, x.tenant, x.via) for x in build_rows(factory()).access}
    assert access == {
        ("steel-plant/governed.maker-reads-health", "equipment-maker", AccessVia.GRANT),
        # The share serves the grant's copy to the same tenant (same location, s3:// vs s3a://).
        ("steel-plant/governed.maker-reads-health", "equipment-maker", AccessVia.SHARE),
    }  # the region recipient `west` is no tenant: its copy is listed, nobody else sees it


def test_replica_is_at_the_peer_center_with_the_source_schema() -> None:
    rows = build_rows(factory())
    replica = next(a for a in rows.assets if a.kind == AssetKind.REPLICA)
    gold = next(a for a in rows.assets if a.kind == AssetKind.PRODUCT_TABLE)
    assert replica.center == "national" and replica.version == 4
    assert replica.columns == gold.columns
    assert replica.location.startswith("s3a://national-grade2/")


def test_rows_do_not_depend_on_the_order_resources_were_listed() -> None:
    observed = factory()
    resources = observed.resources
    shuffled = replace(
        resources,
        tenants=tuple(reversed(resources.tenants)),
        shares=tuple(reversed(resources.shares)),
    )
    assert build_rows(Observed(shuffled, observed.facts)) == build_rows(observed)


def test_locations_to_read_are_normalised_and_leave_replicas_out() -> None:
    found = locations_to_read(factory().resources)
    assert "s3://tenant-steel-plant/bronze/cnc_spindles" in found
    assert "s3://tenant-steel-plant/governed/maker-reads-health" in found
    assert not any("national-grade2" in f for f in found)
    assert same_location("s3a://b/x/") == same_location("s3://b/x")


def test_status_fields_of_a_newer_operator_do_not_stop_the_index() -> None:
    parsed = status_part(Quality, {"score": 0.5, "newField": 1})
    assert parsed is not None and parsed.score == 0.5
    assert status_part(Quality, {"score": "not a number"}) is None
    assert status_part(Quality, None) is None


@pytest.mark.parametrize(
    ("groups", "scope"),
    [
        (("nidc:platform-admins",), ADMIN),
        ((tenant_group("steel-plant", "analyst"),), Scope(tenants=("steel-plant",))),
        (
            (tenant_group("steel-plant", "admin"), tenant_group("equipment-maker", "engineer")),
            Scope(tenants=("equipment-maker", "steel-plant")),
        ),
        (
            ("system:serviceaccounts:steel-plant", "system:authenticated"),
            Scope(tenants=("steel-plant",)),
        ),
        (("system:authenticated", "nidc:tenant:steel-plant:owners"), Scope()),
        ((), Scope()),
    ],
)
def test_scope_of_groups(groups: tuple[str, ...], scope: Scope) -> None:
    assert scope_of(Identity("someone", groups)) == scope


def test_identity_is_read_from_a_certificate_as_kube_apiserver_reads_it() -> None:
    peercert = {
        "subject": (
            (("organizationName", "nidc:tenant:steel-plant:analysts"),),
            (("organizationName", "nidc:tenant:steel-plant:engineers"),),
            (("commonName", "li.na"),),
        )
    }
    assert identity_of_certificate(peercert) == Identity(
        "li.na", ("nidc:tenant:steel-plant:analysts", "nidc:tenant:steel-plant:engineers")
    )
    assert identity_of_certificate(None) is None
    assert identity_of_certificate({"subject": ((("organizationName", "x"),),)}) is None
    assert bearer_token("Bearer abc.def") == "abc.def"
    assert bearer_token("Basic abc") is None and bearer_token("Bearer ") is None


def test_chinese_words_are_cut_and_kept_whole() -> None:
    found = words("主轴转速 spindle_speed CNC-1")
    assert {"主轴转速", "主轴", "转速", "spindle", "speed", "cnc", "1"} <= set(found)
    assert query_words("转速") == ["转速"]
    # Quoted prefixes: a word cannot act as a tsquery operator.
    assert tsquery(["a", "b|c"]) == "'a':* & 'b|c':*"
    assert tsquery(["it's"]) == ""


def test_search_text_holds_columns_category_titles_owner_and_grade_level() -> None:
    rows = build_rows(factory(), {2: "重要 二级 important"})
    bronze = next(a for a in rows.assets if a.id == "steel-plant/bronze.cnc_spindles")
    text = bronze.search_text.split()
    for word in ("转速", "工况状态", "zhang", "重要", "production", "实时"):
        assert word in text, word


def test_tables_for_people_align_chinese_text() -> None:
    rows: list[dict[str, Any]] = [
        {
            "id": "a/bronze.主轴",
            "kind": "source-table",
            "grade": 2,
            "quality_score": 0.5,
            "size_bytes": 2048,
        },
        {"id": "a/bronze.spindles", "kind": "source-table", "grade": None},
    ]
    lines = format_assets(rows).splitlines()
    assert lines[0].startswith("ASSET")
    # The KIND column starts at the same display column on every line.
    starts = [width(line[: line.index("source-table")]) for line in lines[1:]]
    assert len(set(starts)) == 1
    assert "0.50" in lines[1] and "2.0 KiB" in lines[1]
    shown = format_asset(
        {
            "id": "a/bronze.x",
            "columns": [
                {
                    "name": "转速",
                    "type": "double",
                    "grade": 1,
                    "category": "operating-state",
                    "category_title": "工况状态",
                }
            ],
            "upstream": [{"id": None, "hidden": True}],
            "downstream": [],
        }
    )
    assert "工况状态" in shown and "not visible to you" in shown


def test_grade_comes_from_status_then_the_declaration_then_the_tenant_default() -> None:
    from nidc.catalog.build import grade_and_basis

    assert grade_and_basis({"grade": 3, "classification": {}}, 1, 2) == (3, "status")
    assert grade_and_basis({"grade": 3, "classification": {"run": "r"}}, 1, 2) == (
        3,
        "classified",
    )
    assert grade_and_basis({}, 1, 2) == (1, "declared")
    assert grade_and_basis({}, None, 2) == (2, "tenant-default")
    assert grade_and_basis({}, None, None) == (None, None)
    # steel-plant's default is grade 2 in the factory; the unclassified quarantine copy keeps
    # its source's grade and basis.
    rows = build_rows(factory())
    quarantine = next(a for a in rows.assets if a.id == "steel-plant/quarantine.cnc_spindles")
    assert (quarantine.grade, quarantine.grade_basis) == (2, "classified")


def test_a_region_served_the_product_table_itself_adds_no_copy_and_no_tenant_access() -> None:
    from nidc.catalog.observe import parse_shares
    from tests.catalog_examples import share_to_region

    body = share_to_region()
    # As the DataShare reconciler serves a region: the product's own table.
    body["status"]["tables"][1]["location"] = "s3://tenant-steel-plant/gold/spindle_health"
    observed = factory()
    resources = replace(observed.resources, shares=tuple(parse_shares([body])))
    rows = build_rows(Observed(resources, observed.facts))
    assert not any(a.kind == AssetKind.SHARED_COPY for a in rows.assets)
    gold = next(a for a in rows.assets if a.id == "steel-plant/gold.spindle_health")
    assert gold.shares == ("equipment-maker", "west")
    assert {x.tenant for x in rows.access} == {"equipment-maker"}
    assert not any(x.asset_id == gold.id for x in rows.access)
