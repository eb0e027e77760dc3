"""What a grant's short-lived access is made of (pure): the S3 policy of its service account,
the OpenBao policy and Kubernetes auth role of its grantee, and when credentials are issued,
renewed and end.

Credentials live CREDENTIAL_TTL at most and never past the grant's end; a pass renews them when
less than RENEW_BEFORE is left. MinIO enforces the account's expiration itself and OpenBao
deletes the KV version at the same moment, so access ends on time even with the operator down.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from nidc.api.data_grant import Grantee, GranteeKind
from operators.datagrant.names import GrantNames

CREDENTIAL_TTL = dt.timedelta(hours=1)
RENEW_BEFORE = dt.timedelta(minutes=15)
# OpenBao tokens of the grantee's service accounts: short, so a revoked role ends them soon
# even where the policy behind them was kept.
TOKEN_TTL = "15m"  # noqa: S105 (a duration)
TOKEN_MAX_TTL = "1h"  # noqa: S105 (a duration)


def build_s3_policy(names: GrantNames) -> dict[str, Any]:
    """Read-only on the governed copy's prefix of the owner's bucket, nothing else."""
    bucket = f"arn:aws:s3:::{names.bucket}"
    prefix = names.governed_prefix
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],
                "Resource": [bucket],
                "Condition": {"StringLike": {"s3:prefix": [prefix, f"{prefix}*"]}},
            },
            {"Effect": "Allow", "Action": ["s3:GetBucketLocation"], "Resource": [bucket]},
            {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": [f"{bucket}/{prefix}*"]},
        ],
    }


def build_openbao_policy(names: GrantNames) -> str:
    """Read of the grant's credentials, nothing else."""
    return f'path "{names.credential_api_path}" {{\n  capabilities = ["read"]\n}}\n'


def bound_service_accounts(grantee: Grantee, namespace: str) -> tuple[list[str], list[str]]:
    """(service account names, namespaces) a grantee logs in as.

    A Tenant grantee: every service account of its namespace. A ServiceAccount: that account
    in the grant's namespace. A Group has no service accounts (validate refuses it).
    """
    if grantee.kind == GranteeKind.TENANT:
        return ["*"], [grantee.name]
    return [grantee.name], [namespace]


def build_openbao_role(names: GrantNames, grantee: Grantee) -> dict[str, Any]:
    """Kubernetes auth role: the grantee's service accounts, the grant's policy."""
    accounts, namespaces = bound_service_accounts(grantee, names.namespace)
    return {
        "bound_service_account_names": accounts,
        "bound_service_account_namespaces": namespaces,
        "token_policies": [names.openbao_policy],
        "token_ttl": TOKEN_TTL,
        "token_max_ttl": TOKEN_MAX_TTL,
    }


def credential_expiry(now: dt.datetime, access_ends: dt.datetime) -> dt.datetime:
    """When credentials issued or renewed now lapse."""
    return min(now + CREDENTIAL_TTL, access_ends)


def needs_renewal(expires: dt.datetime, access_ends: dt.datetime, now: dt.datetime) -> bool:
    """Renew when little time is left (and the grant runs longer), or when the grant now ends
    before the credentials do (its expiresAt was brought forward)."""
    if expires > access_ends:
        return True
    return expires - now < RENEW_BEFORE and expires < access_ends


@dataclass(frozen=True)
class Credential:
    """The grant's S3 credentials as kept in OpenBao (the secret never leaves this record)."""

    access_key: str
    secret_key: str
    expires: dt.datetime

    def record(self, names: GrantNames, endpoint: str) -> dict[str, Any]:
        """The KV secret the grantee reads."""
        return {
            "accessKey": self.access_key,
            "secretKey": self.secret_key,
            "endpoint": endpoint,
            "bucket": names.bucket,
            "prefix": names.governed_prefix,
            "path": names.governed_path,
            "expiresAt": self.expires.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }

    @classmethod
    def from_record(cls, record: dict[str, Any] | None) -> Credential | None:
        """The stored credentials, or None when absent or unreadable."""
        if not record:
            return None
        try:
            expires = dt.datetime.fromisoformat(str(record["expiresAt"]).replace("Z", "+00:00"))
            return cls(str(record["accessKey"]), str(record["secretKey"]), expires)
        except (KeyError, ValueError):
            return None

    def __repr__(self) -> str:  # never print the secret
        return f"Credential(access_key={self.access_key!r}, expires={self.expires.isoformat()})"
