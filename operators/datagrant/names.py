"""Every name a grant's side effects go by, derived from the grant alone (pure).

Deterministic, so that a restarted operator finds (adopts) what an earlier pass made instead
of making a second one: the S3 access key comes from the grant's uid (a grant deleted and made
again under the same name gets a new identity), the rest from namespace and name.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from nidc.api.addressing import KV_MOUNT, TenantNames

# MinIO refuses access keys longer than 20 characters.
ACCESS_KEY_PREFIX = "grant"
ACCESS_KEY_LENGTH = 20
GOVERNED = "governed"


@dataclass(frozen=True)
class GrantNames:
    """Names of one grant's access key, OpenBao paths, policy, role and governed copy."""

    namespace: str
    name: str
    uid: str

    @property
    def access_key(self) -> str:
        digest = hashlib.sha256(self.uid.encode()).hexdigest()
        return (ACCESS_KEY_PREFIX + digest)[:ACCESS_KEY_LENGTH]

    @property
    def credential_path(self) -> str:
        """KV path (under the `secret` mount) of the grant's S3 credentials: outside every
        tenant's prefix, so only the grant's own policy reads it."""
        return f"grants/{self.namespace}/{self.name}"

    @property
    def credential_api_path(self) -> str:
        """The same secret as the grantee reads it through the API (<mount>/data/...)."""
        return f"{KV_MOUNT}/data/{self.credential_path}"

    @property
    def hash_key_path(self) -> str:
        """KV path of the grant's HASH-mask key: under the owner tenant's prefix, which the
        grantee's policy does not reach (the runner reads it for the copy job)."""
        return f"{TenantNames(self.namespace).openbao_prefix}/grant-keys/{self.name}"

    @property
    def hash_key_api_path(self) -> str:
        return f"{KV_MOUNT}/data/{self.hash_key_path}"

    @property
    def openbao_policy(self) -> str:
        # A namespace has no dot (a DNS label), so <namespace>.<name> cannot collide.
        return f"grant.{self.namespace}.{self.name}"

    @property
    def openbao_role(self) -> str:
        return self.openbao_policy

    @property
    def bucket(self) -> str:
        """The owner tenant's bucket, which holds the governed copy."""
        return TenantNames(self.namespace).bucket

    @property
    def governed_prefix(self) -> str:
        """The governed copy's folder inside the bucket (with the trailing slash)."""
        return f"{GOVERNED}/{self.name}/"

    @property
    def governed_path(self) -> str:
        """s3a://tenant-<owner>/governed/<grant>: the copy the grantee reads."""
        return f"s3a://{self.bucket}/{GOVERNED}/{self.name}"
