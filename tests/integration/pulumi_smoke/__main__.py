"""A namespace and a ConfigMap on the local cluster, through our provider build."""

import pulumi
import pulumi_kubernetes as k8s

config = pulumi.Config()
provider = k8s.Provider("local", kubeconfig=config.require("kubeconfig"), context="platform-admin")
options = pulumi.ResourceOptions(provider=provider)
namespace = k8s.core.v1.Namespace(
    "smoke", metadata={"name": config.require("namespace")}, opts=options
)
k8s.core.v1.ConfigMap(
    "settings",
    metadata={"name": "settings", "namespace": namespace.metadata["name"]},
    data={"grade": "1"},
    opts=options,
)
pulumi.export("namespace", namespace.metadata["name"])
