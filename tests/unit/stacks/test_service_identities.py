"""Issue 15, the cluster half: the national stack provisions the sharing server's and the
catalog's own identities (policies/identities), enables the catalog with secrets it derives, and
delivers the lineage writers' certificate to tenant namespaces, where driver Jobs mount it.

Everything here goes through `read_settings` of the committed stack files and the components'
builders: the code `pulumi up` runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi
import pytest

from nidc.api.spark_pool import default_pools
from nidc.local.identities import LINEAGE_WRITERS_GROUP
from nidc.service_identity import (
    CATALOG,
    SHARING_SERVER,
    IdentityError,
    parse_identity,
    service_identity,
)
from operators.runs.kubernetes_build import (
    KubernetesJobSettings,
    build_driver_job,
    build_driver_pod,
    build_job_config_map,
)
from operators.runs.runner import RunRef
from stacks.components.catalog import build_catalog
from stacks.components.object_store import build_object_store
from stacks.components.secrets_store import build_secrets_store
from stacks.components.sharing import build_sharing
from stacks.components.tenants import LINEAGE_SECRET, build_tenant
from stacks.config import read_settings, read_stack_file
from stacks.derived_secrets import derive, stack_secret
from stacks.manifests import ArgsError
from stacks.policy_rules import check_resource_limits, check_tls
from tests.unit.stacks.conftest import (
    WRITER_CERT,
    WRITER_KEY,
    client_certificate,
    pulumi_test,
)

pytestmark = pytest.mark.unit
REPO = Path(__file__).resolve().parents[3]
SEED = "Secret-Seed-7c1e"
OPERATOR_TOKEN = "s.Secret-Operator-Token-33"
SECRETS: dict[str, Any] = {
    "objectStoreRootPassword": "Secret-Root-Pw-7f3a",
    "openbaoOperatorToken": OPERATOR_TOKEN,
    "tlsPrivateKey": "Secret-Key-22b8",
    "secretSeed": SEED,
    "lineageWriterPrivateKey": WRITER_KEY,
}
CA_PEM = "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n"


def stack(name: str = "national", **overrides: Any) -> dict[str, Any]:
    values = read_stack_file(REPO / f"Pulumi.{name}.yaml")
    values.update(
        {
            "tlsCertificate": "CERT",
            "tlsCaCertificate": CA_PEM,
            "lineageWriterCertificate": WRITER_CERT,
            **overrides,
        }
    )
    return values


def find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


def national_objects() -> dict[str, list[dict[str, Any]]]:
    settings = read_settings(stack(), SECRETS)
    assert settings.object_store and settings.secrets_store and settings.sharing
    assert settings.catalog
    return {
        "object_store": build_object_store(settings.object_store),
        "secrets_store": build_secrets_store(settings.secrets_store),
        "sharing": build_sharing(settings.sharing),
        "catalog": build_catalog(settings.catalog),
    }


# --- the sharing server's own identity ---------------------------------------------------------


def test_the_sharing_server_reads_governed_copies_and_products_but_never_raw_tables() -> None:
    s3 = service_identity(SHARING_SERVER).s3
    assert s3 is not None
    reads = {r for st in s3.policy["Statement"] for r in st["Resource"]}
    assert "arn:aws:s3:::tenant-*/governed/*" in reads
    assert not any(layer in r for r in reads for layer in ("bronze", "quarantine", "landing"))
    actions = {a for st in s3.policy["Statement"] for a in st["Action"]}
    assert actions <= {"s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation"}
    bao = service_identity(SHARING_SERVER).openbao
    assert bao is not None
    assert 'capabilities = ["read"]' in bao.policy
    assert not any(c in bao.policy for c in ('"create"', '"update"', '"delete"', '"list"'))


def test_an_identity_that_writes_is_refused_naming_the_statement() -> None:
    document = {
        "name": "x",
        "s3": {"policy": {"Statement": [{"Action": ["s3:GetObject", "s3:PutObject"]}]}},
    }
    with pytest.raises(IdentityError, match=r"s3\.policy\.Statement\[0\]\.Action.*PutObject"):
        parse_identity(document, "x.yaml")


def test_the_object_store_provisions_the_services_users_with_the_keys_they_log_in_with() -> None:
    objects = national_objects()
    users = find(objects["object_store"], "ConfigMap", "minio-users")
    assert json.loads(users["data"]["users.json"]) == [SHARING_SERVER, CATALOG]
    sharing_s3 = service_identity(SHARING_SERVER).s3
    assert sharing_s3 is not None
    assert json.loads(users["data"][f"{SHARING_SERVER}.json"]) == sharing_s3.policy
    keys = find(objects["object_store"], "Secret", "minio-users")["stringData"]
    # The login the sharing server presents is the user the object store made, key for key.
    server_key = find(objects["sharing"], "Secret", "sharing-s3")["stringData"]["secretKey"]
    assert keys[SHARING_SERVER] == server_key == derive(SEED, "sharing-s3-secret-key/v1")
    catalog_key = find(objects["catalog"], "Secret", "catalog-s3")["stringData"]["secretKey"]
    assert keys[CATALOG] == catalog_key != server_key
    env = {
        e["name"]: e.get("value")
        for e in find(objects["sharing"], "Deployment", "delta-sharing")["spec"]["template"][
            "spec"
        ]["containers"][0]["env"]
    }
    assert env["NIDC_S3_ACCESS_KEY"] == SHARING_SERVER
    # The key reaches the sidecar as a file, never in a ConfigMap or its script.
    sts = find(objects["object_store"], "StatefulSet", "minio")
    sidecar = next(
        c for c in sts["spec"]["template"]["spec"]["containers"] if c["name"] == "buckets"
    )
    assert server_key not in json.dumps(sidecar) + json.dumps(users)
    assert "mc admin user add" in sidecar["command"][-1]


def test_openbao_gets_the_sharing_servers_policy_and_a_role_for_its_service_account() -> None:
    objects = national_objects()
    roles = find(objects["secrets_store"], "ConfigMap", "openbao-roles")["data"]
    bao = service_identity(SHARING_SERVER).openbao
    assert bao is not None
    assert roles[f"{SHARING_SERVER}.hcl"] == bao.policy
    script = roles["provision.sh"]
    deployment = find(objects["sharing"], "Deployment", "delta-sharing")
    pod = deployment["spec"]["template"]["spec"]
    env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
    # The role the server logs in as binds exactly its own service account and namespace.
    assert env["NIDC_OPENBAO_ROLE"] == SHARING_SERVER
    assert (
        f"auth/kubernetes/role/{SHARING_SERVER} "
        f"bound_service_account_names={pod['serviceAccountName']} "
        f"bound_service_account_namespaces={deployment['metadata']['namespace']} "
        f"token_policies={SHARING_SERVER}"
    ) in script
    # The operator token is in the provisioner Secret only.
    provisioner = find(objects["secrets_store"], "Secret", "openbao-provisioner")
    assert provisioner["stringData"]["token"] == OPERATOR_TOKEN
    rendered = json.dumps([o for o in objects["secrets_store"] if o["kind"] != "Secret"])
    assert OPERATOR_TOKEN not in rendered


def test_the_new_containers_pass_the_policy_packs_rules() -> None:
    objects = national_objects()
    for part in objects.values():
        for manifest in part:
            kind = (
                f"kubernetes:{manifest['apiVersion']}:{manifest['kind']}"
                if "/" in manifest["apiVersion"]
                else f"kubernetes:core/{manifest['apiVersion']}:{manifest['kind']}"
            )
            assert check_tls(kind, manifest) == [], manifest["metadata"]["name"]
            assert check_resource_limits(kind, manifest) == [], manifest["metadata"]["name"]


# --- the catalog, its derived secrets -----------------------------------------------------------


@pytest.mark.parametrize("name", ["national", "region-east", "region-west"])
def test_every_center_runs_a_catalog(name: str) -> None:
    settings = read_settings(stack(name), SECRETS)
    assert settings.catalog is not None
    assert settings.catalog.db_password == derive(SEED, "catalog-db-password/v1")
    assert settings.lineage_writer is not None


def test_derived_secrets_are_stable_distinct_and_explicit_values_win() -> None:
    assert derive(SEED, "a/v1") == derive(SEED, "a/v1")
    assert len({derive(SEED, "a/v1"), derive(SEED, "a/v2"), derive("other", "a/v1")}) == 3
    assert stack_secret({"k": "given", "secretSeed": SEED}, "k", "a/v1") == "given"
    assert stack_secret({}, "k", "a/v1") == ""
    unseeded = {k: v for k, v in SECRETS.items() if k != "secretSeed"}
    with pytest.raises(ArgsError, match="sharingS3SecretKey: required, or set secretSeed"):
        read_settings(stack(), unseeded)
    with pytest.raises(ArgsError, match="catalogS3SecretKey: required, or set secretSeed"):
        read_settings(stack(), {**unseeded, "sharingS3SecretKey": "given"})


@pulumi_test
def test_a_value_derived_from_a_secret_seed_is_a_secret(mocks: Any) -> Any:
    seed = pulumi.Output.secret(SEED)
    derived = stack_secret({"secretSeed": seed}, "catalogDbPassword", "catalog-db-password/v1")
    assert isinstance(derived, pulumi.Output)

    def check(values: list[Any]) -> None:
        value, secret = values
        assert value == derive(SEED, "catalog-db-password/v1")
        assert secret is True

    # is_secret() is a coroutine; from_input awaits it.
    secret: pulumi.Output[bool] = pulumi.Output.from_input(derived.is_secret())
    return pulumi.Output.all(derived, secret).apply(check)


def test_the_catalog_database_speaks_tls_and_the_api_verifies_it() -> None:
    objects = national_objects()["catalog"]
    db = find(objects, "StatefulSet", "catalog-postgres")["spec"]["template"]["spec"]
    assert "ssl=on" in db["containers"][0]["args"]
    api = find(objects, "Deployment", "catalog-api")["spec"]["template"]["spec"]
    env = {e["name"]: e.get("value") for e in api["containers"][0]["env"]}
    assert env["PGSSLMODE"] == "verify-full"
    password = derive(SEED, "catalog-db-password/v1")
    assert password not in json.dumps([o for o in objects if o["kind"] != "Secret"])


# --- the lineage writers' certificate -----------------------------------------------------------


def test_a_writer_certificate_of_another_group_is_refused() -> None:
    other, _ = client_certificate("nidc:platform-admins")
    with pytest.raises(ArgsError, match=f"lineageWriterCertificate.*{LINEAGE_WRITERS_GROUP}"):
        read_settings(stack(lineageWriterCertificate=other), SECRETS)
    with pytest.raises(ArgsError, match="lineageWriterPrivateKey"):
        read_settings(stack(), {**SECRETS, "lineageWriterPrivateKey": ""})


def test_each_tenant_namespace_gets_the_writers_certificate() -> None:
    settings = read_settings(stack(), SECRETS)
    for tenant in settings.tenants:
        secret = find(build_tenant(tenant, settings.lineage_writer), "Secret", LINEAGE_SECRET)
        assert secret["metadata"]["namespace"] == tenant.name
        assert secret["stringData"] == {
            "tls.crt": WRITER_CERT,
            "tls.key": WRITER_KEY,
            "ca.crt": CA_PEM,
        }


def test_the_driver_job_mounts_the_certificate_and_its_spec_points_there() -> None:
    settings = read_settings(stack(), SECRETS)
    assert settings.control_plane and settings.control_plane.operator
    operator = settings.control_plane.operator
    assert operator.lineage_secret == LINEAGE_SECRET
    assert operator.lineage_url.startswith("https://catalog-api.nidc-catalog.svc")
    assert operator.sharing_endpoint.startswith("https://delta-sharing.nidc-sharing.svc")
    job_settings = KubernetesJobSettings(
        image="r/nidc-spark:1",
        pools=default_pools(),
        lineage_secret=operator.lineage_secret,
        lineage_url=operator.lineage_url,
    )
    run = RunRef("steel-plant", "oee-daily-r1", "uid-1", "cpu")
    spec = {
        "lineage": {
            "url": operator.lineage_url,
            "caFile": "/host/ca.crt",
            "clientCert": "/host/writer.crt",
            "clientKey": "/host/writer.key",
        }
    }
    pod = build_driver_pod(run, 1, job_settings.pool(run), job_settings)
    job = build_driver_job(run, 1, pod)["spec"]["template"]["spec"]
    (volume,) = [v for v in job["volumes"] if v["name"] == "lineage"]
    assert volume["secret"]["secretName"] == LINEAGE_SECRET
    (container,) = job["containers"]
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == "lineage"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["NIDC_LINEAGE_CLIENT_CERT"] == f"{mount['mountPath']}/tls.crt"
    assert env["NIDC_LINEAGE_CLIENT_KEY"] == f"{mount['mountPath']}/tls.key"
    assert env["NIDC_LINEAGE_URL"] == operator.lineage_url
    config = build_job_config_map(run, 1, spec, job_settings.pool(run), job_settings)
    lineage = json.loads(config["data"]["spec.json"])["lineage"]
    assert lineage["clientCert"] == env["NIDC_LINEAGE_CLIENT_CERT"]
    assert lineage["caFile"] == f"{mount['mountPath']}/ca.crt"
    assert "/host/" not in config["data"]["spec.json"]


def test_without_a_catalog_the_driver_mounts_nothing() -> None:
    job_settings = KubernetesJobSettings(image="r/nidc-spark:1", pools=default_pools())
    run = RunRef("steel-plant", "oee-daily-r1", "uid-1", "cpu")
    pod = build_driver_pod(run, 1, job_settings.pool(run), job_settings)
    assert "lineage" not in json.dumps(pod)
