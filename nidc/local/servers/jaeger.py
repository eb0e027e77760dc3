"""Jaeger v2: the trace backend, and the OpenTelemetry collector for metrics.

OTLP in (gRPC and HTTP, TLS); traces to the query API (TLS); metrics to a Prometheus scrape
endpoint on loopback, through the collector's own prometheus exporter that Jaeger v2 builds in.
"""

from __future__ import annotations

from typing import Any

import yaml

from nidc.local.servers.base import LOOPBACK, Context, HealthError, Server


def build_jaeger_config(ctx: Context) -> dict[str, Any]:
    """Jaeger's collector-style configuration: in-memory store, every endpoint on loopback."""
    cert = ctx.server_cert()
    tls = {"cert_file": str(cert.cert), "key_file": str(cert.key)}

    def endpoint(port_name: str) -> str:
        return f"{LOOPBACK}:{ctx.state.port(port_name)}"

    return {
        "service": {
            "extensions": ["jaeger_storage", "jaeger_query", "healthcheckv2"],
            "pipelines": {
                "traces": {
                    "receivers": ["otlp"],
                    "processors": ["batch"],
                    "exporters": ["jaeger_storage_exporter"],
                },
                "metrics": {
                    "receivers": ["otlp"],
                    "processors": ["batch"],
                    "exporters": ["prometheus"],
                },
            },
            # No internal metrics endpoint: it would take a fixed port (8888).
            "telemetry": {"metrics": {"level": "none"}, "logs": {"level": "warn"}},
        },
        "extensions": {
            "healthcheckv2": {"use_v2": True, "http": {"endpoint": endpoint("jaeger-health")}},
            "jaeger_query": {
                "storage": {"traces": "memstore"},
                "http": {"endpoint": endpoint("jaeger-query"), "tls": tls},
                "grpc": {"endpoint": endpoint("jaeger-query-grpc"), "tls": tls},
            },
            "jaeger_storage": {"backends": {"memstore": {"memory": {"max_traces": 100000}}}},
        },
        "receivers": {
            "otlp": {
                "protocols": {
                    "grpc": {"endpoint": endpoint("otlp-grpc"), "tls": tls},
                    "http": {"endpoint": endpoint("otlp-http"), "tls": tls},
                }
            }
        },
        "processors": {"batch": {"timeout": "200ms"}},
        "exporters": {
            "jaeger_storage_exporter": {"trace_storage": "memstore"},
            "prometheus": {
                "endpoint": endpoint("otel-metrics"),
                # service.name becomes a label, so one scrape tells the operator from the jobs.
                "resource_to_telemetry_conversion": {"enabled": True},
                "metric_expiration": "30m",
            },
        },
    }


class Jaeger(Server):
    """Traces from the operators, Spark jobs and clients land here."""

    name = "jaeger"
    tool = "jaeger"

    def ports(self) -> list[str]:
        return [
            "otlp-grpc",
            "otlp-http",
            "jaeger-query",
            "jaeger-query-grpc",
            "jaeger-health",
            "otel-metrics",
        ]

    def config_path(self, ctx: Context) -> Any:
        return ctx.state.root / "data" / "jaeger.yaml"

    def prepare(self, ctx: Context) -> None:
        self.config_path(ctx).write_text(yaml.safe_dump(build_jaeger_config(ctx)))

    def command(self, ctx: Context) -> list[str]:
        return [str(ctx.binary(self.tool)), f"--config={self.config_path(ctx)}"]

    def check(self, ctx: Context) -> str:
        response = ctx.get(f"{ctx.url('jaeger-query')}/api/services")
        if response.status_code != 200:
            raise HealthError(f"query API /api/services answered {response.status_code}")
        health = ctx.get(f"{ctx.url('jaeger-health', scheme='http')}/status")
        if health.status_code != 200:
            raise HealthError(f"health check answered {health.status_code}")
        return "query API ok"

    def endpoints(self, ctx: Context) -> dict[str, Any]:
        return {
            "otlp_grpc": ctx.url("otlp-grpc"),
            "otlp_http": ctx.url("otlp-http"),
            "query_url": ctx.url("jaeger-query"),
            "metrics_url": f"{ctx.url('otel-metrics', scheme='http')}/metrics",
        }
