"""Where the operator finds the platform's services, read from the environment once.

The same program runs locally (`nidc operator run`: local processes, the platform's endpoints)
and as the stack's Deployment (stacks/components/control_plane.py sets NIDC_RUNNER and
NIDC_COLLECTOR_MODE to kubernetes, NIDC_SPARK_POOLS_FILE to the mounted pools ConfigMap, and the
OTEL_* variables to the stack's collector); a value outside the known ones stops start-up with
the variable's name.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from nidc.audit.store import DEFAULT_BUCKET as DEFAULT_AUDIT_BUCKET
from nidc.audit.store import DEFAULT_CENTER
from nidc.audit.transit import DEFAULT_KEY as DEFAULT_AUDIT_KEY
from nidc.audit.transit import DEFAULT_MOUNT as DEFAULT_TRANSIT_MOUNT

RUNNERS = ("local", "kubernetes")
COLLECTOR_MODES = ("local", "kubernetes")
CREDENTIAL_MODES = ("openbao-agent", "secret")


@dataclass(frozen=True)
class OperatorSettings:
    """Endpoints and credential *files* (never values) of the platform's services."""

    kube_api_url: str
    ca_file: Path
    openbao_url: str
    openbao_token_file: Path
    s3_endpoint: str
    s3_access_key: str
    s3_secret_key_file: Path
    s3_region: str = "us-east-1"
    runs_dir: Path = Path("/var/lib/nidc/runs")
    collectors_dir: Path = Path("/var/lib/nidc/collectors")
    # Where collectors run: local processes (embedded platform) or Deployments (a cluster).
    collector_mode: str = "local"
    collector_image: str = "registry.nidc.local/nidc/nidc-collector:0.1.0"
    spark_jars: tuple[Path, ...] = ()
    # Driver JVM options the embedded platform gives its Spark jobs (decision 0330).
    spark_jvm_options: tuple[str, ...] = ()
    java_truststore: Path | None = None
    java_truststore_password: str = ""
    # Liveness fails after this long without an event through the watch streams.
    watch_max_silence_seconds: int = 90
    # A replica that stopped renewing its peering entry counts as dead after this long.
    peering_lifetime_seconds: int = 60
    # Which runner executes jobs: local processes (embedded platform) or Kubernetes pods.
    runner: str = "local"
    # The local runner's limit on Spark jobs at once (operators/runs/local_slots.py; 0 = none).
    local_run_slots: int = 0
    spark_image_registry: str = "registry.nidc.local/nidc"
    spark_image_name: str = "nidc-spark"
    spark_image_tag: str = "0.1.0"
    spark_pools_file: Path | None = None
    spark_service_account: str = "nidc-spark"
    k8s_credentials: str = "openbao-agent"
    k8s_credentials_secret: str = "nidc-s3-credentials"  # noqa: S105 (a Secret's name)
    # <namespace>/<name> of the ConfigMap the stacks publish the replication peers in.
    replication_config: str = "nidc-sharing/nidc-replication"
    # The audit trail (nidc/audit): this center's name in the log, its bucket, the transit
    # mount and key that sign its checkpoints.
    audit_center: str = DEFAULT_CENTER
    audit_bucket: str = DEFAULT_AUDIT_BUCKET
    audit_key: str = DEFAULT_AUDIT_KEY
    transit_mount: str = DEFAULT_TRANSIT_MOUNT
    # The OpenLineage receiver jobs post their run events to (None: jobs emit none).
    lineage_url: str | None = None
    # The client certificate jobs present to the lineage receiver (files; '' when none).
    lineage_client_cert: str = ""
    lineage_client_key: str = ""
    # On a cluster: the Secret (in each tenant namespace) with the writers' certificate that
    # driver Jobs mount instead of those files ('' : none).
    lineage_secret: str = ""
    # The Delta Sharing server's URL, written into every recipient's profile file (DataShare);
    # None: shares issue no token and say so in a SharingNotConfigured condition.
    sharing_endpoint: str | None = None

    def __post_init__(self) -> None:
        if self.runner not in RUNNERS:
            raise ValueError(
                f"NIDC_RUNNER: must be one of {', '.join(RUNNERS)}, got {self.runner!r}"
            )
        if self.collector_mode not in COLLECTOR_MODES:
            raise ValueError(
                f"NIDC_COLLECTOR_MODE: must be one of {', '.join(COLLECTOR_MODES)}, "
                f"got {self.collector_mode!r}"
            )
        if self.k8s_credentials not in CREDENTIAL_MODES:
            raise ValueError(
                f"NIDC_K8S_CREDENTIALS: must be one of {', '.join(CREDENTIAL_MODES)}, "
                f"got {self.k8s_credentials!r}"
            )

    @property
    def spark_image(self) -> str:
        """<registry>/<name>:<tag> of the driver and executor image."""
        registry = self.spark_image_registry.rstrip("/")
        return f"{registry}/{self.spark_image_name}:{self.spark_image_tag}"

    @classmethod
    def from_env(cls) -> OperatorSettings:
        """Read NIDC_* variables (`nidc operator run` sets them from the local platform)."""
        env = os.environ
        return cls(
            kube_api_url=env["NIDC_KUBE_API_URL"],
            ca_file=Path(env["NIDC_CA_FILE"]),
            openbao_url=env["NIDC_OPENBAO_URL"],
            openbao_token_file=Path(env["NIDC_OPENBAO_TOKEN_FILE"]),
            s3_endpoint=env["NIDC_S3_ENDPOINT"],
            s3_access_key=env["NIDC_S3_ACCESS_KEY"],
            s3_secret_key_file=Path(env["NIDC_S3_SECRET_KEY_FILE"]),
            s3_region=env.get("NIDC_S3_REGION", "us-east-1"),
            runs_dir=Path(env.get("NIDC_RUNS_DIR", "/var/lib/nidc/runs")),
            collectors_dir=Path(env.get("NIDC_COLLECTORS_DIR", "/var/lib/nidc/collectors")),
            collector_mode=env.get("NIDC_COLLECTOR_MODE", "local"),
            collector_image=env.get(
                "NIDC_COLLECTOR_IMAGE", "registry.nidc.local/nidc/nidc-collector:0.1.0"
            ),
            spark_jars=tuple(Path(p) for p in env.get("NIDC_SPARK_JARS", "").split(":") if p),
            spark_jvm_options=tuple(env.get("NIDC_SPARK_JVM_OPTIONS", "").split()),
            java_truststore=Path(env["NIDC_JAVA_TRUSTSTORE"])
            if env.get("NIDC_JAVA_TRUSTSTORE")
            else None,
            java_truststore_password=env.get("NIDC_JAVA_TRUSTSTORE_PASSWORD", ""),
            watch_max_silence_seconds=int(env.get("NIDC_WATCH_MAX_SILENCE_SECONDS", "90")),
            peering_lifetime_seconds=int(env.get("NIDC_PEERING_LIFETIME_SECONDS", "60")),
            runner=env.get("NIDC_RUNNER", "local"),
            local_run_slots=int(env.get("NIDC_LOCAL_RUN_SLOTS", "0")),
            spark_image_registry=env.get("NIDC_SPARK_IMAGE_REGISTRY", "registry.nidc.local/nidc"),
            spark_image_name=env.get("NIDC_SPARK_IMAGE_NAME", "nidc-spark"),
            spark_image_tag=env.get("NIDC_SPARK_IMAGE_TAG", "0.1.0"),
            spark_pools_file=Path(env["NIDC_SPARK_POOLS_FILE"])
            if env.get("NIDC_SPARK_POOLS_FILE")
            else None,
            spark_service_account=env.get("NIDC_SPARK_SERVICE_ACCOUNT", "nidc-spark"),
            k8s_credentials=env.get("NIDC_K8S_CREDENTIALS", "openbao-agent"),
            k8s_credentials_secret=env.get("NIDC_K8S_CREDENTIALS_SECRET", "nidc-s3-credentials"),
            replication_config=env.get("NIDC_REPLICATION_CONFIG", "nidc-sharing/nidc-replication"),
            audit_center=env.get("NIDC_AUDIT_CENTER", DEFAULT_CENTER),
            audit_bucket=env.get("NIDC_AUDIT_BUCKET", DEFAULT_AUDIT_BUCKET),
            audit_key=env.get("NIDC_AUDIT_KEY", DEFAULT_AUDIT_KEY),
            transit_mount=env.get("NIDC_TRANSIT_MOUNT", DEFAULT_TRANSIT_MOUNT),
            lineage_url=env.get("NIDC_LINEAGE_URL") or None,
            lineage_client_cert=env.get("NIDC_LINEAGE_CLIENT_CERT", ""),
            lineage_client_key=env.get("NIDC_LINEAGE_CLIENT_KEY", ""),
            lineage_secret=env.get("NIDC_LINEAGE_SECRET", ""),
            sharing_endpoint=env.get("NIDC_SHARING_ENDPOINT") or None,
        )
