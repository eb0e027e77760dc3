"""Metrics: Prometheus with the platform's alert rules (policies/alerts, `cluster` profile).

It scrapes the OpenTelemetry collector's Prometheus endpoint (the Telemetry component's `metrics`
port), where every service's OTLP metrics come out: the same path as on the embedded platform
(decisions/0240). One replica on a persistent volume; its HTTP API serves TLS with the center's
certificate when TLS is on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import yaml

from nidc.monitoring.alert_rules import SCRAPE_JOB, load_packs, render_rules
from stacks.manifests import (
    TLS_VOLUME,
    Resources,
    Tls,
    build_namespace,
    build_service,
    build_tls_secret,
    create_objects,
    labels,
    require,
    require_name,
)

HTTP_PORT = 9090
CONFIG_DIR = "/etc/prometheus"
RULES_DIR = "/etc/prometheus/rules"
TLS_DIR = "/etc/nidc/tls"
DATA_DIR = "/prometheus"


@dataclass(frozen=True)
class MetricsArgs:
    """Typed arguments of the Metrics component."""

    center: str
    image: str
    tls: Tls
    collector_target: str = "otel-collector.nidc-telemetry.svc:8889"
    namespace: str = "nidc-metrics"
    retention: str = "15d"
    volume_size: str = "20Gi"
    scrape_interval: str = "15s"
    resources: Resources = field(default_factory=Resources)

    def __post_init__(self) -> None:
        require_name(self.namespace, "metrics.namespace")
        require(":" in self.collector_target, "metrics.collectorTarget", "must be host:port")
        for key, value in (("retention", self.retention), ("scrapeInterval", self.scrape_interval)):
            require(
                value[:-1].isdigit() and value[-1] in "smhdwy",
                f"metrics.{key}",
                "must be a duration like 15s or 15d",
            )


def build_prometheus_config(args: MetricsArgs) -> dict[str, Any]:
    """prometheus.yml: one scrape job (the collector), the rule file."""
    job: dict[str, Any] = {
        "job_name": SCRAPE_JOB,
        "static_configs": [{"targets": [args.collector_target]}],
        "metric_name_validation_scheme": "legacy",
        "metric_name_escaping_scheme": "underscores",
    }
    if args.tls.enabled:
        job["scheme"] = "https"
        job["tls_config"] = {"ca_file": f"{TLS_DIR}/ca.crt"}
    return {
        "global": {"scrape_interval": args.scrape_interval},
        "rule_files": [f"{RULES_DIR}/*.yaml"],
        "scrape_configs": [job],
    }


def _statefulset(args: MetricsArgs) -> dict[str, Any]:
    selector = {"app.kubernetes.io/name": "prometheus", "app.kubernetes.io/instance": args.center}
    container_args = [
        f"--config.file={CONFIG_DIR}/prometheus.yml",
        f"--storage.tsdb.path={DATA_DIR}",
        f"--storage.tsdb.retention.time={args.retention}",
        f"--web.listen-address=:{HTTP_PORT}",
    ]
    mounts: list[dict[str, Any]] = [
        {"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
        {"name": "rules", "mountPath": RULES_DIR, "readOnly": True},
        {"name": "data", "mountPath": DATA_DIR},
    ]
    volumes: list[dict[str, Any]] = [
        {"name": "config", "configMap": {"name": "prometheus-config"}},
        {"name": "rules", "configMap": {"name": "prometheus-rules"}},
    ]
    scheme = "HTTP"
    if args.tls.enabled:
        container_args.append(f"--web.config.file={CONFIG_DIR}/web.yml")
        mounts.append({"name": TLS_VOLUME, "mountPath": TLS_DIR, "readOnly": True})
        volumes.append({"name": TLS_VOLUME, "secret": {"secretName": "metrics-tls"}})
        scheme = "HTTPS"
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {
            "name": "prometheus",
            "namespace": args.namespace,
            "labels": labels("metrics", "prometheus", args.center),
        },
        "spec": {
            "serviceName": "prometheus",
            "replicas": 1,
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {
                    "labels": {**selector, **labels("metrics", "prometheus", args.center)}
                },
                "spec": {
                    "securityContext": {"runAsUser": 65534, "runAsGroup": 65534, "fsGroup": 65534},
                    "containers": [
                        {
                            "name": "prometheus",
                            "image": args.image,
                            "args": container_args,
                            "ports": [{"name": "http", "containerPort": HTTP_PORT}],
                            "resources": args.resources.manifest(),
                            "volumeMounts": mounts,
                            "readinessProbe": {
                                "httpGet": {"path": "/-/ready", "port": HTTP_PORT, "scheme": scheme}
                            },
                        }
                    ],
                    "volumes": volumes,
                },
            },
            "volumeClaimTemplates": [
                {
                    "metadata": {"name": "data"},
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        "resources": {"requests": {"storage": args.volume_size}},
                    },
                }
            ],
        },
    }


def build_metrics(args: MetricsArgs) -> list[dict[str, Any]]:
    """Namespace, TLS, the config and rule ConfigMaps, the StatefulSet and its Service."""
    ns = args.namespace
    config: dict[str, str] = {"prometheus.yml": yaml.safe_dump(build_prometheus_config(args))}
    if args.tls.enabled:
        web = {
            "tls_server_config": {
                "cert_file": f"{TLS_DIR}/tls.crt",
                "key_file": f"{TLS_DIR}/tls.key",
            }
        }
        config["web.yml"] = yaml.safe_dump(web)
    rules = render_rules(load_packs(), "cluster")
    objects = [
        build_namespace(ns, args.center),
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "prometheus-config", "namespace": ns},
            "data": config,
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "prometheus-rules", "namespace": ns},
            "data": {"nidc.yaml": yaml.safe_dump(rules, sort_keys=False)},
        },
        _statefulset(args),
        build_service(
            "prometheus",
            ns,
            {"app.kubernetes.io/name": "prometheus", "app.kubernetes.io/instance": args.center},
            {"http": HTTP_PORT},
        ),
    ]
    if args.tls.enabled:
        objects.insert(1, build_tls_secret("metrics-tls", ns, args.tls))
    return objects


def query_url(args: MetricsArgs) -> str:
    """Prometheus's HTTP API in the cluster (the console's alerts page reads /api/v1/alerts)."""
    scheme = "https" if args.tls.enabled else "http"
    return f"{scheme}://prometheus.{args.namespace}.svc.cluster.local:{HTTP_PORT}"


class Metrics(pulumi.ComponentResource):
    """Prometheus for one center; `query_url` is its HTTP API (alerts: /api/v1/alerts)."""

    query_url: pulumi.Output[str]

    def __init__(
        self, name: str, args: MetricsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("nidc:metrics:Metrics", name, None, opts)
        self.children = create_objects(name, build_metrics(args), self)
        self.query_url = pulumi.Output.from_input(query_url(args))
        self.register_outputs({"query_url": self.query_url})
