"""The operator Deployment the national stack renders is the operator, wired for a cluster:
its environment is read by OperatorSettings into the Kubernetes runner and collectors, the pools
file it mounts is the stack's pools in the one format `load_pools` reads, and its OTLP endpoint
is the stack's collector, which has a pipeline for traces, metrics and logs."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

from nidc.api.spark_pool import (
    POOL_LABEL,
    POOLS_FILE,
    GpuSettings,
    PoolError,
    SparkPool,
    Toleration,
    load_pools,
    pools_document,
    pools_from_dict,
)
from operators.clients.settings import OperatorSettings
from operators.runs.kubernetes_build import KubernetesJobSettings
from stacks.components.control_plane import ControlPlane, ControlPlaneArgs, OperatorDeployment
from stacks.components.control_plane import build_control_plane as render_control_plane
from stacks.components.telemetry import OTLP_GRPC, build_collector_config, build_telemetry
from stacks.config import read_settings, read_stack_file
from stacks.manifests import ArgsError
from tests.unit.stacks.conftest import (
    TLS,
    WRITER_CERT,
    WRITER_KEY,
    RecordingMocks,
    pulumi_test,
)

pytestmark = pytest.mark.unit
REPO = Path(__file__).resolve().parents[3]
SECRETS = {
    "objectStoreRootPassword": "Secret-Root-Pw-7f3a",
    "openbaoOperatorToken": "s.Secret-Token-91c2",
    "sharingS3SecretKey": "Secret-Share-5d0e",
    "tlsPrivateKey": "Secret-Key-22b8",
    "secretSeed": "Secret-Seed-40aa",
    "lineageWriterPrivateKey": WRITER_KEY,
}
CA_PEM = "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n"


def national(**overrides: Any) -> dict[str, Any]:
    values = read_stack_file(REPO / "Pulumi.national.yaml")
    values.update(
        tlsCertificate="CERT",
        tlsCaCertificate=CA_PEM,
        lineageWriterCertificate=WRITER_CERT,
        **overrides,
    )
    return values


def rendered(values: dict[str, Any]) -> list[dict[str, Any]]:
    settings = read_settings(values, SECRETS)
    assert settings.control_plane is not None
    return render_control_plane(settings.control_plane)


def find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


def mounted_files(objects: list[dict[str, Any]], root: Path) -> dict[str, str]:
    """Write what the operator pod mounts (ConfigMaps and Secrets by key) under root, as the
    kubelet would; returns the container env with mounted paths moved under root."""
    deployment = find(objects, "Deployment", "nidc-operator")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = []
    for mount in container["volumeMounts"]:
        volume = volumes[mount["name"]]
        source = volume.get("configMap") or volume.get("secret")
        if source is None:
            continue
        name = source.get("name") or source.get("secretName")
        kind = "ConfigMap" if "configMap" in volume else "Secret"
        data = find(objects, kind, name).get("data") or find(objects, kind, name)["stringData"]
        folder = root / mount["mountPath"].lstrip("/")
        folder.mkdir(parents=True, exist_ok=True)
        for key, text in data.items():
            (folder / key).write_text(text)
        mounts.append(mount["mountPath"])
    env = {}
    for item in container["env"]:
        value = item["value"]
        if any(value.startswith(m + "/") for m in mounts):
            value = str(root / value.lstrip("/"))
        env[item["name"]] = value
    return env


def variables_read_by_settings() -> set[str]:
    source = (REPO / "operators" / "clients" / "settings.py").read_text()
    return set(re.findall(r'env(?:\.get\(|\[)\s*"(NIDC_[A-Z0-9_]+)"', source))


def test_the_deployed_environment_is_read_into_a_kubernetes_runner_and_collectors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    objects = rendered(national())
    env = mounted_files(objects, tmp_path)
    nidc_names = {name for name in env if name.startswith("NIDC_")}
    # Every variable it sets is one the operator reads (a typo would be silently ignored).
    assert nidc_names <= variables_read_by_settings(), nidc_names - variables_read_by_settings()
    for name in list(OperatorSettings.__dataclass_fields__):
        monkeypatch.delenv(f"NIDC_{name.upper()}", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = OperatorSettings.from_env()
    assert (settings.runner, settings.collector_mode) == ("kubernetes", "kubernetes")
    # The audit log names the center the stack is for (nidc/audit).
    assert settings.audit_center == "national"
    registry = "registry.nidc.example.cn/mirror"
    assert settings.spark_image == f"{registry}/nidc/nidc-spark:0.1.0"
    assert settings.collector_image == f"{registry}/nidc/nidc-collector:0.1.0"
    # The platform's CA (for OpenBao, S3, telemetry), mounted from the credentials Secret.
    assert settings.ca_file.read_text() == CA_PEM
    assert settings.openbao_token_file.read_text() == SECRETS["openbaoOperatorToken"]
    assert settings.s3_secret_key_file.read_text() == SECRETS["objectStoreRootPassword"]
    assert settings.spark_pools_file is not None
    # The pools the stack config declares, through the operator's own reader.
    pools = load_pools(settings.spark_pools_file)
    declared = pools_from_dict(national()["sparkPools"])
    assert pools == declared
    assert pools["gpu"].gpu == GpuSettings(amount_per_executor=1, amount_per_task=0.25, rapids=True)
    assert pools["cpu"].executor_instances == 8
    # ... and the runner accepts them.
    KubernetesJobSettings(image=settings.spark_image, pools=pools)


def test_secrets_stay_in_the_secret_and_the_pod_rolls_when_pools_change() -> None:
    objects = rendered(national())
    deployment = find(objects, "Deployment", "nidc-operator")
    text = json.dumps(deployment)
    for secret in SECRETS.values():
        assert secret not in text
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    before = deployment["spec"]["template"]["metadata"]["annotations"]
    values = national()
    values["sparkPools"]["pools"]["cpu"]["executor_instances"] = 3
    after = find(rendered(values), "Deployment", "nidc-operator")["spec"]["template"]
    assert after["metadata"]["annotations"] != before


def test_the_operator_exports_all_three_signals_to_the_stacks_collector() -> None:
    settings = read_settings(national(), SECRETS)
    assert settings.telemetry is not None and settings.control_plane is not None
    telemetry = build_telemetry(settings.telemetry)
    service = find(telemetry, "Service", "otel-collector")
    assert OTLP_GRPC in [p["port"] for p in service["spec"]["ports"]]
    pipelines = build_collector_config(settings.telemetry)["service"]["pipelines"]
    assert set(pipelines) == {"traces", "metrics", "logs"}
    exporters = build_collector_config(settings.telemetry)["exporters"]
    for pipeline in pipelines.values():
        assert pipeline["receivers"] == ["otlp"]
        assert set(pipeline["exporters"]) <= set(exporters)
    # Every port it serves (OTLP in, the metrics scrape) is TLS, as on every platform server.
    assert exporters["prometheus"]["tls"]["cert_file"].endswith("tls.crt")
    env = {
        e["name"]: e["value"]
        for e in find(rendered(national()), "Deployment", "nidc-operator")["spec"]["template"][
            "spec"
        ]["containers"][0]["env"]
    }
    namespace = service["metadata"]["namespace"]
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == (
        f"https://otel-collector.{namespace}.svc.cluster.local:{OTLP_GRPC}"
    )
    assert env["OTEL_EXPORTER_OTLP_CERTIFICATE"] == env["NIDC_CA_FILE"]
    assert env["OTEL_LOGS_EXPORTER"] == "otlp"


def test_a_pool_round_trips_through_the_published_document_field_for_field() -> None:
    pool = SparkPool(
        name="gpu-big",
        node_selector={POOL_LABEL: "gpu", "zone": "a"},
        tolerations=(Toleration(key="nvidia.com/gpu", value="present"),),
        executor_instances=3,
        executor_cores=5,
        executor_memory_mib=7000,
        driver_cores=2,
        driver_memory_mib=3000,
        driver_node_selector={POOL_LABEL: "cpu-driver"},
        gpu=GpuSettings(amount_per_executor=2, amount_per_task=0.5, rapids=True),
    )
    # Every field differs from its default, so a field written but not read (or read but not
    # written) comes back different.
    for spec in dataclasses.fields(SparkPool):
        if spec.name != "name" and spec.default is not dataclasses.MISSING:
            assert getattr(pool, spec.name) != spec.default, spec.name
    document = json.loads(pools_document([pool]))
    assert set(document["pools"]["gpu-big"]) == {f.name for f in dataclasses.fields(SparkPool)} - {
        "name"
    }
    assert pools_from_dict(document) == {"gpu-big": pool}
    with pytest.raises(PoolError, match="defined twice"):
        pools_document([pool, pool])


def test_bad_pools_in_the_stack_config_are_refused_naming_the_key() -> None:
    values = national()
    values["sparkPools"]["pools"]["gpu"]["gpu"]["amount_per_task"] = 2
    with pytest.raises(ArgsError, match=r"sparkPools.pools.gpu.gpu.amount_per_task"):
        read_settings(values, SECRETS)
    values = national(images={**national()["images"], "nidcSpark": "nidc/nidc-spark"})
    with pytest.raises(ArgsError, match=r"images\.nidcSpark"):
        read_settings(values, SECRETS)


@pulumi_test
def test_control_plane_registers_the_pools_config_map_and_deployment(
    mocks: RecordingMocks,
) -> Any:
    operator = OperatorDeployment(image="r/op:1", openbao_token="t", ca_certificate=CA_PEM)
    component = ControlPlane("control-plane", ControlPlaneArgs("c", REPO / "crds", operator))

    def check(_: Any) -> None:
        maps = [
            yaml.safe_load(m.inputs["data"][POOLS_FILE])
            for m in mocks.created
            if m.typ == "kubernetes:core/v1:ConfigMap" and POOLS_FILE in m.inputs.get("data", {})
        ]
        assert len(maps) == 1 and set(maps[0]["pools"]) == {"cpu", "gpu"}
        assert "kubernetes:apps/v1:Deployment" in {m.typ for m in mocks.created}

    return pulumi.Output.all(*[c.urn for c in component.children.values()]).apply(check)


def test_tls_off_keeps_the_cluster_ca_and_no_otlp_certificate() -> None:
    operator = OperatorDeployment(image="r/op:1", openbao_token="t")
    objects = render_control_plane(ControlPlaneArgs("c", REPO / "crds", operator))
    env = {
        e["name"]: e["value"]
        for e in find(objects, "Deployment", "nidc-operator")["spec"]["template"]["spec"][
            "containers"
        ][0]["env"]
    }
    assert env["NIDC_CA_FILE"].endswith("serviceaccount/ca.crt")
    assert "OTEL_EXPORTER_OTLP_CERTIFICATE" not in env
    assert TLS.enabled  # the national stack's path is the one above


def test_the_deployed_environment_turns_on_log_export_and_local_runs_do_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import logging

    from opentelemetry.sdk._logs import LoggingHandler

    from nidc.telemetry.logs import setup_log_export

    root = logging.getLogger()

    def otel_handlers() -> list[logging.Handler]:
        return [h for h in root.handlers if isinstance(h, LoggingHandler)]

    assert otel_handlers() == []
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317")
    monkeypatch.delenv("OTEL_LOGS_EXPORTER", raising=False)
    setup_log_export("nidc-operator")  # as `nidc operator run` locally: Jaeger takes no logs
    assert otel_handlers() == []
    env = {
        e["name"]: e["value"]
        for e in find(rendered(national()), "Deployment", "nidc-operator")["spec"]["template"][
            "spec"
        ]["containers"][0]["env"]
    }
    monkeypatch.setenv("OTEL_LOGS_EXPORTER", env["OTEL_LOGS_EXPORTER"])
    setup_log_export("nidc-operator")
    try:
        (handler,) = otel_handlers()
        assert handler.level == logging.INFO
    finally:
        for handler in otel_handlers():
            root.removeHandler(handler)
            handler._logger_provider.shutdown()  # type: ignore[attr-defined]
