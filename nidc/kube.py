"""The one module that owns the Kubernetes client: connections and server-side apply."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kubernetes import client, config, dynamic

FIELD_MANAGER = "nidc"


def api_client(kubeconfig: Path, context: str | None = None) -> client.ApiClient:
    """An API client for one kubeconfig context (the current one by default)."""
    return config.new_client_from_config(str(kubeconfig), context=context)


def apply(
    api: client.ApiClient, manifest: dict[str, Any], field_manager: str = FIELD_MANAGER
) -> dict[str, Any]:
    """Server-side apply one object (create or adopt, by its name); returns the live object."""
    resources = dynamic.DynamicClient(api).resources
    kind = resources.get(api_version=manifest["apiVersion"], kind=manifest["kind"])
    namespace = manifest["metadata"].get("namespace")
    live = kind.server_side_apply(
        body=manifest, name=manifest["metadata"]["name"], namespace=namespace,
        field_manager=field_manager, force_conflicts=True,
    )
    result: dict[str, Any] = live.to_dict()
    return result
