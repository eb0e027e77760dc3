"""The console's pure parts (issue 18): the session cookie, the SVG builders, the view models,
masking and the alerts' scoping, and the templates rendered from typed views."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from typing import Any

import pyarrow as pa
from markupsafe import Markup

from nidc.catalog.access import ADMIN, Identity, Scope
from nidc.console.alerts import visible_alerts
from nidc.console.charts import bar_chart, line_chart
from nidc.console.lineage_graph import LineageNode, lineage_svg
from nidc.console.masking import HIDDEN, is_analyst, sample
from nidc.console.onemap import one_map_view
from nidc.console.pages.assets import RenderedMaps
from nidc.console.province_map import province_map, shade
from nidc.console.render import render_text
from nidc.console.session import read_session, sign_session
from nidc.console.views import age, asset_map, run_view, runs_of, table_page, trace_id
from nidc.onemap.geometry import load_geometry
from nidc.onemap.indicators import load_indicators
from nidc.onemap.warnings import load_warning_rules

KEY = b"k" * 32
NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
ANALYST = Identity("ana", ("nidc:tenant:steel-plant:analysts", "system:authenticated"))


def svg(text: str) -> ET.Element:
    """Parses, so a builder that writes broken XML fails."""
    return ET.fromstring(text)  # noqa: S314 (our own output)


# --- session cookie ---------------------------------------------------------------------------


def test_a_signed_session_reads_back_until_it_expires() -> None:
    cookie = sign_session(KEY, ANALYST, now=1000.0, ttl=60)
    found = read_session(KEY, cookie, now=1059.0)
    assert found is not None and found.identity == ANALYST and found.expires_at == 1060
    assert read_session(KEY, cookie, now=1060.0) is None


def test_a_forged_or_altered_session_is_refused() -> None:
    cookie = sign_session(KEY, ANALYST, now=1000.0)
    assert read_session(b"other-key" * 4, cookie, now=1001.0) is None
    payload, signature = cookie.split(".")
    admin = sign_session(KEY, Identity("x", ("system:masters",)), now=1000.0).split(".")[0]
    assert read_session(KEY, f"{admin}.{signature}", now=1001.0) is None
    assert read_session(KEY, payload, now=1001.0) is None
    assert read_session(KEY, "", now=1001.0) is None
    assert read_session(KEY, "a.b.c", now=1001.0) is None


# --- SVG --------------------------------------------------------------------------------------


def test_line_chart_draws_a_point_per_value_and_breaks_on_gaps() -> None:
    drawn = svg(line_chart([("a", 0.5), ("b", None), ("c", 1.0), ("d", 0.9)], "q", 0.0, 1.0))
    ns = "{http://www.w3.org/2000/svg}"
    assert len(drawn.findall(f"{ns}polyline")) == 0  # no xmlns: plain tags
    assert len(drawn.findall("polyline")) == 2
    assert len(drawn.findall("circle")) == 3
    # 1.0 is at the top margin, 0.5 halfway down.
    ys = sorted(float(c.get("cy", "0")) for c in drawn.findall("circle"))
    assert ys[0] == 40.0 and ys[-1] == 110.0
    assert "no data" in line_chart([], "empty")


def test_bar_chart_escapes_labels_and_scales_to_the_largest() -> None:
    drawn = svg(bar_chart([("<C31>", 50.0), ("C32", 100.0), ("C33", None)], "by industry"))
    widths = [float(r.get("width", "0")) for r in drawn.findall("rect")]
    assert widths[1] == 2 * widths[0]
    assert "<C31>" in "".join(drawn.itertext()) and "n/a" in "".join(drawn.itertext())


def test_lineage_graph_hides_what_the_viewer_may_not_see() -> None:
    up = [LineageNode("steel-plant/bronze.a", href="/console/tables/steel-plant/bronze.a")]
    down = [LineageNode("", hidden=True), LineageNode("steel-plant/gold.b")]
    drawn = svg(lineage_svg(LineageNode("steel-plant/silver.x"), up, down))
    text = "".join(drawn.itertext())
    assert "steel-plant/bronze.a" in text and "(not visible to you)" in text
    assert len(drawn.findall(".//line")) == 3
    assert [a.get("href") for a in drawn.findall("a")] == ["/console/tables/steel-plant/bronze.a"]


def test_province_map_shades_by_value_and_outlines_warnings() -> None:
    geometry = load_geometry()
    drawn = svg(
        province_map(geometry, {"320000": 100.0, "130000": 10.0}, "out", frozenset({"130000"}))
    )
    paths = {
        p.get("data-code"): p.get("class") for p in drawn.findall("path") if p.get("data-code")
    }
    assert len(paths) == 34
    assert paths["320000"] == "shade-5" and paths["130000"] == "shade-1 warned"
    assert paths["110000"] == "shade-0"
    assert shade(None, 10.0) == 0 and shade(0.0, 10.0) == 1 and shade(10.0, 10.0) == 5


# --- view models ------------------------------------------------------------------------------


def asset_row(
    asset_id: str, grade: int | None, domain: str | None = "production"
) -> dict[str, Any]:
    tenant, name = asset_id.split("/")
    return {
        "id": asset_id, "tenant": tenant, "name": name, "kind": "product-table",
        "domain": domain, "grade": grade, "quality_score": 0.987, "rows": 10,
        "owner_name": "Wang Li", "last_modified": "2026-11-30T11:55:00+00:00",
    }  # fmt: skip


def test_asset_map_groups_tenants_domains_tables_and_counts_grades() -> None:
    rows = [
        asset_row("steel-plant/silver.b", 2),
        asset_row("steel-plant/silver.a", 3),
        asset_row("steel-plant/bronze.c", None, None),
        asset_row("equipment-maker/gold.d", 1),
    ]
    view = asset_map(rows, NOW, own=("equipment-maker",))
    assert [t.tenant for t in view.tenants] == ["equipment-maker", "steel-plant"]
    steel = view.tenants[1]
    assert [d.domain for d in steel.domains] == ["(no domain)", "production"]
    assert [t.name for t in steel.domains[1].tables] == ["silver.a", "silver.b"]
    assert view.grade_counts == {"1": 1, "2": 1, "3": 1, "-": 1}
    tile = steel.domains[1].tables[0]
    assert tile.css == "grade-3" and tile.quality == "0.99"
    assert tile.freshness == "written 5 min ago"
    assert tile.shared_in and not view.tenants[0].domains[0].tables[0].shared_in
    assert tile.href == "/console/tables/steel-plant/silver.a"


def test_age_is_for_people() -> None:
    assert age("2026-11-30T11:59:30Z", NOW) == "under 1 min"
    assert age("2026-11-28T12:00:00+00:00", NOW) == "2 d"
    assert age(None, NOW) == "-" and age("garbage", NOW) == "-"


def run_body(
    name: str, created: str, quality: float | None, parent: str = "lots"
) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "steel-plant", "creationTimestamp": created},
        "spec": {
            "jobType": "quality" if quality is not None else "transform",
            "parent": {"kind": "DataProduct", "name": parent},
            "job": {"traceparent": f"00-{'ab' * 16}-{'cd' * 8}-01"},
        },
        "status": {"phase": "Succeeded", "startedAt": created, "quality": {"score": quality}},
    }


def test_runs_of_a_table_link_their_traces_and_give_the_quality_history() -> None:
    bodies = [
        run_body("r2", "2026-11-30T10:00:00Z", 0.9),
        run_body("r1", "2026-11-30T09:00:00Z", 1.0),
        run_body("r3", "2026-11-30T11:00:00Z", None),
        run_body("other", "2026-11-30T11:30:00Z", 0.1, parent="else"),
    ]
    runs = runs_of(bodies, "DataProduct/steel-plant/lots", "https://jaeger:1/")
    assert [r.name for r in runs] == ["r3", "r2", "r1"]
    assert runs[0].trace_url == f"https://jaeger:1/trace/{'ab' * 16}"
    page = table_page({"id": "steel-plant/silver.lots", "columns": []}, runs)
    assert [v for _, v in page.quality_points] == [1.0, 0.9]
    assert trace_id("garbage") is None and run_view(bodies[0], None).trace_url is None


# --- masking and alerts -----------------------------------------------------------------------


def test_grade3_values_are_never_shown_and_grade2_not_to_analysts() -> None:
    grades = {"line": 1, "price": 2, "recipe": 3}
    rows = [{"line": "L1", "price": 12.5, "recipe": "secret-mix"}]
    _, shown = sample(grades, rows, analyst=True)
    assert shown[0][0] == "L1" and HIDDEN in shown[0][1] and HIDDEN in shown[0][2]
    _, shown = sample(grades, rows, analyst=False)
    assert shown[0][1] == "12.5" and "secret-mix" not in shown[0][2]
    assert is_analyst(ANALYST)
    assert not is_analyst(Identity("a", (*ANALYST.groups, "nidc:tenant:steel-plant:admins")))
    assert not is_analyst(Identity("op", ("nidc:platform-admins",)))


def test_a_tenant_sees_its_namespaces_alerts_and_operators_all() -> None:
    alerts = [
        {"labels": {"alertname": "ProductStale", "namespace": "steel-plant"}, "state": "firing"},
        {
            "labels": {"alertname": "ProductStale", "namespace": "equipment-maker"},
            "state": "firing",
        },
        {"labels": {"alertname": "RunFailed", "job_type": "quality"}, "state": "pending"},
    ]
    mine = visible_alerts(alerts, Scope(tenants=("steel-plant",)))
    assert [(a.name, a.namespace) for a in mine] == [("ProductStale", "steel-plant")]
    assert [a.state for a in visible_alerts(alerts, ADMIN)] == ["firing", "firing", "pending"]


# --- templates --------------------------------------------------------------------------------


def test_pages_render_from_views_and_escape_text() -> None:
    view = asset_map([asset_row("steel-plant/silver.<b>", 3)], NOW, own=None)
    html = render_text("_map.html", map=view)
    assert "silver.&lt;b&gt;" in html and "<b>" not in html
    assert 'class="tile grade-3"' in html and "1 tables" in html
    page = render_text(
        "assets.html",
        viewer={"user": "<op>", "scope": "all"},
        map=view,
        map_html=Markup(html),  # noqa: S704
    )
    assert html in page and "&lt;op&gt;" in page
    geometry_free = one_map_view(
        [
            pa.table({
                "period": ["2026-10"], "province": ["320000"], "industry": ["C31"],
                "output_value": [10.0], "energy_tce": [1.0], "equipment_run_hours": [1.0],
                "equipment_available_hours": [2.0], "units_produced": [10], "units_passed": [5],
            })
        ],
        load_indicators(), "quality_rate", load_warning_rules(),
    )  # fmt: skip
    assert geometry_free.indicator.id == "quality_rate" and geometry_free.period == "2026-10"
    assert geometry_free.by_province == {"320000": 0.5}
    assert re.search(r"<textarea[^>]*name=\"token\"", render_text("sign_in.html", viewer=None))
    assert "bad &lt;token&gt;" in render_text("sign_in.html", viewer=None, error="bad <token>")


def test_rendered_maps_keep_a_few_scopes_and_none_when_off() -> None:
    maps = RenderedMaps(size=2)
    view = asset_map([], NOW, own=None)
    keys = [(Scope(tenants=(t,)), 1, 100) for t in ("a", "b", "c")]
    for key in keys:
        maps.put(key, ("html", view))
    assert maps.get(keys[0]) is None and maps.get(keys[2]) == ("html", view)
    assert maps.get((Scope(tenants=("c",)), 2, 100)) is None  # the index changed
    off = RenderedMaps(size=0)
    off.put(keys[0], ("html", view))
    assert off.get(keys[0]) is None
