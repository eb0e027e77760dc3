"""The operator's access to the embedded local platform: CRDs, its identity, its environment.

Locally the operator runs as a process, but with exactly the identity and RBAC it has on a
cluster (the `nidc-operator` service account and ClusterRole from nidc/operator_rbac.py): a
missing permission shows up here, not first in production. `prepare` returns the environment
`python -m operators` reads (operators/clients/settings.py).
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import yaml

from nidc.api.crd import build_crd
from nidc.api.kinds import ALL_KINDS
from nidc.api.kopf_peering import build_peering_crd, build_peering_object
from nidc.kube import api_client, apply, apply_when_served, service_account_token
from nidc.local.identities import LINEAGE_WRITER
from nidc.local.pki import TRUSTSTORE_PASSWORD, CertificateAuthority, write_private
from nidc.local.state import PlatformState
from nidc.operator_rbac import OPERATOR_NAME, OPERATOR_NAMESPACE, build_operator_identity

TOKEN_SECONDS = 24 * 3600


def build_token_kubeconfig(server: str, ca_pem: bytes, token: str) -> dict[str, Any]:
    """A kubeconfig that authenticates with a bearer token (pure)."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "nidc-local",
                "cluster": {
                    "server": server,
                    "certificate-authority-data": base64.b64encode(ca_pem).decode(),
                },
            }
        ],
        "users": [{"name": OPERATOR_NAME, "user": {"token": token}}],
        "contexts": [
            {"name": OPERATOR_NAME, "context": {"cluster": "nidc-local", "user": OPERATOR_NAME}}
        ],
        "current-context": OPERATOR_NAME,
    }


def prepare(env: dict[str, Any]) -> dict[str, str]:
    """Install CRDs and the operator's identity; return the operator process's environment."""
    state = Path(env["state_dir"])
    admin_kubeconfig = Path(env["kubeconfig"])
    with api_client(admin_kubeconfig, context="platform-admin") as api:
        for kind in ALL_KINDS:
            apply(api, build_crd(kind), field_manager="nidc-install")
        apply(api, build_peering_crd(), field_manager="nidc-install")
        for manifest in build_operator_identity():
            apply(api, manifest, field_manager="nidc-install")
        apply_when_served(api, build_peering_object())
        token = service_account_token(api, OPERATOR_NAMESPACE, OPERATOR_NAME, TOKEN_SECONDS)
    kubeconfig = state / "kubeconfigs" / f"{OPERATOR_NAME}.yaml"
    ca_file = Path(env["ca_file"])
    server = env["servers"]["kube-apiserver"]["url"]
    write_private(
        kubeconfig,
        yaml.safe_dump(build_token_kubeconfig(server, ca_file.read_bytes(), token)).encode(),
    )
    s3, bao = env["servers"]["minio"], env["servers"]["openbao"]
    # The Delta Sharing server, once the platform runs one (its URL goes into share profiles).
    sharing = (env["servers"].get("sharing") or {}).get("url")
    return {
        **({"NIDC_SHARING_ENDPOINT": sharing} if sharing else {}),
        "KUBECONFIG": str(kubeconfig),
        "NIDC_KUBE_API_URL": server,
        "NIDC_CA_FILE": str(ca_file),
        "NIDC_OPENBAO_URL": bao["url"],
        "NIDC_OPENBAO_TOKEN_FILE": bao["root_token_file"],
        "NIDC_S3_ENDPOINT": s3["url"],
        "NIDC_S3_ACCESS_KEY": s3["access_key"],
        "NIDC_S3_SECRET_KEY_FILE": s3["secret_key_file"],
        "NIDC_S3_REGION": s3["region"],
        "NIDC_RUNS_DIR": str(state / "runs"),
        "NIDC_COLLECTORS_DIR": str(state / "collectors"),
        "NIDC_SPARK_JARS": ":".join(env["spark_jars"]),
        "NIDC_SPARK_JVM_OPTIONS": " ".join(env.get("spark_jvm_options") or []),
        "NIDC_JAVA_TRUSTSTORE": str(CertificateAuthority(state / "pki").java_truststore()),
        "NIDC_JAVA_TRUSTSTORE_PASSWORD": TRUSTSTORE_PASSWORD,
        "OTEL_EXPORTER_OTLP_ENDPOINT": env["servers"]["jaeger"]["otlp_grpc"],
        "OTEL_EXPORTER_OTLP_CERTIFICATE": str(ca_file),
        "OTEL_SERVICE_NAME": "nidc-operator",
        # Locally every 5 s, so an SRE (and a test) sees a metric soon after it moved.
        "OTEL_METRIC_EXPORT_INTERVAL": "5000",
        # The catalog API serves the OpenLineage receiver (nidc/lineage); empty: lineage off.
        "NIDC_LINEAGE_URL": lineage_url(env),
        **lineage_writer_certificate(env),
    }


def lineage_url(env: dict[str, Any]) -> str:
    """The lineage receiver's base URL: the catalog API server's, which mounts it ('' when the
    platform runs no catalog API server)."""
    catalog = env["servers"].get("catalog-api") or {}
    return str(catalog.get("url") or "")


def lineage_writer_certificate(env: dict[str, Any]) -> dict[str, str]:
    """The client certificate local jobs present to the lineage receiver (files in the state
    folder's PKI; on a cluster the stack mounts one)."""
    writer = LINEAGE_WRITER
    pair = CertificateAuthority(PlatformState(Path(env["state_dir"])).pki).issue(
        f"client-{writer.name}", writer.user, writer.groups, client=True
    )
    return {"NIDC_LINEAGE_CLIENT_CERT": str(pair.cert), "NIDC_LINEAGE_CLIENT_KEY": str(pair.key)}
