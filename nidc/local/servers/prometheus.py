"""Prometheus: the metrics backend where the platform's alert rules run (issue 18).

It scrapes the OpenTelemetry collector's Prometheus endpoint (Jaeger's `otel-metrics` port,
where the operator's and the jobs' OTLP metrics come out) rather than receiving OTLP itself:
decisions/0240 says why. Rules are policies/alerts rendered with the `local` profile, evaluated
every few seconds. Its HTTP API listens on loopback over TLS with the platform's certificate.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from nidc.local.servers.base import LOOPBACK, Context, HealthError, Server
from nidc.monitoring.alert_rules import SCRAPE_JOB, load_packs, render_rules

SCRAPE_INTERVAL = "2s"
RULES_FILE = "rules.yaml"


def build_prometheus_config(metrics_target: str, rules_file: Path) -> dict[str, Any]:
    """prometheus.yml for the embedded platform (pure): one scrape job, the rule file."""
    return {
        "global": {"scrape_interval": SCRAPE_INTERVAL, "evaluation_interval": SCRAPE_INTERVAL},
        "rule_files": [str(rules_file)],
        "scrape_configs": [
            {
                "job_name": SCRAPE_JOB,
                "static_configs": [{"targets": [metrics_target]}],
                # The collector names series with underscores; keep Prometheus 3 from asking for
                # UTF-8 names, so the rules' names (nidc_product_data_age_seconds) are the ones
                # stored.
                "metric_name_validation_scheme": "legacy",
                "metric_name_escaping_scheme": "underscores",
            }
        ],
    }


def build_web_config(cert: Path, key: Path) -> dict[str, Any]:
    """--web.config.file: TLS on the HTTP API with the platform's serving certificate."""
    return {"tls_server_config": {"cert_file": str(cert), "key_file": str(key)}}


class Prometheus(Server):
    """Scrapes the platform's metrics and evaluates the alert rules."""

    name = "prometheus"
    tool = "prometheus"

    def ports(self) -> list[str]:
        return ["prometheus"]

    def _files(self, ctx: Context) -> tuple[Path, Path, Path]:
        folder = ctx.state.data(self.name)
        return folder / "prometheus.yml", folder / "web.yml", folder / RULES_FILE

    def prepare(self, ctx: Context) -> None:
        config, web, rules = self._files(ctx)
        cert = ctx.server_cert()
        rules.write_text(yaml.safe_dump(render_rules(load_packs(), "local"), sort_keys=False))
        target = f"{LOOPBACK}:{ctx.state.port('otel-metrics')}"
        config.write_text(yaml.safe_dump(build_prometheus_config(target, rules)))
        web.write_text(yaml.safe_dump(build_web_config(cert.cert, cert.key)))

    def command(self, ctx: Context) -> list[str]:
        config, web, _ = self._files(ctx)
        return [
            str(ctx.binary(self.tool)),
            f"--config.file={config}",
            f"--web.config.file={web}",
            f"--web.listen-address={LOOPBACK}:{ctx.state.port('prometheus')}",
            f"--storage.tsdb.path={ctx.state.data(self.name) / 'tsdb'}",
            "--storage.tsdb.retention.time=2d",
            "--log.level=warn",
        ]

    def check(self, ctx: Context) -> str:
        ready = ctx.get(f"{ctx.url('prometheus')}/-/ready")
        if ready.status_code != 200:
            raise HealthError(f"/-/ready answered {ready.status_code}")
        rules = ctx.get(f"{ctx.url('prometheus')}/api/v1/rules?type=alert")
        if rules.status_code != 200:
            raise HealthError(f"/api/v1/rules answered {rules.status_code}")
        groups = rules.json()["data"]["groups"]
        if not groups:
            raise HealthError("no alert rule group loaded")
        count = sum(len(group["rules"]) for group in groups)
        return f"{count} alert rules in {len(groups)} groups"

    def endpoints(self, ctx: Context) -> dict[str, Any]:
        return {"url": ctx.url("prometheus")}
