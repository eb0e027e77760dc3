"""Status writing helpers."""

from __future__ import annotations

from typing import Any


def changed_fields(previous: dict[str, Any], desired: dict[str, Any]) -> dict[str, Any]:
    """Only the status fields whose value changes: an unchanged status causes no write."""
    return {key: value for key, value in desired.items() if previous.get(key) != value}
