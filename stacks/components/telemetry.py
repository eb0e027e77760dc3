"""Telemetry: an OpenTelemetry collector (OTLP in, over TLS) with a pipeline per signal.

Traces go to Jaeger; metrics are served for scraping on the collector's Prometheus endpoint
(`metrics` port); logs are written by the collector's debug exporter to its own stdout, where the
cluster's log collection finds them. The operator sends all three (OTEL_* in its Deployment).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import yaml

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

OTLP_GRPC = 4317
OTLP_HTTP = 4318
PROMETHEUS_PORT = 8889
QUERY_PORT = 16686
JAEGER_OTLP = 4317
TLS_DIR = "/etc/nidc/tls"


@dataclass(frozen=True)
class TelemetryArgs:
    """Typed arguments of the Telemetry component."""

    center: str
    collector_image: str
    jaeger_image: str
    tls: Tls
    namespace: str = "nidc-telemetry"
    collector_replicas: int = 2
    max_traces: int = 100_000
    resources: Resources = field(default_factory=Resources)

    def __post_init__(self) -> None:
        require_name(self.namespace, "telemetry.namespace")
        require(1 <= self.collector_replicas <= 20, "telemetry.collectorReplicas", "must be 1..20")
        require(self.max_traces >= 1000, "telemetry.maxTraces", "must be at least 1000")


def build_collector_config(args: TelemetryArgs) -> dict[str, Any]:
    """OTLP (TLS) in; traces -> Jaeger (TLS), metrics -> Prometheus endpoint, logs -> stdout."""
    tls = {"cert_file": f"{TLS_DIR}/tls.crt", "key_file": f"{TLS_DIR}/tls.key"}
    receiver: dict[str, Any] = {
        "protocols": {
            "grpc": {"endpoint": f"0.0.0.0:{OTLP_GRPC}"},
            "http": {"endpoint": f"0.0.0.0:{OTLP_HTTP}"},
        }
    }
    exporter: dict[str, Any] = {
        "endpoint": f"jaeger.{args.namespace}.svc:{JAEGER_OTLP}",
        "tls": {"ca_file": f"{TLS_DIR}/ca.crt"} if args.tls.enabled else {"insecure": True},
    }
    prometheus: dict[str, Any] = {"endpoint": f"0.0.0.0:{PROMETHEUS_PORT}"}
    if args.tls.enabled:
        receiver["protocols"]["grpc"]["tls"] = tls
        receiver["protocols"]["http"]["tls"] = tls
        # The scrape endpoint is an HTTP server like the receiver's: TLS with the same pair.
        prometheus["tls"] = tls
    return {
        "receivers": {"otlp": receiver},
        "processors": {
            "batch": {},
            "memory_limiter": {"check_interval": "1s", "limit_percentage": 80},
        },
        "exporters": {
            "otlp/jaeger": exporter,
            "prometheus": prometheus,
            "debug": {"verbosity": "basic"},
        },
        "service": {
            "pipelines": {
                signal: {
                    "receivers": ["otlp"],
                    "processors": ["memory_limiter", "batch"],
                    "exporters": [exporter_name],
                }
                for signal, exporter_name in (
                    ("traces", "otlp/jaeger"),
                    ("metrics", "prometheus"),
                    ("logs", "debug"),
                )
            }
        },
    }


def build_jaeger_config(args: TelemetryArgs) -> dict[str, Any]:
    """Jaeger v2: OTLP receiver (TLS), in-memory store, query UI."""
    otlp: dict[str, Any] = {"endpoint": f"0.0.0.0:{JAEGER_OTLP}"}
    if args.tls.enabled:
        otlp["tls"] = {"cert_file": f"{TLS_DIR}/tls.crt", "key_file": f"{TLS_DIR}/tls.key"}
    return {
        "service": {
            "extensions": ["jaeger_storage", "jaeger_query"],
            "pipelines": {
                "traces": {
                    "receivers": ["otlp"],
                    "processors": ["batch"],
                    "exporters": ["jaeger_storage_exporter"],
                }
            },
        },
        "extensions": {
            "jaeger_storage": {
                "backends": {"memstore": {"memory": {"max_traces": args.max_traces}}}
            },
            "jaeger_query": {"storage": {"traces": "memstore"}},
        },
        "receivers": {"otlp": {"protocols": {"grpc": otlp}}},
        "processors": {"batch": {}},
        "exporters": {"jaeger_storage_exporter": {"trace_storage": "memstore"}},
    }


def _deployment(
    args: TelemetryArgs,
    name: str,
    image: str,
    replicas: int,
    ports: dict[str, int],
    config_key: str,
) -> dict[str, Any]:
    selector = {"app.kubernetes.io/name": name, "app.kubernetes.io/instance": args.center}
    mounts: list[dict[str, Any]] = [{"name": "config", "mountPath": "/etc/nidc/config"}]
    volumes: list[dict[str, Any]] = [{"name": "config", "configMap": {"name": f"{name}-config"}}]
    if args.tls.enabled:
        mounts.append({"name": TLS_VOLUME, "mountPath": TLS_DIR, "readOnly": True})
        volumes.append({"name": TLS_VOLUME, "secret": {"secretName": "telemetry-tls"}})
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name,
            "namespace": args.namespace,
            "labels": labels("telemetry", name, args.center),
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"labels": {**selector, **labels("telemetry", name, args.center)}},
                "spec": {
                    "containers": [
                        {
                            "name": name,
                            "image": image,
                            "args": [f"--config=/etc/nidc/config/{config_key}"],
                            "ports": [{"name": p, "containerPort": n} for p, n in ports.items()],
                            "resources": args.resources.manifest(),
                            "volumeMounts": mounts,
                        }
                    ],
                    "volumes": volumes,
                },
            },
        },
    }


def build_telemetry(args: TelemetryArgs) -> list[dict[str, Any]]:
    """Namespace, TLS, both configs, both Deployments and their Services."""
    ns = args.namespace
    collector_ports = {"otlp-grpc": OTLP_GRPC, "otlp-http": OTLP_HTTP, "metrics": PROMETHEUS_PORT}
    jaeger_ports = {"otlp-grpc": JAEGER_OTLP, "query": QUERY_PORT}
    objects = [
        build_namespace(ns, args.center),
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "otel-collector-config", "namespace": ns},
            "data": {"collector.yaml": yaml.safe_dump(build_collector_config(args))},
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "jaeger-config", "namespace": ns},
            "data": {"jaeger.yaml": yaml.safe_dump(build_jaeger_config(args))},
        },
        _deployment(
            args,
            "otel-collector",
            args.collector_image,
            args.collector_replicas,
            collector_ports,
            "collector.yaml",
        ),
        _deployment(args, "jaeger", args.jaeger_image, 1, jaeger_ports, "jaeger.yaml"),
        build_service(
            "otel-collector",
            ns,
            {"app.kubernetes.io/name": "otel-collector", "app.kubernetes.io/instance": args.center},
            collector_ports,
        ),
        build_service(
            "jaeger",
            ns,
            {"app.kubernetes.io/name": "jaeger", "app.kubernetes.io/instance": args.center},
            jaeger_ports,
        ),
    ]
    if args.tls.enabled:
        objects.insert(1, build_tls_secret("telemetry-tls", ns, args.tls))
    return objects


class Telemetry(pulumi.ComponentResource):
    """Telemetry for one center; `otlp_endpoint` is where every service sends its spans,
    metrics and logs."""

    otlp_endpoint: pulumi.Output[str]

    def __init__(
        self, name: str, args: TelemetryArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("nidc:telemetry:Telemetry", name, None, opts)
        self.children = create_objects(name, build_telemetry(args), self)
        scheme = "https" if args.tls.enabled else "http"
        self.otlp_endpoint = pulumi.Output.from_input(
            f"{scheme}://otel-collector.{args.namespace}.svc.cluster.local:{OTLP_GRPC}"
        )
        self.register_outputs({"otlp_endpoint": self.otlp_endpoint})
