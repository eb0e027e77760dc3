"""Small cluster queries the integration tests share."""

from __future__ import annotations

from typing import Any

from nidc.kube import list_objects


def condition(obj: dict[str, Any], type_: str) -> dict[str, Any]:
    """One status condition of an object ({} when absent)."""
    for item in (obj.get("status") or {}).get("conditions") or []:
        if item["type"] == type_:
            return dict(item)
    return {}


def tenant_ready(api: Any, tenant: str) -> bool:
    """True when the Tenant's Ready condition is True."""
    for item in list_objects(api, "nidc.io/v1alpha1", "Tenant"):
        if item["metadata"]["name"] == tenant:
            return condition(item, "Ready").get("status") == "True"
    return False
