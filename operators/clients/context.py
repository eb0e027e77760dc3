"""The clients every reconciler uses, made once at operator start-up (kept in kopf's memo)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nidc.api.addressing import TenantNames
from nidc.api.job_environment import (
    DEST_ACCESS_KEY_ENV,
    DEST_SECRET_KEY_ENV,
    JDBC_PASSWORD_ENV,
    JDBC_USER_ENV,
    MASK_HASH_KEY_ENV,
    OPENBAO_TOKEN_ENV,
    S3_ACCESS_KEY_ENV,
    S3_SECRET_KEY_ENV,
)
from nidc.api.job_runtime import JobRuntime, LineageTarget, OpenBaoRuntime, Storage, build_run_spec
from nidc.api.job_specs import read_job
from nidc.api.pipeline_run import PipelineRun
from nidc.api.spark_pool import SparkPool, load_pools
from nidc.audit import AuditTrail
from nidc.audit.store import AuditStore
from nidc.audit.transit import TransitSigner
from nidc.audit.witness import KvWitness
from nidc.kube import ApiClient, in_cluster_or_kubeconfig
from operators.clients.object_store import ObjectStoreAdmin
from operators.clients.openbao import TRANSIT_MOUNT, OpenBaoAdmin
from operators.clients.service_accounts import ServiceAccounts
from operators.clients.settings import OperatorSettings
from operators.collectors.kubernetes import CollectorImage, KubernetesCollectors
from operators.collectors.local import LocalCollectors
from operators.reconciling.errors import NotReadyError
from operators.runs.gpu_quota import GpuLocks, gpus_needed
from operators.runs.kubernetes_build import CredentialsMode, KubernetesJobSettings
from operators.runs.kubernetes_runner import KubernetesRunner
from operators.runs.local_runner import LocalRunner
from operators.runs.runner import Runner
from operators.sweep.loop import Sweeps

# A job's token lives as long as its run may (its timeout) plus this margin, not longer.
JOB_TOKEN_MARGIN_SECONDS = 300


@dataclass
class OperatorContext:
    """Kubernetes, OpenBao and S3 clients plus the settings they were made from."""

    settings: OperatorSettings
    api: ApiClient
    openbao: OpenBaoAdmin
    store: ObjectStoreAdmin
    runner: Runner
    collectors: LocalCollectors
    cluster_collectors: KubernetesCollectors | None = None
    # Filled at start-up (operators/main.py): how a run wakes its parent without an API write.
    sweeps: Sweeps = field(default_factory=Sweeps)
    gpu_locks: GpuLocks = field(default_factory=GpuLocks)
    # The center's audit log (operators/reconciling/audit.py writes to it); None: not kept.
    audit: AuditTrail | None = None
    # Short-lived S3 identities (grants); made on first use.
    _accounts: ServiceAccounts | None = None

    @property
    def accounts(self) -> ServiceAccounts:
        if self._accounts is None:
            self._accounts = ServiceAccounts(self.store, self.settings)
        return self._accounts

    def gpu_pools(self) -> dict[str, SparkPool]:
        """The pools whose runs hold GPUs: the cluster's; none on the local runner, where a GPU
        product runs the CPU path."""
        if isinstance(self.runner, KubernetesRunner):
            return dict(self.runner.settings.pools)
        return {}

    def local_slots(self) -> int:
        """Spark jobs the local runner runs at once (0: no limit; always 0 on a cluster)."""
        if isinstance(self.runner, LocalRunner):
            return self.settings.local_run_slots
        return 0

    def gpu_need(self, pool: str) -> int:
        """GPUs a run of `pool` holds while it runs (0 on the local runner)."""
        return gpus_needed(self.gpu_pools().get(pool))

    def job_spec(self, run: dict[str, Any]) -> dict[str, Any]:
        """The recorded job plus where it runs (storage, jars); never credentials.

        Raises JobSpecError (naming the field) when the recorded job does not parse."""
        read_job(run["spec"]["job"])
        settings = self.settings
        runtime = JobRuntime(
            run=run["metadata"]["name"],
            storage=Storage(
                endpoint=settings.s3_endpoint,
                region=settings.s3_region,
                truststore=str(settings.java_truststore or ""),
                truststore_password=settings.java_truststore_password,
                ca_file=str(settings.ca_file),
            ),
            jars=[str(j) for j in settings.spark_jars],
            jvm_options=list(settings.spark_jvm_options),
            openbao=OpenBaoRuntime(
                url=settings.openbao_url,
                ca_file=str(settings.ca_file),
                transit_mount=TRANSIT_MOUNT,
            ),
            lineage=LineageTarget(
                url=settings.lineage_url,
                ca_file=str(settings.ca_file),
                client_cert=settings.lineage_client_cert,
                client_key=settings.lineage_client_key,
            )
            if settings.lineage_url
            else None,
        )
        return build_run_spec(run["spec"]["job"], runtime)

    def job_environment(self, run: dict[str, Any]) -> dict[str, str]:
        """The job's logins, read from OpenBao at submit time: the tenant's own S3 user, and
        the source's or the peer center's login where the job names one."""
        tenant = run["metadata"]["namespace"]
        credentials = self.openbao.read_kv(TenantNames(tenant).s3_credentials_path)
        if credentials is None:
            # The tenant reconciler writes them moments after the tenant appears.
            raise NotReadyError(
                "CredentialsNotReady", f"no S3 credentials for tenant {tenant} in OpenBao yet"
            )
        env = {
            S3_ACCESS_KEY_ENV: credentials["accessKey"],
            S3_SECRET_KEY_ENV: credentials["secretKey"],
        }
        job = read_job(run["spec"]["job"])
        login_path = getattr(job, "credentials_path", None)
        if login_path:
            login = self.read_source_login(login_path)
            env[JDBC_USER_ENV] = login.get("username", "")
            env[JDBC_PASSWORD_ENV] = login.get("password", "")
        if job.uses_column_key:
            # The run's own token: the tenant's column-key policy and nothing else, for as long
            # as a run may take (docs/encryption.md: who may decrypt).
            lifetime = PipelineRun.from_body(run).spec.timeout_seconds + JOB_TOKEN_MARGIN_SECONDS
            env[OPENBAO_TOKEN_ENV] = self.openbao.issue_job_token(
                [TenantNames(tenant).column_key_policy], f"{lifetime}s", run["metadata"]["name"]
            )
        peer_path = getattr(job, "destination_credentials_path", None)
        if peer_path:
            peer = self.read_center_login(peer_path)
            env[DEST_ACCESS_KEY_ENV] = peer.get("accessKey", "")
            env[DEST_SECRET_KEY_ENV] = peer.get("secretKey", "")
        hash_key_path = getattr(job, "hash_key_path", None)
        if hash_key_path:
            # A governed copy's HASH key (KV field "key", hex), kept by the grant reconciler.
            env[MASK_HASH_KEY_ENV] = self.read_source_login(hash_key_path).get("key", "")
        return env

    def read_center_login(self, path: str) -> dict[str, Any]:
        """A peer center's S3 login (keys accessKey, secretKey) from secret/data/centers/..."""
        login = self.openbao.read_kv(path.removeprefix("secret/data/"))
        if login is None:
            raise NotReadyError("CredentialsNotFound", f"no credentials at {path} in OpenBao", 30)
        return login

    def read_source_login(self, path: str) -> dict[str, Any]:
        """A source's login from its OpenBao path (secret/data/tenants/<tenant>/<name>)."""
        login = self.openbao.read_kv(path.removeprefix("secret/data/"))
        if login is None:
            raise NotReadyError("CredentialsNotFound", f"no credentials at {path} in OpenBao", 30)
        return login

    @classmethod
    def create(cls, settings: OperatorSettings) -> OperatorContext:
        api = in_cluster_or_kubeconfig()
        openbao = OpenBaoAdmin(settings)
        store = ObjectStoreAdmin(settings)
        return cls(
            settings=settings,
            api=api,
            openbao=openbao,
            store=store,
            runner=make_runner(settings, api),
            collectors=LocalCollectors(settings.collectors_dir),
            cluster_collectors=KubernetesCollectors(api, CollectorImage(settings.collector_image))
            if settings.collector_mode == "kubernetes"
            else None,
            audit=make_audit_trail(settings, openbao, store),
        )


def make_audit_trail(
    settings: OperatorSettings, openbao: OpenBaoAdmin, store: ObjectStoreAdmin
) -> AuditTrail:
    """The center's audit log: its bucket, signed by its transit key (both made on first use)."""
    return AuditTrail(
        AuditStore(store.s3, settings.audit_bucket),
        TransitSigner(openbao.client, settings.audit_key, settings.transit_mount),
        settings.audit_center,
        witness=KvWitness(openbao.client, settings.audit_center),
    )


def make_runner(settings: OperatorSettings, api: ApiClient) -> Runner:
    """The runner NIDC_RUNNER names: local processes, or driver Jobs on the cluster."""
    if settings.runner == "kubernetes":
        return KubernetesRunner(
            api,
            KubernetesJobSettings(
                image=settings.spark_image,
                pools=load_pools(settings.spark_pools_file),
                service_account=settings.spark_service_account,
                credentials=CredentialsMode(settings.k8s_credentials),
                credentials_secret=settings.k8s_credentials_secret,
                lineage_secret=settings.lineage_secret,
                lineage_url=settings.lineage_url or "",
            ),
        )
    return LocalRunner(settings.runs_dir)
