"""What the session's shared tenant fixture (`shared_tenant` in tests/conftest.py) offers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SharedTenant:
    """steel-plant with a source, a grade-1 product over it and that product's replica."""

    api: Any
    namespace: str
    source: str
    source_path: str
    product: str
    replication: str
    replicated: dict[str, Any]
