"""Where a job runs: what the runner adds to a recorded job spec (nidc/api/job_specs.py), and
the run's spec.json parsed back into (job, runtime).

The runtime names the run, the tenant's object store, OpenBao, the jars, the Spark master and the
lineage receiver: platform facts added at submit time, never recorded in the PipelineRun and
never credentials (those come in the environment variables job_specs.py names).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, ValidationError

from nidc.api.job_specs import CREDENTIAL_PATH_KEYS, AnyJob, JobSpecError, describe, read_job
from nidc.api.schema import Model


class Storage(Model):
    """The tenant's object store as the job reaches it (endpoint and trust; keys come from the
    environment)."""

    endpoint: str = Field(description="https:// endpoint of the object store.")
    region: str = Field(default="us-east-1", description="S3 region.")
    truststore: str = Field(default="", description="Java truststore file ('' in a pod).")
    truststore_password: str = Field(
        default="",
        alias="truststorePassword",
        description="The truststore's password (a fixed local one; never a tenant secret).",
    )
    ca_file: str = Field(default="", alias="caFile", description="CA file of the endpoint.")


class OpenBaoRuntime(Model):
    """Where a job reaches OpenBao (its token comes from NIDC_OPENBAO_TOKEN, never the spec)."""

    url: str = Field(description="https:// address of OpenBao.")
    ca_file: str = Field(default="", alias="caFile", description="CA file ('' in a pod).")
    transit_mount: str = Field(
        default="transit", alias="transitMount", description="Mount of the transit engine."
    )


# An http(s) URL without user information: a lineage receiver's address never carries a login.
LINEAGE_URL = r"^https?://[^/@\s]+(/[^@\s]*)?$"


class LineageTarget(Model):
    """Where a job posts its OpenLineage run events (the OpenLineage HTTP transport's `url`;
    events go to <url>/api/v1/lineage). Never credentials."""

    url: str = Field(
        description="http(s):// base address of the lineage receiver, without a login.",
        pattern=LINEAGE_URL,
    )
    ca_file: str = Field(
        default="",
        alias="caFile",
        description="CA file the receiver is trusted with ('': the system's).",
    )
    client_cert: str = Field(
        default="",
        alias="clientCert",
        description="Client certificate file the job presents (mutual TLS; '': none). The "
        "receiver takes events only from its writers' group.",
    )
    client_key: str = Field(
        default="",
        alias="clientKey",
        description="The client certificate's key file (a path, never the key).",
    )


class JobRuntime(Model):
    """What the runner adds to a recorded job: which run, where its storage is, how Spark runs."""

    run: str = Field(description="The PipelineRun's name (identifies the writer).")
    storage: Storage
    openbao: OpenBaoRuntime | None = Field(
        default=None, description="OpenBao, for jobs that use their tenant's column key."
    )
    jars: list[str] = Field(default_factory=list, description="Jars on the driver's classpath.")
    master: str = Field(default="local[2]", description="Spark master.")
    jvm_options: list[str] = Field(
        default_factory=list,
        alias="jvmOptions",
        description="Driver JVM options of the runtime: the embedded platform's quick start "
        "(decision 0330); none on a cluster.",
    )
    attempt: int = Field(default=1, ge=1, description="Attempt number of the run.")
    lineage: LineageTarget | None = Field(
        default=None,
        description="Where the job sends its OpenLineage events (None: lineage is off). Set by "
        "the operator from NIDC_LINEAGE_URL; a platform endpoint, so added at submit time "
        "rather than recorded in the run (docs/decisions/0210-lineage-events-and-store.md).",
    )


RUNTIME_KEYS = frozenset(field.alias or name for name, field in JobRuntime.model_fields.items())


def build_run_spec(job: dict[str, Any], runtime: JobRuntime) -> dict[str, Any]:
    """The spec.json a runner hands the job: the recorded job without its credential paths,
    plus the runtime (pure)."""
    logical = {k: v for k, v in job.items() if k not in CREDENTIAL_PATH_KEYS}
    return {**logical, **runtime.model_dump(mode="json", by_alias=True)}


def parse_run_spec(
    spec: dict[str, Any],
) -> tuple[AnyJob, JobRuntime]:
    """A run's spec.json as (job, runtime); errors name the offending field."""
    runtime_part = {k: v for k, v in spec.items() if k in RUNTIME_KEYS}
    try:
        runtime = JobRuntime.model_validate(runtime_part)
    except ValidationError as error:
        raise JobSpecError(f"invalid job runtime: {describe(error)}") from None
    job = read_job({k: v for k, v in spec.items() if k not in RUNTIME_KEYS})
    return job, runtime
