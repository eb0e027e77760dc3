"""Who sees what: an authenticated identity (user, groups) -> the tenants whose assets it sees.

Pure. The platform admins' group sees every asset. A tenant's role groups (nidc.api.tenant's
tenant_group: nidc:tenant:<tenant>:admins|engineers|analysts) and the service accounts of the
tenant's namespace (system:serviceaccounts:<tenant>) see that tenant's assets, plus the copies
granted or shared to the tenant (catalog.access rows). Anyone else sees nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nidc.local.identities import PLATFORM_ADMINS_GROUP

TENANT_ROLE_GROUP = re.compile(
    r"^nidc:tenant:(?P<tenant>[a-z0-9]([-a-z0-9]*[a-z0-9])?):"
    r"(admins|engineers|analysts)$"
)
SERVICE_ACCOUNTS_GROUP = re.compile(r"^system:serviceaccounts:(?P<tenant>[a-z0-9][-a-z0-9]*)$")


@dataclass(frozen=True)
class Identity:
    """Who asks: a user name and groups, as kube-apiserver reads them."""

    user: str
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class Scope:
    """What an identity sees: everything, or these tenants' assets and what they are given."""

    everything: bool = False
    tenants: tuple[str, ...] = ()

    @property
    def nothing(self) -> bool:
        return not self.everything and not self.tenants


ADMIN = Scope(everything=True)


def scope_of(identity: Identity) -> Scope:
    """The scope of an identity's groups."""
    if PLATFORM_ADMINS_GROUP in identity.groups:
        return ADMIN
    tenants = set()
    for group in identity.groups:
        for pattern in (TENANT_ROLE_GROUP, SERVICE_ACCOUNTS_GROUP):
            match = pattern.match(group)
            if match:
                tenants.add(match.group("tenant"))
    return Scope(tenants=tuple(sorted(tenants)))
