"""The alert rule packs (policies/alerts) and their rendering for Prometheus (issue 18)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from nidc.local.servers.prometheus import build_prometheus_config
from nidc.monitoring.alert_rules import (
    SCRAPE_JOB,
    AlertRuleError,
    Profile,
    load_pack,
    load_packs,
    render_rules,
    substitute,
)

PACK = """
group: test-pack
interval: {cluster: 30s, local: 2s}
parameters:
  limit: {cluster: 7200, local: 60}
alerts:
  - alert: Old
    expr: max by (product) (age_seconds{kind="x"}) > ${limit}
    for: {cluster: 5m, local: 0s}
    severity: warning
    summary: "{{ $labels.product }} is old"
    description: "older than ${limit} s ({{ $value }})"
"""


def write(tmp_path: Path, text: str, name: str = "pack.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_parameters_take_the_profile_value_and_leave_prometheus_templates_alone(
    tmp_path: Path,
) -> None:
    pack = load_pack(write(tmp_path, PACK))
    local = render_rules([pack], "local")["groups"][0]
    cluster = render_rules([pack], "cluster")["groups"][0]
    assert local["interval"] == "2s" and cluster["interval"] == "30s"
    (rule,) = local["rules"]
    assert rule["expr"] == 'max by (product) (age_seconds{kind="x"}) > 60'
    assert rule["for"] == "0s"
    assert rule["annotations"]["summary"] == "{{ $labels.product }} is old"
    assert rule["annotations"]["description"] == "older than 60 s ({{ $value }})"
    assert cluster["rules"][0]["expr"].endswith("> 7200")
    assert rule["labels"] == {"severity": "warning", "source": "nidc"}


def test_an_unknown_parameter_is_refused_naming_the_rule() -> None:
    with pytest.raises(AlertRuleError, match=r"Old.*unknown parameter \$\{limt\}"):
        substitute("x > ${limt}", {"limit": 1}, "pack: alerts[0] (Old).expr")


def test_a_bad_duration_and_an_unknown_field_are_refused(tmp_path: Path) -> None:
    with pytest.raises(AlertRuleError, match="not a duration"):
        render_rules(
            [load_pack(write(tmp_path, PACK.replace("local: 0s", "local: soon")))], "local"
        )
    with pytest.raises(AlertRuleError, match=r"(?s)pack\.yaml.*severty"):
        load_pack(write(tmp_path, PACK.replace("severity:", "severty:")))


def test_two_packs_with_one_group_name_are_refused(tmp_path: Path) -> None:
    pack = load_pack(write(tmp_path, PACK))
    with pytest.raises(AlertRuleError, match="test-pack"):
        render_rules([pack, pack], "local")


def test_the_shipped_packs_cover_freshness_quality_and_run_failures() -> None:
    profiles: tuple[Profile, ...] = ("cluster", "local")
    for profile in profiles:
        rendered = render_rules(load_packs(), profile)
        alerts = {r["alert"]: r for g in rendered["groups"] for r in g["rules"]}
        assert {"ProductStale", "ProductQualityGateClosed", "RunFailed"} <= set(alerts)
        assert "nidc_product_data_age_seconds" in alerts["ProductStale"]["expr"]
        assert "${" not in yaml.safe_dump(rendered)
    local = render_rules(load_packs(), "local")
    # Locally the rules are evaluated every few seconds, so a stale product is seen quickly.
    assert all(g["interval"] == "2s" for g in local["groups"])


def test_the_local_scrape_job_is_the_one_the_pipeline_alert_watches(tmp_path: Path) -> None:
    config = build_prometheus_config("127.0.0.1:9464", tmp_path / "rules.yaml")
    (job,) = config["scrape_configs"]
    assert job["job_name"] == SCRAPE_JOB
    assert job["static_configs"] == [{"targets": ["127.0.0.1:9464"]}]
    alerts = {
        r["alert"]: r for g in render_rules(load_packs(), "local")["groups"] for r in g["rules"]
    }
    assert f'job="{SCRAPE_JOB}"' in alerts["MetricsPipelineDown"]["expr"]
