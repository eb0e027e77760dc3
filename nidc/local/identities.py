"""Who talks to the local kube-apiserver: static identities as client certificates.

Kubernetes takes a client certificate's CN as the user name and its O fields as groups. The
platform admin's group is bound to cluster-admin at `up`; each example tenant gets an admin and an
analyst identity whose groups the Tenant reconciler binds to the tenant's roles.
"""

from __future__ import annotations

from dataclasses import dataclass

from nidc.api.tenant import tenant_group

# The tenants of the demo factory (examples/demo-factory/tenants.yaml holds their Tenant resources).
EXAMPLE_TENANTS = ("steel-plant", "equipment-maker")

PLATFORM_ADMINS_GROUP = "nidc:platform-admins"
# Jobs post their OpenLineage events with a client certificate of this group; the catalog API
# server takes events only from it (nidc/catalog/server.py).
LINEAGE_WRITERS_GROUP = "nidc:lineage-writers"


@dataclass(frozen=True)
class Identity:
    """A kubeconfig user: certificate CN (user name) and O (groups)."""

    name: str
    user: str
    groups: tuple[str, ...]


LINEAGE_WRITER = Identity("lineage-writer", "nidc:lineage-writer", (LINEAGE_WRITERS_GROUP,))


def user_identities(tenants: tuple[str, ...] = EXAMPLE_TENANTS) -> list[Identity]:
    """The identities put in the user kubeconfig, platform admin first (the default context)."""
    identities = [Identity("platform-admin", "platform-admin", (PLATFORM_ADMINS_GROUP,))]
    for tenant in tenants:
        for role in ("admin", "analyst"):
            identities.append(
                Identity(f"{tenant}-{role}", f"{tenant}-{role}", (tenant_group(tenant, role),))
            )
    return identities


# Control-plane components use the user names Kubernetes' default RBAC already binds.
COMPONENT_IDENTITIES = {
    "kube-controller-manager": Identity(
        "kube-controller-manager", "system:kube-controller-manager", ()
    ),
    "kube-scheduler": Identity("kube-scheduler", "system:kube-scheduler", ()),
    # kwok plays every kubelet: it updates any node's and pod's status, so it gets the
    # superuser group like the bootstrap identity the platform itself uses.
    "kwok": Identity("kwok", "system:kwok-controller", ("system:masters",)),
    "bootstrap": Identity("bootstrap", "nidc:bootstrap", ("system:masters",)),
}
