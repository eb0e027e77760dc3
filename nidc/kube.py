"""The one module that owns the Kubernetes client: connections, reads and server-side apply."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kubernetes import client, config, dynamic

FIELD_MANAGER = "nidc"


def api_client(kubeconfig: Path, context: str | None = None) -> client.ApiClient:
    """An API client for one kubeconfig context (the current one by default)."""
    api: client.ApiClient = config.new_client_from_config(str(kubeconfig), context=context)
    return api


def _resource(api: client.ApiClient, api_version: str, kind: str) -> Any:
    return dynamic.DynamicClient(api).resources.get(api_version=api_version, kind=kind)


def apply(
    api: client.ApiClient, manifest: dict[str, Any], field_manager: str = FIELD_MANAGER
) -> dict[str, Any]:
    """Server-side apply one object (create or adopt, by its name); returns the live object."""
    resource = _resource(api, manifest["apiVersion"], manifest["kind"])
    live = resource.server_side_apply(
        body=manifest,
        name=manifest["metadata"]["name"],
        namespace=manifest["metadata"].get("namespace"),
        field_manager=field_manager,
        force_conflicts=True,
    )
    result: dict[str, Any] = live.to_dict()
    return result


def list_objects(
    api: client.ApiClient,
    api_version: str,
    kind: str,
    namespace: str | None = None,
    label_selector: str | None = None,
) -> list[dict[str, Any]]:
    """Every object of a kind (in a namespace, matching labels), as plain dicts."""
    listing = _resource(api, api_version, kind).get(
        namespace=namespace, label_selector=label_selector
    )
    return [item.to_dict() for item in listing.items]
