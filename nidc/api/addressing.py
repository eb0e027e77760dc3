"""Where a tenant's things are: every name and path derived from a tenant, a table or a source.

One module, so that the Tenant reconciler that makes a bucket, the DataSource reconciler that
points a job at it, the collector that lands batches in it and the jobs that read it cannot
disagree. Pure: names in, names out.
"""

from __future__ import annotations

from dataclasses import dataclass

# The KV v2 mount every OpenBao path of the platform lives under.
KV_MOUNT = "secret"
LANDING = "landing"
QUARANTINE = "quarantine"


@dataclass(frozen=True)
class TenantNames:
    """Every name derived from a tenant's name."""

    tenant: str

    @property
    def namespace(self) -> str:
        return self.tenant

    @property
    def bucket(self) -> str:
        return f"tenant-{self.tenant}"

    @property
    def openbao_policy(self) -> str:
        return f"tenant-{self.tenant}"

    @property
    def openbao_role(self) -> str:
        """The OpenBao Kubernetes auth role of the tenant's service accounts."""
        return f"tenant-{self.tenant}"

    @property
    def openbao_prefix(self) -> str:
        """The tenant's KV prefix (under the `secret` mount)."""
        return f"tenants/{self.tenant}"

    @property
    def transit_key(self) -> str:
        """The tenant's transit key (wraps the data keys of its encrypted tables)."""
        return f"tenant-{self.tenant}"

    @property
    def column_key_policy(self) -> str:
        """The OpenBao policy that may make, unwrap and rewrap data keys with the transit key."""
        return f"tenant-{self.tenant}-column-key"

    @property
    def jobs_role(self) -> str:
        """The Kubernetes auth role of the tenant's job service account (it gets the column
        key policy; the tenant's other service accounts do not)."""
        return f"tenant-{self.tenant}-jobs"

    @property
    def s3_user(self) -> str:
        return f"tenant-{self.tenant}"

    @property
    def s3_credentials_path(self) -> str:
        """KV path (under the `secret` mount) of the tenant's S3 credentials."""
        return f"{self.openbao_prefix}/s3"

    def s3_credentials_api_path(self, mount: str = KV_MOUNT) -> str:
        """The same secret as an OpenBao API path (<mount>/data/...), as agents read it."""
        return f"{mount}/data/{self.s3_credentials_path}"


def split_table(table: str) -> tuple[str, str]:
    """bronze.cnc_spindles -> ("bronze", "cnc_spindles")."""
    layer, name = table.split(".", 1)
    return layer, name


def view_name(table: str) -> str:
    """The SQL view a transform sees an input table as: bronze.cnc_spindles -> cnc_spindles."""
    return split_table(table)[1]


def table_key(table: str) -> str:
    """The table's folder inside the tenant bucket: bronze.cnc_spindles -> bronze/cnc_spindles."""
    layer, name = split_table(table)
    return f"{layer}/{name}"


def delta_log_key(table: str) -> str:
    """The prefix of the table's Delta log inside the tenant bucket (it exists once written)."""
    return f"{table_key(table)}/_delta_log/"


def table_path(namespace: str, table: str) -> str:
    """bronze.cnc_spindles of tenant steel-plant -> s3a://tenant-steel-plant/bronze/cnc_spindles."""
    return f"s3a://{TenantNames(namespace).bucket}/{table_key(table)}"


def quarantine_path(namespace: str, table: str) -> str:
    """The quarantine table beside a bronze one: s3a://<bucket>/quarantine/<table name>."""
    return f"s3a://{TenantNames(namespace).bucket}/{QUARANTINE}/{split_table(table)[1]}"


def quality_history_path(namespace: str) -> str:
    """The tenant's quality metrics history (issue 20): s3a://<bucket>/quality/history."""
    return f"s3a://{TenantNames(namespace).bucket}/quality/history"


def quality_quarantine_path(namespace: str, table: str) -> str:
    """Rows failing a table's quality rules: s3a://<bucket>/quarantine/<table name>_quality."""
    return f"{quarantine_path(namespace, table)}_quality"


def source_landing_key(namespace: str, source: str) -> str:
    """The folder of one device source's landing batches inside the tenant bucket (the
    collector's contract, docs/decisions/0020-landing-batches.md)."""
    return f"{LANDING}/sources/{namespace}/{source}/"


def source_landing_path(namespace: str, source: str) -> str:
    """The same folder as an s3a:// path (what the ingest job reads)."""
    return f"s3a://{TenantNames(namespace).bucket}/{source_landing_key(namespace, source)}"


def files_landing_path(namespace: str, prefix: str) -> str:
    """A files source's drop folder: spec.files.prefix under the tenant bucket's landing/."""
    return f"s3a://{TenantNames(namespace).bucket}/{LANDING}/{prefix}"


# Delta Sharing bearer tokens: the record of a token lives at a path named by its SHA-256, so the
# sharing server finds it from the presented token and the token is never stored.
SHARE_TOKENS_PREFIX = "sharing/tokens"


def share_token_path(token_sha256: str) -> str:
    """KV path (under the `secret` mount) of a share token's record (nidc.api.data_share)."""
    return f"{SHARE_TOKENS_PREFIX}/{token_sha256}"


def share_profile_path(recipient_tenant: str, provider_namespace: str, share: str) -> str:
    """KV path of a recipient's profile file: inside the recipient tenant's own prefix, so the
    recipient reads it with its own policy."""
    return f"{TenantNames(recipient_tenant).openbao_prefix}/shares/{provider_namespace}/{share}"


# A Region recipient (a regional center) has no tenant prefix: its profile lives under the
# center's own prefix for regions, read by the center's platform team, who hand it to the
# regional center (docs/sharing-governance.md).
REGION_PREFIX = "regions"


def region_share_profile_path(region: str, provider_namespace: str, share: str) -> str:
    """KV path of a Region recipient's profile file: regions/<region>/shares/<ns>/<share>."""
    return f"{REGION_PREFIX}/{region}/shares/{provider_namespace}/{share}"
