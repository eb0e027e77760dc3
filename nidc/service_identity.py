"""The platform services' own identities (policies/identities/*.yaml): an OpenBao policy and
Kubernetes auth role, a MinIO user and its policy. One document per service, read by the local
platform (which provisions it with the admin logins) and by the stacks (whose SecretsStore and
ObjectStore provision it on a cluster), so both grant exactly the same rights.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import yaml

from nidc.governance.policy_files import policies_dir

SHARING_SERVER = "nidc-sharing-server"
CATALOG = "nidc-catalog"
# S3 actions that change anything: a service identity that only reads holds none of them.
S3_WRITES = ("s3:PutObject", "s3:DeleteObject", "s3:*", "s3:PutBucketPolicy", "admin:*")


class IdentityError(ValueError):
    """A service identity document is wrong; the message names the file and the key."""


@dataclass(frozen=True)
class OpenBaoAccess:
    """An OpenBao policy, and the Kubernetes auth role bound to the service's account."""

    policy: str
    service_account: str
    namespace: str
    token_ttl: str = "1h"  # noqa: S105 (a duration)


@dataclass(frozen=True)
class S3Access:
    """A MinIO user and the one policy attached to it."""

    user: str
    policy: dict[str, Any]


@dataclass(frozen=True)
class ServiceIdentity:
    name: str
    openbao: OpenBaoAccess | None
    s3: S3Access | None


def _require(ok: bool, where: str, message: str) -> None:
    if not ok:
        raise IdentityError(f"{where}: {message}")


def parse_identity(document: dict[str, Any], where: str) -> ServiceIdentity:
    """A service identity from its document (pure); refuses any S3 write action."""
    name = str(document.get("name", ""))
    _require(bool(name), f"{where}: name", "required")
    openbao = None
    if (bao := document.get("openbao")) is not None:
        _require(bool(bao.get("policy")), f"{where}: openbao.policy", "required")
        openbao = OpenBaoAccess(
            policy=str(bao["policy"]),
            service_account=str(bao.get("serviceAccount", name)),
            namespace=str(bao.get("namespace", "")),
            token_ttl=str(bao.get("tokenTtl", "1h")),
        )
        _require(bool(openbao.namespace), f"{where}: openbao.namespace", "required")
    s3 = None
    if (store := document.get("s3")) is not None:
        policy = store.get("policy") or {}
        statements = policy.get("Statement") or []
        _require(bool(statements), f"{where}: s3.policy.Statement", "at least one")
        for i, statement in enumerate(statements):
            writes = set(statement.get("Action") or []) & set(S3_WRITES)
            _require(
                not writes, f"{where}: s3.policy.Statement[{i}].Action", f"writes: {sorted(writes)}"
            )
        s3 = S3Access(user=str(store.get("user", name)), policy=dict(policy))
    return ServiceIdentity(name, openbao, s3)


@cache
def service_identity(name: str) -> ServiceIdentity:
    """policies/identities/<name>.yaml, read once per process."""
    path = policies_dir() / "identities" / f"{name}.yaml"
    identity = parse_identity(yaml.safe_load(path.read_text(encoding="utf-8")) or {}, path.name)
    _require(identity.name == name, f"{path.name}: name", f"must be {name!r}")
    return identity
