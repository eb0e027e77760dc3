"""Apply desired children with server-side apply, owned by the resource they belong to."""

from __future__ import annotations

from typing import Any

from nidc.api.resource import CustomResource
from nidc.kube import ApiClient, apply

FIELD_MANAGER = "nidc-operator"


def owner_reference(owner: CustomResource) -> dict[str, Any]:
    """An ownerReference to `owner` (so garbage collection follows it)."""
    return {**owner.reference(), "controller": True, "blockOwnerDeletion": False}


def with_owner(child: dict[str, Any], owner: CustomResource) -> dict[str, Any]:
    """A copy of `child` carrying the owner reference."""
    metadata = {**child["metadata"], "ownerReferences": [owner_reference(owner)]}
    return {**child, "metadata": metadata}


def apply_all(
    api: ApiClient, children: list[dict[str, Any]], owner: CustomResource
) -> list[dict[str, Any]]:
    """Server-side apply every child under one field manager, in order."""
    return [apply(api, with_owner(child, owner), field_manager=FIELD_MANAGER) for child in children]
